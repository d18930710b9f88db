/**
 * `npm run reparse`: stored mail read again by the current MIME reading (docs/MIME.md, "Reading stored mail again").
 *
 * Which messages: those flagged as having needed a fallback — a `decoding` note (a charset was assumed) or
 * `malformed` — that an older PARSER_VERSION read; with `force`, also those the current version read; with
 * `unrecorded`, also mail stored before versions were recorded (it may hold U+FFFD where the old reading failed).
 *
 * Where the bytes come from: the raw message is not kept for every message (it would double the database for the
 * rare message that needs it: attachments are megabytes, and providers keep the original anyway); it is re-fetched
 * by a copy's providerMessageId (ChangeSource.fetchRaw: Gmail format=raw, Graph $value), Gmail copies first (their
 * raw is the bytes first parsed). A malformed message keeps its raw bytes (ingest/prepare.ts): those are used
 * without a fetch when complete.
 *
 * What changes: subject, the names of the addresses already stored (addresses, participants, links, dedup key and
 * thread stay: they identify the message), text, html (sanitised), snippet, attachments, `decoding`,
 * `parserVersion`, and `malformed` once the message reads cleanly. Never for the worse: when no copy gives the
 * bytes, or the new reading is malformed or over the size cap where the stored one was not, nothing is written.
 * Idempotent: a message whose content comes out the same gets only its `parserVersion`, so the next run skips it.
 */
import { isDeepStrictEqual } from 'node:util';
import mongoose, { type Types } from 'mongoose';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { AttachmentCache, Mailbox, MailboxMessage, Message, Org, Thread } from '../../models';
import type { AddressValue, MessageDoc } from '../../models/message';
import { attachmentDocs, decodingDocs, MAX_RAW_KEPT_BYTES } from '../ingest/prepare';
import type { ParsedAddress, ParsedMessage } from '../../mail/message';
import { PARSER_VERSION, parseMessage } from '../ingest/parse';
import { sanitizeEmailHtml } from '../ingest/sanitize';
import { capabilitiesOf } from '../providers/capabilities';
import { ProviderError, type ProviderName } from '../providers/port';
import type { MailboxAdapters, MailboxForAdapter } from '../providers/runtime';

export interface ReparseOptions {
  adapters: MailboxAdapters;
  /** Also mail stored before PARSER_VERSION was recorded. */
  unrecorded?: boolean;
  /** Also flagged mail the current version already read. */
  force?: boolean;
  /** Only this organisation's mail. */
  orgId?: Types.ObjectId;
  /** At most this many messages examined (all organisations together). */
  limit?: number;
  /** Called once per examined message. */
  onMessage?: (outcome: ReparseOutcome) => void;
}

export type ReparseOutcome =
  | { messageId: string; result: 'updated' | 'unchanged' }
  /** Its content came from the provider's structured JSON (Graph), not from MIME: nothing to read again. */
  | { messageId: string; result: 'provider_content' }
  | { messageId: string; result: 'kept'; reason: string };

export interface ReparseSummary {
  examined: number;
  updated: number;
  unchanged: number;
  providerContent: number;
  /** Left as stored: no copy gave the bytes, or the new reading was worse. */
  kept: { messageId: string; reason: string }[];
}

/** After these, another holder's copy may still give the bytes (as in attachment-fetch.ts). */
const TRY_NEXT_COPY = new Set(['not_found', 'invalid', 'permission', 'auth_revoked']);

const CONTENT_FIELDS = {
  subject: 1,
  from: 1,
  to: 1,
  cc: 1,
  bcc: 1,
  date: 1,
  text: 1,
  html: 1,
  snippet: 1,
  hasAttachments: 1,
  attachments: 1,
  decoding: 1,
  parserVersion: 1,
  malformed: 1,
  threadId: 1,
} as const;

type Stored = Pick<
  MessageDoc,
  | '_id'
  | 'subject'
  | 'from'
  | 'to'
  | 'cc'
  | 'date'
  | 'text'
  | 'html'
  | 'snippet'
  | 'hasAttachments'
  | 'attachments'
  | 'malformed'
  | 'threadId'
  | 'decoding'
  | 'parserVersion'
