/**
 * The Gmail error translator: googleapis / gaxios errors → ProviderError codes (docs/ARCHITECTURE.md "Sync").
 *
 * Decided from structured fields only — HTTP status, `error.errors[0].reason` of the Google error body
 * (https://developers.google.com/gmail/api/guides/handle-errors), the OAuth `error` field of the token endpoint
 * (RFC 6749 §5.2), the Retry-After header, and the system error code of a failed connection — never from
 * message text. The objects are read structurally rather than with `instanceof GaxiosError`, because
 * googleapis-common and google-auth-library each bring their own copy of gaxios.
 */
import { parseRetryAfter } from '../../../async/retry';
import { ProviderError, type ProviderErrorCode } from '../port';
import { networkCode } from '../common/network';

/** Gmail's quota is per second: without a Retry-After, a second is the shortest wait that can help. */
export const DEFAULT_THROTTLE_MS = 1000;
/** Daily limits reset within a day; retrying sooner than this only burns calls. */
export const DAILY_LIMIT_RETRY_MS = 60 * 60 * 1000;

const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded', 'concurrentLimitExceeded', 'limitExceeded']);
const DAILY_REASONS = new Set(['dailyLimitExceeded', 'dailyLimitExceededUnreg']);
/** OAuth token-endpoint errors that mean the user's grant is gone (RFC 6749 §5.2; Google adds none of its own). */
const GRANT_ERRORS = new Set(['invalid_grant', 'unauthorized_client']);

interface ErrorLike {
  status?: unknown;
  code?: unknown;
  name?: unknown;
  cause?: unknown;
  error?: unknown;
  response?: { status?: unknown; headers?: unknown; data?: unknown };
}

const asObject = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = asObject(headers);
  if (!record) return undefined;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? String(value[0]) : value === undefined ? undefined : String(value);
}

/** The fields the translation is decided from, read off whatever shape the error has. */
export interface ErrorFacts {
  status?: number;
  /** Google API error reason (`errors[0].reason`), else the OAuth `error` string. */
  reason?: string;
  retryAfterMs?: number;
  /** System / fetch error code of a connection failure. */
  networkCode?: string;
}

export function errorFacts(err: unknown, now = Date.now()): ErrorFacts {
  const e = asObject(err) as ErrorLike | undefined;
  if (!e) return {};
  const response = asObject(e.response) as ErrorLike['response'];
  const rawStatus = response?.status ?? e.status;
  const status = typeof rawStatus === 'number' && rawStatus >= 100 ? rawStatus : undefined;
  const data = asObject(response?.data);
  const apiError = asObject(data?.error);
  const first = asObject(Array.isArray(apiError?.errors) ? apiError.errors[0] : undefined);
  const reason = typeof first?.reason === 'string' ? first.reason : typeof data?.error === 'string' ? data.error : undefined;
  const retryAfterMs = parseRetryAfter(headerValue(response?.headers, 'retry-after'), now);
  // Without an HTTP status it never reached Google, or its answer was lost (common/network.ts).
  const network = status === undefined ? networkCode(err) : undefined;
  return { status, reason, retryAfterMs, networkCode: network };
}

function classify(facts: ErrorFacts): { code: ProviderErrorCode; retryAfterMs?: number } | undefined {
  const { status, reason, retryAfterMs } = facts;
  if (status === undefined) return facts.networkCode ? { code: 'transient' } : undefined;
  if (reason && GRANT_ERRORS.has(reason)) return { code: 'auth_revoked' };
  if (status === 429 || (status === 403 && reason !== undefined && RATE_REASONS.has(reason))) {
    return { code: 'throttled', retryAfterMs: retryAfterMs ?? DEFAULT_THROTTLE_MS };
  }
  if (status === 403 && reason !== undefined && DAILY_REASONS.has(reason)) {
    return { code: 'throttled', retryAfterMs: retryAfterMs ?? DAILY_LIMIT_RETRY_MS };
  }
  // The client retries a 401 once with a fresh token first (client.ts); one that persists means the grant is gone.
  if (status === 401) return { code: 'auth_revoked' };
  // 403 without a rate reason: insufficientPermissions (scope), domainPolicy, forbidden, accessNotConfigured.
  if (status === 403) return { code: 'permission' };
  // 400 failedPrecondition is how Gmail says "Mail service not enabled" for the account: not fixable by retrying.
  if (status === 400 && reason === 'failedPrecondition') return { code: 'permission' };
  if (status === 404 || status === 410) return { code: 'not_found' };
  if (status === 408 || status >= 500) return { code: 'transient', retryAfterMs };
  return { code: 'invalid' };
}

/**
 * A ProviderError for a Gmail / Google OAuth failure, or null when `err` is not one (a bug in our code stays
 * a bug: callers rethrow it as it is instead of letting the engine retry it forever as "transient").
 */
export function translateGmailError(err: unknown, now = Date.now()): ProviderError | null {
  if (err instanceof ProviderError) return err;
  const facts = errorFacts(err, now);
  const verdict = classify(facts);
  if (!verdict) return null;
  const providerCode = facts.reason ?? facts.networkCode;
  const where = facts.status !== undefined ? `HTTP ${facts.status}` : 'network';
  const message = `Gmail: ${verdict.code} (${where}${providerCode ? `, ${providerCode}` : ''})`;
  return new ProviderError(verdict.code, message, {
    ...(verdict.retryAfterMs !== undefined ? { retryAfterMs: verdict.retryAfterMs } : {}),
    ...(facts.status !== undefined ? { status: facts.status } : {}),
    ...(providerCode ? { providerCode } : {}),
  });
}

/** For `catch (err) { throw asProviderError(err) }`: the translation, or the original error when it is not Gmail's. */
export function asProviderError(err: unknown): unknown {
  return translateGmailError(err) ?? err;
}
