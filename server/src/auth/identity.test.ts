import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWK, type JWTPayload } from 'jose';
import { AuthError, createIdentityVerifier, type IdentityConfig, type IdentityOptions } from './identity';

/** A local JWKS endpoint per provider, over real HTTP, counting fetches. */
interface KeySetServer {
  url: string;
  keys: JWK[];
  fetches: number;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JWK;
}

function makeKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS256', use: 'sig' } };
}

const googleKey = makeKey('google-1');
const googleNextKey = makeKey('google-2');
const microsoftKey = makeKey('ms-1');
const strangerKey = makeKey('stranger');

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TID = '9188040d-6c67-4c5b-b112-36a304b66dad';
const GOOGLE_AUD = 'client-123.apps.googleusercontent.com';
const MS_AUD = 'api://threadline.example/6731de76-14a6-49ae-97bc-6eba6914391e';
const PUSH_AUD = 'https://threadline.example/webhooks/gmail';
const PUSH_SA = 'gmail-push@threadline-prod.iam.gserviceaccount.com';

let server: http.Server;
const sets: Record<'google' | 'microsoft', KeySetServer> = {
  google: { url: '', keys: [], fetches: 0 },
  microsoft: { url: '', keys: [], fetches: 0 },
};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const name = req.url?.slice(1);
    const set = name === 'google' || name === 'microsoft' ? sets[name] : undefined;
    if (!set) return void res.writeHead(404).end();
    set.fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: set.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  sets.google.url = `http://127.0.0.1:${port}/google`;
  sets.microsoft.url = `http://127.0.0.1:${port}/microsoft`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  sets.google.keys = [googleKey.jwk];
  sets.microsoft.keys = [microsoftKey.jwk];
});

function config(overrides: Partial<IdentityConfig> = {}): IdentityConfig {
  return {
    GOOGLE_JWKS_URL: sets.google.url,
    GOOGLE_ID_TOKEN_AUDIENCES: [GOOGLE_AUD],
    MICROSOFT_JWKS_URL: sets.microsoft.url,
    MICROSOFT_ID_TOKEN_AUDIENCES: [MS_AUD],
    GOOGLE_PUSH_AUDIENCE: PUSH_AUD,
    GOOGLE_PUSH_SERVICE_ACCOUNT: PUSH_SA,
    ...overrides,
  };
}

const verifier = (overrides: Partial<IdentityConfig> = {}, options?: IdentityOptions) => createIdentityVerifier(config(overrides), options);

const now = () => Math.floor(Date.now() / 1000);

/** Signs claims as given: nothing is added, so a test can leave out exp or iss. */
function sign(key: SigningKey, claims: JWTPayload, kid: string = key.kid): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key.privateKey);
}

const googleClaims = (extra: JWTPayload = {}): JWTPayload => ({
  iss: 'https://accounts.google.com',
  aud: GOOGLE_AUD,
  sub: '110169484474386276334',
  email: 'Ada@Example.com',
  email_verified: true,
  hd: 'example.com',
  name: 'Ada Lovelace',
  iat: now(),
  exp: now() + 3600,
  ...extra,
});

const microsoftClaims = (extra: JWTPayload = {}): JWTPayload => ({
  iss: `https://login.microsoftonline.com/${TID}/v2.0`,
  aud: MS_AUD,
  tid: TID,
  oid: '00000000-0000-0000-66f3-3332eca7ea81',
  sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
  preferred_username: 'Grace@Contoso.com',
  name: 'Grace Hopper',
  scp: 'access_as_user',
  ver: '2.0',
  iat: now(),
  exp: now() + 3600,
  ...extra,
});

const pushClaims = (extra: JWTPayload = {}): JWTPayload => ({
  iss: 'https://accounts.google.com',
  aud: PUSH_AUD,
  sub: '113774264463038321964',
  email: PUSH_SA,
  email_verified: true,
  iat: now(),
  exp: now() + 3600,
  ...extra,
});

