/**
 * A user's "don't log this email / this thread" (models/log-exclusion.ts), honoured by the ingest before anything
 * about the copy is stored, like the privacy rules (docs/SYNC.md "Privacy first") but per user and per email.
 *
 * Keys, each stored only as a hash (logKeyId):
 * - `m:<dedup key>` — one email: the key its `messages` document is unique on (ingest/dedup-key.ts), and the
 *   `mid:<id>#<fingerprint>` form of a copy that only shares another email's Message-ID.
 * - `r:<Message-ID>` — a thread: every email of the thread by its Message-ID. A later message joins when its own
 *   Message-ID, its In-Reply-To or one of its References is one of them — the chain ingest/threads.ts threads by.
 * - `p:<mailbox>:<provider thread id>` — a thread: the provider's own thread in one of the user's mailboxes (Gmail
 *   threadId, Graph conversationId), for replies whose client dropped References.
 * A later message kept out by a thread choice adds its own `r:` and `p:` keys, so the chain goes on past it.
 */
import mongoose, { type Types } from 'mongoose';
import { LogExclusion, LogExclusionKey, MAX_REMEMBERED_COPIES } from '../../models/log-exclusion';
import { insertIdempotent } from './bulk';
import { collisionFingerprint } from './dedup-key';
import { stableId } from '../../models/ids';
import type { Prepared } from './prepare';

export const emailKey = (dedupKey: string) => `m:${dedupKey}`;
export const threadMemberKey = (internetMessageId: string) => `r:${internetMessageId}`;
export const providerThreadKey = (mailboxId: Types.ObjectId | string, providerThreadId: string) => `p:${String(mailboxId)}:${providerThreadId}`;

/** The stored form of a key: a hash of the organisation, the user and the key, used as the key document's `_id`. */
export const logKeyId = (orgId: Types.ObjectId | string, userId: Types.ObjectId | string, key: string): Types.ObjectId =>
  stableId(orgId, 'logKey', String(userId), key);

/** References checked: the root and the closest parents are enough (every member of an excluded thread is a key). */
const REFERENCES_CHECKED = { first: 3, last: 10 };

/** Everything a copy is checked against. */
export function incomingKeys(
  item: Pick<Prepared, 'dedupKey' | 'parsed'> & { remote: Pick<Prepared['remote'], 'providerThreadId'> },
  mailboxId: Types.ObjectId,
): string[] {
  const p = item.parsed;
  const keys = [emailKey(item.dedupKey)];
  if (item.dedupKey.startsWith('mid:')) keys.push(emailKey(`${item.dedupKey}#${collisionFingerprint(p)}`));
  const refs =
    p.references.length <= REFERENCES_CHECKED.first + REFERENCES_CHECKED.last
      ? p.references
      : [...p.references.slice(0, REFERENCES_CHECKED.first), ...p.references.slice(-REFERENCES_CHECKED.last)];
  for (const mid of new Set([p.messageId, p.inReplyTo, ...refs])) if (mid) keys.push(threadMemberKey(mid));
  if (item.remote.providerThreadId) keys.push(providerThreadKey(mailboxId, item.remote.providerThreadId));
  return keys;
}

/** The keys a thread choice learns from one of its messages kept out later. */
function ownThreadKeys(item: Pick<Prepared, 'parsed'> & { remote: Pick<Prepared['remote'], 'providerThreadId'> }, mailboxId: Types.ObjectId): string[] {
  const keys: string[] = [];
  if (item.parsed.messageId) keys.push(threadMemberKey(item.parsed.messageId));
  if (item.remote.providerThreadId) keys.push(providerThreadKey(mailboxId, item.remote.providerThreadId));
  return keys;
}

/**
 * The hashed keys of an item, as `_id` strings. An ingest checks a copy twice (before it is stored, and against a
 * choice made meanwhile), so they are kept on the item while its dedup key stays the one they were made from (a
 * Message-ID collision gives the copy a key of its own in between: ingest/store.ts separateCollisions).
 */
const keyIdsOf = new WeakMap<object, { owner: ChoiceOwner; dedupKey: string; ids: string[] }>();
function incomingKeyIds(owner: ChoiceOwner, item: Parameters<typeof incomingKeys>[0]): string[] {
  const kept = keyIdsOf.get(item);
  if (kept && kept.owner === owner && kept.dedupKey === item.dedupKey) return kept.ids;
  const ids = incomingKeys(item, owner.mailboxId).map((k) => String(logKeyId(owner.orgId, owner.userId, k)));
  keyIdsOf.set(item, { owner, dedupKey: item.dedupKey, ids });
  return ids;
}

