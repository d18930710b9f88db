/**
 * The outbox (docs/SYNC.md "Sending from the CRM"): a CRM send is an `outbox` entry written FIRST, under the caller's
 * Idempotency-Key, then sent from the user's mailbox by whoever holds the entry's lease, then recorded.
 *
 * Never twice: the entry is marked `sending` before the provider is called. An adapter that sends in two steps
 * (Graph: draft or createReply, then send) reports the complete draft's immutable id before sending it, and that
 * id is persisted on the entry (`providerDraftId`). An entry found `sending` again (the process died, or the
 * answer was lost, between the provider accepting and us recording) is then resumed from that draft
 * (`MailboxWriter.resumePrepared`: sent already → recorded; still a draft → sent now, once; gone → failed,
 * never sent blind). Without a draft id (Gmail's one-step send, or a crash before the draft was complete) it is
 * looked up at the provider by its Message-ID, and only sent when the provider has nothing.
 *
 * Retry state lives on the entry: a throttled or transient failure leaves it queued/sending with `lease.until`
 * set to the time of the next attempt and no `lease.owner` — a lease nobody holds, which the sweep
 * (processDueOutbox) skips until it expires. The schema has no separate next-attempt field, and this keeps
 * "may someone work on it now?" one condition. Refusals (invalid, permission, auth revoked) fail the entry.
 */
import { createHash, randomUUID } from 'node:crypto';
import mongoose, { Types } from 'mongoose';
import { loadVisibility } from '../../crm/visibility';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { Mailbox } from '../../models/mailbox';
import { MailboxMessage } from '../../models/mailbox-message';
import { Message, type MessageDoc } from '../../models/message';
import { Outbox } from '../../models/outbox';
import { User } from '../../models/user';
import { capabilitiesOf } from '../providers/capabilities';
import { ProviderError, type OutgoingMessage, type SendHooks, type SentResult } from '../providers/port';
import type { MailboxAdapters } from '../providers/runtime';
import { claimNextGeneration } from '../engine/lease';
import { messageDocId, stableId } from '../../models/ids';
import { normaliseMessageId } from '../../mail/message-id';
import { composeMessage, decodeAttachments, newMessageId, replySubject } from './compose';
import { forgetOpen, markAllOpen, markOpen, MISSING_GRACE_MS, openEntryIds } from '../../store/outbox-open';
import { adoptSentMessageId, attachmentMeta, recordCrmMessage, recordSentCopy, type PreparedSend, type SendingMailbox, type SendRequest } from './record';

export type { SendRequest } from './record';
export type OutboxStatus = 'queued' | 'sending' | 'sent' | 'failed';

/** The 202 answer: `id` is the CRM message id. */
export interface SendAnswer {
  id: string;
  status: OutboxStatus;
}

