/**
 * Mailbox leases (docs/ARCHITECTURE.md, "Processes"): a worker holds a mailbox through an owner id and an expiry on the mailbox; it may die at
 * any moment, and another worker takes the mailbox over once the lease has expired.
 *
 * Taking a lease is a claim on its next generation: the worker inserts the lock document of generation n+1
 * (models/sync-lock.ts) and only the one insert that succeeds may write the lease. That is atomic on MongoDB and on
 * the embedded FerretDB alike, where a conditional findOneAndUpdate is not (concurrent callers all "win" there).
 * Writes that move the sync position are fenced on the owner (run-context `persist`), so a worker that stalled past
 * its lease and lost the mailbox cannot move the cursor behind the new holder's back.
 */
import type { Types } from 'mongoose';
import { Mailbox, type MailboxDoc } from '../../models/mailbox';
import { SyncLock } from '../../models/sync-lock';
import { runAsSystem } from '../../db/tenant';
import { isDuplicateKey } from '../../db/errors';
import { stableId } from '../../models/ids';

export const DEFAULT_LEASE_SECONDS = 60;

export interface LeaseView {
  owner: string | null;
  until: Date | null;
  gen?: number;
}

/** True when `lease` is free for `owner` at `now` (nobody holds it, it expired, or it is already ours). */
export function leaseIsFree(lease: LeaseView | null | undefined, owner: string, now: Date): boolean {
  return !lease?.owner || lease.owner === owner || !lease.until || lease.until.getTime() <= now.getTime();
}

/**
 * Claims generation `gen` of a lock for `owner`: exactly one caller per (purpose, mailbox, generation) gets true.
 * The previous generation's lock is removed afterwards (best effort: it only keeps the collection small).
 */
export async function claimGeneration(
  orgId: Types.ObjectId,
  purpose: string,
  mailboxId: Types.ObjectId,
  gen: number,
  owner: string,
  now: Date,
): Promise<boolean> {
  const key = (g: number) => `${purpose}:${String(mailboxId)}:${g}`;
  try {
    await runAsSystem('sync lock', () => SyncLock.create({ _id: stableId(orgId, 'lock', key(gen)), orgId, key: key(gen), owner, at: now }));
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
  // Not awaited: nothing waits on the clean-up, and a push-triggered run should not wait one more round trip for it.
  if (gen > 1) void runAsSystem('sync lock', () => SyncLock.deleteOne({ _id: stableId(orgId, 'lock', key(gen - 1)) })).catch(() => undefined);
  return true;
}

/**
 * A claim is followed within milliseconds by the write it guards (the lease, the outbox attempt). One older than this
 * that never became that write is orphaned — its claimant died in between, or a concurrent whole-document update on
 * FerretDB undid the write — and would block the resource forever if never passed over.
 */
export const ORPHANED_CLAIM_MS = 5_000;

/**
 * Claims generation `gen`, or the next one past claims orphaned before `now`: the generation won, or null when a
 * live claim (younger than ORPHANED_CLAIM_MS) holds it.
 */
export async function claimNextGeneration(
  orgId: Types.ObjectId,
  purpose: string,
  id: Types.ObjectId,
  gen: number,
  owner: string,
  now: Date,
): Promise<number | null> {
  for (let g = gen; g < gen + 4; g += 1) {
    if (await claimGeneration(orgId, purpose, id, g, owner, now)) return g;
    const lock = await runAsSystem('sync lock', () => SyncLock.findById(stableId(orgId, 'lock', `${purpose}:${String(id)}:${g}`)).lean<{ at: Date }>());
    if (lock && lock.at.getTime() + ORPHANED_CLAIM_MS > now.getTime()) return null;
  }
  return null;
}

/**
 * The mailbox, leased to `owner` until now + leaseSeconds, or null when someone else holds a live lease — or when
 * `wanted`, given the mailbox as read, says it is not to be run (then nothing is claimed).
 */
export async function acquireLease(
  mailboxId: Types.ObjectId,
  owner: string,
  leaseSeconds: number,
  now: Date,
  wanted?: (current: MailboxDoc) => boolean,
): Promise<MailboxDoc | null> {
  const current = await runAsSystem('sync lease', () => Mailbox.findById(mailboxId).lean<MailboxDoc>());
  if (!current || !leaseIsFree(current.lease, owner, now) || (wanted && !wanted(current))) return null;
  const gen = await claimNextGeneration(current.orgId, 'lease', mailboxId, (current.lease?.gen ?? 0) + 1, owner, now);
  if (gen === null) return null;
  const lease = { owner, until: new Date(now.getTime() + leaseSeconds * 1000), gen };
  await runAsSystem('sync lease', () => Mailbox.updateOne({ _id: mailboxId }, { $set: { lease } }));
  return { ...current, lease };
}

/** Extends the lease; false when it was lost (expired and taken): the caller must stop at once. */
export async function renewLease(mailboxId: Types.ObjectId, owner: string, leaseSeconds: number, now: Date): Promise<boolean> {
  const res = await runAsSystem('sync lease', () =>
    Mailbox.updateOne({ _id: mailboxId, 'lease.owner': owner }, { $set: { 'lease.until': new Date(now.getTime() + leaseSeconds * 1000) } }),
  );
  return res.matchedCount === 1;
}

/** Frees the lease (the generation stays, so the next claim is n+1). */
export async function releaseLease(mailboxId: Types.ObjectId, owner: string): Promise<void> {
  await runAsSystem('sync lease', () => Mailbox.updateOne({ _id: mailboxId, 'lease.owner': owner }, { $set: { 'lease.owner': null, 'lease.until': null } }));
}

export class LeaseLostError extends Error {
  constructor(mailboxId: Types.ObjectId) {
    super(`lease on mailbox ${String(mailboxId)} was lost`);
    this.name = 'LeaseLostError';
  }
}
