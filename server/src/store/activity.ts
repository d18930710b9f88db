/**
 * The mail read model: who a message is with, and which copies it has, as ordered key entries (keys.ts).
 *
 *   activity  "<orgId> a <address> <date> <messageId>"  — the messages with an address, newest last in key order
 *             "<orgId> d <domain> <date> <messageId>"   — the messages with someone at a company domain (the
 *                                                         registrable domain of an address, never free-mail)
 *             "<orgId> t <threadId> <date> <messageId>" — the messages of a thread, oldest first in key order
 *
 * and on each message the ids of its copies (`copyIds`), so the copies of a page of messages are one read by `_id`.
 * (They were once kept as "copy refs", `<orgId> c <messageId>` documents; an organisation that still holds some
 * has them folded into its messages at start-up: foldCopyRefs.)
 *
 * Ingest writes both when it stores a copy (ingest/store.ts: the copy ids with the message, or added to it; other
 * writers call indexCopies; a message sent from the CRM is indexed when it is recorded, before its copy exists:
 * indexMessages), the removal path deletes them with the mail (forgetMessages, forgetCopies), reconciliation puts
 * back a mailbox's missing copy ids (ingest/holders.ts), and `npm run rebuild-read-models` rebuilds both from the
 * messages and copies themselves (rebuild.ts). Entries only point at documents, whose own fields (holders, labels, state) are read when
 * an answer is built, so an entry never shows stale content; an entry whose message is gone is skipped (and
 * dropped by the rebuild).
 *
 * Reads are ranges of `_id` (the `_id` index on MongoDB and on the embedded FerretDB alike): the newest messages
 * with a few addresses cost a few short range reads plus one read of the messages by `_id`, whatever the size of
 * the organisation.
 */
import mongoose, { type Types } from 'mongoose';
import { currentOrgId, runInOrg } from '../db/tenant';
import { MailboxMessage, type MessageFlags } from '../models/mailbox-message';
import { Message } from '../models/message';
import { Org } from '../models/org';
import { Activity, CopyRef } from '../models/read-model';
import { companyDomainFor } from '../mail/domains';
import { datePart, isKeyPart, key, prefixRange } from './keys';
import { leanByIds, leanFind } from './lean';
import { snapshotOrg } from './org-snapshot';

const { trusted } = mongoose;
const CHUNK = 500;

export interface IndexedMessage {
  messageId: Types.ObjectId;
  /** The message's date, participants (normalised addresses) and thread, as stored on the message. */
  date: Date;
  participants: readonly string[];
  /**
   * Its thread, when the writer knows the stored message's own. Left out, no thread entry is written: a copy of a
   * message stored earlier found its thread entry written then. A thread entry is checked against the message's
   * `threadId` when read, so a wrong one hides nothing and shows nothing.
   */
  threadId?: Types.ObjectId | null;
}
export interface IndexedCopy extends IndexedMessage {
  copyId: Types.ObjectId;
}

/** Where a listing reads from: the mail with an address, with anyone at a company domain, or of a thread. */
export interface Source {
  kind: 'a' | 'd' | 't';
  value: string;
}
export const addressSources = (addresses: readonly string[]): Source[] => addresses.map((value) => ({ kind: 'a', value }));
export const domainSources = (domains: readonly string[]): Source[] => domains.map((value) => ({ kind: 'd', value }));
export const threadSource = (threadId: Types.ObjectId): Source => ({ kind: 't', value: threadId.toHexString() });

const activityKey = (orgId: Types.ObjectId, source: Source, date: Date, messageId: Types.ObjectId) =>
  key(orgId, source.kind, source.value, datePart(date), messageId);
const copyKey = (orgId: Types.ObjectId, messageId: Types.ObjectId) => key(orgId, 'c', messageId);

