/**
 * The one table that decides what an error means (DESIGN §2, STYLE habit 4): provider error code × where it happened
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
  transient:      { backfill: 'retry',   incremental: 'retry',   resync: 'retry',   item: 'fail_item', push: 'fail_item' },
  throttled:      { backfill: 'backoff', incremental: 'backoff', resync: 'backoff', item: 'backoff',   push: 'backoff' },
  cursor_expired: { backfill: 'resync',  incremental: 'resync',  resync: 'backoff', item: 'fail_item', push: 'fail_item' },
  auth_revoked:   { backfill: 'reauth',  incremental: 'reauth',  resync: 'reauth',  item: 'reauth',    push: 'reauth' },
  permission:     { backfill: 'fail',    incremental: 'fail',    resync: 'fail',    item: 'fail_item', push: 'fail_item' },
  not_found:      { backfill: 'resync',  incremental: 'resync',  resync: 'fail',    item: 'fail_item', push: 'fail_item' },
  invalid:        { backfill: 'fail',    incremental: 'fail',    resync: 'fail',    item: 'fail_item', push: 'fail_item' },
  internal:       { backfill: 'backoff', incremental: 'backoff', resync: 'backoff', item: 'backoff',   push: 'fail_item' },
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

/** What the mailbox list shows: what happened, in words a user understands, and what to do. */
export function userMessage(code: ErrorCode, opts: { retryAt?: Date | null } = {}): string {
  const when = opts.retryAt ? ` Sync resumes by itself at ${opts.retryAt.toISOString().slice(11, 16)} UTC.` : '';
  switch (code) {
    case 'auth_revoked':
      return 'Threadline can no longer reach this mailbox: access was withdrawn or expired. Reconnect the mailbox to resume sync.';
    case 'throttled':
      return `The email provider asked us to slow down for this mailbox.${when} Nothing to do.`;
    case 'permission':
      return 'Threadline is not allowed to read this mailbox. Reconnect it and accept every permission asked, or ask your administrator.';
    case 'transient':
      return `The email provider had a temporary problem.${when} Nothing to do; use Resync if it lasts.`;
    case 'cursor_expired':
    case 'not_found':
      return 'The provider no longer had our sync position, so the mailbox is being re-read. Nothing is lost; nothing to do.';
    case 'invalid':
      return 'The email provider refused a request from Threadline. Use Resync; if it keeps failing, contact your administrator.';
    default:
      return `Sync hit an unexpected problem.${when} It will retry by itself; if it lasts, contact your administrator.`;
  }
}