export class OutboundError extends Error {
  constructor(
    public readonly code: 'mailbox_not_found' | 'message_not_found' | 'idempotency_conflict',
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

interface StoredEntry {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  mailboxId: Types.ObjectId;
  requestHash: string;
  request: PreparedSend;
  status: OutboxStatus;
  internetMessageId: string;
  messageId: Types.ObjectId | null;
  attempts: number;
  /** The immutable id of the provider draft prepared for this send (two-step senders), once it is complete. */
  providerDraftId?: string | null;
}

export const OUTBOX_LEASE_MS = 2 * 60_000;
export const MAX_SEND_ATTEMPTS = 8;
const BASE_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 30 * 60_000;
/** Codes meaning the provider refused the message: sending it again would be refused again. */
const REFUSED = new Set(['invalid', 'permission', 'auth_revoked']);

const requestHash = (body: SendRequest): string => createHash('sha256').update(JSON.stringify(body)).digest('hex');

function answerFor(entry: Pick<StoredEntry, 'messageId' | 'requestHash'>, hash: string): SendAnswer {
  if (entry.requestHash !== hash) throw new OutboundError('idempotency_conflict', 'this Idempotency-Key was already used with a different request');
  // The first answer, unchanged (the Idempotency-Key of POST /api/messages): the same key replays it and sends nothing.
  return { id: String(entry.messageId), status: 'queued' };
}

async function findEntry(userId: Types.ObjectId, idempotencyKey: string): Promise<StoredEntry | null> {
  return Outbox.findOne({ userId, idempotencyKey }).lean<StoredEntry>();
}

/** Everything fixed before the entry is written: subject, Date, thread, the message replied to, attachment metadata. */
async function prepare(
  userId: Types.ObjectId,
  body: SendRequest,
  mailbox: SendingMailbox,
  ids: { orgId: Types.ObjectId; messageKey: string },
): Promise<PreparedSend> {
  // Decoded here only to refuse a bad or oversize attachment before anything is stored (the cap is the provider's).
  const files = decodeAttachments(body.attachments ?? [], capabilitiesOf(mailbox.provider).sendAttachmentCapBytes);
  const user = await User.findById(userId).select({ name: 1 }).lean<{ name?: string }>();
  let reply: PreparedSend['reply'] = null;
  let subject = body.subject;
  // A new conversation's thread is the one the ingest derives for a message without References: keyed by its own
  // Message-ID (ingest/threads.ts), so the synced-back Sent copy and later replies land in it.
  let threadId = stableId(ids.orgId, 'thread', `mid:${ids.messageKey}`);
  if (body.replyToMessageId) {
    const original = await Message.findById(body.replyToMessageId)
      .select({ internetMessageId: 1, references: 1, subject: 1, threadId: 1, syncedBy: 1, levelOverrides: 1 })
      .lean<{
        _id: Types.ObjectId;
        internetMessageId: string | null;
        references?: string[];
        subject: string;
        threadId: Types.ObjectId | null;
        syncedBy: Types.ObjectId[];
        levelOverrides?: MessageDoc['levelOverrides'];
      }>();
    // Replying copies the subject: only to a message the caller may see (404 otherwise, as if it did not exist).
    if (!original || (await loadVisibility(userId)).access(original) === 'none')
      throw new OutboundError('message_not_found', 'the message replied to was not found');
    const copy = await MailboxMessage.findOne({ messageId: original._id, mailboxId: mailbox._id })
      .select({ providerMessageId: 1, providerThreadId: 1 })
      .lean<{ providerMessageId: string; providerThreadId: string | null }>();
    reply = {
      messageId: String(original._id),
      internetMessageId: original.internetMessageId,
      references: original.references ?? [],
      // Threaded at the provider only when the sending mailbox holds the original; the headers thread it anyway.
      providerMessageId: copy?.providerMessageId ?? null,
      providerThreadId: copy?.providerThreadId ?? null,
    };
    subject = replySubject(original.subject || body.subject);
    if (original.threadId) threadId = original.threadId;
  }
  return {
    ...body,
    subject,
    fromName: user?.name ?? '',
    date: new Date().toISOString(),
    threadId: threadId.toHexString(),
    reply,
    attachmentMeta: attachmentMeta(files),
  };
}

/**
 * POST /api/messages: writes the outbox entry (unique per user and key) and the CRM message; sends nothing
 * itself. Runs in the caller's organisation context. Returns the entry id for whoever kicks the send.
 */
export async function enqueueSend(
  user: { userId: Types.ObjectId; orgId: Types.ObjectId },
  body: SendRequest,
  idempotencyKey: string,
): Promise<SendAnswer & { entryId: Types.ObjectId; created: boolean }> {
  const hash = requestHash(body);
  const replay = async (entry: StoredEntry) => {
    const answer = answerFor(entry, hash);
    // The CRM message may be missing if a crash came right after the entry was written: write it now.
    const mailbox = await Mailbox.findById(entry.mailboxId).lean<SendingMailbox>();
    if (mailbox && entry.status !== 'failed') await ensureRecorded(entry, mailbox);
    return { ...answer, entryId: entry._id, created: false };
  };

  const existing = await findEntry(user.userId, idempotencyKey);
  if (existing) return replay(existing);

  const mailbox = await Mailbox.findOne({ _id: body.mailboxId, userId: user.userId }).lean<SendingMailbox>();
  if (!mailbox) throw new OutboundError('mailbox_not_found', 'mailbox not found');
  const internetMessageId = newMessageId(mailbox.address);
  const messageKey = normaliseMessageId(internetMessageId)!;
  const prepared = await prepare(user.userId, body, mailbox, { orgId: user.orgId, messageKey });
  const entryId = new Types.ObjectId();
  // The id the ingest gives the message with this Message-ID (models/ids.ts): the synced-back copy is the same document.
  const messageId = messageDocId(user.orgId, `mid:${messageKey}`);
  // Open before it exists, so the sweep always finds it (store/outbox-open.ts).
  await markOpen(entryId, user.orgId);
  try {
    await Outbox.create({
      _id: entryId,
      userId: user.userId,
      idempotencyKey,
      requestHash: hash,
      mailboxId: mailbox._id,
      request: prepared,
      status: 'queued',
      internetMessageId,
      messageId,
    });
  } catch (err) {
    // The same key raced us: the first writer's answer is the answer.
    const raced = (err as { code?: number }).code === 11000 ? await findEntry(user.userId, idempotencyKey) : null;
    if (raced) return replay(raced);
    throw err;
  }
  const entry = (await Outbox.findById(entryId).lean<StoredEntry>())!;
  const id = await ensureRecorded(entry, mailbox);
  return { id: String(id), status: 'queued', entryId, created: true };
}

async function ensureRecorded(entry: StoredEntry, mailbox: SendingMailbox): Promise<Types.ObjectId> {
  const id = await recordCrmMessage(entry, entry.request, mailbox);
  if (!entry.messageId?.equals(id)) await Outbox.updateOne({ _id: entry._id }, { $set: { messageId: id } });
  return id;
}

export type RunOutcome = 'sent' | 'recovered' | 'retry' | 'failed' | 'skipped';

/** The message to send, as MIME and as the fields it was composed from. */
async function compose(entry: StoredEntry, mailbox: SendingMailbox): Promise<Pick<OutgoingMessage, 'raw' | 'fields'>> {
  const r = entry.request;
  const fields: OutgoingMessage['fields'] = {
    from: { email: mailbox.address, name: r.fromName },
    to: r.to,
    cc: r.cc ?? [],
    bcc: r.bcc ?? [],
    subject: r.subject,
    ...(r.text !== undefined ? { text: r.text } : {}),
    ...(r.html !== undefined ? { html: r.html } : {}),
    attachments: decodeAttachments(r.attachments ?? [], Number.POSITIVE_INFINITY), // the cap was applied at enqueue
  };
  const raw = await composeMessage({
    ...fields,
    messageId: entry.internetMessageId,
    date: new Date(r.date),
    inReplyTo: r.reply ? { internetMessageId: r.reply.internetMessageId, references: r.reply.references, subject: r.subject } : null,
  });
  return { raw, fields };
}

function backoffMs(attempts: number, err: unknown): number {
  const exponential = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attempts - 1));
  const retryAfter = err instanceof ProviderError ? (err.details.retryAfterMs ?? 0) : 0;
  // Up to 20% jitter, so entries that failed together do not all come back together.
  return Math.max(retryAfter, Math.round(exponential * (1 + Math.random() * 0.2)));
}