/** An unsigned token: header and payload as given, empty signature. */
function unsigned(header: object, payload: JWTPayload): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part(header)}.${part(payload)}.`;
}

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  return err as AuthError;
}

describe('Google ID tokens', () => {
  it('accepts a valid token and derives the organisation from hd', async () => {
    const identity = await verifier().verifyGoogleIdToken(await sign(googleKey, googleClaims()));
    expect(identity).toEqual({
      provider: 'google',
      orgKey: 'google:example.com',
      orgName: 'example.com',
      subject: '110169484474386276334',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
    });
  });

  it('accepts the bare issuer, string "true" for email_verified, and makes a consumer account its own organisation', async () => {
    const token = await sign(googleKey, googleClaims({ iss: 'accounts.google.com', email_verified: 'true', hd: undefined, name: undefined }));
    const identity = await verifier().verifyGoogleIdToken(token);
    expect(identity).toEqual({
      provider: 'google',
      orgKey: 'google-user:110169484474386276334',
      orgName: 'ada@example.com',
      subject: '110169484474386276334',
      email: 'ada@example.com',
    });
  });

  it('accepts any of several configured audiences', async () => {
    const token = await sign(googleKey, googleClaims({ aud: 'second-client' }));
    await expect(verifier({ GOOGLE_ID_TOKEN_AUDIENCES: [GOOGLE_AUD, 'second-client'] }).verifyGoogleIdToken(token)).resolves.toMatchObject({
      email: 'ada@example.com',
    });
  });

  it('rejects alg "none"', async () => {
    const token = unsigned({ alg: 'none', typ: 'JWT' }, googleClaims());
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('alg_not_allowed');
  });

  it('rejects HS256 signed with the public key PEM as the secret (algorithm confusion)', async () => {
    const pem = googleKey.publicKey.export({ format: 'pem', type: 'spki' });
    const token = await new SignJWT(googleClaims()).setProtectedHeader({ alg: 'HS256', kid: googleKey.kid }).sign(new Uint8Array(Buffer.from(pem)));
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('alg_not_allowed');
  });

  it('rejects a token without exp', async () => {
    const err = await rejection(verifier().verifyGoogleIdToken(await sign(googleKey, googleClaims({ exp: undefined }))));
    expect(err.code).toBe('claim_invalid');
    expect(err.message).toContain('"exp"');
  });

  it('rejects an expired token, beyond the clock tolerance', async () => {
    const token = await sign(googleKey, googleClaims({ iat: now() - 7200, exp: now() - 120 }));
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('expired');
  });

  it('rejects a wrong audience', async () => {
    const token = await sign(googleKey, googleClaims({ aud: 'someone-else.apps.googleusercontent.com' }));
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('claim_invalid');
  });

  it('rejects every token when no audience is configured, without fetching keys', async () => {
    const before = sets.google.fetches;
    const token = await sign(googleKey, googleClaims());
    expect((await rejection(verifier({ GOOGLE_ID_TOKEN_AUDIENCES: [] }).verifyGoogleIdToken(token))).code).toBe('audience_not_configured');
    expect(sets.google.fetches).toBe(before);
  });

  it.each(['https://evil.example.com', 'https://accounts.google.com.evil.example', undefined])('rejects issuer %s', async (iss) => {
    const token = await sign(googleKey, googleClaims({ iss }));
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('claim_invalid');
  });

  it.each([false, 'false', undefined])('rejects email_verified %p', async (emailVerified) => {
    const token = await sign(googleKey, googleClaims({ email_verified: emailVerified }));
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('email_unverified');
  });

  it('rejects a token without an email', async () => {
    const token = await sign(googleKey, googleClaims({ email: undefined }));
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('claim_invalid');
  });

  it('rejects a token signed by a key outside the JWKS, even under a known kid', async () => {
    const token = await sign(strangerKey, googleClaims(), googleKey.kid);
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('bad_signature');
  });

  it('rejects a tampered payload', async () => {
    const [h, , s] = (await sign(googleKey, googleClaims())).split('.');
    const forged = Buffer.from(JSON.stringify(googleClaims({ email: 'ceo@example.com' }))).toString('base64url');
    expect((await rejection(verifier().verifyGoogleIdToken(`${h}.${forged}.${s}`))).code).toBe('bad_signature');
  });

  it('rejects an unknown kid', async () => {
    const token = await sign(strangerKey, googleClaims());
    expect((await rejection(verifier().verifyGoogleIdToken(token))).code).toBe('unknown_key');
  });

  it('rejects garbage without echoing it', async () => {
    const err = await rejection(verifier().verifyGoogleIdToken('not-a-jwt-SECRETVALUE'));
    expect(err.code).toBe('malformed');
    expect(err.message).not.toContain('SECRETVALUE');
    expect((await rejection(verifier().verifyGoogleIdToken(''))).code).toBe('malformed');
  });

  it('never echoes the token or claim values in messages', async () => {
    const token = await sign(googleKey, googleClaims({ aud: 'AUDVALUE', email: 'leak@example.com' }));
    const err = await rejection(verifier().verifyGoogleIdToken(token));
    expect(err.message).not.toContain(token);
    expect(err.message).not.toContain('AUDVALUE');
    expect(err.status).toBe(401);
  });

  it('reports an unreachable key set as our fault, not the caller’s', async () => {
    const token = await sign(googleKey, googleClaims());
    const err = await rejection(verifier({ GOOGLE_JWKS_URL: `${sets.google.url}-missing` }).verifyGoogleIdToken(token));
    expect(err.code).toBe('keys_unavailable');
    expect(err.status).toBe(503);
  });
});

describe('JWKS caching', () => {
  it('fetches the key set once for many tokens', async () => {
    const v = verifier();
    const before = sets.google.fetches;
    for (let i = 0; i < 5; i++) await v.verifyGoogleIdToken(await sign(googleKey, googleClaims()));
    await v.verifyPubSubPushToken(await sign(googleKey, pushClaims())); // same URL, same cache
    expect(sets.google.fetches - before).toBe(1);
  });

  it('refetches for an unknown kid once the cooldown allows, picking up a rotated key', async () => {
    const v = verifier({}, { jwksCooldownMs: 0 });
    const before = sets.google.fetches;
    await v.verifyGoogleIdToken(await sign(googleKey, googleClaims()));
    sets.google.keys = [googleKey.jwk, googleNextKey.jwk]; // the provider rotates
    await expect(v.verifyGoogleIdToken(await sign(googleNextKey, googleClaims()))).resolves.toMatchObject({ email: 'ada@example.com' });
    expect(sets.google.fetches - before).toBe(2);
    await v.verifyGoogleIdToken(await sign(googleNextKey, googleClaims()));
    expect(sets.google.fetches - before).toBe(2); // known now: served from the cache
  });

  it('with the default cooldown, unknown kids do not refetch until 30 s have passed', async () => {
    const v = verifier();
    const before = sets.google.fetches;
    await v.verifyGoogleIdToken(await sign(googleKey, googleClaims()));
    sets.google.keys = [googleKey.jwk, googleNextKey.jwk];
    const rotated = await sign(googleNextKey, googleClaims());
    for (let i = 0; i < 3; i++) expect((await rejection(v.verifyGoogleIdToken(rotated))).code).toBe('unknown_key');
    expect(sets.google.fetches - before).toBe(1);

    // jose times its cooldown with Date.now(); exp checks use new Date(), which this does not move.
    const realNow = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(realNow + 31_000);
    try {
      await expect(v.verifyGoogleIdToken(rotated)).resolves.toMatchObject({ subject: '110169484474386276334' });
    } finally {
      clock.mockRestore();
    }
    expect(sets.google.fetches - before).toBe(2);
  });
});

describe('Microsoft access tokens', () => {
  it('accepts a valid token; the tenant is the organisation', async () => {
    const identity = await verifier().verifyMicrosoftAccessToken(await sign(microsoftKey, microsoftClaims()));
    expect(identity).toEqual({
      provider: 'microsoft',
      orgKey: `microsoft:${TID}`,
      orgName: 'contoso.com',
      subject: `${TID}:00000000-0000-0000-66f3-3332eca7ea81`,
      email: 'grace@contoso.com',
      name: 'Grace Hopper',
    });
  });

  it('makes each personal Microsoft account an organisation of its own, never one shared by the consumer tenant', async () => {
    const personal = (oid: string, email: string) =>
      sign(microsoftKey, microsoftClaims({ iss: `https://login.microsoftonline.com/${OTHER_TID}/v2.0`, tid: OTHER_TID, oid, preferred_username: email }));
    const a = await verifier().verifyMicrosoftAccessToken(await personal('00000000-0000-0000-aaaa-000000000001', 'ann@outlook.com'));
    const b = await verifier().verifyMicrosoftAccessToken(await personal('00000000-0000-0000-bbbb-000000000002', 'bob@hotmail.com'));
    expect(a).toMatchObject({ orgKey: 'microsoft-user:00000000-0000-0000-aaaa-000000000001', orgName: 'ann@outlook.com' });
    expect(b.orgKey).not.toBe(a.orgKey);
  });

  it.each([
    ['an ID token (no scp, a nonce)', { scp: undefined, nonce: 'n-1' }],
    ['a token for another scope', { scp: 'Mail.Read User.Read' }],
    ['a nonce beside the right scope', { nonce: 'n-1' }],
    ['an app-only token', { idtyp: 'app' }],
    ['a v1.0 token', { ver: '1.0' }],
  ])('refuses %s', async (_what, extra) => {
    const token = await sign(microsoftKey, microsoftClaims(extra as JWTPayload));
    expect((await rejection(verifier().verifyMicrosoftAccessToken(token))).code).toBe('claim_invalid');
  });

  it('falls back to the email claim for the address', async () => {
    const token = await sign(microsoftKey, microsoftClaims({ preferred_username: undefined, email: 'G.Hopper@Contoso.com' }));
    await expect(verifier().verifyMicrosoftAccessToken(token)).resolves.toMatchObject({ email: 'g.hopper@contoso.com' });
  });

  it('rejects a token without an address', async () => {
    const token = await sign(microsoftKey, microsoftClaims({ preferred_username: undefined }));
    expect((await rejection(verifier().verifyMicrosoftAccessToken(token))).code).toBe('claim_invalid');
  });

  it("rejects an issuer naming another tenant than the token's tid", async () => {
    const token = await sign(microsoftKey, microsoftClaims({ iss: `https://login.microsoftonline.com/${OTHER_TID}/v2.0` }));
    expect((await rejection(verifier().verifyMicrosoftAccessToken(token))).code).toBe('claim_invalid');
  });

  it.each([
    'https://evil.example.com',
    `https://sts.windows.net/${TID}/`, // v1.0 issuer
    'https://login.microsoftonline.com/{tenantid}/v2.0',
    undefined,
  ])('rejects issuer %s', async (iss) => {
    const token = await sign(microsoftKey, microsoftClaims({ iss }));
    expect((await rejection(verifier().verifyMicrosoftAccessToken(token))).code).toBe('claim_invalid');
  });

  it.each(['tid', 'oid', 'exp'])('rejects a token without %s', async (claim) => {
    const token = await sign(microsoftKey, microsoftClaims({ [claim]: undefined }));
    expect((await rejection(verifier().verifyMicrosoftAccessToken(token))).code).toBe('claim_invalid');
  });

  it('rejects a wrong audience, and everything when none is configured', async () => {
    const token = await sign(microsoftKey, microsoftClaims({ aud: 'https://graph.microsoft.com' }));
    expect((await rejection(verifier().verifyMicrosoftAccessToken(token))).code).toBe('claim_invalid');
    const good = await sign(microsoftKey, microsoftClaims());
    expect((await rejection(verifier({ MICROSOFT_ID_TOKEN_AUDIENCES: [] }).verifyMicrosoftAccessToken(good))).code).toBe('audience_not_configured');
  });

  it('rejects an expired token', async () => {
    const token = await sign(microsoftKey, microsoftClaims({ exp: now() - 3600 }));
    expect((await rejection(verifier().verifyMicrosoftAccessToken(token))).code).toBe('expired');
  });

  it('rejects alg none and HS256 confusion', async () => {
    expect((await rejection(verifier().verifyMicrosoftAccessToken(unsigned({ alg: 'none' }, microsoftClaims())))).code).toBe('alg_not_allowed');
    const pem = microsoftKey.publicKey.export({ format: 'pem', type: 'spki' });
    const hs = await new SignJWT(microsoftClaims()).setProtectedHeader({ alg: 'HS256', kid: microsoftKey.kid }).sign(new Uint8Array(Buffer.from(pem)));
    expect((await rejection(verifier().verifyMicrosoftAccessToken(hs))).code).toBe('alg_not_allowed');
  });

  it("rejects a Google-signed token (keys are per provider) and a stranger's key", async () => {
    expect((await rejection(verifier().verifyMicrosoftAccessToken(await sign(googleKey, microsoftClaims())))).code).toBe('unknown_key');
    expect((await rejection(verifier().verifyMicrosoftAccessToken(await sign(strangerKey, microsoftClaims(), microsoftKey.kid)))).code).toBe('bad_signature');
  });
});