> & { bcc?: AddressValue[] };

export async function reparseStoredMail(opts: ReparseOptions): Promise<ReparseSummary> {
  const summary: ReparseSummary = { examined: 0, updated: 0, unchanged: 0, providerContent: 0, kept: [] };
  const orgs = opts.orgId
    ? [{ _id: opts.orgId }]
    : await runAsSystem('reparse: every organisation', () => Org.find({}, { _id: 1 }).sort({ _id: 1 }).lean<{ _id: Types.ObjectId }[]>());
  for (const org of orgs) {
    await runInOrg(org._id, async () => {
      const cursor = Message.find(selection(opts), CONTENT_FIELDS).sort({ _id: 1 }).lean<Stored[]>().cursor();
      for await (const stored of cursor) {
        if (opts.limit !== undefined && summary.examined >= opts.limit) break;
        summary.examined++;
        const outcome = await reparseOne(opts, stored);
        if (outcome.result === 'updated') summary.updated++;
        else if (outcome.result === 'unchanged') summary.unchanged++;
        else if (outcome.result === 'provider_content') summary.providerContent++;
        else if (outcome.result === 'kept') summary.kept.push({ messageId: outcome.messageId, reason: outcome.reason });
        opts.onMessage?.(outcome);
      }
    });
  }
  return summary;
}

function selection(opts: Pick<ReparseOptions, 'force' | 'unrecorded'>): Record<string, unknown> {
  // sanitizeFilter (db/connection.ts) lets $and/$or through and each operator value marked trusted.
  const flagged = { $or: [{ 'decoding.0': mongoose.trusted({ $exists: true }) }, { malformed: mongoose.trusted({ $ne: null }) }] };
  const read = opts.force ? flagged : { $and: [flagged, { parserVersion: mongoose.trusted({ $lt: PARSER_VERSION }) }] };
  return opts.unrecorded ? { $or: [read, { parserVersion: mongoose.trusted({ $exists: false }) }] } : read;
}

async function reparseOne(opts: ReparseOptions, stored: Stored): Promise<ReparseOutcome> {
  const messageId = String(stored._id);
  const source = await rawOf(opts.adapters, stored);
  if ('providerContent' in source) {
    // Remembered, so that the next --unrecorded run does not look at it again.
    await Message.updateOne({ _id: stored._id, parserVersion: mongoose.trusted({ $exists: false }) }, { $set: { parserVersion: null } });
    return { messageId, result: 'provider_content' };
  }
  if ('failure' in source) return { messageId, result: 'kept', reason: source.failure };
  const parsed = await parseMessage(source.raw, { fallbackDate: stored.date });
  if (parsed.tooLarge) return { messageId, result: 'kept', reason: 'the message is over the size parsed' };
  if (parsed.malformed && !stored.malformed) return { messageId, result: 'kept', reason: `the new reading failed: ${parsed.malformedReason}` };

  const content = contentOf(stored, parsed);
  const changed = Object.entries(content).some(([k, v]) => !isDeepStrictEqual(normalise(v), normalise((stored as Record<string, unknown>)[k])));
  const set = { ...(changed ? content : {}), ...(parsed.malformed ? {} : { malformed: null }), parserVersion: PARSER_VERSION };
  // Compare-and-set on the version read: a concurrent run that got there first is not written over.
  const guard = stored.parserVersion === undefined ? mongoose.trusted({ $exists: false }) : stored.parserVersion;
  const written = await Message.updateOne({ _id: stored._id, parserVersion: guard }, { $set: set });
  if (written.matchedCount === 0) return { messageId, result: 'unchanged' };
  if (!changed && !stored.malformed) return { messageId, result: 'unchanged' };

  // Cached bytes of parts the new reading does not list are no attachment of this message any more.
  await AttachmentCache.deleteMany({ messageId: stored._id, attachmentId: mongoose.trusted({ $nin: content.attachments.map((a) => a.id) }) });
  if (stored.threadId && content.subject !== stored.subject) {
    // A thread named after this message's old reading takes the new one.
    await Thread.updateOne({ _id: stored.threadId, subject: stored.subject }, { $set: { subject: content.subject } });
  }
  return { messageId, result: 'updated' };
}

