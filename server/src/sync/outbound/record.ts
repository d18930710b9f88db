/**
 * What a CRM send leaves in the CRM, written so that the Sent copy sync brings back lands on THE SAME message:
 * - at enqueue, the `messages` document keyed `mid:<our Message-ID>` (the ingest's own normalisation and dedup
 *   key), so the user sees the message at once and a synced-back copy carrying that Message-ID dedups onto it;
 * - once the provider accepted it, the sending mailbox's `mailboxMessages` copy under the provider's id, so the
 *   synced-back copy is matched by provider id even when the provider replaced our Message-ID.
 * Every step is an upsert keyed on what identifies it, so repeating it after a crash changes nothing.
 */
import { createHash } from 'node:crypto';
import sanitizeHtml from 'sanitize-html';
import { Types } from 'mongoose';
import { MailboxMessage } from '../../models/mailbox-message';
import { Message } from '../../models/message';
import { Org } from '../../models/org';
import { Outbox } from '../../models/outbox';
import { Thread } from '../../models/thread';
import { normaliseAddress } from '../../mail/address';
import { OrgDirectory } from '../../crm/directory';
import { copyDocId, messageDocId } from '../../models/ids';
import { forgetMessages, indexCopies, indexMessages } from '../../store/activity';
import { dedupKey } from '../ingest/dedup-key';
import { classifyDirection } from '../../mail/direction';
import type { ParsedAddress } from '../../mail/message';
import { normaliseMessageId } from '../../mail/message-id';
import { sanitizeEmailHtml } from '../ingest/sanitize';
import { capabilitiesOf } from '../providers/capabilities';
import type { ProviderName, SentResult } from '../providers/port';
import type { SendRequest } from '@threadline/shared/src/api/messages';

/** The validated request body of POST /api/messages (server/openapi.yaml), as the API package defines it. */
export type { SendRequest };

/** The message replied to, as needed to thread the reply (headers) and at the provider (its copy's ids). */
export interface ReplyInfo {
  messageId: string;
  internetMessageId: string | null;
  references: string[];
  providerMessageId: string | null;
  providerThreadId: string | null;
}

/** Everything decided at enqueue and stored on the outbox entry, so every later attempt sends the same message. */
export interface PreparedSend extends SendRequest {
  /** Final subject ("Re: …" for replies). */
  subject: string;
  fromName: string;
  /** ISO date of the Date header. */
  date: string;
  threadId: string;
  reply: ReplyInfo | null;
  attachmentMeta: { id: string; filename: string; mimeType: string; size: number }[];
}

export interface SendingMailbox {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  address: string;
  provider: ProviderName;
}

const SNIPPET_CHARS = 200;

const asParsed = (list: SendRequest['to'] | undefined): ParsedAddress[] =>
  (list ?? []).map((a) => ({ email: normaliseAddress(a.email) ?? a.email.toLowerCase(), name: a.name ?? '' }));

function snippetOf(text: string | undefined, html: string | undefined): string {
  const plain = text ?? sanitizeHtml(html ?? '', { allowedTags: [], allowedAttributes: {} });
  return plain.replace(/\s+/g, ' ').trim().slice(0, SNIPPET_CHARS);
}

/** Attachment metadata as the ingest identifies files: the sha256 of the content. */
export function attachmentMeta(files: { filename: string; contentType: string; content: Buffer }[]): PreparedSend['attachmentMeta'] {
  return files.map((f) => ({
    id: createHash('sha256').update(f.content).digest('hex'),
    filename: f.filename,
    mimeType: f.contentType,
    size: f.content.length,
  }));
}

/**
 * Creates (or finds) the CRM message of a send and its thread; returns the message id, which differs from
 * `preferredId` only when a synced-back copy created the message first. Runs in the organisation's context.
 */
