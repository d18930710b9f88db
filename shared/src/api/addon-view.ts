/**
 * The sidebar's view model: what `POST /api/addon/context` answers for the email open in Gmail or Outlook.
 * The server computes it once (server/src/views/context.ts) and both add-ons only render it, so the two cannot
 * drift apart. The add-ons import these types only (`import type`), so the schemas never reach their bundles.
 */
import { z } from 'zod';
import { MailboxState } from './account';
import { Address, Direction, instant, Provider } from './common';
import { MessageChoices } from './messages';
import type { Card } from '../card';

export const AddonProvider = z.enum(['gmail', 'outlook']);
export type AddonProvider = z.infer<typeof AddonProvider>;

/** An address as a mail client shows it. */
export const AddonAddress = Address;
export type AddonAddress = z.infer<typeof AddonAddress>;

// Addresses are checked loosely here (headers carry garbage such as `undisclosed-recipients:;`); the view skips what
// does not normalise rather than failing the whole sidebar.
const inputAddress = z.object({ email: z.string().max(1000), name: z.string().max(500).default('') });
/** A mailing-list email may have hundreds of recipients; the view shows the first fifty. */
const MAX_RECIPIENTS = 1000;

/** The email open beside the add-on, as the add-on read it from the client (no body: metadata scope only). */
export const AddonMessageInput = z.object({
  internetMessageId: z.string().max(1000).optional(),
  subject: z.string().max(2000).optional(),
  from: inputAddress,
  to: z.array(inputAddress).max(MAX_RECIPIENTS).default([]),
  cc: z.array(inputAddress).max(MAX_RECIPIENTS).default([]),
});
export type AddonMessageInput = z.infer<typeof AddonMessageInput>;

export const AddonContextRequest = z.object({ provider: AddonProvider, message: AddonMessageInput });
export type AddonContextRequest = z.infer<typeof AddonContextRequest>;

export const AddonContact = z.object({
  id: z.string(),
  name: z.string(),
  title: z.string(),
  phone: z.string(),
  emails: z.array(z.string()),
  openUrl: z.string(),
});
export type AddonContact = z.infer<typeof AddonContact>;

export const AddonCompany = z.object({ id: z.string(), name: z.string(), domains: z.array(z.string()), openUrl: z.string() });
export type AddonCompany = z.infer<typeof AddonCompany>;

/**
 * What "Create contact" would create for an unknown person: the display name (or a guess from the address) and
 * the company from the address's domain. `companyName` is null for free-mail addresses (gmail.com…): those people
 * get no company. When a company with that domain is already in the CRM, its name is used.
 */
export const AddonContactSuggestion = z.object({
  email: z.string(),
  name: z.string(),
  companyName: z.string().nullable(),
  companyDomain: z.string().nullable(),
  /**
   * The address names a function or a group rather than a person (`info@`, `noreply@`, "Ops Team"): the sidebars
   * do not offer it as a contact unless the user asks. Absent from older servers: read as false.
   */
  roleAddress: z.boolean().optional(),
});
export type AddonContactSuggestion = z.infer<typeof AddonContactSuggestion>;

/**
 * One person on the open email. Exactly one of these holds: `contact` is set (known to the CRM); `teammate` is
 * true (a user of the organisation: never suggested as a contact); or `suggestion` is set (unknown).
 * `company` may be set for an unknown person too, when their domain already belongs to a company.
 */
export const AddonParticipant = z.object({
  email: z.string(),
  /** The display name from the email header ('' when there was none). */
  displayName: z.string(),
  role: z.enum(['from', 'to', 'cc']),
  teammate: z.boolean(),
  contact: AddonContact.nullable(),
  company: AddonCompany.nullable(),
  suggestion: AddonContactSuggestion.nullable(),
});
export type AddonParticipant = z.infer<typeof AddonParticipant>;

export const AddonDeal = z.object({
  id: z.string(),
  name: z.string(),
  stage: z.string(),
  amount: z.number().nullable(),
  currency: z.string(),
  closeDate: z.string().nullable(),
  openUrl: z.string(),
});
export type AddonDeal = z.infer<typeof AddonDeal>;

/**
 * A message with these people, at the caller's access level: `metadata` (a teammate shares headers only) has
 * an empty snippet; messages the caller may not see at all are never listed.
 */
