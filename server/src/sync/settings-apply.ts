/**
 * Privacy settings applied retroactively (DESIGN §4.5). Tightened rules remove the matching stored mail at once,
 * judged by the same evaluator ingest uses (ingest/privacy.ts), so "would not be stored now" and "is removed now"
 * never disagree: the message documents (body, subject, participants), their copies, cached attachment bytes and
 * threads left empty. A user's rules only reach the copies of that user's mailboxes; the message goes when no
 * other copy remains. Loosened rules schedule a re-import instead: the affected mailboxes are marked for a
 * reconciliation, which re-fetches what is missing. Visibility changes need nothing here: reads compute it.
 */
import mongoose, { Types } from 'mongoose';
import { AttachmentCache } from '../models/attachment-cache';
import { Contact } from '../models/crm';
import { Mailbox } from '../models/mailbox';
import { MailboxMessage } from '../models/mailbox-message';
import { Message } from '../models/message';
import { Thread } from '../models/thread';
import { escapeRegex } from '../crm/contacts';
import { evaluatePrivacy, mergeRules, NO_RULES, type MergedPrivacyRules, type PrivacyRules } from './ingest/privacy';

const BATCH = 500;

/** The exclusion lists and switches a change is judged on (org settings.sync, or a user's settings). */
export type RuleSet = Pick<PrivacyRules, 'excludedDomains' | 'excludedAddresses' | 'excludedLabels'> & Partial<Pick<PrivacyRules, 'excludeInternal' | 'onlyKnownContacts'>>;

export interface RuleChange {
  /** Only the rules that are new: what must be removed now (everything else was enforced already). */
  tightened: MergedPrivacyRules;
  /** True when anything was dropped or switched off: mail once excluded may now be imported. */
  loosened: boolean;
}

/** Pure: what a settings change adds and whether it lifts anything, on normalised values. */
export function diffRules(before: RuleSet, after: RuleSet): RuleChange {
  const b = mergeRules({ ...NO_RULES, ...before });
  const a = mergeRules({ ...NO_RULES, ...after });
  const added = (k: 'excludedDomains' | 'excludedAddresses' | 'excludedLabels') => a[k].filter((r) => !b[k].some((x) => x.value === r.value));
  const dropped = (k: 'excludedDomains' | 'excludedAddresses' | 'excludedLabels') => b[k].some((r) => !a[k].some((x) => x.value === r.value));
  return {
    tightened: {
      excludedDomains: added('excludedDomains'),
      excludedAddresses: added('excludedAddresses'),
      excludedLabels: added('excludedLabels'),
      excludeInternal: a.excludeInternal && !b.excludeInternal ? a.excludeInternal : false,
      onlyKnownContacts: a.onlyKnownContacts && !b.onlyKnownContacts ? a.onlyKnownContacts : false,
    },
    loosened: dropped('excludedDomains') || dropped('excludedAddresses') || dropped('excludedLabels')
      || (Boolean(b.excludeInternal) && !a.excludeInternal) || (Boolean(b.onlyKnownContacts) && !a.onlyKnownContacts),
  };
}

const hasMessageRules = (r: MergedPrivacyRules) =>
  r.excludedDomains.length > 0 || r.excludedAddresses.length > 0 || r.excludeInternal !== false || r.onlyKnownContacts !== false;

/** Narrows the scan to messages a message-level rule could match; onlyKnownContacts needs every message. */
function candidateFilter(r: MergedPrivacyRules): Record<string, unknown> | null {
  if (r.onlyKnownContacts) return {};
  const or: Record<string, unknown>[] = [];
  if (r.excludedAddresses.length) or.push({ participants: mongoose.trusted({ $in: r.excludedAddresses.map((x) => x.value) }) });
  for (const d of r.excludedDomains) or.push({ participants: new RegExp(`@(?:[^@]+\\.)?${escapeRegex(d.value)}$`) });
  if (r.excludeInternal) or.push({ direction: 'internal' });
  return or.length ? { $or: or } : null;
}