export async function recordCrmMessage(
  entry: { orgId: Types.ObjectId; userId: Types.ObjectId; internetMessageId: string; messageId: Types.ObjectId | null },
  prepared: PreparedSend,
  mailbox: SendingMailbox,
): Promise<Types.ObjectId> {
  const messageKey = normaliseMessageId(entry.internetMessageId);
  if (!messageKey) throw new Error('outbox entry without a usable Message-ID');
  const from: ParsedAddress = { email: normaliseAddress(mailbox.address) ?? mailbox.address, name: prepared.fromName };
  const [to, cc, bcc] = [asParsed(prepared.to), asParsed(prepared.cc), asParsed(prepared.bcc)];
  const date = new Date(prepared.date);
  const org = await Org.findById(entry.orgId).select({ domains: 1 }).lean<{ domains?: string[] }>();
  const direction = classifyDirection({ from: [from], to, cc, bcc }, { address: mailbox.address }, org?.domains ?? []);
  const key = dedupKey({ messageId: messageKey, from: [from], date, subject: prepared.subject, text: prepared.text ?? '', malformed: false, rawSha256: null });
  const threadId = new Types.ObjectId(prepared.threadId);
  // Our References header: the parent's chain and the parent itself (compose.ts threadingHeaders), normalised.
  const references = prepared.reply ? [...new Set([...prepared.reply.references, prepared.reply.internetMessageId].filter((k): k is string => !!k))] : [];

  // A Message-ID adopted after sending (adoptSentMessageId) re-keys the message recorded under ours; finish that
  // here if a crash came between the entry's update and the message's.
  if (entry.messageId) await rekeyMessage(entry.messageId, messageKey);

  const participants = [...new Set([from, ...to, ...cc, ...bcc].map((a) => a.email))];
  // Linked as the ingest links (its directory and rules), since the synced-back copy finds this message already
  // stored and does not link it again.
  const links = (await OrgDirectory.load()).linksFor(participants, org?.domains ?? []);

  const stored = await Message.findOneAndUpdate(
    { dedupKey: key },
    {
      $setOnInsert: {
        _id: entry.messageId ?? messageDocId(entry.orgId, key),
        internetMessageId: messageKey,
        inReplyTo: prepared.reply?.internetMessageId ?? null,
        references,
        threadId,
        subject: prepared.subject,
        from,
        to,
        cc,
        bcc,
        date,
        direction,
        snippet: snippetOf(prepared.text, prepared.html),
        text: prepared.text ?? '',
        html: prepared.html !== undefined ? sanitizeEmailHtml(prepared.html).html : '',
        hasAttachments: prepared.attachmentMeta.length > 0,
        attachments: prepared.attachmentMeta,
        participants,
        contactIds: links.contactIds,
        companyIds: links.companyIds,
        dealIds: links.dealIds,
      },
      $addToSet: { syncedBy: entry.userId },
    },
    // No projection: FerretDB does not implement findAndModify's `fields`.
    { upsert: true, new: true, setDefaultsOnInsert: true },
  ).lean<{ _id: Types.ObjectId; threadId: Types.ObjectId | null; date: Date; participants: string[] }>();
  if (!stored) throw new Error('message upsert returned nothing');
  // In the read model at once, so queued or scheduled mail shows on its people and in its thread before it is sent.
  await indexMessages([{ messageId: stored._id, date: stored.date, participants: stored.participants, threadId: stored.threadId }]);

  // Upserted by id, so a crash between the two writes is repaired by running this again.
  await Thread.updateOne(
    { _id: stored.threadId ?? threadId },
    {
      $setOnInsert: { subject: prepared.subject },
      $addToSet: { messageKeys: { $each: [messageKey, ...references] } },
      $max: { lastMessageAt: date },
    },
    { upsert: true },
  );
  return stored._id;
}

/**
 * The message stored under `messageId` now answers to the Message-ID `messageKey` (normalised): its dedup key and
 * internetMessageId change, its thread learns the key (so replies whose In-Reply-To names it join the thread), and
 * a message another mailbox's copy already made under that key is folded into it — one message, with every copy.
 * Nothing happens when it already has that key, or is not a message keyed by a Message-ID.
 */
