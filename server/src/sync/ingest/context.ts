/**
 * What the storing end of the ingest needs to know about the mailbox, its organisation and its user. Loaded once per
 * sync run (not per message) and passed to every `ingestMessages` call of the run, with the run's caches.
 */
import type { Types } from 'mongoose';
import { Org, User } from '../../models';
import type { OrgDoc } from '../../models/org';
import { runInOrg } from '../../db/tenant';
import { mergeRules, type MergedPrivacyRules, type PrivacyRules } from './privacy';
import type { OrgDirectory } from '../../crm/directory';
import type { ThreadKeyCache } from './threads';

export interface IngestMailbox {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  address: string;
}

export type OrgSyncSettings = OrgDoc['settings']['sync'];
export type UserPrivacySettings = Partial<Pick<PrivacyRules, 'excludedDomains' | 'excludedAddresses' | 'excludedLabels'>>;

export interface IngestContext {
  mailbox: IngestMailbox;
  org: { domains: string[]; sync: OrgSyncSettings };
  /** `private`: the user shares none of their mail (their own setting, else the organisation's default). */
  user: { email: string | null; privacy: UserPrivacySettings; private?: boolean };
  /** CRM records for linking; loaded on first use and kept for the run. */
  directory?: OrgDirectory;
  /** Provider-thread → CRM-thread mappings already seen (they never change, so sharing one across runs is safe). */
  threadKeys?: ThreadKeyCache;
  now?: () => Date;
}

/** Org and user rules merged: the user can add exclusions, never remove the organisation's. */
export function privacyRulesOf(ctx: IngestContext): MergedPrivacyRules {
  const s = ctx.org.sync;
  const orgRules: PrivacyRules = {
    excludedDomains: s.excludedDomains,
    excludedAddresses: s.excludedAddresses,
    excludedLabels: s.excludedLabels,
    excludeInternal: s.excludeInternal,
    onlyKnownContacts: s.onlyKnownContacts,
  };
  return mergeRules(orgRules, ctx.user.privacy);
}

/** Reads the organisation's and the user's settings for a mailbox. */
export async function loadIngestContext(mailbox: IngestMailbox): Promise<IngestContext> {
  // Org is the tenant root (not tenant-scoped); the user is read inside the organisation's context.
  const [org, user] = await Promise.all([
    Org.findById(mailbox.orgId, { domains: 1, settings: 1 }).lean(),
    runInOrg(mailbox.orgId, () => User.findById(mailbox.userId, { email: 1, settings: 1 }).lean()),
  ]);
  if (!org) throw new Error(`organisation ${String(mailbox.orgId)} of mailbox ${String(mailbox._id)} does not exist`);
  return {
    mailbox,
    org: { domains: org.domains ?? [], sync: org.settings.sync },
    user: {
      email: user?.email ?? null,
      private: (user?.settings?.visibility ?? org.settings?.sharing?.defaultVisibility ?? 'full') === 'private',
      privacy: {
        excludedDomains: user?.settings?.excludedDomains ?? [],
        excludedAddresses: user?.settings?.excludedAddresses ?? [],
        excludedLabels: user?.settings?.excludedLabels ?? [],
      },
    },
  };
}
