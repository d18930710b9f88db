/**
 * Joining messages into CRM threads across mailboxes (docs/SYNC.md "Threads") with no lookup per message:
 *
 * - A thread's id is derived from its root Message-ID: the first References entry (RFC 5322 §3.6.4 keeps the root
 *   first), else In-Reply-To, else the message's own id. Every reply, in any mailbox, computes the same thread.
 * - Within a mailbox, the provider's own thread (`<mailboxId>:<providerThreadId>`) also joins messages that carry no
 *   usable References (clients that drop them, subject-threaded mail). That mapping is written once, by insert, and
 *   never changes, so it is cached in memory; only a provider thread met for the first time in this process costs
 *   a read, and only when another run already mapped it.
 */
import { Types } from 'mongoose';
import { Thread, ThreadKey } from '../../models';
import { insertIdempotent } from './bulk';
import { stableId } from '../../models/ids';

export interface ThreadInput {
  /** Root Message-ID (normalised), or null when the message has none at all. */
  rootKey: string | null;
  /** True when the root came from References/In-Reply-To rather than the message's own id. */
  fromReferences: boolean;
  providerThreadId: string | null;
  /** A key that is unique to the message, used when there is neither a root nor a provider thread. */
  fallbackKey: string;
  subject: string;
  date: Date;
}

/** A bounded map of provider-thread keys to CRM thread ids (safe to share: entries never change). */
export class ThreadKeyCache {
  /**
   * Ids are held as their hex strings: an ObjectId carries its own Buffer and ArrayBuffer, about 330 bytes an
   * entry against about 130 (measured with bench/heap-summary.ts), so 50,000 keys of a busy organisation's recent
   * threads take ~6 MB. A miss costs one read by `_id`.
   */
  private readonly map = new Map<string, string>();
  constructor(private readonly maxEntries = 50_000) {}
  get(key: string): Types.ObjectId | undefined {
    const hex = this.map.get(key);
    return hex === undefined ? undefined : new Types.ObjectId(hex);
  }
  set(key: string, id: Types.ObjectId): void {
    if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, id.toHexString());
  }
}

/** Resolves (creating where needed) the CRM thread of each input, in order. Call inside runInOrg. */
export async function resolveThreads(
  orgId: Types.ObjectId,
  mailboxId: Types.ObjectId,
  inputs: ThreadInput[],
  cache: ThreadKeyCache,
  now: Date,
): Promise<Types.ObjectId[]> {
  const rootKeyOf = (i: ThreadInput): string =>
    i.rootKey !== null ? `mid:${i.rootKey}` : i.providerThreadId !== null ? `pt:${String(mailboxId)}:${i.providerThreadId}` : i.fallbackKey;
  const computed = inputs.map((i) => stableId(orgId, 'thread', rootKeyOf(i)));
  const ptKey = (i: ThreadInput): string | null => (i.providerThreadId !== null ? `pt:${String(mailboxId)}:${i.providerThreadId}` : null);

  // One candidate per provider thread in this batch: prefer a root learnt from References (the most reliable),
  // else the oldest message's own id.
  const groups = new Map<string, number[]>();
  inputs.forEach((input, idx) => {
    const key = ptKey(input);
    if (key !== null) groups.set(key, [...(groups.get(key) ?? []), idx]);
  });
  const resolved = new Map<string, Types.ObjectId>();
  const toInsert: { key: string; candidate: Types.ObjectId }[] = [];
  for (const [key, idxs] of groups) {
    const cached = cache.get(key);
    if (cached) {
      resolved.set(key, cached);
      continue;
    }
    const best = idxs.find((i) => inputs[i].fromReferences) ?? idxs.reduce((a, b) => (inputs[b].date < inputs[a].date ? b : a));
    toInsert.push({ key, candidate: computed[best] });
  }

  const outcome = await insertIdempotent(
    ThreadKey,
    toInsert.map(({ key, candidate }) => ({
      _id: stableId(orgId, 'threadKey', key),
      orgId,
      key,
      threadId: candidate,
    })),
  );
  outcome.inserted.forEach((i) => resolved.set(toInsert[i].key, toInsert[i].candidate));
  // Mapped by an earlier run: read the mapping (an `_id` equality read, cheap everywhere).
  await Promise.all(
    outcome.existing.map(async (i) => {
      const { key, candidate } = toInsert[i];
      const doc = await ThreadKey.findById(stableId(orgId, 'threadKey', key), { threadId: 1 }).lean();
      resolved.set(key, doc?.threadId ?? candidate);
    }),
  );
  if (outcome.failed.length > 0) throw new Error(`thread keys could not be written: ${outcome.failed[0].message}`);
  for (const [key, id] of resolved) cache.set(key, id);

  const result = inputs.map((input, i) => {
    const key = ptKey(input);
    return (key !== null ? resolved.get(key) : undefined) ?? computed[i];
  });

  // Create the threads that do not exist yet (a duplicate answer means another message or mailbox made it first).
  const firstOfThread = new Map<string, number>();
  result.forEach((id, i) => {
    if (!firstOfThread.has(String(id))) firstOfThread.set(String(id), i);
  });
  const threadDocs = [...firstOfThread.values()].map((i) => ({
    _id: result[i],
    orgId,
    subject: inputs[i].subject,
    messageKeys: inputs[i].rootKey !== null ? [inputs[i].rootKey] : [],
    providerThreadKeys: ptKey(inputs[i]) !== null ? [ptKey(inputs[i])] : [],
    lastMessageAt: inputs[i].date,
    createdAt: now,
    updatedAt: now,
  }));
  const created = await insertIdempotent(Thread, threadDocs);
  if (created.failed.length > 0) throw new Error(`threads could not be written: ${created.failed[0].message}`);
  return result;
}
