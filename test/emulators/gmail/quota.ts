/**
 * Gmail's per-user quota: units per second over a sliding one-second window, with the documented method
 * costs (https://developers.google.com/gmail/api/reference/quota). Over quota answers 429 (or 403, which the
 * Node client does not retry: docs/PROVIDERS.md) with the usageLimits error body. Rejected calls cost nothing.
 *
 * The one-second window is the stricter reading of the docs: the older quota page gives "250 quota units per user
 * per second, moving average (allows short bursts)", the current one 15,000 (or 6,000) units per user per minute.
 * Under either, one call alone always fits (no method costs more than a minute's budget): a call dearer than the
 * whole per-second limit (users.watch is 100 units) is admitted when the user's window is empty, never beside others.
 */
import { googleErrorBody } from './errors';

export const METHOD_COST: Record<string, number> = {
  'users.getProfile': 1,
  'users.watch': 100,
  'users.stop': 50,
  'messages.list': 5,
  'messages.get': 5,
  'messages.send': 100,
  'messages.insert': 25,
  'messages.import': 25,
  'messages.modify': 5,
  'messages.batchModify': 50,
  'messages.trash': 5,
  'messages.untrash': 5,
  'messages.delete': 10,
  'messages.attachments.get': 5,
  'threads.get': 10,
  'threads.list': 10,
  'labels.list': 1,
  'labels.get': 1,
  'labels.create': 5,
  'history.list': 2,
};

export interface QuotaSettings {
  /** 250 for older projects, 100 for projects created since May 2026; null: no limit. */
  unitsPerSecond: number | null;
  /** Status of the over-quota answer. */
  status: 429 | 403;
}

export interface QuotaUsage {
  unitsUsed: number;
  calls: number;
  rejected: number;
  /** Highest units seen in any one-second window (to compare against the limit). */
  peakUnitsPerSecond: number;
}

export function quotaErrorBody(status: 429 | 403) {
  return status === 403
    ? googleErrorBody(403, 'User Rate Limit Exceeded', { domain: 'usageLimits', reason: 'userRateLimitExceeded' })
    : googleErrorBody(429, 'Rate Limit Exceeded', { domain: 'usageLimits', reason: 'rateLimitExceeded' });
}

export class QuotaMeter {
  private settings: QuotaSettings = { unitsPerSecond: 250, status: 429 };
  /** Per user, the charges of the last second, oldest first, and their sum (kept as charges come and go). */
  private windows = new Map<string, { entries: Array<{ at: number; units: number }>; head: number; units: number }>();
  private usage = new Map<string, QuotaUsage>();

  set(settings: Partial<QuotaSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  get(): QuotaSettings {
    return { ...this.settings };
  }

  /** Charges the call to the user; false when it would exceed the per-second budget. */
  charge(user: string, method: string, now = Date.now()): boolean {
    const units = METHOD_COST[method] ?? 5;
    const window = this.windows.get(user) ?? { entries: [], head: 0, units: 0 };
    this.windows.set(user, window);
    // Charges leave the window once a second old; the clock only moves forward (Date.now), so they leave in order.
    while (window.head < window.entries.length && window.entries[window.head].at <= now - 1000) window.units -= window.entries[window.head++].units;
    if (window.head > 1024 && window.head * 2 > window.entries.length) {
      window.entries = window.entries.slice(window.head);
      window.head = 0;
    }
    const inWindow = window.units;
    const usage = this.usage.get(user) ?? { unitsUsed: 0, calls: 0, rejected: 0, peakUnitsPerSecond: 0 };
    this.usage.set(user, usage);
    const limit = this.settings.unitsPerSecond;
    if (limit !== null && inWindow + units > limit && !(units > limit && inWindow === 0)) {
      usage.rejected += 1;
      return false;
    }
    window.entries.push({ at: now, units });
    window.units += units;
    usage.unitsUsed += units;
    usage.calls += 1;
    usage.peakUnitsPerSecond = Math.max(usage.peakUnitsPerSecond, inWindow + units);
    return true;
  }

  status(): 429 | 403 {
    return this.settings.status;
  }

  report(): Record<string, QuotaUsage> {
    return Object.fromEntries([...this.usage].map(([user, usage]) => [user, { ...usage }]));
  }

  reset(): void {
    this.windows.clear();
    this.usage.clear();
  }
}
