/**
 * What is synced and who sees it: the organisation's and each user's settings (and a preview of a change), never
 * logging a sender, "why is (or isn't) this email here?", and erasing an address.
 */
import { z } from 'zod';
import { Address, instant } from './common';

export const MAX_RULES = 1000;
/** A rule list as the settings routes take it; the server normalises each value (and dedups the list). */
export const ruleList = z.array(z.string().max(320)).max(MAX_RULES);

/** The organisation's settings, with the rule-list schema given (the server's normalises domains, addresses, labels). */
export function orgSettingsOf(lists: { excludedDomains: z.ZodType<string[]>; excludedAddresses: z.ZodType<string[]>; excludedLabels: z.ZodType<string[]> }) {
  return z
    .object({
      sync: z
        .object({
          historyDays: z.number().int().min(0).max(3650),
          deletionPolicy: z.enum(['mirror', 'preserve']),
          onlyKnownContacts: z.boolean(),
          autoCreateContacts: z.enum(['none', 'outbound', 'all']),
          ...lists,
          excludeInternal: z.boolean(),
        })
        .strict(),
      sharing: z.object({ defaultVisibility: z.enum(['full', 'metadata', 'private']) }).strict(),
    })
    .strict();
}
const plainLists = { excludedDomains: ruleList, excludedAddresses: ruleList, excludedLabels: ruleList };
export const OrgSettings = orgSettingsOf(plainLists);
export type OrgSettings = z.infer<typeof OrgSettings>;

export function userSettingsOf(lists: { excludedDomains: z.ZodType<string[]>; excludedAddresses: z.ZodType<string[]>; excludedLabels: z.ZodType<string[]> }) {
  return z.object({ ...lists, visibility: z.enum(['full', 'metadata', 'private']).nullable() }).strict();
}
export const UserSettings = userSettingsOf(plainLists);
export type UserSettings = z.infer<typeof UserSettings>;

export const PrivacyRuleKind = z.enum(['domain', 'address', 'label', 'internal', 'onlyKnownContacts']);

/** `POST /api/settings/preview`: what saving would remove, computed by the server, writing nothing. */
export const SettingsPreview = z.object({
  removedMessages: z.number().int().min(0),
  removedCopies: z.number().int().min(0),
  reimport: z.boolean(),
  samples: z
    .array(
      z.object({
        id: z.string(),
        subject: z.string(),
        from: Address,
        date: instant,
        rule: z.object({ kind: PrivacyRuleKind, value: z.string().optional() }),
      }),
    )
    .max(5),
});
export type SettingsPreview = z.infer<typeof SettingsPreview>;

/** "Never log this sender" (the sidebars): the address, checked and normalised by the server. */
export const SenderExclusionRequest = z.object({ email: z.string().max(320) }).strict();
export const SenderExcluded = z.object({ email: z.string(), changed: z.boolean(), undoUntil: instant });
export const SenderAllowed = z.object({ email: z.string(), changed: z.boolean() });

/** `GET /api/why`: a verdict and its reasons, already in words a rep understands. */
export const WhyAnswer = z.object({
  verdict: z.enum(['synced', 'excluded', 'not_yet_synced']),
  reasons: z.array(z.object({ code: z.string(), message: z.string(), detail: z.record(z.string(), z.unknown()).optional() })),
});
export type WhyAnswer = z.infer<typeof WhyAnswer>;
export type WhyReason = WhyAnswer['reasons'][number];

/** `POST /api/erasure` (admins): the address, checked and normalised by the server. */
export const ErasureRequest = z.object({ email: z.string().max(1000) }).strict();
export const ErasureResult = z.object({
  erased: z.literal(true),
  counts: z.object({
    messages: z.number().int(),
    copies: z.number().int(),
    cachedAttachments: z.number().int(),
    threads: z.number().int(),
    threadKeys: z.number().int(),
    contactsDeleted: z.number().int(),
    contactsUpdated: z.number().int(),
    sentRecords: z.number().int(),
    alreadyExcluded: z.boolean(),
  }),
});
