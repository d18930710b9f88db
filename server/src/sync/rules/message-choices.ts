/**
 * "Don't log this email / this thread" and "Log it again" (docs/sidebars.md): a user's own choice for one email or
 * its whole thread, overriding the organisation's and their own rules for it only.
 *
 * Don't log: the choice and its keys are written first (from then on ingest keeps every matching copy out, even one a
 * sync is storing at that moment: ingest/store.ts step 9), then the caller's copies go through the one removal path
 * (ingest/removal.ts) — the stored message with them when no other holder keeps it. Log again: the keys go, and the
 * copies the choice removed or kept out are fetched back by the engine on the mailbox's next run (marked due now);
 * past what the choice remembers, a reconciliation of the user's mailboxes finds the rest. Runs in the caller's
 * organisation.
 */
import mongoose, { Types } from 'mongoose';
import { currentOrgId } from '../../db/tenant';
import { loadVisibility } from '../../crm/visibility';
import { Mailbox } from '../../models/mailbox';
import { MailboxMessage } from '../../models/mailbox-message';
import { Message, type MessageDoc } from '../../models/message';
import { LogExclusion, LogExclusionKey, type LogExclusionDoc } from '../../models/log-exclusion';
import { Thread } from '../../models/thread';
import { insertIdempotent } from '../ingest/bulk';
import { byInternetMessageId } from '../../models/ids';
import { emailKey, logKeyId, providerThreadKey, rememberCopies, threadMemberKey } from '../ingest/log-choices';
import { removeCopies } from '../ingest/removal';
import { signalDue } from '../engine/scheduler';
import { leanByIds } from '../../store/lean';

export type LogScope = 'message' | 'thread';
/** The email a choice is about: by its CRM id (it is stored and the caller may see it), or by its normalised Message-ID. */
export type ChoiceTarget = { messageId: Types.ObjectId } | { internetMessageId: string };

export interface ExclusionView {
  id: string;
  scope: LogScope;
  createdAt: string;
}
export const exclusionView = (e: Pick<LogExclusionDoc, '_id' | 'scope' | 'createdAt'>): ExclusionView => ({
  id: String(e._id),
  scope: e.scope,
  createdAt: new Date(e.createdAt).toISOString(),
});

const { trusted } = mongoose;
/** A thread with more messages than this is treated by its first ones (by date) and its later ones' chain. */
const MAX_THREAD_MESSAGES = 5000;

type StoredEmail = Pick<MessageDoc, '_id' | 'dedupKey' | 'threadId' | 'syncedBy' | 'levelOverrides'>;

