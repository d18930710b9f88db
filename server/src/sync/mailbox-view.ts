/** A mailbox as the API shows it: state, progress, and the last error in words a user understands, with the fix. */
import type { MailboxDoc } from '../models/mailbox';

const FIXES: Record<string, string> = {
  auth_revoked: 'Access to this mailbox was withdrawn or expired. Reconnect the mailbox to resume syncing.',
  throttled: 'The provider asked us to slow down. Syncing resumes on its own shortly; nothing is lost.',
  permission: 'The mailbox did not grant the access Threadline needs. Reconnect and accept every permission asked.',
  transient: 'The provider had a temporary problem. Threadline retries on its own; use Resync if it persists.',
  cursor_expired: 'The provider forgot where we were. Threadline is re-reading the mailbox to catch up; nothing is lost.',
  not_found: 'Something in the mailbox disappeared while we read it. Threadline carries on; use Resync if mail is missing.',
  invalid: 'The provider refused a request. Use Resync; if it persists, report it with the time shown.',
};

export function fixFor(code: string): string {
  return FIXES[code] ?? 'Use Resync; if it persists, disconnect and reconnect the mailbox.';
}

export function mailboxView(m: MailboxDoc) {
  return {
    id: String(m._id),
    userId: String(m.userId),
    provider: m.provider,
    address: m.address,
    state: m.state,
    progress: { imported: m.backfill?.imported ?? 0, total: m.backfill?.total ?? 0 },
    lastSyncedAt: m.lastSyncedAt ? m.lastSyncedAt.toISOString() : null,
    lastError: m.lastError ? { code: m.lastError.code, message: m.lastError.message, at: m.lastError.at.toISOString(), fix: fixFor(m.lastError.code) } : null,
  };
}
