/**
 * Provider changes to copies the CRM already holds: state (flags, labels, folder) with echo suppression and
 * later-wins (state.ts), and deletions per the organisation's policy (docs/SYNC.md "State both ways", "Deletion
 * policy").
 */
import mongoose, { type Types } from 'mongoose';
import { MailboxMessage, SyncEvent } from '../../models';
import type { MailboxMessageDoc } from '../../models/mailbox-message';
import { copyDocId } from '../../models/ids';
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

/** Copy ids per read: one `_id $in` each, served by the primary key on MongoDB and on the embedded FerretDB. */
export const COPY_IDS_PER_READ = 200;

/**
 * The copies of these provider ids in the mailbox, by their keyed `_id`s (models/ids.ts copyDocId): one read per
 * COPY_IDS_PER_READ ids, where a read per id was a round trip each.
 */
export async function findCopies(mailbox: Pick<ChangeMailbox, '_id' | 'orgId'>, providerIds: string[]): Promise<Map<string, CopyRow>> {
  const ids = [...new Set(providerIds)].map((providerMessageId) => copyDocId(mailbox.orgId, mailbox._id, providerMessageId));
  const out = new Map<string, CopyRow>();
  for (let i = 0; i < ids.length; i += COPY_IDS_PER_READ) {
    const rows = await MailboxMessage.find({ _id: mongoose.trusted({ $in: ids.slice(i, i + COPY_IDS_PER_READ) }) }, COPY_FIELDS).lean<CopyRow[]>();
    for (const row of rows) out.set(row.providerMessageId, row);
  }
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
      mailbox,
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
    const copies = await findCopies(mailbox, providerIds);
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
