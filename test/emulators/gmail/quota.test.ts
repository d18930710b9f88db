/**
 * The emulator's per-user quota (quota.ts): units charged in any one second never exceed the budget, a refused call
 * costs nothing, and units come back exactly one second after they were charged.
 */
import { QuotaMeter } from './quota';

describe('QuotaMeter', () => {
  it('refuses what would exceed the units of the last second, and gives them back a second later', () => {
    const q = new QuotaMeter();
    q.set({ unitsPerSecond: 20 });
    const t = 1_000_000;
    // messages.get costs 5 units: four fit in a second, the fifth does not.
    expect([0, 100, 200, 300, 400].map((dt) => q.charge('ann', 'messages.get', t + dt))).toEqual([true, true, true, true, false]);
    // Still within a second of the first charge: refused, and a refusal is not charged.
    expect(q.charge('ann', 'messages.get', t + 999)).toBe(false);
    // The first charge leaves the window at t + 1000: exactly one call fits again.
    expect(q.charge('ann', 'messages.get', t + 1000)).toBe(true);
    expect(q.charge('ann', 'messages.get', t + 1050)).toBe(false);
    // Another user has a budget of their own.
    expect(q.charge('bob', 'messages.get', t + 1050)).toBe(true);
    // Long after, the whole budget is back.
    expect([0, 1, 2, 3, 4].map((dt) => q.charge('ann', 'messages.get', t + 5000 + dt))).toEqual([true, true, true, true, false]);
    expect(q.report().ann).toMatchObject({ calls: 9, rejected: 4, unitsUsed: 45, peakUnitsPerSecond: 20 });
  });

  it('keeps its window exact over many seconds of calls', () => {
    const q = new QuotaMeter();
    q.set({ unitsPerSecond: 250 });
    let accepted = 0;
    // 3,000 calls a second for ten seconds: 50 a second fit (250 units at 5 each).
    for (let i = 0; i < 30_000; i++) if (q.charge('ann', 'messages.get', 1_000_000 + Math.floor(i / 3))) accepted++;
    expect(accepted).toBe(500);
    expect(q.report().ann.peakUnitsPerSecond).toBe(250);
  });
});