function activityEntries(orgId: Types.ObjectId, m: IndexedMessage) {
  const addresses = [...new Set(m.participants)].filter(isKeyPart);
  const domains = [...new Set(addresses.flatMap((a) => companyDomainFor(a) ?? []))].filter(isKeyPart);
  const thread = m.threadId ? [threadSource(m.threadId)] : [];
  return [...addressSources(addresses), ...domainSources(domains), ...thread].map((source) => ({
    _id: activityKey(orgId, source, m.date, m.messageId),
    orgId,
    messageId: m.messageId,
    date: m.date,
  }));
}

/**
 * Inserts unordered, so one bad entry stops no other; answers the indexes of those that existed already (a
 * duplicate `_id`). Any other refusal is thrown.
 */
async function insertAll(model: mongoose.Model<any>, docs: Record<string, unknown>[]): Promise<number[]> {
  const existing: number[] = [];
  for (let i = 0; i < docs.length; i += CHUNK) {
    try {
      await model.insertMany(docs.slice(i, i + CHUNK), { ordered: false, lean: true });
    } catch (err) {
      const writeErrors = (err as { writeErrors?: WriteError[] | WriteError }).writeErrors;
      if (writeErrors === undefined) throw err;
      for (const e of Array.isArray(writeErrors) ? writeErrors : [writeErrors]) {
        if ((e.code ?? e.err?.code) !== 11000) throw err;
        existing.push(i + (e.index ?? e.err?.index ?? 0));
      }
    }
  }
  return existing;
}
interface WriteError {
  index?: number;
  code?: number;
  err?: { code?: number; index?: number };
}

/** Records messages' activity (who they are with, their thread). Inside the organisation's context. */
export async function indexMessages(messages: readonly IndexedMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const orgId = currentOrgId();
  const entries = new Map<string, ReturnType<typeof activityEntries>[number]>();
  for (const m of messages) for (const e of activityEntries(orgId, m)) entries.set(e._id, e);
  await insertAll(Activity, [...entries.values()]);
}

/** Records stored copies on their messages (`copyIds`) and their messages' activity. Inside the organisation's context. */
export async function indexCopies(copies: readonly IndexedCopy[]): Promise<void> {
  if (copies.length === 0) return;
  const byMessage = new Map<string, { messageId: Types.ObjectId; copyIds: Types.ObjectId[] }>();
  for (const c of copies) {
    const entry = byMessage.get(String(c.messageId)) ?? { messageId: c.messageId, copyIds: [] };
    entry.copyIds.push(c.copyId);
    byMessage.set(String(c.messageId), entry);
  }
  await Promise.all([indexMessages(copies), listCopies([...byMessage.values()])]);
}

/**
 * Adds copy ids to their messages' `copyIds` (and, given `holder`, the copies' user to their `syncedBy`): one
 * `$addToSet` per message, by `_id`, sent in unordered batches. A message deleted meanwhile is left deleted.
 */
export async function listCopies(
  holdings: readonly { messageId: Types.ObjectId; copyIds: readonly Types.ObjectId[] }[],
  holder?: Types.ObjectId,
): Promise<void> {
  const orgId = currentOrgId();
  // bulkWrite is not scoped by the tenant plugin: the organisation is in the filter.
  const ops = holdings.map((h) => ({
    updateOne: {
      filter: { _id: h.messageId, orgId },
      update: { $addToSet: { copyIds: { $each: [...h.copyIds] }, ...(holder ? { syncedBy: holder } : {}) } },
    },
  }));
  for (let i = 0; i < ops.length; i += CHUNK) await Message.bulkWrite(ops.slice(i, i + CHUNK), { ordered: false });
}

/** Whether the organisation in context may still hold copy refs (stored before copy ids lived on the messages). */
async function mayHoldCopyRefs(): Promise<boolean> {
  return (await snapshotOrg())?.copiesOnMessages !== true;
}

