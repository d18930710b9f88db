/**
 * Per-mailbox pacing for the Gmail API: a quota budget in units per second, charged with the documented method
 * costs before each call, and a bound on calls in flight.
 *
 * Gmail's quota is per user per second (https://developers.google.com/gmail/api/reference/quota; docs/PROVIDERS.md "Gmail").
 * A classic continuous-refill token bucket with capacity = rate lets `capacity + rate` units through in one
 * second (2× the quota), and one with a small capacity can never pass a 100-unit send; so the bucket here is the
 * sliding-window form: units taken from the budget come back exactly one window after the call was counted.
 * That runs at the quota without idling below it and never goes over it, whatever mix of costs is queued.
 *
 * When is a call "counted"? Google counts it when it arrives, somewhere between our dispatch and its answer.
 * Units are therefore returned `windowMs` after the answer (arrival ≤ answer, so always safe), but no later
 * than `windowMs + settleGuardMs` after dispatch, so a slow answer (a big raw message) does not hold the budget
 * for its whole transfer. The guard only assumes a request reaches Google within `settleGuardMs`.
 */

/** Documented costs in quota units (https://developers.google.com/gmail/api/reference/quota). */
export const METHOD_COST = {
  'users.getProfile': 1,
  'users.watch': 100,
  'users.stop': 50,
  'messages.list': 5,
  'messages.get': 5,
  'messages.send': 100,
  'messages.modify': 5,
  'messages.batchModify': 50,
  'messages.trash': 5,
  'messages.untrash': 5,
  'messages.attachments.get': 5,
  'threads.get': 10,
  'history.list': 2,
  'labels.list': 1,
  'labels.create': 5,
} as const;

export type GmailMethod = keyof typeof METHOD_COST;

/** Time as the pacer sees it; tests pass a manual clock. */
export interface PacerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: PacerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface QuotaPacerOptions {
  unitsPerSecond: number;
  /** Length of Google's measuring window. */
  windowMs?: number;
  /** Longest time a request is assumed to take to reach Google (see the module comment). Default 100 ms. */
  settleGuardMs?: number;
  clock?: PacerClock;
}

interface Charge {
  units: number;
  /** When these units return to the budget; moves earlier once the call has been answered. */
  expiresAt: number;
  settled: boolean;
}

/** Call once the provider answered (or the call failed): lets the units return one window from now. */
export type ReleaseQuota = () => void;

export class QuotaPacer {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly guardMs: number;
  private readonly clock: PacerClock;
  private charges: Charge[] = [];
  private queue: Array<{ units: number; grant: (release: ReleaseQuota) => void; untilAnswered: boolean }> = [];
  private timer: unknown = null;

  constructor(opts: QuotaPacerOptions) {
    if (!(opts.unitsPerSecond > 0)) throw new RangeError('unitsPerSecond must be positive');
    this.windowMs = opts.windowMs ?? 1000;
    this.limit = (opts.unitsPerSecond * this.windowMs) / 1000;
    this.guardMs = opts.settleGuardMs ?? 100;
    this.clock = opts.clock ?? systemClock;
  }

  /**
   * Waits until `units` fit in the budget, first come first served (a 100-unit send is not starved by a
   * stream of 5-unit reads). A call costing more than the whole budget runs alone.
   */
  acquire(units: number, opts: { untilAnswered?: boolean } = {}): Promise<ReleaseQuota> {
    return new Promise((grant) => {
      this.queue.push({ units: Math.min(Math.max(units, 0), this.limit), grant, untilAnswered: opts.untilAnswered ?? false });
      this.pump();
    });
  }

  /**
   * The units one window holds. A call inside a batch reaches Google at some moment before the batch's answer,
   * unknown to us, so its units are held until that answer (`untilAnswered`) and then for a window: a batch must
   * fit in the budget, with room to spare for the next one to be granted while it runs.
   */
  budget(): number {
    return this.limit;
  }

  /** Units currently counted against the window (for tests and metrics). */
  unitsInWindow(): number {
    this.prune(this.clock.now());
    return this.charges.reduce((sum, c) => sum + c.units, 0);
  }

  /** Calls waiting for budget. */
  waiting(): number {
    return this.queue.length;
  }

  /** True when nothing is waiting or counted: the pacer may be dropped. */
  idle(): boolean {
    return this.queue.length === 0 && this.unitsInWindow() === 0;
  }

  private prune(now: number): void {
    this.charges = this.charges.filter((c) => c.expiresAt > now);
  }

  private pump(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    const now = this.clock.now();
    this.prune(now);
    let used = this.charges.reduce((sum, c) => sum + c.units, 0);
    while (this.queue.length > 0 && used + this.queue[0].units <= this.limit) {
      const next = this.queue.shift()!;
      const charge: Charge = { units: next.units, expiresAt: next.untilAnswered ? Infinity : now + this.windowMs + this.guardMs, settled: false };
      this.charges.push(charge);
      used += charge.units;
      next.grant(() => this.settle(charge));
    }
    // A charge of a single call has a known latest expiry, so waiting never depends on its answer arriving; one
    // held until answered wakes the queue when it is settled.
    const wakeAt = Math.min(...this.charges.map((c) => c.expiresAt));
    if (this.queue.length > 0 && Number.isFinite(wakeAt)) {
      this.timer = this.clock.setTimeout(
        () => {
          this.timer = null;
          this.pump();
        },
        Math.max(0, wakeAt - now),
      );
    }
  }

  private settle(charge: Charge): void {
    if (charge.settled) return;
    charge.settled = true;
    charge.expiresAt = Math.min(charge.expiresAt, this.clock.now() + this.windowMs);
    // Always: a settled charge may be the first with a finite expiry, which the queue needs a timer for.
    if (this.queue.length > 0) this.pump();
  }
}