/** Why an entry whose prepared draft disappeared is failed rather than retried (shown to the user). */
const DRAFT_GONE_MESSAGE =
  'The draft prepared for this message was deleted from the mailbox before it was sent. It was not sent again, to avoid ' +
  'a duplicate: check the Sent folder, and send the message again if it did not go out.';

const lastError = (err: unknown, now: Date) => ({
  code: err instanceof ProviderError ? err.code : 'internal',
  message: err instanceof Error ? err.message.slice(0, 500) : 'unknown error',
  at: now,
});

/**
 * One attempt at one entry: lease, mark sending, check-then-send, record. Runs in the entry's organisation
 * context. Returns what happened; never throws for provider errors (they are persisted on the entry).
 */
export async function runOutboxOnce(entryId: Types.ObjectId, adapters: MailboxAdapters, opts: { now?: Date } = {}): Promise<RunOutcome> {
  const now = opts.now ?? new Date();
  const owner = randomUUID();
  // Taking the entry must have exactly one winner across processes. FerretDB 1.24 runs findOneAndUpdate as a
  // read then a write (several concurrent callers "win"), so the attempt number is claimed as a lock generation
  // by a unique insert (engine/lease.ts), and only the winner writes the lease.
  const found = await Outbox.findOne({
    _id: entryId,
    status: mongoose.trusted({ $in: ['queued', 'sending'] }),
    $or: [{ 'lease.until': null }, { 'lease.until': mongoose.trusted({ $lte: now }) }],
  }).lean<StoredEntry>();
  if (!found) return 'skipped';
  const attempt = await claimNextGeneration(found.orgId, 'outbox', found._id, found.attempts + 1, owner, now);
  if (attempt === null) return 'skipped';
  const entry: StoredEntry | null = await Outbox.findOneAndUpdate(
    { _id: found._id, attempts: mongoose.trusted({ $lt: attempt }) },
    { $set: { 'lease.owner': owner, 'lease.until': new Date(now.getTime() + OUTBOX_LEASE_MS), attempts: attempt } },
    { new: true },
  ).lean<StoredEntry>();
  if (!entry) return 'skipped';
  const mine = { _id: entry._id, 'lease.owner': owner };
  const fail = async (code: string, message: string): Promise<RunOutcome> => {
    await Outbox.updateOne(mine, { $set: { status: 'failed', lastError: { code, message, at: now }, 'lease.owner': null, 'lease.until': null } });
    return 'failed';
  };

  const mailbox = await Mailbox.findById(entry.mailboxId).lean<SendingMailbox & { orgId: Types.ObjectId }>();
  if (!mailbox) return fail('mailbox_gone', 'the mailbox was disconnected before the message was sent');
  if (entry.attempts > MAX_SEND_ATTEMPTS) return fail('gave_up', `not sent after ${MAX_SEND_ATTEMPTS} attempts`);

  try {
    const writer = adapters.forMailbox(mailbox).writer;
    let sent: SentResult | null = null;
    let outcome: RunOutcome = 'sent';
    if (entry.status === 'sending' && entry.providerDraftId && writer.resumePrepared) {
      // The draft was complete and recorded before the crash: finish that send, never make another.
      const resumed = await writer.resumePrepared(entry.providerDraftId);
      // Gone: the user deleted the draft, or it went out and is known by another id now. The Message-ID look-up
      // still catches the latter where the provider kept ours; otherwise fail visibly rather than send again.
      sent = resumed === 'gone' ? await writer.findByInternetMessageId(entry.internetMessageId) : resumed;
      if (!sent) return await fail('draft_deleted', DRAFT_GONE_MESSAGE);
      outcome = 'recovered';
    } else if (entry.status === 'sending') {
      sent = await writer.findByInternetMessageId(entry.internetMessageId);
      if (sent) outcome = 'recovered';
    } else {
      // Persisted before the provider sees anything: from here on, a retry looks before it sends.
      await Outbox.updateOne(mine, { $set: { status: 'sending' } });
    }
    if (!sent) {
      const composed = await compose(entry, mailbox);
      const reply = entry.request.reply;
      const replyTo = reply?.providerMessageId ? { providerMessageId: reply.providerMessageId, providerThreadId: reply.providerThreadId } : undefined;
      const hooks: SendHooks = {
        // A two-step sender's draft is complete: persist its id before it is sent, while we still hold the lease
        // (if another worker took the entry over, do not send: it owns the entry now).
        prepared: async (draft) => {
          const { matchedCount } = await Outbox.updateOne(mine, { $set: { providerDraftId: draft.providerMessageId } });
          if (matchedCount !== 1) throw new Error('the outbox lease was lost before sending; the message was not sent');
        },
      };
      try {
        sent = await writer.send({ ...composed, internetMessageId: entry.internetMessageId, replyTo }, hooks);
      } catch (err) {
        // The original is gone from the mailbox (Gmail's thread look-up, Graph's createReply fail before any
        // send): send it as a new message; its In-Reply-To/References still thread it for the recipients.
        if (!(replyTo && err instanceof ProviderError && err.code === 'not_found')) throw err;
        sent = await writer.send({ ...composed, internetMessageId: entry.internetMessageId }, hooks);
      }
    }
    // The CRM keeps the Message-ID that actually went out (the provider may have put its own in place of ours).
    const internetMessageId = await adoptSentMessageId(entry, sent);
    const messageId = await ensureRecorded({ ...entry, internetMessageId }, mailbox);
    await recordSentCopy(messageId, mailbox, sent, now);
    await Outbox.updateOne(
      { _id: entry._id },
      {
        $set: {
          status: 'sent',
          providerMessageId: sent.providerMessageId,
          providerThreadId: sent.providerThreadId,
          lastError: null,
          'lease.owner': null,
          'lease.until': null,
        },
      },
    );
    return outcome;
  } catch (err) {
    if (err instanceof ProviderError && REFUSED.has(err.code)) return fail(err.code, err.message);
    // Throttled, transient or unknown (the send may have gone out): keep the status, come back later.
    await Outbox.updateOne(mine, {
      $set: { lastError: lastError(err, now), 'lease.owner': null, 'lease.until': new Date(now.getTime() + backoffMs(entry.attempts, err)) },
    });
    return 'retry';
  }
}

