import { QuotaPacer, type PacerClock } from './pacer';

/** A manual clock: timers fire only when the test advances time. */
class ManualClock implements PacerClock {
  time = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.timers.delete(handle as number);
  };
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
      await flush();
    }
    this.time = end;
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** Runs calls of `costs` through the pacer, each answered `latencyMs` after it was let through; records start times. */
async function simulate(pacer: QuotaPacer, clock: ManualClock, costs: number[], latencyMs: number, horizonMs: number) {
  const starts: Array<{ at: number; units: number }> = [];
  for (const units of costs) {
    void pacer.acquire(units).then((release) => {
      starts.push({ at: clock.now(), units });
      clock.setTimeout(release, latencyMs);
    });
  }
  await flush();
  for (let t = 0; t < horizonMs; t += 10) await clock.advance(10);
  return starts;
}

/** Largest sum of units started in any window [t, t + 1000) — what Google's per-second meter sees. */
function peakPerSecond(starts: Array<{ at: number; units: number }>): number {
  return Math.max(...starts.map((s) => starts.filter((o) => o.at >= s.at && o.at < s.at + 1000).reduce((sum, o) => sum + o.units, 0)));
}

describe('QuotaPacer', () => {
  it('lets a burst up to the quota through at once, then paces; never over the quota in any second', async () => {
    const clock = new ManualClock();
    const pacer = new QuotaPacer({ unitsPerSecond: 100, clock, settleGuardMs: 100 });
    const starts = await simulate(pacer, clock, Array(60).fill(5), 5, 4000);
    expect(starts.filter((s) => s.at === 0)).toHaveLength(20); // 20 × 5 units = the whole second's budget
    expect(peakPerSecond(starts)).toBeLessThanOrEqual(100);
    // ...without idling: 60 calls of 5 units need just over 2 windows (plus latency), not more.
    expect(starts.length).toBe(60);
    expect(starts[59].at).toBeLessThanOrEqual(2 * 1005 + 10);
  });

  it('holds units one window past the answer, but no longer than window + guard past dispatch', async () => {
    const clock = new ManualClock();
    const pacer = new QuotaPacer({ unitsPerSecond: 10, clock, settleGuardMs: 100 });
    const fast = await pacer.acquire(10);
    clock.time = 20;
    fast();
    const next = pacer.acquire(10);
    let started = -1;
    void next.then(() => (started = clock.now()));
    await clock.advance(990);
    expect(started).toBe(-1);
    await clock.advance(20);
    expect(started).toBe(1020); // answered at 20 → free at 1020

    const clock2 = new ManualClock();
    const pacer2 = new QuotaPacer({ unitsPerSecond: 10, clock: clock2, settleGuardMs: 100 });
    await pacer2.acquire(10); // never answered (a 35 MB download, say)
    let started2 = -1;
    void pacer2.acquire(10).then(() => (started2 = clock2.now()));
    await clock2.advance(1200);
    expect(started2).toBe(1100);
  });

  it('serves first come first served, so a 100-unit send is not starved by small reads', async () => {
    const clock = new ManualClock();
    const pacer = new QuotaPacer({ unitsPerSecond: 100, clock, settleGuardMs: 0 });
    const order: string[] = [];
    const take = (name: string, units: number) =>
      pacer.acquire(units).then((release) => {
        order.push(name);
        release();
      });
    void take('read1', 5);
    void take('send', 100);
    void take('read2', 5);
    await clock.advance(3000);
    expect(order).toEqual(['read1', 'send', 'read2']);
  });

  it('runs a call costing more than the whole budget alone instead of never', async () => {
    const clock = new ManualClock();
    const pacer = new QuotaPacer({ unitsPerSecond: 50, clock });
    let done = false;
    void pacer.acquire(100).then((release) => {
      done = true;
      release();
    });
    await clock.advance(1);
    expect(done).toBe(true);
    expect(pacer.unitsInWindow()).toBe(50);
  });
});

describe('units held until answered (calls inside a batch)', () => {
  it('keep their units however long the answer takes, then a window more', async () => {
    const clock = new ManualClock();
    const pacer = new QuotaPacer({ unitsPerSecond: 10, clock });
    const release = await pacer.acquire(10, { untilAnswered: true });
    let second = false;
    void pacer.acquire(5).then(() => {
      second = true;
    });
    await clock.advance(5_000);
    // A single call's units would have come back after window + guard; these wait for the answer.
    expect(second).toBe(false);
    expect(pacer.unitsInWindow()).toBe(10);
    release();
    await clock.advance(999);
    expect(second).toBe(false);
    await clock.advance(1);
    expect(second).toBe(true);
  });

  it('say how many units one window holds', () => {
    expect(new QuotaPacer({ unitsPerSecond: 250 }).budget()).toBe(250);
  });
});
