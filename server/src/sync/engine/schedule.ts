/**
 * When a mailbox may run and when it runs next, as pure functions of the stored mailbox and a clock passed in
 * (pure functions of the clock they are given, so tests need no waiting): the scheduler's query and the runner's checks both follow these rules.
 */
import { HALTED_STATES, type MailboxState } from './stages';

export interface ScheduleView {
  state: MailboxState;
  nextRunAt: Date | null;
  backoffUntil: Date | null;
  lease?: { owner: string | null; until: Date | null } | null;
}

export type RunVerdict = { run: true } | { run: false; reason: 'halted' | 'backing_off' | 'not_due' | 'leased' };

export function mayRunNow(mb: ScheduleView, now: Date, owner?: string): RunVerdict {
  if (HALTED_STATES.includes(mb.state)) return { run: false, reason: 'halted' };
  if (mb.backoffUntil && mb.backoffUntil.getTime() > now.getTime()) return { run: false, reason: 'backing_off' };
  if (mb.nextRunAt && mb.nextRunAt.getTime() > now.getTime()) return { run: false, reason: 'not_due' };
  const lease = mb.lease;
  if (lease?.owner && lease.owner !== owner && lease.until && lease.until.getTime() > now.getTime()) return { run: false, reason: 'leased' };
  return { run: true };
}

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** The provider's Retry-After: never run earlier than this. */
  retryAfterMs?: number | null;
  /** [0, 1): Math.random in production, fixed in tests. */
  random: () => number;
}

export const DEFAULT_BACKOFF_BASE_MS = 5_000;
export const DEFAULT_BACKOFF_MAX_MS = 30 * 60_000;
/**
 * The first step of a throttle's backoff: the providers' rate limits are counted per second or per minute, so a
 * mailbox that was told to slow down tries again soon and backs off further only while it keeps being told
 * (Google's "Resolve errors" guide asks for exponential backoff on 429; Retry-After, when sent, stays the floor).
 */
export const THROTTLE_BACKOFF_BASE_MS = 1_000;

/**
 * Exponential backoff with "equal jitter" (half fixed, half random): spreads retries of many mailboxes without
 * ever waiting less than half the exponential step. Retry-After is a floor, even above the cap.
 */
export function backoffDelayMs(failures: number, opts: BackoffOptions): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const max = opts.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const exp = Math.min(max, base * 2 ** Math.max(0, Math.min(30, failures - 1)));
  const jittered = exp / 2 + opts.random() * (exp / 2);
  return Math.ceil(Math.max(jittered, opts.retryAfterMs ?? 0));
}

/** After a successful run: at once when work is left (more pages), else after the poll interval. */
export function nextRunAfterSuccess(now: Date, opts: { moreWork: boolean; pollSeconds: number }): Date {
  return new Date(now.getTime() + (opts.moreWork ? 0 : opts.pollSeconds * 1000));
}

/** A failing mailbox that needs a person (`fail`) is still retried, rarely, in case the cause goes away. */
export const FAIL_RETRY_MS = 60 * 60_000;
