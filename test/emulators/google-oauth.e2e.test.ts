/**
 * The Google identity emulator through the real google-auth-library client: PKCE code flow, refresh,
 * revocation, consent denial, ID tokens verifiable against the JWKS endpoint.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CodeChallengeMethod, type OAuth2Client } from 'google-auth-library';
import { GMAIL_SCOPES, REDIRECT_URI, startGoogleHarness, type GoogleHarness } from './gmail/testing/harness';

let h: GoogleHarness;
beforeAll(async () => {
  h = await startGoogleHarness();
});
afterAll(() => h.stop());
afterEach(() => h.emulator.control.setConsent('auto'));

async function authorize(auth: OAuth2Client, extra: Record<string, string> = {}) {
  const { codeVerifier, codeChallenge } = await auth.generateCodeVerifierAsync();
  const url = auth.generateAuthUrl({
    access_type: 'offline',
    scope: GMAIL_SCOPES,
    state: 'st',
    code_challenge: codeChallenge,
    code_challenge_method: CodeChallengeMethod.S256,
    ...extra,
  });
  const answer = await h.fetchImpl(url, { redirect: 'manual' });
  return { answer, location: new URL(answer.headers.get('location') ?? 'http://none/'), codeVerifier };
}

const tokenStatus = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ status: 200, error: undefined }),
    (err: { status?: number; response?: { status: number; data: { error?: string; error_description?: string } } }) => ({
      status: err.response?.status,
      error: err.response?.data.error,
      description: err.response?.data.error_description,
    }),
  );

test('PKCE code flow: redirect with code and state, token exchange, id_token verifiable through the JWKS URL', async () => {
  const auth = h.oauthClient();
  const { answer, location, codeVerifier } = await authorize(auth, { login_hint: 'Ana@Acme.test', prompt: 'consent' });
  expect(answer.status).toBe(302);
  expect(location.origin + location.pathname).toBe(REDIRECT_URI);
  expect(location.searchParams.get('state')).toBe('st');
  const { tokens } = await auth.getToken({ code: location.searchParams.get('code')!, codeVerifier });
  expect(tokens).toMatchObject({ token_type: 'Bearer', scope: GMAIL_SCOPES.join(' ') });
  expect(tokens.access_token).toMatch(/^ya29\./);
  expect(tokens.refresh_token).toMatch(/^1\/\//);
  expect(tokens.expiry_date).toBeGreaterThan(Date.now() + 3_500_000);

  const jwks = createRemoteJWKSet(new URL(`${h.served.httpUrl}/oauth2/v3/certs`));
  const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, { issuer: 'https://accounts.google.com', audience: h.emulator.clientId });
  expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: expect.stringMatching(/^[0-9a-f]{40}$/) });
  expect(payload).toMatchObject({ email: 'ana@acme.test', email_verified: true, hd: 'acme.test', sub: expect.stringMatching(/^\d{21}$/) });

  // The unknown address got an empty mailbox on sign-in.
  auth.setCredentials(tokens);
  const profile = await h.gmailFor(auth).users.getProfile({ userId: 'me' });
  expect(profile.data).toMatchObject({ emailAddress: 'ana@acme.test', messagesTotal: 0, threadsTotal: 0 });
});

test('a wrong verifier, a reused code and a different redirect_uri are refused', async () => {
  const auth = h.oauthClient();
  const first = await authorize(auth, { login_hint: 'bo@acme.test' });
  const code = first.location.searchParams.get('code')!;
  expect(await tokenStatus(auth.getToken({ code, codeVerifier: 'x'.repeat(43) }))).toMatchObject({ status: 400, error: 'invalid_grant' });
  // Codes are single use, even after a failed exchange.
  expect(await tokenStatus(auth.getToken({ code, codeVerifier: first.codeVerifier }))).toMatchObject({ status: 400, error: 'invalid_grant' });

  const second = await authorize(auth, { login_hint: 'bo@acme.test' });
  const other = h.oauthClient();
  const wrongRedirect = other.getToken({
    code: second.location.searchParams.get('code')!,
    codeVerifier: second.codeVerifier,
    redirect_uri: 'http://127.0.0.1:9/elsewhere',
  });
  expect(await tokenStatus(wrongRedirect)).toMatchObject({ status: 400, error: 'redirect_uri_mismatch' });
});

test('refresh tokens come at first consent only, unless prompt=consent', async () => {
  const auth = h.oauthClient();
  const exchange = async (extra: Record<string, string>) => {
    const { location, codeVerifier } = await authorize(auth, { login_hint: 'cy@gmail.com', ...extra });
    return (await auth.getToken({ code: location.searchParams.get('code')!, codeVerifier })).tokens;
  };
  expect((await exchange({})).refresh_token).toBeDefined();
  expect((await exchange({})).refresh_token).toBeUndefined();
  expect((await exchange({ prompt: 'consent' })).refresh_token).toBeDefined();
});

test('refresh works until the grant is revoked, then invalid_grant and 401 from Gmail', async () => {
  const { auth, api, refreshToken } = await h.signIn('dee@acme.test');
  // An expired access token is refreshed by the client before the call.
  h.emulator.control.expireAccessTokens('dee@acme.test');
  auth.setCredentials({ refresh_token: refreshToken, access_token: 'stale', expiry_date: Date.now() - 1000 });
  expect((await api.users.getProfile({ userId: 'me' })).data.emailAddress).toBe('dee@acme.test');
  expect(h.emulator.control.identityCounters().refreshes).toBeGreaterThan(0);

  await auth.revokeToken(refreshToken);
  const retry = h.oauthClient();
  retry.setCredentials({ refresh_token: refreshToken });
  expect(await tokenStatus(retry.getAccessToken())).toMatchObject({ status: 400, error: 'invalid_grant', description: 'Token has been expired or revoked.' });
  const call = await api.users.getProfile({ userId: 'me' }).catch((e: { status: number; response: { data: unknown } }) => e);
  expect(call).toMatchObject({ status: 401, response: { data: { error: { code: 401, status: 'UNAUTHENTICATED', errors: [{ reason: 'authError' }] } } } });
});

test('the user revoking access in the control API behaves like revocation', async () => {
  const { refreshToken } = await h.signIn('eve@acme.test');
  expect(h.emulator.control.revokeUser('eve@acme.test')).toBe(1);
  const client = h.oauthClient();
  client.setCredentials({ refresh_token: refreshToken });
  expect(await tokenStatus(client.getAccessToken())).toMatchObject({ status: 400, error: 'invalid_grant' });
});

test('consent can be denied, or shown as a page with Allow and Cancel links', async () => {
  h.emulator.control.setConsent('deny');
  const denied = await authorize(h.oauthClient(), { login_hint: 'fay@acme.test' });
  expect(denied.location.searchParams.get('error')).toBe('access_denied');
  expect(denied.location.searchParams.get('state')).toBe('st');
  expect(denied.location.searchParams.has('code')).toBe(false);

  h.emulator.control.setConsent('page');
  const page = await authorize(h.oauthClient(), { login_hint: 'fay@acme.test' });
  expect(page.answer.status).toBe(200);
  const html = await page.answer.text();
  const allow = /id="allow" href="([^"]+)"/.exec(html)![1].replace(/&amp;/g, '&');
  const clicked = await h.fetchImpl(`${h.served.httpUrl}${allow}`, { redirect: 'manual' });
  expect(new URL(clicked.headers.get('location')!).searchParams.get('code')).toMatch(/^4\/0/);
});

test('minted add-on ID tokens and push tokens verify against the JWKS, as the server will check them', async () => {
  const jwks = createRemoteJWKSet(new URL(`${h.served.httpsUrl}/oauth2/v3/certs`), {
    agent: new (await import('node:https')).Agent({ ca: h.ca.caPem }),
  });
  const idToken = await h.emulator.control.mintIdToken({ email: 'gus@acme.test', aud: 'addon-audience' });
  const { payload } = await jwtVerify(idToken, jwks, { issuer: 'https://accounts.google.com', audience: 'addon-audience' });
  expect(payload).toMatchObject({ email: 'gus@acme.test', email_verified: true, hd: 'acme.test' });
  expect(payload.exp! - payload.iat!).toBe(3600);
  const consumer = await h.emulator.control.mintIdToken({ email: 'gus@gmail.com', email_verified: false });
  expect((await jwtVerify(consumer, jwks)).payload).not.toHaveProperty('hd');

  const push = await h.emulator.control.mintPushToken('https://crm.test/webhooks/gmail', 'sa@p.iam.gserviceaccount.com');
  const verified = await jwtVerify(push, jwks, { issuer: 'https://accounts.google.com', audience: 'https://crm.test/webhooks/gmail' });
  expect(verified.payload).toMatchObject({ email: 'sa@p.iam.gserviceaccount.com', email_verified: true });
});