/** Drops the entries of messages about to be (or already) deleted, given their date, participants and thread. */
export async function forgetMessages(
  messages: readonly { _id: Types.ObjectId; date: Date; participants?: readonly string[]; threadId?: Types.ObjectId | null }[],
): Promise<void> {
  if (messages.length === 0) return;
  const orgId = currentOrgId();
  const keys = messages.flatMap((m) =>
    activityEntries(orgId, { messageId: m._id, date: m.date, participants: m.participants ?? [], threadId: m.threadId }).map((e) => e._id),
  );
  for (let i = 0; i < keys.length; i += CHUNK) await Activity.deleteMany({ _id: trusted({ $in: keys.slice(i, i + CHUNK) }) });
  if (!(await mayHoldCopyRefs())) return;
  const refs = messages.map((m) => copyKey(orgId, m._id));
  for (let i = 0; i < refs.length; i += CHUNK) await CopyRef.deleteMany({ _id: trusted({ $in: refs.slice(i, i + CHUNK) }) });
}

/** Takes copies about to be deleted (or already) off their messages, whose other copies stay. */
export async function forgetCopies(copies: readonly { _id: Types.ObjectId; messageId: Types.ObjectId }[]): Promise<void> {
  if (copies.length === 0) return;
  const orgId = currentOrgId();
  const byMessage = new Map<string, { messageId: Types.ObjectId; ids: Types.ObjectId[] }>();
  for (const c of copies) {
    const entry = byMessage.get(String(c.messageId)) ?? { messageId: c.messageId, ids: [] };
    entry.ids.push(c._id);
    byMessage.set(String(c.messageId), entry);
  }
  const held = [...byMessage.values()];
  const ops = held.map((h) => ({ updateOne: { filter: { _id: h.messageId, orgId }, update: { $pullAll: { copyIds: h.ids } } } }));
  for (let i = 0; i < ops.length; i += CHUNK) await Message.bulkWrite(ops.slice(i, i + CHUNK), { ordered: false });
  if (!(await mayHoldCopyRefs())) return;
  for (const h of held) await CopyRef.updateOne({ _id: copyKey(orgId, h.messageId) }, { $pullAll: { copyIds: h.ids } });
}

/** What a listing shows of a copy: whose it is, and its labels and state. */
export interface CopyView {
  _id: Types.ObjectId;
  messageId: Types.ObjectId;
  userId: Types.ObjectId;
  mailboxId: Types.ObjectId;
  labels: string[];
  state: MessageFlags;
}

/**
 * The copies of these messages (read with their `copyIds`), oldest first, grouped by message id: the copies by
 * `_id` (no query on `messageId`, which the embedded database would answer by reading every copy). A copy listed on
 * a message it no longer belongs to is left out. In an organisation that may still hold copy refs
 * (`copiesOnMessages` not yet set), the refs of these messages are read too, by `_id`.
 */
export async function copiesOf(messages: readonly { _id: Types.ObjectId; copyIds?: readonly Types.ObjectId[] }[]): Promise<Map<string, CopyView[]>> {
  const out = new Map<string, CopyView[]>();
  if (messages.length === 0) return out;
  const ids = new Map<string, Types.ObjectId>();
  for (const m of messages) for (const id of m.copyIds ?? []) ids.set(String(id), id);
  if (await mayHoldCopyRefs()) {
    const orgId = currentOrgId();
    const refs = await leanByIds<{ copyIds: Types.ObjectId[] }>(
      CopyRef,
      messages.map((m) => copyKey(orgId, m._id)),
      { copyIds: 1 },
    );
    for (const r of refs) for (const id of r.copyIds) ids.set(String(id), id);
  }
  const wanted = new Set(messages.map((m) => String(m._id)));
  const copies = (
    await leanByIds<CopyView & { createdAt?: Date }>(MailboxMessage, [...ids.values()], {
      messageId: 1,
      userId: 1,
      mailboxId: 1,
      labels: 1,
      state: 1,
      createdAt: 1,
    })
  ).filter((c) => wanted.has(String(c.messageId)));
  const time = (c: { createdAt?: Date }) => new Date(c.createdAt ?? 0).getTime();
  copies.sort((a, b) => time(a) - time(b) || String(a._id).localeCompare(String(b._id)));
  for (const c of copies) out.set(String(c.messageId), [...(out.get(String(c.messageId)) ?? []), c]);
  return out;
}

