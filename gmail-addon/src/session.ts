/**
 * Identity: the Google ID token Apps Script mints for the user (`ScriptApp.getIdentityToken()`, needs the
 * `openid` and `userinfo.email` scopes) is exchanged for a Threadline session (`POST /api/session`,
 * docs/SECURITY.md "Sessions"). The session token lives in the user's cache, which no other user can read.
 */
import { ApiError, AuthError, apiErrorFrom } from './errors';
import type { Platform } from './platform';

export const SESSION_KEY = 'tl.session.v1';
/** Set by "Sign out": the add-on then waits for the user to press "Sign in" instead of signing in silently. */
export const SIGNED_OUT_KEY = 'tl.signedOut';
/** CacheService keeps a value at most six hours (https://developers.google.com/apps-script/reference/cache/cache). */
export const MAX_CACHE_SECONDS = 21600;
/** Dropped a minute early, so a token is never sent in its last seconds. */
const EXPIRY_MARGIN_SECONDS = 60;

export function sessionTtlSeconds(expiresAt: string, nowMs: number): number {
  const left = Math.floor((Date.parse(expiresAt) - nowMs) / 1000) - EXPIRY_MARGIN_SECONDS;
  if (!Number.isFinite(left)) return 0;
  return Math.max(0, Math.min(MAX_CACHE_SECONDS, left));
}

export function isSignedOut(p: Platform): boolean {
  return p.userProperties.getProperty(SIGNED_OUT_KEY) === '1';
}

export function signOut(p: Platform): void {
  p.userCache.remove(SESSION_KEY);
  p.userProperties.setProperty(SIGNED_OUT_KEY, '1');
}

/** The cached session token, or a new one; `fresh` skips the cache (the cached one was refused). */
export function sessionToken(p: Platform, opts: { fresh?: boolean; explicit?: boolean } = {}): string {
  if (opts.explicit) p.userProperties.deleteProperty(SIGNED_OUT_KEY);
  else if (isSignedOut(p)) throw new AuthError('You signed out of Threadline.');
  if (!opts.fresh) {
    const cached = p.userCache.get(SESSION_KEY);
    if (cached) return cached;
  }
  const idToken = p.identityToken();
  if (!idToken) throw new AuthError('Google did not give the add-on your identity (the openid scope is missing).');
  const res = p.fetch(`${p.backendUrl}/api/session`, {
    method: 'post',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ provider: 'google', token: idToken }),
  });
  if (res.status === 401 || res.status === 403) throw new AuthError(apiErrorFrom(res.status, res.text).message);
  if (res.status !== 200) throw apiErrorFrom(res.status, res.text);
  const body = JSON.parse(res.text) as { token?: unknown; expiresAt?: unknown };
  if (typeof body.token !== 'string') throw new ApiError(res.status, 'bad_session', 'Threadline answered the sign-in without a session.');
  const ttl = typeof body.expiresAt === 'string' ? sessionTtlSeconds(body.expiresAt, p.nowMs()) : 0;
  if (ttl > 0) p.userCache.put(SESSION_KEY, body.token, ttl);
  return body.token;
}
