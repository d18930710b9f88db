/**
 * A per-mailbox request gate: at most `maxInFlight` requests at once, and none sent while a Retry-After the
 * provider gave is still running. Provider-neutral: Graph allows 4 concurrent requests per app and mailbox and
 * answers 429 with Retry-After (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits);
 * Gmail's 429s carry Retry-After too.
 *
 * The order inside `run` matters: a slot is taken first, then the gate waits out any block, so a request that was
 * queued while another one got a 429 still sees that block before it is sent. Callers record a block with
 * `blockFor` *before* their slot is released (i.e. inside `run`), so the next waiter cannot slip through.
 * Waiting is capped (`maxWaitMs`): a longer block fails fast with ProviderError('throttled') for the engine,
 * whose policy persists the backoff on the mailbox.
 */
import { systemClock, type Clock } from '../../../async/retry';
import { ProviderError } from '../port';

export interface RequestGateOptions {
  maxInFlight: number;
  clock?: Clock;
}

export class RequestGate {
  private active = 0;
  private peak = 0;
  private waiters: Array<() => void> = [];
  private blockedUntilMs = 0;
  private readonly clock: Clock;

  constructor(private readonly opts: RequestGateOptions) {
    if (!(opts.maxInFlight >= 1)) throw new RangeError('maxInFlight must be at least 1');
    this.clock = opts.clock ?? systemClock;
  }

  /** No request may be sent before `ms` from now (extends, never shortens, a running block). */
  blockFor(ms: number): void {
    this.blockedUntilMs = Math.max(this.blockedUntilMs, this.clock.now() + Math.max(0, ms));
  }

  /** How long the current block still runs, 0 when none. */
  blockedForMs(): number {
    return Math.max(0, this.blockedUntilMs - this.clock.now());
  }

  inFlight(): number {
    return this.active;
  }

  /** The most requests ever in flight at once (for tests and metrics). */
  peakInFlight(): number {
    return this.peak;
  }

  /**
   * Runs `send` in a slot once no block is running. `maxWaitMs` caps the wait for a block: beyond it the call
   * fails with ProviderError('throttled', { retryAfterMs }) without being sent.
   */
  async run<T>(send: () => Promise<T>, opts: { maxWaitMs?: number } = {}): Promise<T> {
    await this.acquire();
    try {
      await this.waitOutBlock(opts.maxWaitMs);
      return await send();
    } finally {
      this.release();
    }
  }

  /**
   * Waits until no block is running. A caller holding a slot calls it again right before sending when it had to
   * wait for something else after `run` began (e.g. quota units), since a block may have started meanwhile.
   */
  async waitOutBlock(maxWaitMs?: number): Promise<void> {
    for (let wait = this.blockedForMs(); wait > 0; wait = this.blockedForMs()) {
      if (maxWaitMs !== undefined && wait > maxWaitMs) {
        throw new ProviderError('throttled', `throttled by the provider for another ${wait} ms`, { retryAfterMs: wait });
      }
      await this.clock.sleep(wait);
    }
  }

  private async acquire(): Promise<void> {
    if (this.active >= this.opts.maxInFlight) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.active += 1;
    this.peak = Math.max(this.peak, this.active);
  }

  private release(): void {
    const next = this.waiters.shift();
    // The slot goes straight to the next waiter, so a newcomer cannot jump the queue.
    if (next) next();
    else this.active -= 1;
  }
}
