/** A mailbox as the API shows it: state, progress, and the last error in words a user understands, with the fix. */
import type { MailboxDoc } from '../models/mailbox';
import { userFix } from '../sync/engine/policy';

export function mailboxView(m: MailboxDoc) {
  return {
    id: String(m._id),
    userId: String(m.userId),
    provider: m.provider,
    address: m.address,
    state: m.state,
    progress: { imported: m.backfill?.imported ?? 0, total: m.backfill?.total ?? 0 },
    lastSyncedAt: m.lastSyncedAt ? m.lastSyncedAt.toISOString() : null,
    lastError: m.lastError ? { code: m.lastError.code, message: m.lastError.message, at: m.lastError.at.toISOString(), fix: userFix(m.lastError.code) } : null,
  };
}
