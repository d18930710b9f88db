import { parseRetryAfter, retrying, type RetryOptions } from './retry';

class Passing extends Error {
  constructor(readonly retryAfterMs?: number) {
    super('passing');
  }
}

/** The waits asked of the clock, answered at once. */
function recordingClock() {
  const waits: number[] = [];
  return { waits, clock: { sleep: async (ms: number) => void waits.push(ms) } };
}

const options = (over: Partial<RetryOptions> = {}): RetryOptions => ({
  retries: 3,
  retryable: (err) => err instanceof Passing,
  retryAfterMs: (err) => (err as Passing).retryAfterMs,
  baseMs: 250,
  ...over,
});

/** An attempt that fails with these errors in turn, then answers 'ok'. */
const failingWith = (...errors: Error[]) => {
  const seen: number[] = [];
  const attempt = async (failures: number) => {
    seen.push(failures);
    const err = errors[failures];
    if (err) throw err;
    return 'ok';
  };
  return { attempt, seen };
};

describe('retrying', () => {
  it('backs off exponentially, and takes a Retry-After in place of the backoff', async () => {
    const { waits, clock } = recordingClock();
    const { attempt, seen } = failingWith(new Passing(), new Passing(1500), new Passing());
    const retried: unknown[] = [];
    expect(await retrying(attempt, options({ clock, onRetry: (err) => void retried.push(err) }))).toBe('ok');
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(waits).toEqual([250, 1500, 1000]);
    expect(retried).toHaveLength(3);
  });

  it('throws at once what is not retryable, and the last failure when the tries are used up', async () => {
    const { waits, clock } = recordingClock();
    const refused = new Error('refused');
    await expect(retrying(failingWith(refused).attempt, options({ clock }))).rejects.toBe(refused);
    const last = new Passing();
    await expect(retrying(failingWith(new Passing(), last).attempt, options({ clock, retries: 1 }))).rejects.toBe(last);
    expect(waits).toEqual([250]);
  });

  it('does not wait longer than maxWaitMs in process: the failure goes to the caller', async () => {
    const { waits, clock } = recordingClock();
    const long = new Passing(60_000);
    await expect(retrying(failingWith(long).attempt, options({ clock, maxWaitMs: 5_000 }))).rejects.toBe(long);
    expect(waits).toEqual([]);
  });

  it('caps the backoff and spreads it with the randomness given, never a Retry-After', async () => {
    const { waits, clock } = recordingClock();
    const { attempt } = failingWith(new Passing(), new Passing(), new Passing(800));
    await retrying(attempt, options({ clock, baseMs: 1000, maxBackoffMs: 1500, random: () => 0 }));
    expect(waits).toEqual([500, 750, 800]);
  });
});

it('reads Retry-After as seconds or as an HTTP-date', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  expect(parseRetryAfter('3')).toBe(3000);
  expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5000);
  expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:55 GMT', now)).toBe(0);
  expect(parseRetryAfter(null)).toBeUndefined();
  expect(parseRetryAfter('soon')).toBeUndefined();
});