/** Labels are matched like ingest matches them: case-insensitive, nested labels (`Personal/Family`) included. */
function labelFilter(r: MergedPrivacyRules): Record<string, unknown> | null {
  if (r.excludedLabels.length === 0) return null;
  return { $or: r.excludedLabels.map((l) => ({ labels: new RegExp(`^${escapeRegex(l.value).replace(/\\ /g, '\\s+')}(?:/.*)?$`, 'i') })) };
}

interface Scope { orgDomains: string[]; mailboxIds?: Types.ObjectId[] }

/** Message ids (in this scope) that the tightened rules exclude. */
async function excludedMessageIds(rules: MergedPrivacyRules, scope: Scope): Promise<Types.ObjectId[]> {
  const out: Types.ObjectId[] = [];
  const filter = hasMessageRules(rules) ? candidateFilter(rules) : null;
  if (filter) {
    const known = rules.onlyKnownContacts ? await knownAddresses() : new Set<string>();
    const ctx = { isKnownContact: (e: string) => known.has(e), orgDomains: scope.orgDomains };
    const onlyHeld = scope.mailboxIds ? await heldBy(scope.mailboxIds) : null;
    let after: Types.ObjectId | null = null;
    for (;;) {
      const page: { _id: Types.ObjectId; participants: string[]; direction: 'inbound' | 'outbound' | 'internal' }[] = await Message
        .find(after ? { $and: [filter, { _id: mongoose.trusted({ $gt: after }) }] } : filter)
        .select({ participants: 1, direction: 1 }).sort({ _id: 1 }).limit(BATCH).lean();
      if (page.length === 0) break;
      after = page[page.length - 1]._id;
      for (const m of page) {
        if (onlyHeld && !onlyHeld.has(String(m._id))) continue;
        if (evaluatePrivacy({ participants: m.participants, labels: [], direction: m.direction }, rules, ctx).excluded) out.push(m._id);
      }
    }
  }
  return out;
}

async function knownAddresses(): Promise<Set<string>> {
  const contacts = await Contact.find({}).select({ emails: 1 }).lean<{ emails: string[] }[]>();
  return new Set(contacts.flatMap((c) => c.emails));
}

async function heldBy(mailboxIds: Types.ObjectId[]): Promise<Set<string>> {
  const ids = await MailboxMessage.distinct('messageId', { mailboxId: mongoose.trusted({ $in: mailboxIds }) });
  return new Set(ids.map(String));
}

/** Deletes messages outright (org rules): the documents, every copy, cached bytes, and threads left empty. */
async function removeMessages(ids: Types.ObjectId[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    const threadIds = await Message.distinct('threadId', { _id: mongoose.trusted({ $in: batch }) });
    await MailboxMessage.deleteMany({ messageId: mongoose.trusted({ $in: batch }) });
    await AttachmentCache.deleteMany({ messageId: mongoose.trusted({ $in: batch }) });
    removed += (await Message.deleteMany({ _id: mongoose.trusted({ $in: batch }) })).deletedCount;
    await removeEmptyThreads(threadIds.filter((t): t is Types.ObjectId => t != null));
  }
  return removed;
}

async function removeEmptyThreads(threadIds: Types.ObjectId[]): Promise<void> {
  if (threadIds.length === 0) return;
  const stillUsed = new Set((await Message.distinct('threadId', { threadId: mongoose.trusted({ $in: threadIds }) })).map(String));
  const empty = threadIds.filter((t) => !stillUsed.has(String(t)));
  if (empty.length) await Thread.deleteMany({ _id: mongoose.trusted({ $in: empty }) });
}

/**
 * Removes the copies (in the given mailboxes) of these messages; a message with no copy left goes entirely, and
 * the user leaves `syncedBy` of those they no longer hold in any mailbox.
 */
