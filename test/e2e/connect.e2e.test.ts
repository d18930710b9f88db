/**
 * A server started with the emulators' settings (as `npm run emulators` prints them, https with the test CA
 * trusted through NODE_EXTRA_CA_CERTS) completes a Google and a Microsoft OAuth connect, refuses a replayed or
 * declined one without storing anything, and disconnects (revoking the grant).
 */
import { readFileSync } from 'node:fs';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createNodeFetch } from '../emulators/common/fetch';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { microsoftAddinToken } from '../helpers/sync-wait';

let emu: RunningEmulators;
let server: ServerProcess;
let browser: typeof fetch; // what the user's browser does: follows the provider's redirect, trusts the test CA

beforeAll(async () => {
  emu = await startEmulators({ https: true, quiet: true });
  browser = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });
  server = await startServerProcess(emu.env);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await emu?.stop();
});

async function api(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

async function signIn(provider: 'google' | 'microsoft', email: string): Promise<string> {
  const token =
    provider === 'google' ? await emu.google.control.mintIdToken({ email }) : await microsoftAddinToken(emu, email, '0b9d3a6e-1111-4c2b-9d7e-2a1b3c4d5e6f');
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider, token }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/**
 * Starts a connect, lets the provider consent, and returns the callback URL it redirects to. `consentAs`: the
 * account that signs in at the provider when someone else opens the link (the emulators sign in as `login_hint`).
 */
async function consent(session: string, provider: 'google' | 'microsoft', consentAs?: string): Promise<URL> {
  const started = await api(session, 'POST', '/api/mailboxes/connect', { provider });
  expect(started.status).toBe(200);
  const authUrl = new URL(started.body.authorizationUrl);
  if (consentAs) authUrl.searchParams.set('login_hint', consentAs);
  expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authUrl.searchParams.get('redirect_uri')).toBe(`${server.url}/oauth/${provider}/callback`);
  expect(authUrl.searchParams.get('state')).toBeTruthy();
  const redirect = await browser(authUrl, { redirect: 'manual' });
  expect(redirect.status).toBe(302);
  return new URL(redirect.headers.get('location')!);
}

describe.each([
  ['google', 'ada@acme-robotics.com'],
  ['microsoft', 'grace@contoso-labs.com'],
] as const)('connecting a %s mailbox', (provider, email) => {
  let session: string;
  beforeAll(async () => {
    session = await signIn(provider, email);
  });

  it('completes the OAuth flow, stores the mailbox, and refuses a replay', async () => {
    const callback = await consent(session, provider);
    expect(callback.searchParams.get('code')).toBeTruthy();
    const done = await fetch(callback);
    if (done.status !== 200) throw new Error(`callback answered ${done.status}; server said:\n${server.output().slice(-3000)}`);
    expect(await done.text()).toContain(`${email} is connected`);

    const list = await api(session, 'GET', '/api/mailboxes');
    expect(list.body.mailboxes).toEqual([
      expect.objectContaining({ provider, address: email, state: 'backfilling', progress: { imported: 0, total: 0 }, lastError: null }),
    ]);

    const replay = await fetch(callback);
    expect(replay.status).toBe(400);
    expect((await api(session, 'GET', '/api/mailboxes')).body.mailboxes).toHaveLength(1);
  });

  it('stores nothing when the user declines', async () => {
    if (provider === 'google') emu.google.control.setConsent('deny');
    else emu.microsoft.control.setConsentMode('deny');
    try {
      const callback = await consent(session, provider);
      expect(callback.searchParams.get('error')).toBe('access_denied');
      const res = await fetch(callback);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('declined');
    } finally {
      if (provider === 'google') emu.google.control.setConsent('auto');
      else emu.microsoft.control.setConsentMode('auto');
    }
    expect((await api(session, 'GET', '/api/mailboxes')).body.mailboxes).toHaveLength(1);
  });

  it('refuses a connect link opened by another person: 400 naming neither mailbox, nothing stored, the grant withdrawn', async () => {
    const victim = provider === 'google' ? 'victim@customer-corp.com' : 'victim@contoso-labs.com';
    const callback = await consent(session, provider, victim);
    expect(callback.searchParams.get('code')).toBeTruthy();
    const res = await fetch(callback);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toMatch(/belongs to another Threadline user/);
    expect(html).not.toContain(victim);
    expect(html).not.toContain(email);
    const addresses = (await api(session, 'GET', '/api/mailboxes')).body.mailboxes.map((m: { address: string }) => m.address);
    expect(addresses).not.toContain(victim);
    if (provider === 'google') {
      const grants = emu.google.control.grants().filter((g: { email: string }) => g.email === victim);
      expect(grants.length).toBeGreaterThan(0);
      expect(grants.every((g: { revoked: boolean }) => g.revoked)).toBe(true);
    }
  });

  it('refuses a forged state', async () => {
    const res = await fetch(`${server.url}/oauth/${provider}/callback?code=abc&state=${'a'.repeat(24)}.forged`);
    expect(res.status).toBe(400);
  });

  it('disconnects: the mailbox is gone and the grant revoked', async () => {
    const [mailbox] = (await api(session, 'GET', '/api/mailboxes')).body.mailboxes;
    const del = await api(session, 'DELETE', `/api/mailboxes/${mailbox.id}`);
    expect(del.status).toBe(204);
    expect((await api(session, 'GET', '/api/mailboxes')).body.mailboxes).toEqual([]);
    if (provider === 'google') {
      expect(
        emu.google.control
          .grants()
          .filter((g: { email: string; revoked: boolean }) => g.email === email)
          .every((g: { revoked: boolean }) => g.revoked),
      ).toBe(true);
    }
  });
});

it('answers 404 for another organisation’s mailbox id', async () => {
  const a = await signIn('google', 'owner@tenant-a.com');
  const b = await signIn('google', 'owner@tenant-b.com');
  const callback = await consent(a, 'google');
  expect((await fetch(callback)).status).toBe(200);
  const [mailbox] = (await api(a, 'GET', '/api/mailboxes')).body.mailboxes;
  expect((await api(b, 'POST', `/api/mailboxes/${mailbox.id}/resync`)).status).toBe(404);
  expect((await api(b, 'DELETE', `/api/mailboxes/${mailbox.id}`)).status).toBe(404);
  expect((await api(a, 'POST', `/api/mailboxes/${mailbox.id}/resync`)).status).toBe(202);
});