/**
 * Folds an organisation's copy refs (`<orgId> c <messageId>` documents, where copy ids were kept before they lived
 * on the messages) into its messages' `copyIds`, a page of refs at a time, each page's refs deleted once added, and
 * then sets `copiesOnMessages`. Idempotent, and safe to run beside ingest and on several processes at once; a crash
 * leaves the rest for the next run. Answers how many refs it folded.
 */
export async function foldCopyRefs(orgId: Types.ObjectId): Promise<number> {
  return runInOrg(orgId, async () => {
    const range = prefixRange(orgId, 'c', []);
    let folded = 0;
    for (;;) {
      const refs = await leanFind<{ _id: string; messageId: Types.ObjectId; copyIds: Types.ObjectId[] }>(
        CopyRef,
        { _id: { $gt: range.$gt, $lt: range.$lt } },
        { projection: { messageId: 1, copyIds: 1 }, sort: { _id: 1 }, limit: CHUNK },
      );
      if (refs.length === 0) break;
      await listCopies(refs.map((r) => ({ messageId: r.messageId, copyIds: r.copyIds })));
      await CopyRef.deleteMany({ _id: trusted({ $in: refs.map((r) => r._id) }) });
      folded += refs.length;
    }
    await Org.updateOne({ _id: orgId }, { $set: { copiesOnMessages: true } });
    return folded;
  });
}

/** foldCopyRefs for every organisation not yet marked `copiesOnMessages` (the orgs collection is small): what each folded. */
export async function foldAllCopyRefs(): Promise<{ orgId: string; folded: number }[]> {
  const orgs = await Org.find({ copiesOnMessages: trusted({ $ne: true }) })
    .select({ _id: 1 })
    .lean<{ _id: Types.ObjectId }[]>();
  const out: { orgId: string; folded: number }[] = [];
  for (const org of orgs) out.push({ orgId: String(org._id), folded: await foldCopyRefs(org._id) });
  return out;
}

/**
 * Every message of one source (oldest first, in key order) that `accept` keeps: its entries a page at a time, the
 * messages of each page read by `_id`. A message listed twice in the range is taken once.
 */
export async function allWith<T extends { _id: Types.ObjectId }>(
  source: Source,
  load: (ids: Types.ObjectId[]) => Promise<T[]>,
  accept: (doc: T) => boolean,
): Promise<T[]> {
  if (!isKeyPart(source.value)) return [];
  const range = prefixRange(currentOrgId(), source.kind, [source.value]);
  const out: T[] = [];
  const seen = new Set<string>();
  let from = range.$gt;
  for (;;) {
    const entries = await leanFind<{ _id: string; messageId: Types.ObjectId }>(
      Activity,
      { _id: { $gt: from, $lt: range.$lt } },
      { projection: { messageId: 1 }, sort: { _id: 1 }, limit: CHUNK },
    );
    if (entries.length === 0) return out;
    from = entries[entries.length - 1]._id;
    const ids = entries.map((e) => e.messageId).filter((id) => !seen.has(String(id)) && seen.add(String(id)));
    const byId = new Map((await load(ids)).map((d) => [String(d._id), d]));
    for (const id of ids) {
      const doc = byId.get(String(id));
      if (doc && accept(doc)) out.push(doc);
    }
  }
}

/** How many messages with this address `accept` keeps (allWith). */
export async function countWith<T extends { _id: Types.ObjectId }>(
  address: string,
  load: (ids: Types.ObjectId[]) => Promise<T[]>,
  accept: (doc: T) => boolean,
): Promise<number> {
  return (await allWith(addressSources([address])[0], load, accept)).length;
}

interface Cursor {
  source: Source;
  /** The length of the source's key prefix: what follows it ("<date> <messageId>") orders entries the same in every source. */
  prefixLength: number;
  before?: string;
  /** The order of the oldest entry read so far. */
  oldest: string;
  /** The distinct messages read from this source so far. */
  seen: Set<string>;
  done: boolean;
}