async function rekeyMessage(messageId: Types.ObjectId, messageKey: string): Promise<void> {
  const key = `mid:${messageKey}`;
  const current = await Message.findById(messageId).select({ dedupKey: 1, threadId: 1 }).lean<{ dedupKey: string; threadId: Types.ObjectId | null }>();
  if (!current || current.dedupKey === key || !current.dedupKey.startsWith('mid:')) return;
  type Folded = {
    _id: Types.ObjectId;
    date: Date;
    participants?: string[];
    threadId?: Types.ObjectId | null;
    syncedBy?: Types.ObjectId[];
    contactIds?: Types.ObjectId[];
    companyIds?: Types.ObjectId[];
    dealIds?: Types.ObjectId[];
  };
  const other = await Message.findOne({ dedupKey: key })
    .select({ syncedBy: 1, contactIds: 1, companyIds: 1, dealIds: 1, date: 1, participants: 1, threadId: 1 })
    .lean<Folded>();
  if (other && !other._id.equals(messageId)) {
    await MailboxMessage.updateMany({ messageId: other._id }, { $set: { messageId } });
    const moved = await MailboxMessage.find({ messageId }).select({ _id: 1 }).lean<{ _id: Types.ObjectId }[]>();
    const ours = await Message.findById(messageId)
      .select({ date: 1, participants: 1, threadId: 1 })
      .lean<{ date: Date; participants: string[]; threadId: Types.ObjectId | null }>();
    if (ours) await indexCopies(moved.map((c) => ({ copyId: c._id, messageId, date: ours.date, participants: ours.participants, threadId: ours.threadId })));
    await forgetMessages([other]);
    await Message.updateOne(
      { _id: messageId },
      {
        $addToSet: {
          syncedBy: { $each: other.syncedBy ?? [] },
          contactIds: { $each: other.contactIds ?? [] },
          companyIds: { $each: other.companyIds ?? [] },
          dealIds: { $each: other.dealIds ?? [] },
        },
      },
    );
    await Message.deleteOne({ _id: other._id });
  }
  await Message.updateOne({ _id: messageId }, { $set: { dedupKey: key, internetMessageId: messageKey } });
  if (current.threadId) await Thread.updateOne({ _id: current.threadId }, { $addToSet: { messageKeys: messageKey } });
}

/**
 * The Message-ID the provider's copy carries, when it is not the one we composed: the entry takes it first (so
 * recording the message again keys it by the id that went out), then the message is re-keyed (recordCrmMessage).
 * Returns the Message-ID the entry now holds.
 */
export async function adoptSentMessageId(entry: { _id: Types.ObjectId; internetMessageId: string }, sent: SentResult): Promise<string> {
  const theirs = sent.internetMessageId ? normaliseMessageId(sent.internetMessageId) : null;
  if (!theirs || theirs === normaliseMessageId(entry.internetMessageId)) return entry.internetMessageId;
  const adopted = sent.internetMessageId!.trim();
  await Outbox.updateOne({ _id: entry._id }, { $set: { internetMessageId: adopted, composedInternetMessageId: entry.internetMessageId } });
  return adopted;
}

/**
 * After the provider accepted the send: the sending mailbox's copy (keyed by the provider's id, as the ingest
 * keys copies) and the provider thread on the CRM thread. A Sent copy the ingest stored first is left as it is.
 */
export async function recordSentCopy(messageId: Types.ObjectId, mailbox: SendingMailbox, sent: SentResult, now = new Date()): Promise<void> {
  const copyId = copyDocId(mailbox.orgId, mailbox._id, sent.providerMessageId);
  const written = await MailboxMessage.updateOne(
    { mailboxId: mailbox._id, providerMessageId: sent.providerMessageId },
    {
      $setOnInsert: {
        // The id the ingest gives this copy (models/ids.ts), so its later updates by id find it.
        _id: copyId,
        userId: mailbox.userId,
        messageId,
        providerThreadId: sent.providerThreadId,
        // As the provider files it (Gmail: SENT); a folder (Graph's Sent Items) is only known when sync reads it back.
        labels: [...capabilitiesOf(mailbox.provider).sentCopyLabels],
        state: { read: true, starred: false, archived: false, deleted: false },
        stateChangedAt: { read: now },
      },
    },
    { upsert: true },
  );
  const message = await Message.findById(messageId)
    .select({ date: 1, participants: 1, threadId: 1 })
    .lean<{ _id: Types.ObjectId; date: Date; participants: string[]; threadId: Types.ObjectId | null }>();
  if (written.upsertedCount > 0 && message) {
    await indexCopies([{ copyId, messageId, date: message.date, participants: message.participants, threadId: message.threadId }]);
  }
  if (sent.providerThreadId && message?.threadId) {
    await Thread.updateOne({ _id: message.threadId }, { $addToSet: { providerThreadKeys: `${mailbox._id.toHexString()}:${sent.providerThreadId}` } });
  }
}
