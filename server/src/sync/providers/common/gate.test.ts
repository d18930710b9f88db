import { ProviderError } from '../port';
import type { Clock } from '../../../async/retry';
import { RequestGate } from './gate';

/** A manual clock: sleeps resolve when the test advances time past them. */
function manualClock(): Clock & { advance(ms: number): Promise<void> } {
  let now = 0;
  const sleepers: { until: number; wake: () => void }[] = [];
  return {
    now: () => now,
    sleep: (ms) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
    async advance(ms) {
      now += ms;
      for (const s of sleepers.splice(0)) {
        if (s.until <= now) s.wake();
        else sleepers.push(s);
      }
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

it('keeps at most maxInFlight running and hands slots over in order', async () => {
  const gate = new RequestGate({ maxInFlight: 4 });
  const releases: (() => void)[] = [];
  const started: number[] = [];
  const runs = Array.from({ length: 6 }, (_, i) =>
    gate.run(
      () =>
        new Promise<void>((resolve) => {
          started.push(i);
          releases.push(resolve);
        }),
    ),
  );
  await flush();
  expect(started).toEqual([0, 1, 2, 3]);
  releases[0]?.();
  await flush();
  expect(started).toEqual([0, 1, 2, 3, 4]);
  releases.slice(1).forEach((r) => r());
  await flush();
  releases.forEach((r) => r());
  await Promise.all(runs);
  expect(gate.peakInFlight()).toBe(4);
});

it('sends nothing before a Retry-After elapses, including requests queued before it was known', async () => {
  const clock = manualClock();
  const gate = new RequestGate({ maxInFlight: 1, clock });
  const sentAt: number[] = [];
  const first = gate.run(async () => {
    sentAt.push(clock.now());
    gate.blockFor(2000); // a 429 with Retry-After: 2, recorded before the slot is released
  });
  const second = gate.run(async () => void sentAt.push(clock.now()));
  await first;
  await flush();
  expect(sentAt).toEqual([0]);
  await clock.advance(1999);
  expect(sentAt).toEqual([0]);
  await clock.advance(1);
  await second;
  expect(sentAt).toEqual([0, 2000]);
});

it('fails fast with throttled when the block is longer than the caller may wait', async () => {
  const clock = manualClock();
  const gate = new RequestGate({ maxInFlight: 4, clock });
  gate.blockFor(60_000);
  await expect(gate.run(async () => 'sent', { maxWaitMs: 30_000 })).rejects.toEqual(
    expect.objectContaining({ code: 'throttled', details: { retryAfterMs: 60_000 } }),
  );
  await expect(gate.run(async () => 'x', { maxWaitMs: 30_000 })).rejects.toBeInstanceOf(ProviderError);
});
