import { GraphClientError, GraphError } from '@microsoft/microsoft-graph-client';
import { ProviderError } from '../port';
import { translateGraphError } from './errors';

function graphError(status: number, code: string | null, headers: Record<string, string> = {}): GraphError {
  const err = new GraphError(status, 'message text is never read');
  err.code = code;
  err.headers = new Headers(headers);
  return err;
}

it.each([
  [429, 'ApplicationThrottled', { 'retry-after': '7' }, 'throttled', 7000],
  [429, null, {}, 'throttled', 1000],
  [503, 'ServiceNotAvailable', { 'retry-after': '2' }, 'throttled', 2000],
  [503, 'ServiceNotAvailable', {}, 'transient', undefined],
  [410, 'SyncStateNotFound', {}, 'cursor_expired', undefined],
  [400, 'SyncStateNotFound', {}, 'cursor_expired', undefined],
  [401, 'InvalidAuthenticationToken', {}, 'auth_revoked', undefined],
  [403, 'ErrorAccessDenied', {}, 'permission', undefined],
  [404, 'ErrorItemNotFound', {}, 'not_found', undefined],
  [400, 'ErrorInvalidRecipients', {}, 'invalid', undefined],
  [500, 'InternalServerError', {}, 'transient', undefined],
  [504, null, {}, 'transient', undefined],
])('HTTP %i %s → %s', (status, code, headers, expected, retryAfterMs) => {
  const translated = translateGraphError(graphError(status, code, headers));
  expect(translated).toBeInstanceOf(ProviderError);
  expect(translated?.code).toBe(expected);
  expect(translated?.details.retryAfterMs).toBe(retryAfterMs);
  expect(translated?.details.status).toBe(status);
});

it('decides by status and code, not by message text', () => {
  const err = graphError(400, 'BadRequest');
  err.message = 'The sync state generation is not found (SyncStateNotFound), token expired';
  expect(translateGraphError(err)?.code).toBe('invalid');
});

it('treats connection failures as transient and leaves our own bugs alone', () => {
  const reset = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
  expect(translateGraphError(reset)).toMatchObject({ code: 'transient', details: { providerCode: 'ECONNRESET' } });
  expect(translateGraphError(new TypeError('x is undefined'))).toBeNull();
});

it('unwraps what the client middleware passed through (token source failures, network)', () => {
  const revoked = new ProviderError('auth_revoked', 'refresh failed');
  const wrapped = Object.assign(new GraphClientError('refresh failed'), { customError: revoked });
  expect(translateGraphError(wrapped)).toBe(revoked);
  const network = Object.assign(new GraphClientError('x'), { customError: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) });
  expect(translateGraphError(network)?.code).toBe('transient');
});
