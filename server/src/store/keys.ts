/**
 * Ordered string keys: the storage layer's way of finding entries fast on both databases.
 *
 * A read-model entry is one small document whose `_id` is its key: the organisation, a kind, then the parts that
 * order it, joined by single spaces ("<orgId> a <address> <ISO date> <messageId>"). Everything with one prefix
 * ("<orgId> a <address> ") is then one contiguous range of `_id`s:
 *   - MongoDB reads the range through the `_id` index it always has (an IXSCAN on `_id`, sorted by it);
 *   - the embedded FerretDB, whose SQLite backend indexes only `_id`, pushes the same range and the `_id` sort down
 *     to its `_id` index (server/src/db/ferretdb-sqlite.patch), so a `limit` stops the read early.
 * So no query behind a read model needs a secondary index, and none grows with the organisation.
 *
 * Parts must be printable ASCII without spaces (normalised addresses, domains, hex ids, ISO dates are); a part that
 * is not is refused, since it could make two keys' ranges overlap.
 */
import type { Types } from 'mongoose';

export type KeyPart = string | Types.ObjectId;

const PART = /^[!-~]+$/;
/** Sorts after every character a part may hold: the exclusive end of a prefix's range. */
const AFTER_ALL = '\x7f';

function part(p: KeyPart): string {
  const s = String(p);
  if (!PART.test(s)) throw new Error(`a key part must be printable ASCII without spaces: ${JSON.stringify(s)}`);
  return s;
}

export function key(orgId: KeyPart, kind: string, ...parts: KeyPart[]): string {
  return [orgId, kind, ...parts].map(part).join(' ');
}

/** Whether a value can be a key part (an address with a space, say, cannot be indexed and is skipped). */
export const isKeyPart = (s: string): boolean => PART.test(s);

/**
 * The `_id` filter of every key that starts with these parts (and then has at least one more part), optionally
 * only those before an exclusive upper key (the last entry of the previous page, for paging newest first).
 */
export function prefixRange(orgId: KeyPart, kind: string, parts: KeyPart[], before?: string): { $gt: string; $lt: string } {
  const prefix = `${key(orgId, kind, ...parts)} `;
  return { $gt: prefix, $lt: before?.startsWith(prefix) ? before : `${prefix}${AFTER_ALL}` };
}

/** Dates as key parts: ISO 8601 in UTC sorts as time does (for years 0000–9999). */
export function datePart(d: Date): string {
  const t = d.getTime();
  return Number.isNaN(t) ? '0000-00-00T00:00:00.000Z' : new Date(Math.min(Math.max(t, 0), 253402300799999)).toISOString();
}
