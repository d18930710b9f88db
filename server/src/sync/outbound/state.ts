/**
 * State write-through (docs/SYNC.md "State both ways"): PATCH /api/messages/:id and DELETE /api/messages/:id change the
 * caller's own copies, then the provider.
 *
 * Order: the copy's state, its per-field `stateChangedAt` and a `pending` entry per changed field are written
 * FIRST, then the provider is called — so the echo, which may arrive (by push) before the provider's answer does,
 * is recognised as ours by the ingest's echo suppression. Pending entries are `{field, value, at}` with `field`
 * one of `read`, `starred`, `archived`, `deleted` (value: the boolean written) or `label:<name>` (value: true
 * added, false removed).
 *
 * When the provider refuses or cannot be reached, the change is ROLLED BACK (not left pending for a retry) and
 * the caller gets the error: the CRM then never shows a state the mailbox does not have, and the user, who is
 * looking at the screen, decides whether to try again. The rollback is conditional on each field still holding
 * our write (its `stateChangedAt` is ours), so a provider change that arrived meanwhile is never undone.
 *
 * Deleting moves the copy to the provider's trash (Gmail TRASH, Graph Deleted Items) and sets `state.deleted`,
 * under both deletion policies: the provider still holds the copy (in its trash), so `mirror` mirrors exactly
 * that; the copy is removed only when the provider removes the message for good (the ingest's deletes).
 */
import mongoose, { Types } from 'mongoose';
import { MailboxMessage, type MailboxMessageDoc, type MessageFlags } from '../../models/mailbox-message';
import { Mailbox } from '../../models/mailbox';
import { ProviderError } from '../providers/port';
import { capabilitiesOf } from '../providers/capabilities';
import type { MailboxAdapters, MailboxForAdapter } from '../providers/runtime';

export interface StateChange {
  read?: boolean;
  starred?: boolean;
  archived?: boolean;
  labels?: { add: string[]; remove: string[] };
}

export interface CopyStateView {
  id: string;
  state: MessageFlags;
  labels: string[];
}

export class StateWriteError extends Error {
  constructor(
    public readonly code: 'not_found' | 'invalid' | 'provider',
    message: string,
    public readonly providerError?: ProviderError,
  ) {
    super(message);
    this.name = 'StateWriteError';
  }
}

type Flag = keyof MessageFlags;
type PendingEntry = { field: string; value: boolean; at: Date };
const FLAGS: Flag[] = ['read', 'starred', 'archived', 'deleted'];

type Copy = Pick<MailboxMessageDoc, '_id' | 'mailboxId' | 'providerMessageId' | 'labels' | 'state' | 'stateChangedAt'>;

interface Delta {
  flags: Partial<MessageFlags>;
  add: string[];
  remove: string[];
}

/** What actually changes on this copy: a no-op write would leave a pending entry no echo ever clears. */
export function deltaFor(copy: Pick<Copy, 'state' | 'labels'>, change: StateChange & { deleted?: boolean }): Delta {
  const flags: Partial<MessageFlags> = {};
  for (const f of FLAGS) {
    const v = change[f];
    if (v !== undefined && Boolean(copy.state?.[f]) !== v) flags[f] = v;
  }
  const labels = new Set(copy.labels ?? []);
  return {
    flags,
    add: [...new Set(change.labels?.add ?? [])].filter((l) => !labels.has(l)),
    remove: [...new Set(change.labels?.remove ?? [])].filter((l) => labels.has(l)),
  };
}

const isEmpty = (d: Delta) => Object.keys(d.flags).length === 0 && d.add.length === 0 && d.remove.length === 0;

async function callerCopies(userId: Types.ObjectId, messageId: string): Promise<Copy[]> {
  if (!Types.ObjectId.isValid(messageId)) return [];
  // `userId` on the copy: only the caller's own mailboxes' copies (other organisations' ids match nothing at all).
  return MailboxMessage.find({ messageId: new Types.ObjectId(messageId), userId })
    .select({ mailboxId: 1, providerMessageId: 1, labels: 1, state: 1, stateChangedAt: 1 })
    .sort({ _id: 1 })
    .lean<Copy[]>();
}

async function applyToCopy(copy: Copy, mailbox: MailboxForAdapter, delta: Delta, adapters: MailboxAdapters, now: Date): Promise<void> {
  const labels = [...(copy.labels ?? []).filter((l) => !delta.remove.includes(l)), ...delta.add];
  const pending: PendingEntry[] = [
    ...Object.entries(delta.flags).map(([field, value]) => ({ field, value, at: now })),
    ...delta.add.map((l) => ({ field: `label:${l}`, value: true, at: now })),
    ...delta.remove.map((l) => ({ field: `label:${l}`, value: false, at: now })),
  ];
  const set: Record<string, unknown> = {};
  for (const [f, v] of Object.entries(delta.flags)) {
    set[`state.${f}`] = v;
    set[`stateChangedAt.${f}`] = now;
  }
  if (delta.add.length || delta.remove.length) set.labels = labels;
  await MailboxMessage.updateOne({ _id: copy._id }, { $set: set, $push: { pending: { $each: pending } } });

  try {
    const writer = adapters.forMailbox(mailbox).writer;
    const onlyTrash = delta.flags.deleted === true && Object.keys(delta.flags).length === 1 && !delta.add.length && !delta.remove.length;
    if (onlyTrash) await writer.trash(copy.providerMessageId);
    else await writer.modify(copy.providerMessageId, { flags: delta.flags, labelsAdded: delta.add, labelsRemoved: delta.remove });
  } catch (err) {
    await rollBack(copy, delta, { labels, pending }, now);
    if (err instanceof StateWriteError) throw err;
    const providerError = err instanceof ProviderError ? err : undefined;
    throw new StateWriteError('provider', `the mailbox provider did not accept the change: ${(err as Error).message}`, providerError);
  }
}