export const AddonMessage = z.object({
  id: z.string(),
  threadId: z.string().nullable(),
  subject: z.string(),
  from: Address,
  date: instant,
  direction: Direction,
  snippet: z.string(),
  access: z.enum(['full', 'metadata']),
  openUrl: z.string(),
});
export type AddonMessage = z.infer<typeof AddonMessage>;

/** A conversation with these people, summarised from the recent messages the caller may see. */
export const AddonThread = z.object({
  id: z.string(),
  subject: z.string(),
  lastMessageAt: instant,
  /** How many of the recent messages belong to it (not the thread's full length). */
  recentCount: z.number().int(),
  openUrl: z.string(),
});
export type AddonThread = z.infer<typeof AddonThread>;

export const AddonSyncedBy = z.object({ userId: z.string(), name: z.string(), email: z.string(), isYou: z.boolean() });
export type AddonSyncedBy = z.infer<typeof AddonSyncedBy>;

/**
 * Whether the open email is in the CRM. `not_visible`: it is stored, but only its holders may see it (a private
 * mailbox); who holds it is not said. `unknown`: the client gave no Message-ID to look it up by.
 */
export const AddonThisMessage = z.object({
  internetMessageId: z.string().nullable(),
  status: z.enum(['synced', 'not_synced', 'not_visible', 'unknown']),
  messageId: z.string().nullable(),
  syncedBy: z.array(AddonSyncedBy),
  openUrl: z.string().nullable(),
  /**
   * "This email, my choice": whether the user chose not to log it (or its thread), and what teammates get of their
   * copy — computed by the server, so the add-ons only show it and call the routes back. Null when the email has no
   * Message-ID; absent from older servers.
   */
  choices: MessageChoices.nullable().optional(),
});
export type AddonThisMessage = z.infer<typeof AddonThisMessage>;

export const AddonMailboxHealth = z.object({
  id: z.string(),
  provider: Provider,
  address: z.string(),
  state: MailboxState,
  progress: z.object({ imported: z.number().int(), total: z.number().int() }),
  lastSyncedAt: instant.nullable(),
  /** What is wrong and what to do about it, in words; null while all is well. */
  problem: z.object({ code: z.string(), message: z.string(), fix: z.string() }).nullable(),
});
export type AddonMailboxHealth = z.infer<typeof AddonMailboxHealth>;

/** The caller's own mailboxes: `not_connected` means mail is not synced in the background yet. */
export const AddonSyncHealth = z.object({
  status: z.enum(['ok', 'attention', 'not_connected']),
  mailboxes: z.array(AddonMailboxHealth),
  connectUrl: z.string(),
});
export type AddonSyncHealth = z.infer<typeof AddonSyncHealth>;

export const AddonContextView = z.object({
  provider: AddonProvider,
  participants: z.array(AddonParticipant).max(50),
  /** People left out because the email had more than the add-on shows. */
  participantsOmitted: z.number().int().min(0),
  deals: z.array(AddonDeal),
  recentMessages: z.array(AddonMessage).max(10),
  threads: z.array(AddonThread).max(5),
  thisMessage: AddonThisMessage,
  sync: AddonSyncHealth,
  links: z.object({ crm: z.string() }),
});
export type AddonContextView = z.infer<typeof AddonContextView>;

/**
 * The Gmail card's envelope (its widgets are typed in card.ts, which the card builder and the add-on use): the
 * answer is checked down to its sections here, and the card's own tests check what is inside them.
 */
const button = z.looseObject({ text: z.string(), onClick: z.looseObject({}) });
export const CardEnvelope = z.object({
  header: z.object({ title: z.string(), subtitle: z.string().optional() }),
  sections: z.array(z.looseObject({ header: z.string().optional(), widgets: z.array(z.looseObject({})).min(1) })).max(100),
  fixedFooter: z.object({ primaryButton: button, secondaryButton: button.optional() }).optional(),
});

/** The answer of `POST /api/addon/context`: the view, and for Gmail the same content as a card description. */
export const AddonContextResponse = z.object({ view: AddonContextView, card: CardEnvelope.optional() });
export type AddonContextResponse = { view: AddonContextView; card?: Card };
