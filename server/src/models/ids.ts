/**
 * Stable document ids: the `_id` of a message, a mailbox copy, a thread, an auto-created contact or company is a
 * hash of its organisation and its natural key (the same key its unique index holds).
 *
 * Why: writes become plain inserts that are idempotent by construction — two workers, a crash replay or a second
 * mailbox produce the same `_id`, and a duplicate-key answer means "already there". That keeps the ingest to a few
 * batched inserts per page on any MongoDB, and it is what makes it fast on the embedded FerretDB, which finds a
 * document through an index only by `_id` (server/src/db/ferretdb-binary.ts): any other filter reads the collection.
 * So a message is found by its Message-ID through its `_id` (byInternetMessageId).
 * The ObjectId's leading "timestamp" bytes are therefore not a time: nothing may sort by `_id` for recency.
 */
import { createHash } from 'node:crypto';
import { Types } from 'mongoose';

export type StableKind = 'message' | 'copy' | 'thread' | 'threadKey' | 'contact' | 'company' | 'lock' | 'logKey';

export function stableId(orgId: Types.ObjectId | string, kind: StableKind, ...parts: string[]): Types.ObjectId {
  // JSON keeps the part boundaries unambiguous whatever the parts contain.
  const digest = createHash('sha256')
    .update(JSON.stringify([String(orgId), kind, ...parts]))
    .digest();
  return new Types.ObjectId(digest.subarray(0, 12));
}

export const messageDocId = (orgId: Types.ObjectId | string, dedupKey: string): Types.ObjectId => stableId(orgId, 'message', dedupKey);

/**
 * The filter of the message with this Message-ID (`mid:` dedup key). The ingest and the outbox store every message
 * with a Message-ID under this `_id`; the key is matched too, so a message stored otherwise is never mistaken for it.
 */
export const byInternetMessageId = (orgId: Types.ObjectId | string, internetMessageId: string): { _id: Types.ObjectId; dedupKey: string } => {
  const dedupKey = `mid:${internetMessageId}`;
  return { _id: messageDocId(orgId, dedupKey), dedupKey };
};

export const copyDocId = (orgId: Types.ObjectId | string, mailboxId: Types.ObjectId | string, providerMessageId: string): Types.ObjectId =>
  stableId(orgId, 'copy', String(mailboxId), providerMessageId);