export interface ChoiceOwner {
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  mailboxId: Types.ObjectId;
}

/** Which of `items` a choice of the user covers: index → exclusion id. One read by `_id`; none when nothing matches. */
export async function coveredByChoices(owner: ChoiceOwner, items: readonly Parameters<typeof incomingKeys>[0][]): Promise<Map<number, Types.ObjectId>> {
  const out = new Map<number, Types.ObjectId>();
  if (items.length === 0) return out;
  const idsOf = items.map((item) => incomingKeyIds(owner, item));
  const all = [...new Set(idsOf.flat())].map((id) => new mongoose.Types.ObjectId(id));
  const hits = await LogExclusionKey.find({ _id: mongoose.trusted({ $in: all }) })
    .select({ exclusionId: 1 })
    .lean<{ _id: Types.ObjectId; exclusionId: Types.ObjectId }[]>();
  if (hits.length === 0) return out;
  const exclusionOf = new Map(hits.map((h) => [String(h._id), h.exclusionId]));
  idsOf.forEach((ids, i) => {
    const hit = ids.find((id) => exclusionOf.has(id));
    if (hit) out.set(i, exclusionOf.get(hit)!);
  });
  return out;
}

/**
 * Records what the choices kept out: the copies' provider ids on their choice (for "Log again"), and — for a thread
 * choice — the copies' own keys, so later replies to them are kept out too.
 */
export async function noteKeptOut(
  owner: ChoiceOwner,
  kept: { exclusionId: Types.ObjectId; item: Parameters<typeof incomingKeys>[0] & { remote: { providerMessageId: string } } }[],
): Promise<void> {
  if (kept.length === 0) return;
  const byExclusion = new Map<string, typeof kept>();
  for (const k of kept) byExclusion.set(String(k.exclusionId), [...(byExclusion.get(String(k.exclusionId)) ?? []), k]);
  const threads = new Set(
    (
      await LogExclusion.find({ _id: mongoose.trusted({ $in: kept.map((k) => k.exclusionId) }), scope: 'thread' })
        .select({ _id: 1 })
        .lean<{ _id: Types.ObjectId }[]>()
    ).map((e) => String(e._id)),
  );
  for (const [id, group] of byExclusion) {
    const exclusionId = group[0].exclusionId;
    if (threads.has(id)) {
      const keys = [...new Set(group.flatMap((k) => ownThreadKeys(k.item, owner.mailboxId)))];
      await insertIdempotent(
        LogExclusionKey,
        keys.map((key) => ({ _id: logKeyId(owner.orgId, owner.userId, key), orgId: owner.orgId, userId: owner.userId, exclusionId })),
      );
    }
    await rememberCopies(
      exclusionId,
      group.map((k) => ({ mailboxId: owner.mailboxId, providerMessageId: k.item.remote.providerMessageId })),
    );
  }
}

/**
 * Adds copies to a choice's list up to the cap; what does not fit sets `overflow` (then "Log again" reconciles).
 * Seen again (a re-import keeps the same copy out once more), a copy is not added twice.
 */
export async function rememberCopies(exclusionId: Types.ObjectId, copies: { mailboxId: Types.ObjectId; providerMessageId: string }[]): Promise<void> {
  if (copies.length === 0) return;
  const doc = await LogExclusion.findById(exclusionId).select({ copies: 1 }).lean<{ copies?: { mailboxId: Types.ObjectId; providerMessageId: string }[] }>();
  if (!doc) return;
  const known = new Set((doc.copies ?? []).map((c) => `${String(c.mailboxId)}|${c.providerMessageId}`));
  const fresh = [...new Map(copies.map((c) => [`${String(c.mailboxId)}|${c.providerMessageId}`, c])).entries()]
    .filter(([k]) => !known.has(k))
    .map(([, c]) => c);
  if (fresh.length === 0) return;
  const room = Math.max(0, MAX_REMEMBERED_COPIES - known.size);
  const update: Record<string, unknown> = {};
  if (room > 0) update.$addToSet = { copies: { $each: fresh.slice(0, room).map((c) => ({ mailboxId: c.mailboxId, providerMessageId: c.providerMessageId })) } };
  if (fresh.length > room) update.$set = { overflow: true };
  await LogExclusion.updateOne({ _id: exclusionId }, update);
}
