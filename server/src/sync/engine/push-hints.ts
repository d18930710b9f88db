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

/** Notes a message id for the mailbox's next round; past MAX_HINTED_MESSAGES the round reads everything instead. */
export async function notePushHint(mailboxId: Types.ObjectId, messageId: string): Promise<void> {
  await runAsSystem('note push hint', async () => {
    const added = await Mailbox.updateOne(
      { _id: mailboxId, $or: [{ 'pushHints.count': mongoose.trusted({ $lt: MAX_HINTED_MESSAGES }) }, { 'pushHints.count': null }] },
      { $addToSet: { 'pushHints.ids': messageId }, $inc: { 'pushHints.count': 1 } },
    );
    if (added.matchedCount === 0) await Mailbox.updateOne({ _id: mailboxId }, { $set: { 'pushHints.overflow': true } });
  });
}

/**
 * Takes the mailbox's hints for a round: the ids, or null when there are none or too many (then a full round). A
 * hint noted between the read and the reset is dropped, and its due-mark sends the mailbox round once more.
 */
export async function takePushHints(mailboxId: string): Promise<string[] | null> {
  return runAsSystem('take push hints', async () => {
    const doc = await Mailbox.findById(mailboxId, { pushHints: 1 }).lean<{ pushHints?: { ids?: string[]; overflow?: boolean } }>();
    const hints = doc?.pushHints;
    if (!hints || (!hints.overflow && !(hints.ids?.length))) return null;
    await Mailbox.updateOne({ _id: mailboxId }, { $set: { pushHints: EMPTY } });
    return hints.overflow ? null : hints.ids ?? null;
  });
}

/** The hints as the Graph adapter asks for them. */
export const storedPushHints: PushHints = { take: takePushHints };
