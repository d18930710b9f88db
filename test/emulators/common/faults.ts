/**
 * Seeded fault injection for the emulators (docs/PERFORMANCE.md "Reliability checks": 5xx, connection resets, stalls,
 * slow answers).
 *
 * Usage: `const faults = faultInjector(); app.use(faults); faults.set({ errorRate: 0.2, seed: 7 })`.
 * The same seed and the same request order give the same faults, so a failing run can be replayed.
 * Control routes (`/__control/...`) are never faulted: the test must always be able to steer the emulator.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Marks a call the emulator replays from inside one of its own batch requests (Gmail's batch endpoint, Graph's
 * $batch). Such a call has no connection of its own, so connection faults (resets, stalls) never apply to it — they
 * apply to the batch request that carries it; its status is its own, so injected 5xx do (each part of a batch answer
 * has its own status, https://developers.google.com/gmail/api/guides/batch, https://learn.microsoft.com/graph/json-batching).
 */
export const BATCH_PART_HEADER = 'x-emulator-batch-part';

export interface FaultSettings {
  /** Share (0..1) of requests answered 500 or 503 instead of being served. */
  errorRate?: number;
  /** Share (0..1) of requests whose socket is destroyed without an answer. */
  resetRate?: number;
  /** Delay added before every request is handled (or faulted). */
  delayMs?: number;
  /**
   * Delay added after a request was handled, before its answer leaves: the answer says how things stood when it
   * was made, and anything changed meanwhile is news to the client (a slow network on the way back).
   */
  answerDelayMs?: number;
  /** Share (0..1) of requests held without an answer until the client gives up or clear() is called. */
  stallRate?: number;
  /** PRNG seed; the same seed replays the same faults. */
  seed?: number;
  /** Retry-After (seconds) sent with the 503s; unset: none. */
  retryAfterSeconds?: number;
}

export interface FaultCounters {
  seen: number;
  errors500: number;
  errors503: number;
  resets: number;
  stalls: number;
  delayed: number;
}

export interface FaultInjectorOptions {
  /** Provider-shaped error body for an injected status (Google and Microsoft differ). */
  errorBody?(status: 500 | 503): unknown;
  /** Requests whose path starts with one of these are never faulted. Default: ['/__control']. */
  exemptPrefixes?: string[];
}

export type FaultInjector = RequestHandler & {
  set(settings: FaultSettings): void;
  clear(): void;
  settings(): FaultSettings;
  counters(): FaultCounters;
};

/** mulberry32: a tiny, good-enough 32-bit PRNG; returns floats in [0, 1). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const emptyCounters = (): FaultCounters => ({ seen: 0, errors500: 0, errors503: 0, resets: 0, stalls: 0, delayed: 0 });

const defaultErrorBody = (status: 500 | 503): unknown => ({
  error: { code: status, message: status === 503 ? 'Service unavailable (injected)' : 'Internal error (injected)' },
});

export function faultInjector(options: FaultInjectorOptions = {}): FaultInjector {
  const exempt = options.exemptPrefixes ?? ['/__control'];
  const errorBody = options.errorBody ?? defaultErrorBody;
  let current: FaultSettings = {};
  let rng = createRng(0);
  let counts = emptyCounters();
  const stalled = new Set<Response>();

  const apply = (req: Request, res: Response, next: NextFunction): void => {
    // One draw per request, split into bands, so each request consumes the same amount of randomness
    // whatever the rates are: changing errorRate does not shift which requests get reset.
    const roll = rng();
    const reset = current.resetRate ?? 0;
    const stall = current.stallRate ?? 0;
    const error = current.errorRate ?? 0;
    const batchPart = req.get(BATCH_PART_HEADER) !== undefined;
    if (batchPart && roll < reset + stall) return next();
    if (roll < reset) {
      counts.resets += 1;
      req.socket.destroy();
      return;
    }
    if (roll < reset + stall) {
      counts.stalls += 1;
      stalled.add(res);
      res.once('close', () => stalled.delete(res));
      return;
    }
    if (roll < reset + stall + error) {
      // The low half of the error band answers 500, the high half 503.
      const status: 500 | 503 = roll < reset + stall + error / 2 ? 500 : 503;
      if (status === 500) counts.errors500 += 1;
      else counts.errors503 += 1;
      if (status === 503 && current.retryAfterSeconds !== undefined) res.set('Retry-After', String(current.retryAfterSeconds));
      res.status(status).json(errorBody(status));
      return;
    }
    const holdMs = current.answerDelayMs ?? 0;
    if (holdMs > 0) {
      const end = res.end.bind(res) as (...args: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        setTimeout(() => end(...args), holdMs);
        return res;
      }) as Response['end'];
    }
    next();
  };

  const middleware = ((req: Request, res: Response, next: NextFunction): void => {
    if (exempt.some((prefix) => req.path.startsWith(prefix))) return next();
    counts.seen += 1;
    const delayMs = current.delayMs ?? 0;
    if (delayMs > 0) {
      counts.delayed += 1;
      const timer = setTimeout(() => apply(req, res, next), delayMs);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    apply(req, res, next);
  }) as FaultInjector;

  middleware.set = (settings: FaultSettings): void => {
    current = { ...settings };
    rng = createRng(settings.seed ?? 0);
  };
  middleware.clear = (): void => {
    current = {};
    rng = createRng(0);
    counts = emptyCounters();
    // Let stalled clients see a dead connection instead of waiting for their own timeout.
    for (const res of stalled) res.socket?.destroy();
    stalled.clear();
  };
  middleware.settings = (): FaultSettings => ({ ...current });
  middleware.counters = (): FaultCounters => ({ ...counts });
  return middleware;
}
