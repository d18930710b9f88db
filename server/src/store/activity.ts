/**
 * The mail read model: who a message is with, and which copies it has, as ordered key entries (keys.ts).
 *
 *   activity  "<orgId> a <address> <date> <messageId>"  — the messages with an address, newest last in key order
 *             "<orgId> d <domain> <date> <messageId>"   — the messages with someone at a company domain (the
 *                                                         registrable domain of an address, never free-mail)
 *   copy refs "<orgId> c <messageId>"                    — the mailbox copies of a message (an id list)
 *
 * Ingest writes both when it stores a copy (indexCopies), the removal path deletes them with the mail
 * (forgetMessages, forgetCopies), and `npm run rebuild-read-models` rebuilds them from the messages and copies
 * themselves (rebuild.ts). Entries only point at documents, whose own fields (holders, labels, state) are read when
 * an answer is built, so an entry never shows stale content; an entry whose message is gone is skipped (and
 * dropped by the rebuild).
 *
 * Reads are ranges of `_id` (the `_id` index on MongoDB and on the embedded FerretDB alike): the newest messages
 * with a few addresses cost a few short range reads plus one read of the messages by `_id`, whatever the size of
 * the organisation.
 */
import mongoose, { Types } from 'mongoose';
import { currentOrgId } from '../db/tenant';
import { MailboxMessage, type MessageFlags } from '../models/mailbox-message';
import { Activity, CopyRef } from '../models/read-model';
import { companyDomainFor } from '../crm/domains';
import { datePart, isKeyPart, key, prefixRange } from './keys';

const { trusted } = mongoose;
const CHUNK = 500;

export interface IndexedCopy {
  copyId: Types.ObjectId;
  messageId: Types.ObjectId;
  /** The message's date and participants (normalised addresses), as stored on the message. */
  date: Date;
  participants: readonly string[];
}

/** Where a listing reads from: the mail with an address, or with anyone at a company domain. */
export interface Source { kind: 'a' | 'd'; value: string }
export const addressSources = (addresses: readonly string[]): Source[] => addresses.map((value) => ({ kind: 'a', value }));
export const domainSources = (domains: readonly string[]): Source[] => domains.map((value) => ({ kind: 'd', value }));

const activityKey = (orgId: Types.ObjectId, source: Source, date: Date, messageId: Types.ObjectId) =>
  key(orgId, source.kind, source.value, datePart(date), messageId);
const copyKey = (orgId: Types.ObjectId, messageId: Types.ObjectId) => key(orgId, 'c', messageId);

function activityEntries(orgId: Types.ObjectId, m: { messageId: Types.ObjectId; date: Date; participants: readonly string[] }) {
  const addresses = [...new Set(m.participants)].filter(isKeyPart);
  const domains = [...new Set(addresses.flatMap((a) => companyDomainFor(a) ?? []))].filter(isKeyPart);
  return [...addressSources(addresses), ...domainSources(domains)].map((source) => ({
    _id: activityKey(orgId, source, m.date, m.messageId), orgId, messageId: m.messageId, date: m.date,
  }));
}

/**
 * Inserts unordered, so one bad entry stops no other; answers the indexes of those that existed already (a
 * duplicate `_id`). Any other refusal is thrown.
 */
