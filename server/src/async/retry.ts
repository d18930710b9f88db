/**
 * Trying again after a failure, the one loop for it: the Gmail and Graph clients' in-process retries and the sync
 * run's retries of what the policy table marks `retry` all go through `retrying`. A wait is the other side's
 * Retry-After when it gave one, else an exponential backoff; waits are capped (a longer one is not waited in
 * process: the failure goes to a caller that persists its backoff), and time is passed in.
 */

/** Time as a retry loop, a request gate or a pacer sees it; tests pass a manual one. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RetryOptions {
  /** Tries after the first one. */
  retries: number;
  /** Whether this failure may be tried again; any other is thrown at once. */
  retryable(err: unknown): boolean;
  /** The wait the other side asked for (Retry-After), in ms, taken in place of the backoff; undefined when none. */
  retryAfterMs?(err: unknown): number | undefined;
  /** The backoff before retry n (from 0): `baseMs * 2 ** n`, at most `maxBackoffMs`. */
  baseMs: number;
  maxBackoffMs?: number;
  /**
   * Given, each backoff (never a Retry-After) is spread over [½, 1] of itself by this source of randomness, so that
   * callers that failed together do not all come back together.
   */
  random?: () => number;
  /** A wait longer than this is not waited: the failure is thrown instead. */
  maxWaitMs?: number;
  clock?: Pick<Clock, 'sleep'>;
  /** Called once a failure is to be tried again, before the wait (to release what the failed try holds). */
  onRetry?(err: unknown): Promise<void> | void;
}

/** The wait before retry `n` (from 0) after `err`, as `retrying` computes it. */
export function retryWaitMs(err: unknown, n: number, opts: RetryOptions): number {
  const asked = opts.retryAfterMs?.(err);
  if (asked !== undefined) return Math.max(0, asked);
  const backoff = Math.min(opts.maxBackoffMs ?? Number.POSITIVE_INFINITY, opts.baseMs * 2 ** n);
  return opts.random ? backoff * (0.5 + 0.5 * opts.random()) : backoff;
}

/** Runs `attempt` (given the number of failures so far) until it succeeds, or throws the failure not to retry. */
export async function retrying<T>(attempt: (failures: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.clock?.sleep ?? systemClock.sleep;
  for (let failures = 0; ; failures++) {
    try {
      return await attempt(failures);
    } catch (err) {
      if (failures >= opts.retries || !opts.retryable(err)) throw err;
      const waitMs = retryWaitMs(err, failures, opts);
      if (opts.maxWaitMs !== undefined && waitMs > opts.maxWaitMs) throw err;
      await opts.onRetry?.(err);
      await sleep(waitMs);
    }
  }
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
