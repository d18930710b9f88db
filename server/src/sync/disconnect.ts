/**
 * Disconnecting a mailbox (CONTRACT.md: DELETE /api/mailboxes/:id): stop push, revoke the grant, then remove
 * the mailbox's copies and every message only this mailbox held; messages other mailboxes also hold stay,
 * with this user taken out of `syncedBy` when none of their other mailboxes holds them. Each step is
 * idempotent, so a crash midway is finished by calling it again.
 */
import mongoose, { Types } from 'mongoose';
import { Mailbox } from '../models/mailbox';
import { MailboxMessage } from '../models/mailbox-message';
import { Message } from '../models/message';
import { SyncEvent } from '../models/audit';

const BATCH = 500;

/** Removes what the mailbox held. Runs inside the mailbox's organisation context. */
export async function removeMailboxData(mailboxId: Types.ObjectId, userId: Types.ObjectId): Promise<{ copies: number; messages: number }> {
  let copies = 0;
  let messages = 0;
  for (;;) {
    const batch = await MailboxMessage.find({ mailboxId }).select({ messageId: 1 }).limit(BATCH).lean<{ _id: Types.ObjectId; messageId: Types.ObjectId }[]>();
    if (batch.length === 0) break;
    const messageIds = [...new Set(batch.map((c) => String(c.messageId)))].map((id) => new Types.ObjectId(id));
    await MailboxMessage.deleteMany({ _id: mongoose.trusted({ $in: batch.map((c) => c._id) }) });
    copies += batch.length;
    // What is still held elsewhere, and by whom.
    const remaining = await MailboxMessage.find({ messageId: mongoose.trusted({ $in: messageIds }) })
      .select({ messageId: 1, userId: 1 }).lean<{ messageId: Types.ObjectId; userId: Types.ObjectId }[]>();
    const heldBy = new Map<string, Set<string>>();
    for (const r of remaining) {
      const set = heldBy.get(String(r.messageId)) ?? new Set<string>();
      set.add(String(r.userId));
      heldBy.set(String(r.messageId), set);
    }
    const orphaned = messageIds.filter((id) => !heldBy.has(String(id)));
    if (orphaned.length) {
      messages += (await Message.deleteMany({ _id: mongoose.trusted({ $in: orphaned }) })).deletedCount;
    }
    const noLongerHeldByUser = messageIds.filter((id) => heldBy.has(String(id)) && !heldBy.get(String(id))!.has(String(userId)));
    if (noLongerHeldByUser.length) {
      await Message.updateMany({ _id: mongoose.trusted({ $in: noLongerHeldByUser }) }, { $pull: { syncedBy: userId } });
    }
  }
  await SyncEvent.deleteMany({ mailboxId });
  await Mailbox.deleteOne({ _id: mailboxId });
  return { copies, messages };
}
