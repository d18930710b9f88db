/**
 * Contacts, companies and deals as the paths a person waits for read them (the sidebar, a contact's timeline,
 * `why`), kept per process: a sidebar asks for the same few people's records again and again, and each read is a
 * round trip to the database. A kept record is used while the organisation's `recordsVersion` — moved after every
 * write of the three models, through any mongoose path (models/org-versions.ts) — is the one it was read under, no
 * write of them happened in this process since, and it is younger than MAX_AGE_MS (a writer that died between its
 * write and the version's move is caught up with by then). So a change made through this process shows at once,
 * one made through another as soon as the organisation is read again (store/org-snapshot.ts: within 100 ms).
 *
 * Records are found by `_id` (the `_id` index on both databases). What is handed out is shared between requests:
 * frozen, so no caller can change another's answer.
 */
import type mongoose from 'mongoose';
import type { Types } from 'mongoose';
import { currentOrgId } from '../db/tenant';
import { recordWrites } from '../models/crm';
import { leanByIds } from './lean';
import { snapshotOrg } from './org-snapshot';

/** Records this process keeps, across organisations (the least recently used is dropped first). */
const MAX_RECORDS = 20_000;
const MAX_AGE_MS = 10_000;

interface Held {
  doc: unknown;
  version: number;
  writes: number;
  at: number;
}
const held = new Map<string, Held>();

function freeze<T>(doc: T): T {
  for (const value of Object.values(doc as object)) if (Array.isArray(value)) Object.freeze(value);
  return Object.freeze(doc);
}

/**
 * The records of these ids in the organisation in context (those that exist; the order is not the ids'), read
 * only where this process holds no current copy.
 */
export async function recordsByIds<T>(model: mongoose.Model<any>, ids: readonly Types.ObjectId[]): Promise<readonly T[]> {
  if (ids.length === 0) return [];
  const version = (await snapshotOrg())?.recordsVersion ?? 0;
  const writes = recordWrites();
  const now = Date.now();
  const prefix = `${String(currentOrgId())} ${model.modelName} `;
  const out: T[] = [];
  const missing: Types.ObjectId[] = [];
  for (const [hex, id] of new Map(ids.map((id) => [String(id), id]))) {
    const key = prefix + hex;
    const h = held.get(key);
    if (h && h.version === version && h.writes === writes && now - h.at < MAX_AGE_MS) {
      held.delete(key);
      held.set(key, h);
      out.push(h.doc as T);
    } else missing.push(id);
  }
  if (missing.length === 0) return out;
  const read = await leanByIds<T & { _id: Types.ObjectId }>(model, missing);
  // Kept only when no write of records in this process overlapped the read (the version read before it would
  // label a record read after it).
  const keep = recordWrites() === writes;
  for (const doc of read) {
    out.push(freeze(doc));
    if (!keep) continue;
    held.set(prefix + String(doc._id), { doc, version, writes, at: now });
    if (held.size > MAX_RECORDS) held.delete(held.keys().next().value as string);
  }
  return out;
}

/** Drops every kept record (tests that write records behind mongoose's back). */
export function forgetRecords(): void {
  held.clear();
}
