/**
 * Rebuilds the mail read model (activity.ts) of one organisation from its messages and copies: any copy refs left
 * from before copy ids lived on the messages are folded in, every copy is indexed again (idempotent inserts and
 * `$addToSet`s), then every entry whose message no longer exists (or, for a thread entry, whose message is not of
 * that thread) and every copy id whose copy is gone or belongs to another message is deleted. (A copy being written
 * while this runs may lose its id this way, listed before its insert; the mailbox's next reconciliation puts it
 * back: ingest/holders.ts repairHolders.) Nothing
 * is emptied first, so the sidebar keeps answering while it runs; running it twice changes nothing.
 * `npm run rebuild-read-models` runs it for every organisation (server/src/main.ts --rebuild-read-models).
 */
import mongoose, { Types } from 'mongoose';
import { runInOrg } from '../db/tenant';
import { MailboxMessage } from '../models/mailbox-message';
import { Message } from '../models/message';
import { Activity } from '../models/read-model';
import { foldCopyRefs, indexCopies } from './activity';
import { prefixRange } from './keys';

const { trusted } = mongoose;
const BATCH = 500;

export interface RebuildOutcome {
  copies: number;
  staleActivity: number;
  staleCopyIds: number;
  /** Copy refs of mail stored before copy ids lived on the messages, folded into them (activity.ts foldCopyRefs). */
  foldedCopyRefs: number;
}

export async function rebuildReadModels(orgId: Types.ObjectId): Promise<RebuildOutcome> {
  return runInOrg(orgId, async () => {
    const out: RebuildOutcome = { copies: 0, staleActivity: 0, staleCopyIds: 0, foldedCopyRefs: await foldCopyRefs(orgId) };
    // One pass over the copies (a maintenance job, not a request path), indexed a batch at a time.
    let batch: { _id: Types.ObjectId; messageId: Types.ObjectId }[] = [];
    const flush = async () => {
      const ids = [...new Set(batch.map((c) => String(c.messageId)))].map((id) => new Types.ObjectId(id));
      const messages = await Message.find({ _id: trusted({ $in: ids }) })
        .select({ date: 1, participants: 1, threadId: 1 })
        .lean<{ _id: Types.ObjectId; date: Date; participants?: string[]; threadId?: Types.ObjectId | null }[]>();
      const byId = new Map(messages.map((m) => [String(m._id), m]));
      await indexCopies(
        batch.flatMap((c) => {
          const m = byId.get(String(c.messageId));
          return m ? [{ copyId: c._id, messageId: m._id, date: m.date, participants: m.participants ?? [], threadId: m.threadId }] : [];
        }),
      );
      out.copies += batch.length;
      batch = [];
    };
    for await (const c of MailboxMessage.find({})
      .select({ messageId: 1 })
      .lean<{ _id: Types.ObjectId; messageId: Types.ObjectId }>()
      .cursor({ batchSize: BATCH })) {
      batch.push(c as { _id: Types.ObjectId; messageId: Types.ObjectId });
      if (batch.length === BATCH) await flush();
    }
    if (batch.length > 0) await flush();
    // An entry is stale when its message is gone; a thread entry also when the message is not of that thread.
    const gone = (ofThread: boolean) => async (entries: Entry[]) => {
      const ids = [...new Set(entries.map((e) => String(e.messageId)))].map((id) => new Types.ObjectId(id));
      const found = await Message.find({ _id: trusted({ $in: ids }) })
        .select({ threadId: 1 })
        .lean<{ _id: Types.ObjectId; threadId?: Types.ObjectId | null }[]>();
      const thread = new Map(found.map((m) => [String(m._id), String(m.threadId ?? '')]));
      return entries.filter((e) => !thread.has(String(e.messageId)) || (ofThread && e._id.split(' ')[2] !== thread.get(String(e.messageId))));
    };
    out.staleActivity =
      (await dropStale(Activity, prefixRange(orgId, 'a', []), gone(false))) +
      (await dropStale(Activity, prefixRange(orgId, 'd', []), gone(false))) +
      (await dropStale(Activity, prefixRange(orgId, 't', []), gone(true)));
    out.staleCopyIds = await dropStaleCopyIds();
    return out;
  });
}

type Entry = { _id: string; messageId: Types.ObjectId };

async function dropStale(model: mongoose.Model<any>, range: { $gt: string; $lt: string }, stale: (entries: Entry[]) => Promise<Entry[]>): Promise<number> {
  let dropped = 0;
  let from = range.$gt;
  for (;;) {
    const entries = await model
      .find({ _id: trusted({ $gt: from, $lt: range.$lt }) })
      .sort({ _id: 1 })
      .limit(BATCH)
      .lean<Entry[]>();
    if (entries.length === 0) break;
    from = entries[entries.length - 1]._id;
    const gone = await stale(entries);
    if (gone.length > 0) dropped += (await model.deleteMany({ _id: trusted({ $in: gone.map((e) => e._id) }) })).deletedCount;
  }
  return dropped;
}

/** Copy ids whose copy is gone (or now belongs to another message) leave their message. */
async function dropStaleCopyIds(): Promise<number> {
  let dropped = 0;
  let batch: { _id: Types.ObjectId; copyIds: Types.ObjectId[] }[] = [];
  const flush = async () => {
    const found = await MailboxMessage.find({ _id: trusted({ $in: batch.flatMap((m) => m.copyIds) }) })
      .select({ messageId: 1 })
      .lean<{ _id: Types.ObjectId; messageId: Types.ObjectId }[]>();
    const live = new Map(found.map((c) => [String(c._id), String(c.messageId)]));
    for (const m of batch) {
      const gone = m.copyIds.filter((id) => live.get(String(id)) !== String(m._id));
      if (gone.length === 0) continue;
      dropped += gone.length;
      await Message.updateOne({ _id: m._id }, { $pullAll: { copyIds: gone } });
    }
    batch = [];
  };
  for await (const m of Message.find({}).select({ copyIds: 1 }).lean<{ _id: Types.ObjectId; copyIds?: Types.ObjectId[] }>().cursor({ batchSize: BATCH })) {
    const doc = m as { _id: Types.ObjectId; copyIds?: Types.ObjectId[] };
    if (doc.copyIds?.length) batch.push({ _id: doc._id, copyIds: doc.copyIds });
    if (batch.length === BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return dropped;
}
