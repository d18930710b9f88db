import { mapBounded } from './bounded';

/** A promise settled from outside, so a test decides when each item finishes. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('mapBounded', () => {
  it('never runs more than the limit, and keeps the order of results whatever the order of finishing', async () => {
    const gates = Array.from({ length: 8 }, () => deferred());
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const all = mapBounded([0, 1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      active += 1;
      peak = Math.max(peak, active);
      await gates[n].promise;
      active -= 1;
      return n * 10;
    });
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    // Finish them last first: each finished item lets exactly one more start.
    for (const n of [7, 6, 5, 4, 3, 2, 1, 0]) gates[n].resolve();
    expect(await all).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
    expect(peak).toBe(3);
  });

  it('starts no new item after a failure', async () => {
    const started: number[] = [];
    await expect(
      mapBounded([1, 2, 3, 4, 5], 1, async (n) => {
        started.push(n);
        if (n === 2) throw new Error('throttled');
        return n;
      }),
    ).rejects.toThrow('throttled');
    expect(started).toEqual([1, 2]);
  });

  it('answers an empty list at once, and refuses a limit below one', async () => {
    expect(await mapBounded([], 4, async () => 1)).toEqual([]);
    await expect(mapBounded([1], 0, async (n) => n)).rejects.toThrow(RangeError);
  });
});
