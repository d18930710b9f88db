import { ProviderError } from '../providers/port';
import { decide, POLICY } from './policy';
import { backoffDelayMs, mayRunNow, nextRunAfterSuccess } from './schedule';

const now = new Date('2030-01-01T12:00:00Z');
const at = (ms: number) => new Date(now.getTime() + ms);

describe('mayRunNow', () => {
  it('refuses halted, backing-off, not-yet-due and leased mailboxes', () => {
    const base = { state: 'live' as const, nextRunAt: at(-1), backoffUntil: null, lease: { owner: null, until: null } };
    expect(mayRunNow(base, now)).toEqual({ run: true });
    expect(mayRunNow({ ...base, state: 'reauth_required' }, now)).toEqual({ run: false, reason: 'halted' });
    expect(mayRunNow({ ...base, state: 'paused' }, now)).toEqual({ run: false, reason: 'halted' });
    expect(mayRunNow({ ...base, backoffUntil: at(1000) }, now)).toEqual({ run: false, reason: 'backing_off' });
    expect(mayRunNow({ ...base, nextRunAt: at(1000) }, now)).toEqual({ run: false, reason: 'not_due' });
    expect(mayRunNow({ ...base, lease: { owner: 'x', until: at(1000) } }, now, 'me')).toEqual({ run: false, reason: 'leased' });
    expect(mayRunNow({ ...base, lease: { owner: 'x', until: at(-1) } }, now, 'me')).toEqual({ run: true });
  });
});

describe('backoffDelayMs', () => {
  it('grows exponentially with jitter, is capped, and never undercuts Retry-After', () => {
    expect(backoffDelayMs(1, { random: () => 0 })).toBe(2_500);
    expect(backoffDelayMs(1, { random: () => 0.999999 })).toBeLessThanOrEqual(5_000);
    expect(backoffDelayMs(3, { random: () => 0 })).toBe(10_000);
    expect(backoffDelayMs(40, { random: () => 1 })).toBe(30 * 60_000);
    expect(backoffDelayMs(1, { random: () => 0, retryAfterMs: 90_000 })).toBe(90_000);
    expect(backoffDelayMs(40, { random: () => 0, retryAfterMs: 3_600_000 })).toBe(3_600_000);
  });

  it('schedules the next run at once while work is left, else after the poll interval', () => {
    expect(nextRunAfterSuccess(now, { moreWork: true, pollSeconds: 60 })).toEqual(now);
    expect(nextRunAfterSuccess(now, { moreWork: false, pollSeconds: 60 })).toEqual(at(60_000));
  });
});

describe('the policy table', () => {
  it('has a decision for every code and stage, and decides from the code alone', () => {
    for (const row of Object.values(POLICY)) expect(Object.keys(row).sort()).toEqual(['backfill', 'incremental', 'item', 'push', 'resync']);
    expect(decide(new ProviderError('throttled', 'x', { retryAfterMs: 5000 }), 'incremental')).toMatchObject({ action: 'backoff', retryAfterMs: 5000 });
    expect(decide(new ProviderError('cursor_expired', 'x'), 'incremental').action).toBe('resync');
    expect(decide(new ProviderError('auth_revoked', 'x'), 'item').action).toBe('reauth');
    expect(decide(new ProviderError('invalid', 'x'), 'item').action).toBe('fail_item');
    expect(decide(new Error('db down'), 'backfill')).toMatchObject({ action: 'backoff', code: 'internal' });
  });
});