/** A position in a newest-first listing: entries strictly older than this message (by date, then id). */
export interface Before {
  date: Date;
  messageId: Types.ObjectId;
}

/**
 * The newest messages from any of these sources (addresses, company domains) that `accept` keeps, newest first, at most `limit`.
 * `load` reads the candidate messages by `_id` (with the fields the caller needs); `accept` decides (visibility).
 * Each source is read newest first in pages through its key range, all sources at once. A candidate is decided once
 * nothing unread can be newer: when it is no older than the newest "oldest read" of the sources still open, or when
 * it is among the newest n read, n being the fewest messages read from an open source (the newest n messages of all
 * sources are each among the newest n of every source they are in, so all of them have been read). The first pages
 * hold `limit` entries, so when `accept` keeps everything one read per source answers; the answer is exactly the
 * newest `limit` accepted messages however many newer ones `accept` turns down (private mail of a teammate, say),
 * at a cost that grows with those, not with the organisation.
 */
export async function newestWith<T extends { _id: Types.ObjectId }>(
  sources: readonly Source[],
  limit: number,
  load: (ids: Types.ObjectId[]) => Promise<T[]>,
  accept: (doc: T) => boolean,
  before?: Before,
): Promise<T[]> {
  const orgId = currentOrgId();
  const unique = [...new Map(sources.filter((x) => isKeyPart(x.value)).map((x) => [`${x.kind} ${x.value}`, x])).values()];
  const cursors: Cursor[] = unique.map((source) => ({
    source,
    prefixLength: prefixRange(orgId, source.kind, [source.value]).$gt.length,
    before: before && activityKey(orgId, source, before.date, before.messageId),
    oldest: '',
    seen: new Set(),
    done: false,
  }));
  const pending = new Map<string, { messageId: Types.ObjectId; order: string }>();
  const decided = new Set<string>();
  const out: T[] = [];
  let page = Math.max(limit, 1);
  while (out.length < limit && (cursors.some((c) => !c.done) || pending.size > 0)) {
    await Promise.all(
      cursors
        .filter((c) => !c.done)
        .map(async (c) => {
          const entries = await leanFind<{ _id: string; messageId: Types.ObjectId }>(
            Activity,
            { _id: prefixRange(orgId, c.source.kind, [c.source.value], c.before) },
            { projection: { messageId: 1 }, sort: { _id: -1 }, limit: page },
          );
          if (entries.length < page) c.done = true;
          if (entries.length > 0) {
            c.before = entries[entries.length - 1]._id;
            c.oldest = c.before.slice(c.prefixLength);
          }
          for (const e of entries) {
            const id = String(e.messageId);
            c.seen.add(id);
            if (!decided.has(id) && !pending.has(id)) pending.set(id, { messageId: e.messageId, order: e._id.slice(c.prefixLength) });
          }
        }),
    );
    page *= 2;
    const open = cursors.filter((c) => !c.done);
    const sorted = [...pending.values()].sort((a, b) => (a.order < b.order ? 1 : a.order > b.order ? -1 : 0));
    let certain = sorted.length;
    if (open.length > 0) {
      const frontier =
        open
          .map((c) => c.oldest)
          .sort()
          .at(-1) ?? '';
      const byFrontier = sorted.filter((p) => p.order >= frontier).length;
      const byCount = Math.min(...open.map((c) => c.seen.size)) - decided.size;
      certain = Math.max(byFrontier, byCount, 0);
    }
    const ready = sorted.slice(0, certain);
    if (ready.length === 0) continue;
    for (const r of ready) {
      pending.delete(String(r.messageId));
      decided.add(String(r.messageId));
    }
    const docs = await load(ready.map((r) => r.messageId));
    const byId = new Map(docs.map((d) => [String(d._id), d]));
    for (const r of ready) {
      const doc = byId.get(String(r.messageId));
      if (doc && accept(doc)) out.push(doc);
      if (out.length === limit) break;
    }
  }
  return out;
}