const ID_CHUNK = 500;
/** Whether this process has registered the open entries written before it started (store/outbox-open.ts). */
let caughtUp = false;

/**
 * The worker's sweep: every entry that is queued or sending and not leased (or whose lease expired: a worker
 * died mid-send), oldest first, each in its own organisation's context; and the content of sent entries purged
 * once the retention has passed. It reads only the open entries (store/outbox-open.ts), not the whole outbox.
 */
export async function processDueOutbox(
  adapters: MailboxAdapters,
  opts: { limit?: number; now?: Date; retentionSeconds?: number } = {},
): Promise<Record<RunOutcome, number>> {
  const now = opts.now ?? new Date();
  const retentionMs = (opts.retentionSeconds ?? 0) * 1000;
  if (!caughtUp) {
    await registerOpenEntries();
    caughtUp = true;
  }
  const ids = await openEntryIds();
  const candidates: OpenEntry[] = [];
  // By `_id`, 500 at a time (an `$in` the embedded database's `_id` index serves: server/src/db/ferretdb-sqlite.patch).
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const slice = ids.slice(i, i + ID_CHUNK);
    const entries = await runAsSystem('outbox sweep across organisations', () =>
      Outbox.find({ _id: mongoose.trusted({ $in: slice }) })
        .select({ _id: 1, orgId: 1, status: 1, updatedAt: 1, lease: 1, 'request.purged': 1 })
        .lean<OpenEntry[]>(),
    );
    const found = new Set(entries.map((e) => String(e._id)));
    const forget = slice.filter((id) => !found.has(String(id)) && id.getTimestamp().getTime() < now.getTime() - MISSING_GRACE_MS);
    const ripe: Types.ObjectId[] = [];
    for (const e of entries) {
      if (e.status === 'failed' || (e.status === 'sent' && e.request?.purged === true)) forget.push(e._id);
      else if (e.status === 'sent') {
        if (e.updatedAt.getTime() <= now.getTime() - retentionMs) ripe.push(e._id);
      } else if (e.lease?.until == null || e.lease.until.getTime() <= now.getTime()) candidates.push(e);
    }
    forget.push(...(await purgeSentContent(now, opts.retentionSeconds ?? 0, ripe)));
    await forgetOpen(forget);
  }
  const due = candidates.sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime()).slice(0, opts.limit ?? 50);
  const counts: Record<RunOutcome, number> = { sent: 0, recovered: 0, retry: 0, failed: 0, skipped: 0 };
  for (const e of due) counts[await runInOrg(e.orgId, () => runOutboxOnce(e._id, adapters, { now }))]++;
  return counts;
}