/** The Message-ID inside a `mid:` dedup key (also of a `mid:<id>#<fingerprint>` one), else null. */
const midOf = (dedupKey: string): string | null => (dedupKey.startsWith('mid:') ? dedupKey.slice(4).replace(/#[0-9a-f]{32}$/, '') : null);

/**
 * The stored email the caller may act on. By CRM id: only one the caller may see (else null: 404). By Message-ID:
 * one the caller may not see is treated exactly like one that is not stored, so the answer tells nothing about it.
 */
async function resolve(callerId: Types.ObjectId, target: ChoiceTarget): Promise<{ doc: StoredEmail | null; mid: string | null } | null> {
  const policy = await loadVisibility(callerId);
  const select = { dedupKey: 1, threadId: 1, syncedBy: 1, levelOverrides: 1 };
  if ('messageId' in target) {
    const doc = await Message.findById(target.messageId).select(select).lean<StoredEmail>();
    if (!doc || policy.access(doc) === 'none') return null;
    return { doc, mid: midOf(doc.dedupKey) };
  }
  const doc = await Message.findOne(byInternetMessageId(currentOrgId(), target.internetMessageId)).select(select).lean<StoredEmail>();
  return { doc: doc && policy.access(doc) !== 'none' ? doc : null, mid: target.internetMessageId };
}

/** The keys of a choice, and the caller's copies it removes now. */
async function keysAndCopies(scope: LogScope, doc: StoredEmail | null, mid: string | null) {
  if (scope === 'message') {
    const keys = [emailKey(doc ? doc.dedupKey : `mid:${mid}`)];
    return { keys, messageIds: doc ? [doc._id] : [] };
  }
  const keys = new Set<string>();
  if (mid) keys.add(threadMemberKey(mid));
  let members: Pick<MessageDoc, '_id' | 'dedupKey'>[] = doc ? [doc] : [];
  if (doc?.threadId) {
    members = await Message.find({ threadId: doc.threadId })
      .select({ dedupKey: 1 })
      .sort({ date: 1 })
      .limit(MAX_THREAD_MESSAGES)
      .lean<Pick<MessageDoc, '_id' | 'dedupKey'>[]>();
    // The thread's root, which replies carry first in References even when the root itself was never stored.
    const thread = await Thread.findById(doc.threadId).select({ messageKeys: 1 }).lean<{ messageKeys?: string[] }>();
    for (const root of thread?.messageKeys ?? []) keys.add(threadMemberKey(root));
  }
  for (const m of members) {
    const memberMid = midOf(m.dedupKey);
    if (memberMid) keys.add(threadMemberKey(memberMid));
    // Members without a Message-ID are only known by their content key.
    else keys.add(emailKey(m.dedupKey));
  }
  return { keys: [...keys], messageIds: members.map((m) => m._id) };
}

export type ExcludeOutcome =
  | { ok: false; reason: 'not_found' }
  | { ok: true; created: boolean; exclusion: ExclusionView; removed: { copies: number; messages: number } };

export async function excludeFromLog(callerId: Types.ObjectId, target: ChoiceTarget, scope: LogScope): Promise<ExcludeOutcome> {
  const found = await resolve(callerId, target);
  if (!found) return { ok: false, reason: 'not_found' };
  const { doc, mid } = found;
  const orgId = currentOrgId();
  const { keys, messageIds } = await keysAndCopies(scope, doc, mid);
  // The caller's copies of these emails: their provider threads join the keys (a thread choice), their ids the list
  // "Log again" fetches back.
  const copies =
    messageIds.length === 0
      ? []
      : await MailboxMessage.find({ userId: callerId, messageId: trusted({ $in: messageIds }) })
          .select({ mailboxId: 1, providerMessageId: 1, providerThreadId: 1 })
          .lean<{ _id: Types.ObjectId; mailboxId: Types.ObjectId; providerMessageId: string; providerThreadId: string | null }[]>();
  if (scope === 'thread') for (const c of copies) if (c.providerThreadId) keys.push(providerThreadKey(c.mailboxId, c.providerThreadId));

  // The same choice again (a double click, a second sidebar) is the first one: its primary key already points at a
  // choice of this scope.
  const primary = await LogExclusionKey.findById(logKeyId(orgId, callerId, keys[0]))
    .select({ exclusionId: 1 })
    .lean<{ exclusionId: Types.ObjectId }>();
  const existing = primary ? await LogExclusion.findOne({ _id: primary.exclusionId, userId: callerId, scope }).lean<LogExclusionDoc>() : null;
  const exclusion = existing ?? ((await LogExclusion.create({ userId: callerId, scope })).toObject() as LogExclusionDoc);
  // Keys first, then removal: from here on no sync keeps a copy of these emails for the caller.
  const outcome = await insertIdempotent(
    LogExclusionKey,
    [...new Set(keys)].map((key) => ({ _id: logKeyId(orgId, callerId, key), orgId, userId: callerId, exclusionId: exclusion._id })),
  );
  if (outcome.failed.length > 0) throw new Error(`log choice keys could not be written: ${outcome.failed[0].message}`);
  await rememberCopies(
    exclusion._id,
    copies.map((c) => ({ mailboxId: c.mailboxId, providerMessageId: c.providerMessageId })),
  );
  const removed = copies.length === 0 ? { copies: 0, messages: 0 } : await removeCopies({ _id: trusted({ $in: copies.map((c) => c._id) }) }, callerId);
  return { ok: true, created: !existing, exclusion: exclusionView(exclusion), removed };
}

export type LogAgainOutcome = { ok: false; reason: 'not_found' } | { ok: true; exclusion: ExclusionView; reimport: { messages: number; reconcile: boolean } };

/** Lifts one of the caller's choices; `markDue` wakes the mailboxes that have copies to fetch back. */
export async function logAgain(
  callerId: Types.ObjectId,
  exclusionId: Types.ObjectId,
  markDue: (mailboxId: Types.ObjectId) => Promise<void>,
): Promise<LogAgainOutcome> {
  const exclusion = await LogExclusion.findOne({ _id: exclusionId, userId: callerId }).lean<LogExclusionDoc>();
  if (!exclusion) return { ok: false, reason: 'not_found' };
  // Keys first: a crash between the two leaves a choice that keeps nothing out, which a second "Log again" finishes.
  await LogExclusionKey.deleteMany({ exclusionId: exclusion._id });
  await LogExclusion.deleteOne({ _id: exclusion._id });
  const mine = await Mailbox.find({ userId: callerId }).select({ _id: 1 }).lean<{ _id: Types.ObjectId }[]>();
  const byMailbox = new Map<string, string[]>();
  for (const c of exclusion.copies ?? []) {
    if (!mine.some((m) => m._id.equals(c.mailboxId))) continue; // a mailbox disconnected since
    byMailbox.set(String(c.mailboxId), [...(byMailbox.get(String(c.mailboxId)) ?? []), c.providerMessageId]);
  }
  let messages = 0;
  for (const [mailboxId, ids] of byMailbox) {
    await Mailbox.updateOne({ _id: new Types.ObjectId(mailboxId) }, { $addToSet: { refetchIds: { $each: ids } } });
    messages += ids.length;
  }
  // More copies than the choice remembered: a reconciliation of the caller's mailboxes re-imports the rest.
  const reconcile = Boolean(exclusion.overflow);
  if (reconcile) await Mailbox.updateMany({ userId: callerId }, { $set: { reconcileRequestedAt: new Date(), nextRunAt: new Date() } });
  for (const mailboxId of byMailbox.keys()) await markDue(new Types.ObjectId(mailboxId));
  if (reconcile) await signalDue();
  return { ok: true, exclusion: exclusionView(exclusion), reimport: { messages, reconcile } };
}

/** The caller's choice that covers this email (its own, else its thread's), for the sidebars and the console. */
export async function choiceCovering(callerId: Types.ObjectId, email: { dedupKey: string } | { internetMessageId: string }): Promise<ExclusionView | null> {
  const orgId = currentOrgId();
  const dedupKey = 'dedupKey' in email ? email.dedupKey : `mid:${email.internetMessageId}`;
  const mid = midOf(dedupKey);
  const ids = [emailKey(dedupKey), ...(mid ? [threadMemberKey(mid)] : [])].map((k) => logKeyId(orgId, callerId, k));
  const hits = await leanByIds<{ exclusionId: Types.ObjectId }>(LogExclusionKey, ids, { exclusionId: 1 });
  if (hits.length === 0) return null;
  const found = await LogExclusion.find({ _id: trusted({ $in: hits.map((h) => h.exclusionId) }), userId: callerId })
    .select({ scope: 1, createdAt: 1 })
    .lean<LogExclusionDoc[]>();
  // A thread choice says more than a message one: it is the one "Log again" must lift for this email to come back.
  const best = found.find((e) => e.scope === 'thread') ?? found[0];
  return best ? exclusionView(best) : null;
}

/** The caller's choices, newest first. Only ids, scopes and dates: the emails they keep out left no trace. */
export async function listExclusions(callerId: Types.ObjectId, limit = 200): Promise<(ExclusionView & { copies: number })[]> {
  const list = await LogExclusion.find({ userId: callerId })
    .select({ scope: 1, createdAt: 1, copies: 1, overflow: 1 })
    .sort({ createdAt: -1 })
    .limit(limit)
    .lean<LogExclusionDoc[]>();
  return list.map((e) => ({ ...exclusionView(e), copies: (e.copies ?? []).length }));
}
