/**
 * `syncedBy` — the users whose mailboxes hold a message (docs/SYNC.md "Dedup and visibility") — restates the message's
 * copies (`mailboxMessages`, one per mailbox, each written by a unique insert). It lives on the message because every
 * visibility filter reads it. Additions rely on single-document updates being atomic, as on MongoDB (the embedded
 * FerretDB is patched for that: server/src/db/ferretdb-binary.ts); the reconciliation sweep still puts the
 * mailbox's user back wherever one of its copies points at a message without it, whatever caused that.
 * Call inside the organisation's context.
 */
import mongoose, { type Types } from 'mongoose';
import { Message } from '../../models';

/** Ids per `$in`. */
const CHUNK = 500;

/** Adds `userId` to the holders of `messageIds`. */
export async function addHolder(messageIds: readonly Types.ObjectId[], userId: Types.ObjectId): Promise<void> {
  const ids = unique(messageIds);
  for (let i = 0; i < ids.length; i += CHUNK) {
    await Message.updateMany({ _id: mongoose.trusted({ $in: ids.slice(i, i + CHUNK) }) }, { $addToSet: { syncedBy: userId } });
  }
}

/**
 * Of `messageIds`, the messages that exist and do not list `userId`. Messages deleted meanwhile are not reported:
 * there is nothing to hold.
 */
export async function lackingHolder(messageIds: readonly Types.ObjectId[], userId: Types.ObjectId): Promise<Types.ObjectId[]> {
  const lacking: Types.ObjectId[] = [];
  const ids = unique(messageIds);
  for (let i = 0; i < ids.length; i += CHUNK) {
    const found = await Message.find({ _id: mongoose.trusted({ $in: ids.slice(i, i + CHUNK) }) }, { syncedBy: 1 }).lean<
      { _id: Types.ObjectId; syncedBy?: Types.ObjectId[] }[]
    >();
    for (const m of found) if (!(m.syncedBy ?? []).some((u) => u.equals(userId))) lacking.push(m._id);
  }
  return lacking;
}

/** The repair of the reconciliation sweep: the mailbox's user added wherever one of its copies' messages lost it. */
export async function repairHolders(copyMessageIds: readonly Types.ObjectId[], userId: Types.ObjectId): Promise<number> {
  const lacking = await lackingHolder(copyMessageIds, userId);
  if (lacking.length > 0) await addHolder(lacking, userId);
  return lacking.length;
}

function unique(ids: readonly Types.ObjectId[]): Types.ObjectId[] {
  const seen = new Map<string, Types.ObjectId>();
  for (const id of ids) seen.set(String(id), id);
  return [...seen.values()];
}
