/**
 * The outbox entries the sweep still has work on (docs/PERFORMANCE.md, "Idle"): one small document per entry that is
 * queued or sending, or sent with its content not yet purged. The outbox itself keeps every send for good (the
 * Idempotency-Key's answer), so a sweep that filtered it by status read every send ever made, twice every few
 * seconds: a collection scan on the embedded database, whose cost grew with all mail ever sent from the CRM. The
 * sweep reads this collection whole instead (it holds only the open entries) and their entries by `_id`.
 *
 *   outboxopen  { _id: <entry id>, orgId }
 *
 * Its invariant: every open entry has its document. An entry is written open (queued) only when it is created, and
 * its document is written before it; an entry never reopens once sent or failed. So the document of an entry that
 * is done (failed, or sent and purged) can go at any time, and so can one whose entry does not exist (a create
 * that failed, an erasure) — but only once its entry id is older than MISSING_GRACE_MS, as the entry's insert may
 * still be on its way. A process catches up once at its first sweep (`registerOpenEntries`, a scan), which also
 * covers entries written before this collection existed.
 *
 * Queries: by `_id` (the `_id` index on MongoDB and on the embedded FerretDB), and one read of the whole
 * collection, which stays as small as the sends in flight and the content retention's backlog.
 */
import mongoose, { type Types } from 'mongoose';

const OPEN = 'outboxopen';
type OpenDoc = { _id: Types.ObjectId; orgId: Types.ObjectId };
const open = () => mongoose.connection.collection<OpenDoc>(OPEN);

/** An entry id without an entry is forgotten only this long after the id was made (ObjectIds carry their time). */
export const MISSING_GRACE_MS = 10 * 60_000;

/** Marks an entry open: call before the entry is inserted. Idempotent. */
export async function markOpen(entryId: Types.ObjectId, orgId: Types.ObjectId): Promise<void> {
  await markAllOpen([{ _id: entryId, orgId }]);
}

/** Marks entries open in bulk (the catch-up scan). */
export async function markAllOpen(entries: readonly { _id: Types.ObjectId; orgId: Types.ObjectId }[]): Promise<void> {
  if (entries.length === 0) return;
  await open().bulkWrite(
    entries.map((e) => ({ updateOne: { filter: { _id: e._id }, update: { $set: { orgId: e.orgId } }, upsert: true } })),
    { ordered: false },
  );
}

/** Every entry id marked open. */
export async function openEntryIds(): Promise<Types.ObjectId[]> {
  return (
    await open()
      .find({}, { projection: { _id: 1 } })
      .toArray()
  ).map((d) => d._id);
}

/** Forgets entries the sweep has no more work on. */
export async function forgetOpen(entryIds: readonly Types.ObjectId[]): Promise<void> {
  if (entryIds.length === 0) return;
  await open().deleteMany({ _id: { $in: [...entryIds] } });
}