/** The stored raw bytes of a malformed message when complete, else the first copy that gives them. */
async function rawOf(adapters: MailboxAdapters, stored: Stored): Promise<{ raw: Buffer } | { failure: string } | { providerContent: true }> {
  const kept = stored.malformed?.raw ? toBuffer(stored.malformed.raw) : null;
  if (kept && kept.length > 0 && kept.length < MAX_RAW_KEPT_BYTES) return { raw: kept };
  const copies = await MailboxMessage.find({ messageId: stored._id }, { mailboxId: 1, providerMessageId: 1, createdAt: 1 })
    .sort({ createdAt: 1, _id: 1 })
    .lean<{ mailboxId: Types.ObjectId; providerMessageId: string }[]>();
  if (copies.length === 0) return { failure: 'no mailbox holds it any more' };
  const mailboxes = new Map(
    (
      await Mailbox.find({ _id: mongoose.trusted({ $in: copies.map((c) => c.mailboxId) }) }, { orgId: 1, provider: 1, address: 1, state: 1 }).lean<
        (MailboxForAdapter & { state: string })[]
      >()
    ).map((m) => [String(m._id), m]),
  );
  // Mail stored before versions were recorded came from whichever copy was stored first: a provider's JSON is no MIME.
  const first = mailboxes.get(String(copies[0].mailboxId));
  if (stored.parserVersion === undefined && first && capabilitiesOf(first.provider).content === 'structured') return { providerContent: true };
  const ordered = [...copies].sort((a, b) => rank(mailboxes.get(String(a.mailboxId))) - rank(mailboxes.get(String(b.mailboxId))));
  let lastError = 'no connected mailbox holds it';
  for (const copy of ordered) {
    const mailbox = mailboxes.get(String(copy.mailboxId));
    if (!mailbox || mailbox.state === 'reauth_required') continue;
    try {
      return { raw: await adapters.forMailbox(mailbox).changeSource.fetchRaw(copy.providerMessageId) };
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      lastError = `${mailbox.provider} ${err.code}: ${err.message}`;
      // Throttling or an outage: the next run tries again, other mailboxes are not asked to take the load.
      if (!TRY_NEXT_COPY.has(err.code)) break;
    }
  }
  return { failure: lastError };
}

/** Copies whose raw is the bytes first parsed (Gmail's) before those whose raw the provider rebuilt (Graph's $value). */
const rank = (m: { provider: ProviderName } | undefined): number => (m && capabilitiesOf(m.provider).rawIsOriginal ? 0 : 1);

function contentOf(stored: Stored, p: ParsedMessage) {
  return {
    subject: p.subject,
    from: stored.from ? renamed(stored.from, p.from) : null,
    to: (stored.to ?? []).map((a) => renamed(a, p.to)),
    cc: (stored.cc ?? []).map((a) => renamed(a, p.cc)),
    bcc: (stored.bcc ?? []).map((a) => renamed(a, p.bcc)),
    text: p.text,
    html: p.html !== null ? sanitizeEmailHtml(p.html).html : '',
    snippet: p.snippet,
    hasAttachments: p.attachments.some((a) => !a.inline),
    attachments: attachmentDocs(p),
    decoding: decodingDocs(p),
  };
}

/** The stored address with the name the new reading gives the same address, if it names it. */
function renamed(a: AddressValue, parsed: ParsedAddress[]): AddressValue {
  const match = parsed.find((x) => x.email === a.email);
  return { email: a.email, name: match ? match.name.slice(0, 256) : a.name };
}

/** Stored documents carry defaults and nulls where fresh values may not: compare plain JSON. */
const normalise = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null));

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  const binary = data as { buffer?: Uint8Array };
  return Buffer.from(binary.buffer ?? new Uint8Array());
}