interface OpenEntry {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  status: OutboxStatus;
  updatedAt: Date;
  lease?: { until?: Date | null } | null;
  request?: { purged?: boolean } | null;
}

/**
 * The catch-up scan, once per process: entries that are open but not marked so (written before the open-entry
 * collection existed). A scan of the outbox (on MongoDB the `status, updatedAt` index serves the status filter).
 */
async function registerOpenEntries(): Promise<void> {
  const entries = await runAsSystem('outbox open entries catch-up', () =>
    Outbox.find({
      $or: [{ status: mongoose.trusted({ $in: ['queued', 'sending'] }) }, { status: 'sent', 'request.purged': mongoose.trusted({ $ne: true }) }],
    })
      .select({ _id: 1, orgId: 1 })
      .lean<{ _id: Types.ObjectId; orgId: Types.ObjectId }[]>(),
  );
  await markAllOpen(entries);
}

/**
 * A sent entry keeps its row (the Idempotency-Key's answer, the ids, the status) but not its content: the body and
 * the attachments' bytes stay in the CRM message and the user's Sent folder only, so the outbox is no second copy
 * of mail that a disconnect, a `mirror` delete or an erasure would leave behind (docs/SECURITY.md, "Data left
 * behind"). `retentionSeconds` (OUTBOX_CONTENT_RETENTION_SECONDS) keeps it that long after sending first.
 * Of the entries `among`, answers those purged now (by `_id`: the `_id` index).
 */
export async function purgeSentContent(now: Date, retentionSeconds: number, among: readonly Types.ObjectId[]): Promise<Types.ObjectId[]> {
  if (among.length === 0) return [];
  const filter = {
    _id: mongoose.trusted({ $in: [...among] }),
    status: 'sent',
    'request.purged': mongoose.trusted({ $ne: true }),
    updatedAt: mongoose.trusted({ $lte: new Date(now.getTime() - retentionSeconds * 1000) }),
  };
  return runAsSystem('outbox content purge across organisations', async () => {
    const ripe = await Outbox.find(filter).select({ _id: 1 }).lean<{ _id: Types.ObjectId }[]>();
    if (ripe.length === 0) return [];
    await Outbox.updateMany({ ...filter, _id: mongoose.trusted({ $in: ripe.map((e) => e._id) }) }, { $set: { request: { purged: true, at: now } } });
    return ripe.map((e) => e._id);
  });
}

/** For the HTTP layer: start sending a just-queued entry now, after the answer, without waiting for the sweep. */
export function sendSoon(adapters: MailboxAdapters, onError: (err: unknown) => void): (entry: { entryId: Types.ObjectId; orgId: Types.ObjectId }) => void {
  return ({ entryId, orgId }) => {
    runInOrg(orgId, () => runOutboxOnce(entryId, adapters)).catch(onError);
  };
}
