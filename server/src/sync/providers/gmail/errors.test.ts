import { ProviderError } from '../port';
import { DAILY_LIMIT_RETRY_MS, DEFAULT_THROTTLE_MS, translateGmailError } from './errors';

/** A gaxios-shaped HTTP error: status on the error and the response, Headers, the Google JSON error body. */
function httpError(status: number, reason?: string, headers: Record<string, string> = {}, oauthError?: string) {
  const data = oauthError
    ? { error: oauthError, error_description: 'whatever the text says' }
    : { error: { code: status, message: 'free text that must not matter', errors: reason ? [{ domain: 'global', reason, message: 'x' }] : [] } };
  return Object.assign(new Error('free text that must not matter'), { status, response: { status, headers: new Headers(headers), data } });
}

function networkError(code: string) {
  // undici: TypeError('fetch failed') with the system error as `cause`; gaxios wraps it.
  return Object.assign(new Error('request failed'), {
    cause: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('x'), { code }) }),
  });
}

const NOW = Date.parse('2026-05-01T12:00:00Z');

describe('translateGmailError', () => {
  it.each([
    ['429 rateLimitExceeded', httpError(429, 'rateLimitExceeded'), 'throttled', DEFAULT_THROTTLE_MS],
    ['429 without a reason', httpError(429), 'throttled', DEFAULT_THROTTLE_MS],
    ['403 userRateLimitExceeded', httpError(403, 'userRateLimitExceeded'), 'throttled', DEFAULT_THROTTLE_MS],
    ['403 rateLimitExceeded', httpError(403, 'rateLimitExceeded'), 'throttled', DEFAULT_THROTTLE_MS],
    ['403 quotaExceeded', httpError(403, 'quotaExceeded'), 'throttled', DEFAULT_THROTTLE_MS],
    ['403 dailyLimitExceeded', httpError(403, 'dailyLimitExceeded'), 'throttled', DAILY_LIMIT_RETRY_MS],
    ['429 with Retry-After seconds', httpError(429, 'rateLimitExceeded', { 'Retry-After': '7' }), 'throttled', 7000],
    [
      '403 rate limit with Retry-After date',
      httpError(403, 'userRateLimitExceeded', { 'retry-after': new Date(NOW + 30_000).toUTCString() }),
      'throttled',
      30_000,
    ],
    ['403 insufficientPermissions', httpError(403, 'insufficientPermissions'), 'permission', undefined],
    ['403 domainPolicy', httpError(403, 'domainPolicy'), 'permission', undefined],
    ['403 without a reason', httpError(403), 'permission', undefined],
    ['401 authError', httpError(401, 'authError'), 'auth_revoked', undefined],
    ['400 invalid_grant (token endpoint)', httpError(400, undefined, {}, 'invalid_grant'), 'auth_revoked', undefined],
    ['400 invalidArgument', httpError(400, 'invalidArgument'), 'invalid', undefined],
    ['400 failedPrecondition (mail service not enabled)', httpError(400, 'failedPrecondition'), 'permission', undefined],
    ['404 notFound', httpError(404, 'notFound'), 'not_found', undefined],
    ['409 conflict', httpError(409, 'conflict'), 'invalid', undefined],
    ['500 backendError', httpError(500, 'backendError'), 'transient', undefined],
    ['503 with Retry-After', httpError(503, 'backendError', { 'Retry-After': '2' }), 'transient', 2000],
    ['502', httpError(502), 'transient', undefined],
    ['connection reset', networkError('ECONNRESET'), 'transient', undefined],
    ['connection refused', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'transient', undefined],
    ['timeout (DOMException name)', Object.assign(new Error('x'), { name: 'TimeoutError' }), 'transient', undefined],
  ])('%s → %s', (_name, err, code, retryAfterMs) => {
    const translated = translateGmailError(err, NOW);
    expect(translated).toBeInstanceOf(ProviderError);
    expect(translated!.code).toBe(code);
    expect(translated!.details.retryAfterMs).toBe(retryAfterMs);
  });

  it('keeps status and reason for the mailbox error shown to users, never the provider message text', () => {
    const translated = translateGmailError(httpError(403, 'insufficientPermissions'))!;
    expect(translated.details).toEqual({ status: 403, providerCode: 'insufficientPermissions' });
    expect(translated.message).not.toContain('free text');
  });

  it('does not decide from message text: a rate-limit phrase in a 400 stays invalid', () => {
    const err = Object.assign(new Error('User-rate limit exceeded'), { status: 400, response: { status: 400, headers: new Headers(), data: {} } });
    expect(translateGmailError(err)!.code).toBe('invalid');
  });

  it('passes ProviderErrors through and leaves our own bugs alone', () => {
    const own = new ProviderError('cursor_expired', 'x');
    expect(translateGmailError(own)).toBe(own);
    expect(translateGmailError(new TypeError('undefined is not a function'))).toBeNull();
    expect(translateGmailError('weird')).toBeNull();
  });
});
