/**
 * The Graph error translator: GraphError (status + `error.code`), a Retry-After header, or a connection failure
 * → ProviderError codes (docs/ARCHITECTURE.md "Sync"). Decided from the status and the error code only, never from message text
 * (https://learn.microsoft.com/graph/errors; throttling: https://learn.microsoft.com/graph/throttling;
 * delta expiry: https://learn.microsoft.com/graph/delta-query-overview#synchronization-reset).
 */
import { GraphClientError, GraphError } from '@microsoft/microsoft-graph-client';
import { ProviderError, type ProviderErrorCode } from '../port';
import { parseRetryAfter } from '../../../async/retry';
import { networkCode } from '../common/network';

/** Graph promises a Retry-After with every 429; when one is missing, a second is the shortest useful wait. */
export const DEFAULT_THROTTLE_MS = 1000;

/** Codes Graph uses when a delta or sync token can no longer be used: the round must start again. */
const EXPIRED_SYNC_CODES = new Set(['syncstatenotfound', 'syncstateinvalid', 'resyncrequired', 'invaliddeltatoken']);
const THROTTLE_CODES = new Set(['applicationthrottled', 'toomanyrequests', 'activitylimitreached', 'mailboxconcurrency']);

export interface GraphErrorFacts {
  status?: number;
  /** Graph's `error.code` (e.g. ErrorItemNotFound, SyncStateNotFound), or a network code. */
  code?: string;
  retryAfterMs?: number;
  network: boolean;
}

export function graphErrorFacts(err: unknown, now = Date.now()): GraphErrorFacts | null {
  if (err instanceof GraphClientError) {
    // client.ts wraps what happened below the HTTP layer (token source, network) so the client keeps it intact.
    const inner: unknown = (err as GraphClientError & { customError?: unknown }).customError;
    return inner === undefined ? null : graphErrorFacts(inner, now);
  }
  if (err instanceof GraphError) {
    if (err.statusCode > 0) {
      return { status: err.statusCode, code: err.code ?? undefined, retryAfterMs: parseRetryAfter(err.headers?.get('retry-after'), now), network: false };
    }
    // statusCode -1: no HTTP answer; the client copied the underlying error's name into `code`.
    const code = networkCode(err);
    return code ? { code, network: true } : null;
  }
  const code = networkCode(err);
  return code ? { code, network: true } : null;
}

function classify(f: GraphErrorFacts): { code: ProviderErrorCode; retryAfterMs?: number } {
  if (f.network || f.status === undefined) return { code: 'transient' };
  const code = (f.code ?? '').toLowerCase();
  if (f.status === 429 || THROTTLE_CODES.has(code)) return { code: 'throttled', retryAfterMs: f.retryAfterMs ?? DEFAULT_THROTTLE_MS };
  // 503 with Retry-After is Graph's other throttling answer (https://learn.microsoft.com/graph/throttling).
  if (f.status === 503 && f.retryAfterMs !== undefined) return { code: 'throttled', retryAfterMs: f.retryAfterMs };
  if (f.status === 410 || EXPIRED_SYNC_CODES.has(code)) return { code: 'cursor_expired' };
  // client.ts retries a 401 once with a refreshed token; one that persists means the grant is gone.
  if (f.status === 401) return { code: 'auth_revoked' };
  if (f.status === 403) return { code: 'permission' };
  if (f.status === 404) return { code: 'not_found' };
  if (f.status === 408 || f.status >= 500) return { code: 'transient', ...(f.retryAfterMs !== undefined ? { retryAfterMs: f.retryAfterMs } : {}) };
  return { code: 'invalid' };
}

/**
 * A ProviderError for a Graph failure, or null when `err` is not one (a bug in our code stays a bug: callers
 * rethrow it unchanged rather than letting the engine retry it forever as "transient").
 */
export function translateGraphError(err: unknown, now = Date.now()): ProviderError | null {
  if (err instanceof ProviderError) return err;
  if (err instanceof GraphClientError) {
    const inner: unknown = (err as GraphClientError & { customError?: unknown }).customError;
    if (inner instanceof ProviderError) return inner;
  }
  const facts = graphErrorFacts(err, now);
  if (!facts) return null;
  const verdict = classify(facts);
  const where = facts.status !== undefined ? `HTTP ${facts.status}` : 'network';
  return new ProviderError(verdict.code, `Graph: ${verdict.code} (${where}${facts.code ? `, ${facts.code}` : ''})`, {
    ...(verdict.retryAfterMs !== undefined ? { retryAfterMs: verdict.retryAfterMs } : {}),
    ...(facts.status !== undefined ? { status: facts.status } : {}),
    ...(facts.code ? { providerCode: facts.code } : {}),
  });
}

/** For `catch (err) { throw asProviderError(err) }`: the translation, or the original error when it is not Graph's. */
export function asProviderError(err: unknown): unknown {
  return translateGraphError(err) ?? err;
}
