import { createFollower } from './follow';

/** A follower with a manual clock and loads the test resolves by hand. */
function setup() {
  const timers: (() => void)[] = [];
  const events: string[] = [];
  const pending = new Map<string, { resolve(v: string): void; reject(e: unknown): void; signal: AbortSignal }>();
  let selected: string | null = 'a';
  const follower = createFollower<string, string>({
    debounceMs: 250,
    read: () => selected,
    load: (item, signal) =>
      new Promise((resolve, reject) => {
        pending.set(item, { resolve, reject, signal });
      }),
    view: {
      loading: () => events.push('loading'),
      empty: () => events.push('empty'),
      ready: (r, item) => events.push(`ready:${item}:${r}`),
      failed: (_e, item) => events.push(`failed:${item}`),
    },
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => {
      timers.length = 0;
    },
  });
  const tick = async () => {
    timers.splice(0).forEach((fn) => fn());
    await Promise.resolve();
  };
  const flush = () => new Promise((r) => setTimeout(r, 0));
  return {
    follower,
    events,
    pending,
    tick,
    flush,
    select: (i: string | null) => {
      selected = i;
    },
  };
}

it('clears the screen at once on a change, and loads only after the debounce', async () => {
  const t = setup();
  t.follower.changed();
  expect(t.events).toEqual(['loading']);
  expect(t.pending.size).toBe(0);
  await t.tick();
  t.pending.get('a')!.resolve('A');
  await t.flush();
  expect(t.events).toEqual(['loading', 'ready:a:A']);
});

it('aborts the previous load and never renders its late answer', async () => {
  const t = setup();
  t.follower.changed();
  await t.tick();
  const first = t.pending.get('a')!;
  t.select('b');
  t.follower.changed();
  expect(first.signal.aborted).toBe(true);
  await t.tick();
  first.resolve('stale');
  t.pending.get('b')!.resolve('B');
  await t.flush();
  expect(t.events).toEqual(['loading', 'loading', 'ready:b:B']);
});

it('debounces a burst of changes into one load of the last item', async () => {
  const t = setup();
  for (const item of ['b', 'c', 'd']) {
    t.select(item);
    t.follower.changed();
  }
  await t.tick();
  expect([...t.pending.keys()]).toEqual(['d']);
});

it('shows the empty state when nothing is selected', async () => {
  const t = setup();
  t.select(null);
  t.follower.changed();
  await t.tick();
  expect(t.events).toEqual(['loading', 'empty']);
});

it('reports a failure of the current load, but not of an aborted one', async () => {
  const t = setup();
  t.follower.changed();
  await t.tick();
  const first = t.pending.get('a')!;
  t.follower.refresh();
  first.reject(new Error('aborted'));
  t.pending.get('a')!.reject(new Error('boom'));
  await t.flush();
  expect(t.events).toEqual(['loading', 'failed:a']);
});
