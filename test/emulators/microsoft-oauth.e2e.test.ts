/**
 * Microsoft identity emulator, driven over HTTP the way the server's connect flow and add-in sign-in use it.
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { CLIENT_ID, REDIRECT_URI, SCOPES, authorize, pkcePair, signIn, startHarness, tokenRequest, type Harness } from './graph/testing/harness';

let h: Harness;
let origin: string;

beforeAll(async () => {
  h = await startHarness({ baseUrl: 'http' });
  origin = h.served.httpUrl;
});
afterAll(() => h.close());

const graphMe = (token: string): Promise<Response> => fetch(`${origin}/v1.0/me`, { headers: { authorization: `Bearer ${token}` } });

describe('authorization code + PKCE', () => {
  it('issues a code for the login_hint user, then tokens whose id_token verifies against the JWKS', async () => {
    const tokens = await signIn(origin, 'alice@contoso.test');
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number), ext_expires_in: expect.any(Number) });
    expect(typeof tokens.refresh_token).toBe('string');
    const jwks = createLocalJWKSet((await (await fetch(`${origin}/common/discovery/v2.0/keys`)).json()) as { keys: [] });
    const { payload, protectedHeader } = await jwtVerify(String(tokens.id_token), jwks, { audience: CLIENT_ID });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(payload).toMatchObject({
      preferred_username: 'alice@contoso.test',
      tid: h.control.tenantId,
      ver: '2.0',
      iss: `https://login.microsoftonline.com/${h.control.tenantId}/v2.0`,
    });
    // An unknown address gets an empty mailbox, and Graph answers /me for it.
    const me = (await (await graphMe(String(tokens.access_token))).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ mail: 'alice@contoso.test', userPrincipalName: 'alice@contoso.test', id: payload.oid });
  });

  it('rejects a wrong verifier, a reused code and a different redirect_uri with AADSTS errors', async () => {
    const { verifier, challenge } = pkcePair();
    const params = {
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: SCOPES,
      state: 's1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      login_hint: 'bob@contoso.test',
    };
    const code = (await authorize(origin, params)).searchParams.get('code') ?? '';
    const base = { client_id: CLIENT_ID, grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI };
    const wrong = await tokenRequest(origin, { ...base, code_verifier: pkcePair().verifier });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: 'invalid_grant', error_codes: [501481], trace_id: expect.any(String), correlation_id: expect.any(String) });
    expect(String(wrong.body.error_description)).toMatch(/^AADSTS501481:/);
    const otherRedirect = await tokenRequest(origin, { ...base, redirect_uri: 'http://127.0.0.1:9/elsewhere', code_verifier: verifier });
    expect(otherRedirect.body.error).toBe('invalid_grant');
    expect((await tokenRequest(origin, { ...base, code_verifier: verifier })).status).toBe(200);
    const reused = await tokenRequest(origin, { ...base, code_verifier: verifier });
    expect(reused.body).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
  });

  it('answers error=access_denied with the state when consent is refused', async () => {
    h.control.denyNextAuthorization();
    const location = await authorize(origin, { client_id: CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT_URI, scope: SCOPES, state: 'keep-me' });
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('keep-me');
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('can show a consent page whose Accept button completes the flow', async () => {
    h.control.setConsentMode('page');
    try {
      const url = `${origin}/common/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT_URI, scope: SCOPES, state: 'p', login_hint: 'carol@contoso.test' })}`;
      const page = await (await fetch(url)).text();
      expect(page).toContain('id="accept"');
      const form = new URLSearchParams();
      for (const [, name, value] of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(name ?? '', value ?? '');
      form.set('__decision', 'accept');
      const res = await fetch(`${origin}/common/oauth2/v2.0/authorize`, { method: 'POST', body: form, redirect: 'manual' });
      expect(new URL(res.headers.get('location') ?? '').searchParams.get('code')).toBeTruthy();
    } finally {
      h.control.setConsentMode('auto');
    }
  });
});

describe('refresh tokens', () => {
  it('rotate on every use; the used one keeps working as documented unless a grace period is set', async () => {
    const first = await signIn(origin, 'dave@contoso.test');
    const refresh = (token: unknown) => tokenRequest(origin, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: String(token) });
    const second = await refresh(first.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect((await graphMe(String(second.body.access_token))).status).toBe(200);
    expect((await refresh(first.refresh_token)).status).toBe(200);

    h.control.setUsedRefreshTokenGrace(0);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await refresh(first.refresh_token)).body).toMatchObject({ error: 'invalid_grant' });
      expect((await refresh(second.body.refresh_token)).status).toBe(200);
    } finally {
      h.control.setUsedRefreshTokenGrace(null);
    }
  });

  it('fail with invalid_grant AADSTS50173 after the grant is revoked, and Graph refuses the access token', async () => {
    const tokens = await signIn(origin, 'erin@contoso.test');
    expect(h.control.revokeGrant('erin@contoso.test')).toBe(1);
    const res = await tokenRequest(origin, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
    const me = await graphMe(String(tokens.access_token));
    expect(me.status).toBe(401);
    expect(((await me.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
    // Signing in again gives a working grant.
    expect((await graphMe(String((await signIn(origin, 'erin@contoso.test')).access_token))).status).toBe(200);
  });

  it('expired access tokens answer 401 until refreshed', async () => {
    const tokens = await signIn(origin, 'frank@contoso.test');
    h.control.expireAccessTokens('frank@contoso.test');
    expect((await graphMe(String(tokens.access_token))).status).toBe(401);
    const refreshed = await tokenRequest(origin, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
    expect((await graphMe(String(refreshed.body.access_token))).status).toBe(200);
  });
});

describe('add-in tokens (nested app authentication)', () => {
  it('mints v2.0 access tokens for the add-in API that verify against the emulator JWKS', async () => {
    const tid = h.control.tenantId;
    const token = await h.control.mintAddinToken({ aud: 'api-client-id', tid, oid: 'oid-1', preferred_username: 'alice@contoso.test' });
    const jwks = createLocalJWKSet((await (await fetch(`${origin}/${tid}/discovery/v2.0/keys`)).json()) as { keys: [] });
    const { payload } = await jwtVerify(token, jwks, { audience: 'api-client-id', issuer: `https://login.microsoftonline.com/${tid}/v2.0` });
    expect(payload).toMatchObject({ tid, oid: 'oid-1', preferred_username: 'alice@contoso.test', scp: 'access_as_user', ver: '2.0' });
    const expired = await h.control.mintAddinToken({ aud: 'api-client-id', tid, oid: 'oid-1', preferred_username: 'a@b.c', expiresInSeconds: -60 });
    await expect(jwtVerify(expired, jwks)).rejects.toThrow(/exp/);
  });
});
