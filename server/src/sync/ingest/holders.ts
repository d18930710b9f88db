/**
 * `syncedBy` — the users whose mailboxes hold a message (docs/SYNC.md "Dedup and visibility") — and `copyIds` restate
 * the message's copies (`mailboxMessages`, one per mailbox, each written by a unique insert). They live on the
 * message because every visibility filter reads the one and every listing the other. Additions rely on
 * single-document updates being atomic, as on MongoDB (the embedded FerretDB is patched for that:
 * server/src/db/ferretdb-binary.ts); the reconciliation sweep still puts the mailbox's user and copy back
 * wherever one of its copies points at a message without them, whatever caused that. Call inside the organisation's context.
 */
import mongoose, { type Types } from 'mongoose';
import { Message } from '../../models';
import { listCopies } from '../../store/activity';

/** Ids per `$in`. */
const CHUNK = 500;

/** A mailbox's copies of one message. */
export interface Holding {
  messageId: Types.ObjectId;
  copyIds: readonly Types.ObjectId[];
}

/** Adds `userId` to the holders of each holding's message, and the holding's copies to its `copyIds`. */
export async function addHoldings(holdings: readonly Holding[], userId: Types.ObjectId): Promise<void> {
  if (holdings.length > 0) await listCopies(merged(holdings), userId);
}

/**
 * Of `holdings`, those whose message exists and lacks `userId` among its holders or one of the copies among its
 * `copyIds`. Messages deleted meanwhile are not reported: there is nothing to hold.
 */
export async function lackingHoldings(holdings: readonly Holding[], userId: Types.ObjectId): Promise<Holding[]> {
  const lacking: Holding[] = [];
  const all = merged(holdings);
  for (let i = 0; i < all.length; i += CHUNK) {
    const batch = all.slice(i, i + CHUNK);
    const found = await Message.find({ _id: mongoose.trusted({ $in: batch.map((h) => h.messageId) }) }, { syncedBy: 1, copyIds: 1 }).lean<
      { _id: Types.ObjectId; syncedBy?: Types.ObjectId[]; copyIds?: Types.ObjectId[] }[]
    >();
    const byId = new Map(found.map((m) => [String(m._id), m]));
    for (const h of batch) {
      const m = byId.get(String(h.messageId));
      if (!m) continue;
      const listed = new Set((m.copyIds ?? []).map(String));
      if (!(m.syncedBy ?? []).some((u) => u.equals(userId)) || h.copyIds.some((c) => !listed.has(String(c)))) lacking.push(h);
    }
  }
  return lacking;
}

/**
 * The repair of the reconciliation sweep: wherever one of the mailbox's copies points at a message that lost its
 * user or does not list the copy, both are put back. Answers how many messages it repaired.
 */
export async function repairHolders(copies: readonly { _id: Types.ObjectId; messageId: Types.ObjectId }[], userId: Types.ObjectId): Promise<number> {
  const lacking = await lackingHoldings(
    copies.map((c) => ({ messageId: c.messageId, copyIds: [c._id] })),
    userId,
  );
  await addHoldings(lacking, userId);
  return lacking.length;
}

/** One holding per message, its copies together. */
function merged(holdings: readonly Holding[]): Holding[] {
  const byMessage = new Map<string, { messageId: Types.ObjectId; copyIds: Map<string, Types.ObjectId> }>();
  for (const h of holdings) {
    const entry = byMessage.get(String(h.messageId)) ?? { messageId: h.messageId, copyIds: new Map() };
    for (const c of h.copyIds) entry.copyIds.set(String(c), c);
    byMessage.set(String(h.messageId), entry);
  }
  return [...byMessage.values()].map((e) => ({ messageId: e.messageId, copyIds: [...e.copyIds.values()] }));
}
