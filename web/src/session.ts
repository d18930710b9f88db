/**
 * The console's session: a Threadline session token kept in sessionStorage, so it lives as long as the tab
 * (through the OAuth round trip to the provider and back) and is gone when the tab closes. Obtained from a
 * one-time link (`#login=<code>`, made by an add-on) or, in development, from a pasted identity token.
 */
import type { Provider, Session } from './types';

const KEY = 'threadline.session';

export function currentSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    if (!s || typeof s.token !== 'string') return null;
    // An expired session is no session: sign-in again instead of a first request failing with 401.
    return new Date(s.expiresAt).getTime() > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

async function fetchSession(path: string, body: unknown): Promise<Session> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json().catch(() => null)) as (Session & { error?: { message?: string } }) | null;
  if (!res.ok || !json?.token) throw new Error(json?.error?.message ?? `sign-in failed (${res.status})`);
  return json;
}

async function obtain(path: string, body: unknown): Promise<Session> {
  const session = await fetchSession(path, body);
  keepSession(session);
  return session;
}

/** Makes `session` this tab's session. */
export function keepSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

/**
 * Redeems a one-time link's code for a session WITHOUT making it this tab's: the console asks first (main.ts), so
 * a link someone else sent cannot silently sign the tab in as them (login CSRF).
 */
export const redeemLoginCode = (code: string) => fetchSession('/api/session/redeem', { code });

/** Ends a session at the server (a link's session the user declined, or signing out). */
export async function endSession(session: Session): Promise<void> {
  await fetch('/api/session', { method: 'DELETE', headers: { authorization: `Bearer ${session.token}` } }).catch(() => undefined);
}
export const signInWithIdentityToken = (provider: Provider, token: string) => obtain('/api/session', { provider, token });

/**
 * Takes `#login=<code>` off the address at once (so it is neither bookmarked nor left in history) and returns
 * the code, or null.
 */
export function takeLoginCode(): string | null {
  const m = /^#login=([^&]+)/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', `${location.pathname}#/`);
  return decodeURIComponent(m[1]);
}
