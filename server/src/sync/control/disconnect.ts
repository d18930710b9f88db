/**
 * Disconnecting a mailbox (DELETE /api/mailboxes/:id; docs/SECURITY.md "Disconnecting"): stop push, revoke the grant,
 * then remove the mailbox's copies and every message only this mailbox held; messages other mailboxes also hold stay,
 * with this user taken out of `syncedBy` when none of their other mailboxes holds them. Each step is
 * idempotent, so a crash midway is finished by calling it again.
 */
import type { Types } from 'mongoose';
import { Mailbox } from '../../models/mailbox';
import { SyncEvent } from '../../models/audit';
import { removeCopies } from '../ingest/removal';

/** Removes what the mailbox held (copies, messages only it held with their cached bytes and empty threads). Runs inside the mailbox's organisation context. */
export async function removeMailboxData(mailboxId: Types.ObjectId, userId: Types.ObjectId): Promise<{ copies: number; messages: number }> {
  const removed = await removeCopies({ mailboxId }, userId);
  await SyncEvent.deleteMany({ mailboxId });
  await Mailbox.deleteOne({ _id: mailboxId });
  return removed;
}
