/**
 * Provider changes to copies the CRM already holds: state (flags, labels, folder) with echo suppression and
 * later-wins (state.ts), and deletions per the organisation's policy (docs/SYNC.md "State both ways", "Deletion
 * policy").
 */
import mongoose, { type Types } from 'mongoose';
import { MailboxMessage, SyncEvent } from '../../models';
import type { MailboxMessageDoc } from '../../models/mailbox-message';
import { mapBounded } from '../../async/bounded';
import { runInOrg } from '../../db/tenant';
import { removeCopies } from './removal';
import type { RemoteStateChange } from '../providers/port';
import { mergeProviderChange, type CopyState, type StateChange } from './state';

export interface ChangeMailbox {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
}
export type DeletionPolicy = 'mirror' | 'preserve';

export interface StateChangeResult {
  applied: number;
  echoes: number;
  ignored: number;
  missing: number;
}

type CopyRow = Pick<MailboxMessageDoc, '_id' | 'providerMessageId' | 'state' | 'stateChangedAt' | 'labels' | 'folderId' | 'pending' | 'messageId'>;
const COPY_FIELDS = { providerMessageId: 1, state: 1, stateChangedAt: 1, labels: 1, folderId: 1, pending: 1, messageId: 1 } as const;

/**
 * The copies of these provider ids in the mailbox. One equality read per id, run concurrently: an `$in` would be
 * one round trip on MongoDB but a whole-collection scan on the embedded FerretDB, which pushes down equality only.
 */
/**
 * Equality reads, a few at a time: on the embedded FerretDB an `$in` is a whole-collection scan and a burst of
 * hundreds of concurrent reads is slower than a handful in parallel (measured: ~3 ms each at 4, ~17 ms at 250).
 */
export const READ_CONCURRENCY = 4;

/** The copies of these provider ids in the mailbox, by equality reads (see READ_CONCURRENCY). */
export async function findCopies(mailboxId: Types.ObjectId, providerIds: string[]): Promise<Map<string, CopyRow>> {
  const out = new Map<string, CopyRow>();
  await mapBounded([...new Set(providerIds)], READ_CONCURRENCY, async (providerMessageId) => {
    const row = await MailboxMessage.findOne({ mailboxId, providerMessageId }, COPY_FIELDS).lean<CopyRow>();
    if (row) out.set(providerMessageId, row);
  });
  return out;
}

const copyState = (row: CopyRow): CopyState => ({
  state: { read: !!row.state?.read, starred: !!row.state?.starred, archived: !!row.state?.archived, deleted: !!row.state?.deleted },
  stateChangedAt: row.stateChangedAt ?? {},
  labels: row.labels ?? [],
  folderId: row.folderId ?? null,
  pending: row.pending ?? [],
});

/** Merges each change into its copy and writes the copies that changed, in one unordered bulk write. */
export async function mergeIntoCopies(
  copies: Map<string, CopyRow>,
  changes: { providerMessageId: string; change: StateChange }[],
  changedAt: Date,
): Promise<StateChangeResult> {
  const result: StateChangeResult = { applied: 0, echoes: 0, ignored: 0, missing: 0 };
  const working = new Map<string, { row: CopyRow; state: CopyState; dirty: boolean }>();
  for (const { providerMessageId, change } of changes) {
    const row = copies.get(providerMessageId);
    if (!row) {
      result.missing += 1;
      continue;
    }
    const entry = working.get(providerMessageId) ?? { row, state: copyState(row), dirty: false };
    const merged = mergeProviderChange(entry.state, change, changedAt);
    const pendingChanged = merged.next.pending.length !== entry.state.pending.length;
    entry.state = merged.next;
    entry.dirty ||= merged.changed.length > 0 || pendingChanged;
    working.set(providerMessageId, entry);
    result.applied += merged.changed.length > 0 ? 1 : 0;
    result.echoes += merged.echoes;
    result.ignored += merged.ignored;
  }
  const ops = [...working.values()]
    .filter((w) => w.dirty)
    .map(({ row, state }) => ({
      updateOne: {
        filter: { _id: row._id },
        update: { $set: { state: state.state, stateChangedAt: state.stateChangedAt, labels: state.labels, folderId: state.folderId, pending: state.pending } },
      },
    }));
  if (ops.length > 0) await MailboxMessage.bulkWrite(ops, { ordered: false });
  return result;
}

/**
 * Applies a page's state changes to the mailbox's copies. `changedAt` is when the provider reported them (the time
 * the page was fetched): a CRM write made after that is newer and wins.
 */
export async function applyStateChanges(mailbox: ChangeMailbox, changes: RemoteStateChange[], opts: { changedAt?: Date } = {}): Promise<StateChangeResult> {
  if (changes.length === 0) return { applied: 0, echoes: 0, ignored: 0, missing: 0 };
  return runInOrg(mailbox.orgId, async () => {
    const copies = await findCopies(
      mailbox._id,
      changes.map((c) => c.providerMessageId),
    );
    const list = changes.map(({ providerMessageId, ...change }) => ({ providerMessageId, change }));
    return mergeIntoCopies(copies, list, opts.changedAt ?? new Date());
  });
}

export interface DeleteResult {
  copiesRemoved: number;
  messagesRemoved: number;
  markedDeleted: number;
  missing: number;
}

/**
 * Messages gone from the mailbox. `mirror`: the copy goes, the user leaves `syncedBy` unless another of their
 * mailboxes still holds it, and the message goes with its last copy. `preserve`: the copy stays, marked deleted.
 */
export async function applyDeletes(mailbox: ChangeMailbox, providerIds: string[], policy: DeletionPolicy, now: Date = new Date()): Promise<DeleteResult> {
  const result: DeleteResult = { copiesRemoved: 0, messagesRemoved: 0, markedDeleted: 0, missing: 0 };
  if (providerIds.length === 0) return result;
  return runInOrg(mailbox.orgId, async () => {
    const copies = await findCopies(mailbox._id, providerIds);
    result.missing = new Set(providerIds).size - copies.size;
    const rows = [...copies.values()];
    if (rows.length === 0) return result;
    const copyIds = rows.map((r) => r._id);
    if (policy === 'preserve') {
      const res = await MailboxMessage.updateMany(
        { _id: mongoose.trusted({ $in: copyIds }) },
        { $set: { 'state.deleted': true, 'stateChangedAt.deleted': now } },
      );
      result.markedDeleted = res.modifiedCount;
      return result;
    }
    const removed = await removeCopies({ _id: mongoose.trusted({ $in: copyIds }) }, mailbox.userId);
    result.copiesRemoved = removed.copies;
    result.messagesRemoved = removed.messages;
    await SyncEvent.create({ mailboxId: mailbox._id, at: now, kind: 'deleted', detail: { policy, ...result } });
    return result;
  });
}

export type { CopyRow };
