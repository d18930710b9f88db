/**
 * Connection-level failures, the same for both providers: the request may not have reached the provider, or its
 * answer was lost, so a retry can help. Read from the error's own `code`/`name` and from what it wraps: undici
 * puts the system error on `cause` (TypeError('fetch failed') → cause.code), gaxios copies it onto the error or
 * keeps it on `error`, node:http sets `code` directly.
 */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'TimeoutError',
  'AbortError',
]);

export const isNetworkCode = (code: unknown): code is string => typeof code === 'string' && NETWORK_CODES.has(code);

/** The network code of `err` or of an error it wraps (`cause`, `error`; a few levels deep), if it is one. */
export function networkCode(err: unknown, depth = 0): string | undefined {
  if (depth > 3 || typeof err !== 'object' || err === null) return undefined;
  const { code, name, cause, error } = err as { code?: unknown; name?: unknown; cause?: unknown; error?: unknown };
  if (isNetworkCode(code)) return code;
  if (isNetworkCode(name)) return name;
  return networkCode(cause, depth + 1) ?? networkCode(error, depth + 1);
}
