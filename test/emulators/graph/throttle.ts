/**
 * Outlook's throttling as Graph applies it per app ID and mailbox
 * (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits): 10,000 requests in a 10-minute
 * window and 4 concurrent requests. Over either, 429 with `Retry-After` (seconds) and
 * `{"error":{"code":"ApplicationThrottled","message":"Application is over its MailboxConcurrency limit."}}` —
 * the code and message Graph is seen to send; the docs only promise the status and the header.
 *
 * It also measures what the reliability checks (docs/PERFORMANCE.md) need: the most requests ever in flight at once for
 * a mailbox, and requests that arrived before a Retry-After given for that app and mailbox had elapsed.
 */
import type { RequestHandler } from 'express';
import { graphLocals } from './context';
import { sendGraphError } from './odata';
import { GraphError } from './store';

export interface ThrottleLimits {
  enabled: boolean;
  requestsPerWindow: number;
  windowSeconds: number;
  maxConcurrent: number;
  /** The wait announced when only the concurrency limit was hit. */
  concurrencyRetryAfterSeconds: number;
}

export const GRAPH_LIMITS: ThrottleLimits = {
  enabled: true,
  requestsPerWindow: 10_000,
  windowSeconds: 600,
  maxConcurrent: 4,
  concurrencyRetryAfterSeconds: 1,
};

export interface ThrottleStats {
  requests: number;
  throttled: number;
  inFlight: number;
  maxInFlight: number;
  retryAfterViolations: number;
}

interface Bucket extends ThrottleStats {
  arrivals: number[];
  blockedUntil: number;
  /** When the last 429 was sent. */
  throttledAt: number;
}

/**
 * How long after a 429 an arriving request still counts as sent before the client could have read it: a loopback
 * round trip under load, far below Graph's smallest Retry-After (1 s), so a client ignoring Retry-After is caught.
 */
const IN_FLIGHT_GRACE_MS = 250;

export class Throttle {
  limits: ThrottleLimits = { ...GRAPH_LIMITS };
  private readonly buckets = new Map<string, Bucket>();

  set(limits: Partial<ThrottleLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  reset(): void {
    this.limits = { ...GRAPH_LIMITS };
    this.buckets.clear();
  }

  /** Figures for one mailbox (all apps together), or for every mailbox keyed by address. */
  stats(address: string): ThrottleStats;
  stats(): Record<string, ThrottleStats>;
  stats(address?: string): ThrottleStats | Record<string, ThrottleStats> {
    const all: Record<string, ThrottleStats> = {};
    for (const [key, b] of this.buckets) {
      const mailbox = key.slice(key.indexOf('|') + 1);
      const sum = all[mailbox] ?? { requests: 0, throttled: 0, inFlight: 0, maxInFlight: 0, retryAfterViolations: 0 };
      all[mailbox] = {
        requests: sum.requests + b.requests,
        throttled: sum.throttled + b.throttled,
        inFlight: sum.inFlight + b.inFlight,
        maxInFlight: Math.max(sum.maxInFlight, b.maxInFlight),
        retryAfterViolations: sum.retryAfterViolations + b.retryAfterViolations,
      };
    }
    if (address === undefined) return all;
    return all[address.toLowerCase()] ?? { requests: 0, throttled: 0, inFlight: 0, maxInFlight: 0, retryAfterViolations: 0 };
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      const { mailbox, auth } = graphLocals(res);
      const key = `${auth.clientId}|${mailbox.user.address.toLowerCase()}`;
      const bucket = this.bucket(key);
      const now = Date.now();
      bucket.requests += 1;
      bucket.inFlight += 1;
      bucket.maxInFlight = Math.max(bucket.maxInFlight, bucket.inFlight);
      let done = false;
      const finish = (): void => {
        if (!done) bucket.inFlight -= 1;
        done = true;
      };
      res.once('finish', finish);
      res.once('close', finish);
      if (!this.limits.enabled) return next();

      // A request that reaches us within moments of a 429 was already on the wire when the client could know: only
      // requests arriving later than that, yet before the Retry-After elapsed, disregarded it.
      if (now < bucket.blockedUntil && now >= bucket.throttledAt + IN_FLIGHT_GRACE_MS) bucket.retryAfterViolations += 1;
      // Every request accrues against the window, throttled ones included (https://learn.microsoft.com/graph/throttling).
      const windowMs = this.limits.windowSeconds * 1000;
      while (bucket.arrivals.length && (bucket.arrivals[0] ?? 0) <= now - windowMs) bucket.arrivals.shift();
      bucket.arrivals.push(now);

      let retryAfterSeconds = 0;
      let message = '';
      if (bucket.arrivals.length > this.limits.requestsPerWindow) {
        // The next request fits once enough arrivals have left the window to bring the count back under the limit.
        const oldest = bucket.arrivals[bucket.arrivals.length - this.limits.requestsPerWindow] ?? now;
        retryAfterSeconds = Math.max(1, Math.ceil((oldest + windowMs - now) / 1000));
        message = 'Application is over its MailboxRequestRate limit.';
      } else if (bucket.inFlight > this.limits.maxConcurrent) {
        retryAfterSeconds = this.limits.concurrencyRetryAfterSeconds;
        message = 'Application is over its MailboxConcurrency limit.';
      }
      if (!retryAfterSeconds) return next();
      bucket.throttled += 1;
      bucket.blockedUntil = Math.max(bucket.blockedUntil, now + retryAfterSeconds * 1000);
      bucket.throttledAt = now;
      sendGraphError(req, res, new GraphError(429, 'ApplicationThrottled', message), { 'Retry-After': String(retryAfterSeconds) });
    };
  }

  private bucket(key: string): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { requests: 0, throttled: 0, inFlight: 0, maxInFlight: 0, retryAfterViolations: 0, arrivals: [], blockedUntil: 0, throttledAt: 0 };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}