describe('Pub/Sub push tokens', () => {
  it('accepts a valid token from the configured service account', async () => {
    await expect(verifier().verifyPubSubPushToken(await sign(googleKey, pushClaims()))).resolves.toEqual({ email: PUSH_SA });
  });

  it('accepts any verified sender when no service account is configured, never an unverified one', async () => {
    const token = await sign(googleKey, pushClaims({ email: 'Other@project.iam.gserviceaccount.com', email_verified: true }));
    await expect(verifier({ GOOGLE_PUSH_SERVICE_ACCOUNT: undefined }).verifyPubSubPushToken(token)).resolves.toEqual({
      email: 'other@project.iam.gserviceaccount.com',
    });
    const unverified = await sign(googleKey, pushClaims({ email: 'Other@project.iam.gserviceaccount.com', email_verified: false }));
    expect((await rejection(verifier({ GOOGLE_PUSH_SERVICE_ACCOUNT: undefined }).verifyPubSubPushToken(unverified))).code).toBe('email_unverified');
    const noEmail = await sign(googleKey, pushClaims({ email: undefined }));
    await expect(verifier({ GOOGLE_PUSH_SERVICE_ACCOUNT: undefined }).verifyPubSubPushToken(noEmail)).resolves.toEqual({});
  });

  it('rejects another service account with 403, and an unverified one', async () => {
    const other = await rejection(verifier().verifyPubSubPushToken(await sign(googleKey, pushClaims({ email: 'attacker@evil.iam.gserviceaccount.com' }))));
    expect(other.code).toBe('forbidden_account');
    expect(other.status).toBe(403);
    const missing = await rejection(verifier().verifyPubSubPushToken(await sign(googleKey, pushClaims({ email: undefined }))));
    expect(missing.code).toBe('forbidden_account');
    const unverified = await rejection(verifier().verifyPubSubPushToken(await sign(googleKey, pushClaims({ email_verified: false }))));
    expect(unverified.code).toBe('email_unverified');
  });

  it('rejects a wrong audience, such as an add-on ID token replayed at the webhook', async () => {
    const token = await sign(googleKey, googleClaims({ email: PUSH_SA }));
    expect((await rejection(verifier().verifyPubSubPushToken(token))).code).toBe('claim_invalid');
  });

  it('rejects a wrong issuer, expiry, missing exp, alg none and foreign keys', async () => {
    const v = verifier();
    expect((await rejection(v.verifyPubSubPushToken(await sign(googleKey, pushClaims({ iss: 'https://evil.example.com' }))))).code).toBe('claim_invalid');
    expect((await rejection(v.verifyPubSubPushToken(await sign(googleKey, pushClaims({ exp: now() - 3600 }))))).code).toBe('expired');
    expect((await rejection(v.verifyPubSubPushToken(await sign(googleKey, pushClaims({ exp: undefined }))))).code).toBe('claim_invalid');
    expect((await rejection(v.verifyPubSubPushToken(unsigned({ alg: 'none' }, pushClaims())))).code).toBe('alg_not_allowed');
    expect((await rejection(v.verifyPubSubPushToken(await sign(strangerKey, pushClaims(), googleKey.kid)))).code).toBe('bad_signature');
    expect((await rejection(v.verifyPubSubPushToken(await sign(microsoftKey, pushClaims())))).code).toBe('unknown_key');
  });
});
