/**
 * Removing stored mail, the one way every path does it — a disconnect, a `mirror` deletion, tightened privacy
 * rules: copies go; a message goes with its last copy, and with it its cached attachment bytes, and the thread it
 * leaves empty; a user who no longer holds a message in any mailbox leaves its `syncedBy` (and its sharing overrides). Every step is idempotent
 * (a crash midway is finished by running it again). Runs inside the organisation's context.
 */
import mongoose, { Types } from 'mongoose';
import { AttachmentCache } from '../../models/attachment-cache';
import { MailboxMessage } from '../../models/mailbox-message';
import { Message } from '../../models/message';
import { Thread } from '../../models/thread';
import { forgetCopies, forgetMessages } from '../../store/activity';

const BATCH = 500;
const { trusted } = mongoose;

/** Deletes messages outright: the documents, every copy, cached bytes, and threads left empty. */
export async function removeMessages(ids: Types.ObjectId[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    const docs = await Message.find({ _id: trusted({ $in: batch }) })
      .select({ threadId: 1, date: 1, participants: 1 })
      .lean<{ _id: Types.ObjectId; threadId?: Types.ObjectId | null; date: Date; participants?: string[] }[]>();
    const threadIds = [...new Map(docs.flatMap((d) => (d.threadId ? [[String(d.threadId), d.threadId] as const] : []))).values()];
    // The read model's entries first: a crash after them leaves mail the rebuild command indexes again, never an
    // entry pointing at nothing.
    await forgetMessages(docs);
    await MailboxMessage.deleteMany({ messageId: trusted({ $in: batch }) });
    await AttachmentCache.deleteMany({ messageId: trusted({ $in: batch }) });
    removed += (await Message.deleteMany({ _id: trusted({ $in: batch }) })).deletedCount;
    await removeEmptyThreads(threadIds);
  }
  return removed;
}

async function removeEmptyThreads(threadIds: Types.ObjectId[]): Promise<void> {
  if (threadIds.length === 0) return;
  const stillUsed = new Set((await Message.distinct('threadId', { threadId: trusted({ $in: threadIds }) })).map(String));
  const empty = threadIds.filter((t) => !stillUsed.has(String(t)));
  if (empty.length) await Thread.deleteMany({ _id: trusted({ $in: empty }) });
}

/** The `$pull` that takes a user out of a message's holders, with the sharing override of their holding. */
export const releaseHolder = (userId: Types.ObjectId) => ({
  syncedBy: userId,
  'levelOverrides.private': userId,
  'levelOverrides.metadata': userId,
  'levelOverrides.full': userId,
});

/**
 * Removes the copies matching `copyFilter` (of `userId`'s mailboxes), a batch at a time: a message with no copy left
 * goes entirely (removeMessages), and the user leaves `syncedBy` of those they no longer hold in any mailbox.
 */
export async function removeCopies(copyFilter: Record<string, unknown>, userId: Types.ObjectId): Promise<{ copies: number; messages: number }> {
  let copies = 0;
  let messages = 0;
  for (;;) {
    const batch = await MailboxMessage.find(copyFilter).select({ messageId: 1 }).limit(BATCH).lean<{ _id: Types.ObjectId; messageId: Types.ObjectId }[]>();
    if (batch.length === 0) break;
    await forgetCopies(batch);
    await MailboxMessage.deleteMany({ _id: trusted({ $in: batch.map((c) => c._id) }) });
    copies += batch.length;
    const messageIds = [...new Set(batch.map((c) => String(c.messageId)))].map((id) => new Types.ObjectId(id));
    const remaining = await MailboxMessage.find({ messageId: trusted({ $in: messageIds }) })
      .select({ messageId: 1, userId: 1 })
      .lean<{ messageId: Types.ObjectId; userId: Types.ObjectId }[]>();
    const holders = new Map<string, Set<string>>();
    for (const r of remaining) holders.set(String(r.messageId), (holders.get(String(r.messageId)) ?? new Set()).add(String(r.userId)));
    const orphaned = messageIds.filter((id) => !holders.has(String(id)));
    const released = messageIds.filter((id) => holders.has(String(id)) && !holders.get(String(id))!.has(String(userId)));
    // Their sharing override for the message goes in the same write: an override is only ever a holder's.
    if (released.length) await Message.updateMany({ _id: trusted({ $in: released }) }, { $pull: releaseHolder(userId) });
    messages += await removeMessages(orphaned);
  }
  return { copies, messages };
}