/** Undoes our write field by field, only where it is still ours; drops our pending entries either way. */
async function rollBack(copy: Copy, delta: Delta, written: { labels: string[]; pending: PendingEntry[] }, now: Date): Promise<void> {
  for (const f of Object.keys(delta.flags) as Flag[]) {
    const before = copy.stateChangedAt?.[f] ?? null;
    await MailboxMessage.updateOne(
      { _id: copy._id, [`stateChangedAt.${f}`]: now },
      { $set: { [`state.${f}`]: Boolean(copy.state?.[f]), [`stateChangedAt.${f}`]: before } },
    );
  }
  if (delta.add.length || delta.remove.length) {
    await MailboxMessage.updateOne({ _id: copy._id, labels: written.labels }, { $set: { labels: copy.labels ?? [] } });
  }
  // $pullAll of the exact entries: FerretDB's $pull does not take a condition on embedded documents.
  await MailboxMessage.updateOne({ _id: copy._id }, { $pullAll: { pending: written.pending } });
}

async function write(
  userId: Types.ObjectId,
  messageId: string,
  change: StateChange & { deleted?: boolean },
  adapters: MailboxAdapters,
  now: Date,
): Promise<CopyStateView> {
  const copies = await callerCopies(userId, messageId);
  if (copies.length === 0) throw new StateWriteError('not_found', 'message not found');
  const mailboxes = await mailboxesOf(copies);
  for (const copy of copies) refuseReservedLabels(mailboxes.get(String(copy.mailboxId)), change);
  for (const copy of copies) {
    const delta = deltaFor(copy, change);
    const mailbox = mailboxes.get(String(copy.mailboxId));
    if (!mailbox) throw new StateWriteError('not_found', 'the mailbox holding this message is no longer connected');
    if (!isEmpty(delta)) await applyToCopy(copy, mailbox, delta, adapters, now);
  }
  const first = await MailboxMessage.findById(copies[0]._id).select({ state: 1, labels: 1 }).lean<Pick<Copy, 'state' | 'labels'>>();
  const state = first?.state ?? copies[0].state;
  return {
    id: messageId,
    state: { read: Boolean(state.read), starred: Boolean(state.starred), archived: Boolean(state.archived), deleted: Boolean(state.deleted) },
    labels: [...(first?.labels ?? [])],
  };
}

/** The copies' mailboxes, by id: one read by `_id` for all of them. */
async function mailboxesOf(copies: Copy[]): Promise<Map<string, MailboxForAdapter>> {
  const ids = [...new Set(copies.map((c) => String(c.mailboxId)))].map((id) => new Types.ObjectId(id));
  const found = await Mailbox.find({ _id: mongoose.trusted({ $in: ids }) })
    .select({ orgId: 1, provider: 1, address: 1 })
    .lean<MailboxForAdapter[]>();
  return new Map(found.map((m) => [String(m._id), m]));
}

/** Before anything is written: a label the mailbox's provider keeps as state is changed through the flags, never by name. */
function refuseReservedLabels(mailbox: MailboxForAdapter | undefined, change: StateChange): void {
  if (!mailbox) return;
  const reserved = new Set(capabilitiesOf(mailbox.provider).reservedLabels.map((l) => l.toUpperCase()));
  const named = [...(change.labels?.add ?? []), ...(change.labels?.remove ?? [])].filter((l) => reserved.has(l.toUpperCase()));
  if (named.length) {
    throw new StateWriteError(
      'invalid',
      `"${named[0]}" is a ${capabilitiesOf(mailbox.provider).displayName} system label: use read, starred, archived or DELETE`,
    );
  }
}

/** PATCH /api/messages/:id. Runs in the caller's organisation context. */
export function writeMessageState(
  userId: Types.ObjectId,
  messageId: string,
  change: StateChange,
  adapters: MailboxAdapters,
  now = new Date(),
): Promise<CopyStateView> {
  return write(userId, messageId, change, adapters, now);
}

/** DELETE /api/messages/:id: the caller's copies go to the provider's trash. */
export function trashMessage(userId: Types.ObjectId, messageId: string, adapters: MailboxAdapters, now = new Date()): Promise<CopyStateView> {
  return write(userId, messageId, { deleted: true }, adapters, now);
}
