/**
 * Push hints in MongoDB, with the mailbox's due-mark: which messages a change notification named since the
 * mailbox's last round. Kept on the mailbox document (found by `_id`), so a webhook received by an `--role api`
 * process reaches a worker in any other process. A hint only saves calls — the round GETs just the named messages
 * instead of every folder's delta (providers/graph/hints.ts) — and losing one is safe: the due-mark it came with
 * makes the next round run, a full one when it has no hints.
 */
import mongoose, { type Types } from 'mongoose';
import { runAsSystem } from '../../db/tenant';
import { Mailbox } from '../../models/mailbox';
import { MAX_HINTED_MESSAGES, type PushHints } from '../providers/port';

const EMPTY = { ids: [], count: 0, overflow: false };

/** The due-mark written with a hint (scheduler.ts recordDue), in the same update. */
export interface DueUpdate {
  $inc: Record<string, number>;
  $min: Record<string, Date>;
}

/**
 * Notes message ids for the mailbox's next round, with its due-mark in the same write; past MAX_HINTED_MESSAGES
 * the round reads everything instead.
 */
export async function notePushHint(mailboxId: Types.ObjectId, messageIds: readonly string[], due?: DueUpdate): Promise<void> {
  const ids = [...new Set(messageIds)];
  await runAsSystem('note push hint', async () => {
    const room = MAX_HINTED_MESSAGES - ids.length;
    const added = await Mailbox.updateOne(
      { _id: mailboxId, $or: [{ 'pushHints.count': mongoose.trusted({ $lte: room }) }, { 'pushHints.count': null }] },
      { ...due, $addToSet: { 'pushHints.ids': { $each: ids } }, $inc: { ...due?.$inc, 'pushHints.count': ids.length } },
    );
    if (added.matchedCount === 0) await Mailbox.updateOne({ _id: mailboxId }, { ...due, $set: { 'pushHints.overflow': true } });
  });
}

/**
 * Takes the mailbox's hints for a round: the ids, or null when there are none or too many (then a full round). One
 * round trip: the reset answers the hints it replaced, and matches nothing when there were none. On the embedded
 * FerretDB that is a read then a write, so a hint noted in between is dropped — and its due-mark, which counts a run
 * request, sends the mailbox round once more, a full round.
 */
export async function takePushHints(mailboxId: string): Promise<string[] | null> {
  return runAsSystem('take push hints', async () => {
    // No projection: FerretDB 1.24 does not implement one on findAndModify.
    const doc = await Mailbox.findOneAndUpdate(
      { _id: mailboxId, 'pushHints.count': mongoose.trusted({ $gt: 0 }) },
      { $set: { pushHints: EMPTY } },
      { new: false },
    ).lean<{ pushHints?: { ids?: string[]; overflow?: boolean } }>();
    const hints = doc?.pushHints;
    if (!hints || (!hints.overflow && !hints.ids?.length)) return null;
    return hints.overflow ? null : (hints.ids ?? null);
  });
}

/** The hints as the Graph adapter asks for them. */
export const storedPushHints: PushHints = { take: takePushHints };