async function insertAll(model: mongoose.Model<any>, docs: Record<string, unknown>[]): Promise<number[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
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
interface WriteError { index?: number; code?: number; err?: { code?: number; index?: number } }

/** Records stored copies (and so their messages' activity). Inside the organisation's context. */
export async function indexCopies(copies: readonly IndexedCopy[]): Promise<void> {
  if (copies.length === 0) return;
  const orgId = currentOrgId();
  const seen = new Set<string>();
  const activity = copies.flatMap((c) => {
    if (seen.has(String(c.messageId))) return [];
    seen.add(String(c.messageId));
    return activityEntries(orgId, c);
  });
  const byMessage = new Map<string, { messageId: Types.ObjectId; copyIds: Types.ObjectId[] }>();
  for (const c of copies) {
    const entry = byMessage.get(String(c.messageId)) ?? { messageId: c.messageId, copyIds: [] };
    entry.copyIds.push(c.copyId);
    byMessage.set(String(c.messageId), entry);
  }
  // A message's first copy inserts its ref (the cheap write, and the common one); a further copy adds to it.
  const refs = [...byMessage.values()];
  const addTo = async (existing: number[]) => {
    // bulkWrite is not scoped by the tenant plugin: the organisation is in the key, and in the filter.
    const ops = existing.map((i) => ({
      updateOne: { filter: { _id: copyKey(orgId, refs[i].messageId), orgId }, update: { $addToSet: { copyIds: { $each: refs[i].copyIds } } } },
    }));
    for (let i = 0; i < ops.length; i += CHUNK) await CopyRef.bulkWrite(ops.slice(i, i + CHUNK), { ordered: false });
  };
  await Promise.all([
    insertAll(Activity, activity),
    insertAll(CopyRef, refs.map((r) => ({ _id: copyKey(orgId, r.messageId), orgId, messageId: r.messageId, copyIds: r.copyIds }))).then(addTo),
  ]);
}

/** Drops the entries of messages about to be (or already) deleted, given their date and participants. */
export async function forgetMessages(messages: readonly { _id: Types.ObjectId; date: Date; participants?: readonly string[] }[]): Promise<void> {
  if (messages.length === 0) return;
  const orgId = currentOrgId();
  const keys = messages.flatMap((m) => activityEntries(orgId, { messageId: m._id, date: m.date, participants: m.participants ?? [] }).map((e) => e._id));
  for (let i = 0; i < keys.length; i += CHUNK) await Activity.deleteMany({ _id: trusted({ $in: keys.slice(i, i + CHUNK) }) });
  const refs = messages.map((m) => copyKey(orgId, m._id));
  for (let i = 0; i < refs.length; i += CHUNK) await CopyRef.deleteMany({ _id: trusted({ $in: refs.slice(i, i + CHUNK) }) });
}

/** Drops the refs of copies deleted while their message stays. */
export async function forgetCopies(copies: readonly { _id: Types.ObjectId; messageId: Types.ObjectId }[]): Promise<void> {
  const orgId = currentOrgId();
  const byMessage = new Map<string, Types.ObjectId[]>();
  for (const c of copies) byMessage.set(copyKey(orgId, c.messageId), [...(byMessage.get(copyKey(orgId, c.messageId)) ?? []), c._id]);
  for (const [ref, ids] of byMessage) await CopyRef.updateOne({ _id: ref }, { $pullAll: { copyIds: ids } });
}

/** The copy ids of each message (one read by `_id` for up to 500 messages). */
export async function copyIdsOf(messageIds: readonly Types.ObjectId[]): Promise<Map<string, Types.ObjectId[]>> {
  const orgId = currentOrgId();
  const out = new Map<string, Types.ObjectId[]>();
  for (let i = 0; i < messageIds.length; i += CHUNK) {
    const refs = await CopyRef.find({ _id: trusted({ $in: messageIds.slice(i, i + CHUNK).map((id) => copyKey(orgId, id)) }) })
      .select({ messageId: 1, copyIds: 1 }).lean<{ messageId: Types.ObjectId; copyIds: Types.ObjectId[] }[]>();
    for (const r of refs) out.set(String(r.messageId), r.copyIds);
  }
  return out;
}

/** What a listing shows of a copy: whose it is, and its labels and state. */
export interface CopyView { _id: Types.ObjectId; messageId: Types.ObjectId; userId: Types.ObjectId; mailboxId: Types.ObjectId; labels: string[]; state: MessageFlags }

/**
 * The copies of these messages, oldest first, grouped by message id: the refs by `_id` range, then the copies by
 * `_id` (no query on `messageId`, which the embedded database would answer by reading every copy).
 */
export async function copiesOf(messageIds: readonly Types.ObjectId[]): Promise<Map<string, CopyView[]>> {
  const out = new Map<string, CopyView[]>();
  if (messageIds.length === 0) return out;
  const ids = [...(await copyIdsOf(messageIds)).values()].flat();
  const copies: (CopyView & { createdAt?: Date })[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    copies.push(...await MailboxMessage.find({ _id: trusted({ $in: ids.slice(i, i + CHUNK) }) })
      .select({ messageId: 1, userId: 1, mailboxId: 1, labels: 1, state: 1, createdAt: 1 }).lean<(CopyView & { createdAt?: Date })[]>());
  }
  const time = (c: { createdAt?: Date }) => new Date(c.createdAt ?? 0).getTime();
  copies.sort((a, b) => time(a) - time(b) || String(a._id).localeCompare(String(b._id)));
  for (const c of copies) out.set(String(c.messageId), [...(out.get(String(c.messageId)) ?? []), c]);
  return out;
}

/** How many messages with this address `accept` keeps: every entry of the address, its messages read by `_id`. */
export async function countWith<T extends { _id: Types.ObjectId }>(
  address: string, load: (ids: Types.ObjectId[]) => Promise<T[]>, accept: (doc: T) => boolean,
): Promise<number> {
  if (!isKeyPart(address)) return 0;
  const orgId = currentOrgId();
  const range = prefixRange(orgId, 'a', [address]);
  let count = 0;
  let from = range.$gt;
  for (;;) {
    const entries = await Activity.find({ _id: trusted({ $gt: from, $lt: range.$lt }) }).select({ messageId: 1 })
      .sort({ _id: 1 }).limit(CHUNK).lean<{ _id: string; messageId: Types.ObjectId }[]>();
    if (entries.length === 0) return count;
    from = entries[entries.length - 1]._id;
    count += (await load(entries.map((e) => e.messageId))).filter(accept).length;
  }
}

interface Cursor { source: Source; before?: string; oldest: number; done: boolean }

/** A position in a newest-first listing: entries strictly older than this message (by date, then id). */
export interface Before { date: Date; messageId: Types.ObjectId }

/**
 * The newest messages from any of these sources (addresses, company domains) that `accept` keeps, newest first, at most `limit`.
 * `load` reads the candidate messages by `_id` (with the fields the caller needs); `accept` decides (visibility).
 * Each address is read newest first in pages through its key range; a candidate is decided once no unread entry
 * of any address can be newer, so the answer is exactly the newest `limit` accepted messages — however many newer
 * ones `accept` turns down (private mail of a teammate, say), at a cost that grows with those, not with the
 * organisation.
 */
export async function newestWith<T extends { _id: Types.ObjectId }>(
  sources: readonly Source[], limit: number,
  load: (ids: Types.ObjectId[]) => Promise<T[]>, accept: (doc: T) => boolean, before?: Before,
): Promise<T[]> {
  const orgId = currentOrgId();
  const unique = [...new Map(sources.filter((x) => isKeyPart(x.value)).map((x) => [`${x.kind} ${x.value}`, x])).values()];
  const cursors: Cursor[] = unique.map((source) => ({
    source, oldest: Infinity, done: false, before: before && activityKey(orgId, source, before.date, before.messageId),
  }));
  const pending = new Map<string, { messageId: Types.ObjectId; date: number }>();
  const decided = new Set<string>();
  const out: T[] = [];
  let page = Math.max(limit * 2, 10);
  while (out.length < limit && (cursors.some((c) => !c.done) || pending.size > 0)) {
    await Promise.all(cursors.filter((c) => !c.done).map(async (c) => {
      const entries = await Activity.find({ _id: trusted(prefixRange(orgId, c.source.kind, [c.source.value], c.before)) })
        .sort({ _id: -1 }).limit(page).lean<{ _id: string; messageId: Types.ObjectId; date: Date }[]>();
      if (entries.length < page) c.done = true;
      if (entries.length > 0) {
        c.before = entries[entries.length - 1]._id;
        c.oldest = new Date(entries[entries.length - 1].date).getTime();
      }
      for (const e of entries) {
        const id = String(e.messageId);
        if (!decided.has(id) && !pending.has(id)) pending.set(id, { messageId: e.messageId, date: new Date(e.date).getTime() });
      }
    }));
    page *= 2;
    // Nothing unread is newer than the newest "oldest read" among the addresses still open.
    const frontier = Math.max(-Infinity, ...cursors.filter((c) => !c.done).map((c) => c.oldest));
    const ready = [...pending.values()].filter((p) => p.date >= frontier).sort((a, b) => b.date - a.date);
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