async function removeCopies(copyFilter: Record<string, unknown>, userId: Types.ObjectId): Promise<{ copies: number; messages: number }> {
  const copies = await MailboxMessage.find(copyFilter).select({ messageId: 1 }).lean<{ _id: Types.ObjectId; messageId: Types.ObjectId }[]>();
  for (let i = 0; i < copies.length; i += BATCH) {
    const batch = copies.slice(i, i + BATCH);
    await MailboxMessage.deleteMany({ _id: mongoose.trusted({ $in: batch.map((c) => c._id) }) });
  }
  const messageIds = [...new Set(copies.map((c) => String(c.messageId)))].map((id) => new Types.ObjectId(id));
  const remaining = await MailboxMessage.find({ messageId: mongoose.trusted({ $in: messageIds }) })
    .select({ messageId: 1, userId: 1 }).lean<{ messageId: Types.ObjectId; userId: Types.ObjectId }[]>();
  const holders = new Map<string, Set<string>>();
  for (const r of remaining) holders.set(String(r.messageId), (holders.get(String(r.messageId)) ?? new Set()).add(String(r.userId)));
  const orphaned = messageIds.filter((id) => !holders.has(String(id)));
  const released = messageIds.filter((id) => holders.has(String(id)) && !holders.get(String(id))!.has(String(userId)));
  if (released.length) await Message.updateMany({ _id: mongoose.trusted({ $in: released }) }, { $pull: { syncedBy: userId } });
  return { copies: copies.length, messages: await removeMessages(orphaned) };
}

/** Marks mailboxes due for a reconciliation: the engine re-fetches what the old rules kept out. */
async function scheduleReimport(filter: Record<string, unknown>): Promise<void> {
  const now = new Date();
  await Mailbox.updateMany(filter, { $set: { nextRunAt: now, reconcileRequestedAt: now } });
}

export interface ApplyResult { removedMessages: number; removedCopies: number; rescheduled: boolean }

/** The organisation's sync rules changed (runs in the org's context). */
export async function applyOrgRulesChange(before: RuleSet, after: RuleSet, orgDomains: string[]): Promise<ApplyResult> {
  const { tightened, loosened } = diffRules(before, after);
  const removedMessages = await removeMessages(await excludedMessageIds(tightened, { orgDomains }));
  const labels = labelFilter(tightened);
  let removedCopies = 0;
  let removedByLabel = 0;
  if (labels) {
    // A label is a property of one copy: only that copy is excluded; the message goes when none is left.
    const byUser = await MailboxMessage.distinct('userId', labels);
    for (const userId of byUser as Types.ObjectId[]) {
      const r = await removeCopies({ $and: [labels, { userId }] }, userId);
      removedCopies += r.copies;
      removedByLabel += r.messages;
    }
  }
  if (loosened) await scheduleReimport({});
  return { removedMessages: removedMessages + removedByLabel, removedCopies, rescheduled: loosened };
}

/** One user's own rules changed: only their mailboxes' copies are concerned (runs in the org's context). */
export async function applyUserRulesChange(userId: Types.ObjectId, before: RuleSet, after: RuleSet, orgDomains: string[]): Promise<ApplyResult> {
  const { tightened, loosened } = diffRules(before, after);
  const mailboxIds = (await Mailbox.find({ userId }).select({ _id: 1 }).lean<{ _id: Types.ObjectId }[]>()).map((m) => m._id);
  const total = { copies: 0, messages: 0 };
  const add = (r: { copies: number; messages: number }) => { total.copies += r.copies; total.messages += r.messages; };
  if (mailboxIds.length) {
    const inMailboxes = { mailboxId: mongoose.trusted({ $in: mailboxIds }) };
    const ids = await excludedMessageIds(tightened, { orgDomains, mailboxIds });
    if (ids.length) add(await removeCopies({ ...inMailboxes, messageId: mongoose.trusted({ $in: ids }) }, userId));
    const labels = labelFilter(tightened);
    if (labels) add(await removeCopies({ $and: [labels, inMailboxes] }, userId));
  }
  const rescheduled = loosened && mailboxIds.length > 0;
  if (rescheduled) await scheduleReimport({ userId });
  return { removedMessages: total.messages, removedCopies: total.copies, rescheduled };
}
