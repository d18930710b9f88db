/**
 * The one table that decides what an error means (docs/ARCHITECTURE.md: one table, not a check at each call site): provider error code × where it happened
 * → what the engine does. Adapters translate provider errors into codes; nothing else here looks at messages.
 */
import { ProviderError, type ProviderErrorCode } from '../providers/port';
import type { PolicyStage } from './stages';

export type Action =
  /** Try again within this run, a few times with a short wait, then back off. */
  | 'retry'
  /** Stop this run; run again after an exponential, jittered delay that honours Retry-After (persisted). */
  | 'backoff'
  /** The cursor is gone: re-list the mailbox and reconcile, then continue from a fresh cursor. */
  | 'resync'
  /** The grant is revoked: no further provider calls until the user reconnects. */
  | 'reauth'
  /** This one message (or push upkeep) failed: record it, skip it after a few tries, carry on with the rest. */
  | 'fail_item'
  /** Needs a person: the mailbox shows an error and is retried only rarely. */
  | 'fail';

/** Errors that are not ProviderErrors (a bug, the database away) are `internal`. */
export type ErrorCode = ProviderErrorCode | 'internal';

export const POLICY: Readonly<Record<ErrorCode, Readonly<Record<PolicyStage, Action>>>> = {
  transient: { backfill: 'retry', incremental: 'retry', resync: 'retry', item: 'fail_item', push: 'fail_item' },
  throttled: { backfill: 'backoff', incremental: 'backoff', resync: 'backoff', item: 'backoff', push: 'backoff' },
  cursor_expired: { backfill: 'resync', incremental: 'resync', resync: 'backoff', item: 'fail_item', push: 'fail_item' },
  auth_revoked: { backfill: 'reauth', incremental: 'reauth', resync: 'reauth', item: 'reauth', push: 'reauth' },
  permission: { backfill: 'fail', incremental: 'fail', resync: 'fail', item: 'fail_item', push: 'fail_item' },
  not_found: { backfill: 'resync', incremental: 'resync', resync: 'fail', item: 'fail_item', push: 'fail_item' },
  invalid: { backfill: 'fail', incremental: 'fail', resync: 'fail', item: 'fail_item', push: 'fail_item' },
  internal: { backfill: 'backoff', incremental: 'backoff', resync: 'backoff', item: 'backoff', push: 'fail_item' },
};

/** A poison message is retried on this many runs, then skipped for good (and kept on record). */
export const MAX_ITEM_ATTEMPTS = 3;
/** In-run retries of a `retry` error before it becomes a backoff. */
export const MAX_RETRIES_IN_RUN = 2;

export interface Decision {
  action: Action;
  code: ErrorCode;
  retryAfterMs: number | null;
  /** Technical detail for logs and syncEvents (never shown as the user's explanation). */
  detail: string;
}

export function decide(err: unknown, stage: PolicyStage): Decision {
  if (err instanceof ProviderError) {
    return { action: POLICY[err.code][stage], code: err.code, retryAfterMs: err.details.retryAfterMs ?? null, detail: err.message.slice(0, 300) };
  }
  return { action: POLICY.internal[stage], code: 'internal', retryAfterMs: null, detail: (err instanceof Error ? err.message : String(err)).slice(0, 300) };
}

/**
 * What the user is told about each error (docs/SYNC.md, "Failures are visible"), the one table for every screen: `happened` in words a user
 * understands (stored as the mailbox's lastError.message), and `fix`, what to do (shown beside it).
 */
const IN_WORDS: Readonly<Record<ErrorCode, { happened: string; fix: string; resumes?: true }>> = {
  auth_revoked: { happened: 'Threadline can no longer reach this mailbox: access was withdrawn or expired.', fix: 'Reconnect the mailbox to resume syncing.' },
  throttled: {
    happened: 'The email provider asked us to slow down for this mailbox.',
    fix: 'Nothing to do: syncing resumes by itself and nothing is lost.',
    resumes: true,
  },
  permission: {
    happened: 'Threadline is not allowed to read this mailbox.',
    fix: 'Reconnect it and accept every permission asked, or ask your administrator.',
  },
  transient: {
    happened: 'The email provider had a temporary problem.',
    fix: 'Nothing to do: Threadline retries by itself. Use Resync if it lasts.',
    resumes: true,
  },
  cursor_expired: { happened: 'The provider no longer had our sync position, so the mailbox is being re-read.', fix: 'Nothing to do: nothing is lost.' },
  not_found: { happened: 'The provider no longer had our sync position, so the mailbox is being re-read.', fix: 'Nothing to do: nothing is lost.' },
  invalid: { happened: 'The email provider refused a request from Threadline.', fix: 'Use Resync; if it keeps failing, contact your administrator.' },
  internal: {
    happened: 'Sync hit an unexpected problem.',
    fix: 'Threadline retries by itself; if it lasts, use Resync or contact your administrator.',
    resumes: true,
  },
};

const wordsFor = (code: string) => IN_WORDS[code as ErrorCode] ?? IN_WORDS.internal;

/** What happened, for the mailbox's lastError.message; with the time sync resumes when it resumes by itself. */
export function userMessage(code: ErrorCode, opts: { retryAt?: Date | null } = {}): string {
  const words = wordsFor(code);
  const when = opts.retryAt && words.resumes ? ` Sync resumes by itself at ${opts.retryAt.toISOString().slice(11, 16)} UTC.` : '';
  return `${words.happened}${when}`;
}

/** What to do about an error (any stored code, including ones this version no longer produces). */
export function userFix(code: string): string {
  return wordsFor(code).fix;
}
