import { createHmac } from 'node:crypto';
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, MICROSOFT_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({
    GOOGLE_JWKS_URL: idp.googleJwksUrl,
    GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD,
    MICROSOFT_JWKS_URL: idp.microsoftJwksUrl,
    MICROSOFT_ID_TOKEN_AUDIENCES: MICROSOFT_AUD,
  });
});
afterAll(() => idp.close());

const post = (body: unknown) =>
  request(svc.app)
    .post('/api/session')
    .send(body as object);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('POST /api/session', () => {
  it('signs in a Google Workspace user: org from hd, first user is admin, the next one a member', async () => {
    const first = await post({ provider: 'google', token: await idp.googleToken({ sub: 'g-1', email: 'Ada@Acme.test' }) });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ user: { email: 'ada@acme.test', role: 'admin' }, org: { name: 'acme.test' } });
    expect(typeof first.body.token).toBe('string');
    expect(Date.parse(first.body.expiresAt)).toBeGreaterThan(Date.now());

    const second = await post({ provider: 'google', token: await idp.googleToken({ sub: 'g-2', email: 'bob@acme.test' }) });
    expect(second.body).toMatchObject({ user: { role: 'member' }, org: { id: first.body.org.id } });

    const again = await post({ provider: 'google', token: await idp.googleToken({ sub: 'g-1', email: 'ada@acme.test' }) });
    expect(again.body.user).toMatchObject({ id: first.body.user.id, role: 'admin' });
  });

  it('makes exactly one admin when the first users of an organisation sign in at the same moment', async () => {
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, i) => idp.googleToken({ sub: `race-${i}`, email: `u${i}@race.test`, hd: 'race.test' })));
    const answers = await Promise.all(tokens.map((token) => post({ provider: 'google', token })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.body.org.id)).size).toBe(1);
    expect(answers.filter((a) => a.body.user.role === 'admin')).toHaveLength(1);
  });

  it('puts a Google user without hd in an organisation of their own', async () => {
    const res = await post({ provider: 'google', token: await idp.googleToken({ sub: 'g-solo', email: 'solo@gmail.com', hd: undefined }) });
    expect(res.status).toBe(200);
    expect(res.body.user.role).toBe('admin');
  });

  it('gives each personal Microsoft account an organisation of its own: the shared consumer tenant id joins no one', async () => {
    const consumer = '9188040d-6c67-4c5b-b112-36a304b66dad';
    const first = await post({
      provider: 'microsoft',
      token: await idp.microsoftToken({ tid: consumer, oid: '00000000-0000-0000-aaaa-000000000001', preferred_username: 'ann@outlook.com' }),
    });
    const second = await post({
      provider: 'microsoft',
      token: await idp.microsoftToken({ tid: consumer, oid: '00000000-0000-0000-bbbb-000000000002', preferred_username: 'bob@hotmail.com' }),
    });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.org.id).not.toBe(first.body.org.id);
    expect(second.body.user.role).toBe('admin'); // of their own organisation, not a member of Ann's
  });

  it('refuses a Microsoft ID token (no access_as_user scope) as a session', async () => {
    const res = await post({ provider: 'microsoft', token: await idp.microsoftToken({ scp: undefined, nonce: 'n-1' }) });
    expect(res.status).toBe(401);
  });

  it('answers every /api request with Cache-Control: no-store, sessions included', async () => {
    const res = await post({ provider: 'google', token: await idp.googleToken({ sub: 'g-cache', email: 'cache@acme.test' }) });
    expect(res.headers['cache-control']).toBe('no-store');
    const me = await request(svc.app).get('/api/mailboxes').set('authorization', `Bearer ${res.body.token}`);
    expect(me.headers['cache-control']).toBe('no-store');
    expect((await request(svc.app).get('/api/mailboxes')).headers['cache-control']).toBe('no-store');
  });

  it('signs in a Microsoft user: org from tid, user from tid+oid', async () => {
    const res = await post({ provider: 'microsoft', token: await idp.microsoftToken({ tid: 'aaaaaaaa-0000-0000-0000-000000000001', oid: 'o-1' }) });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ email: 'grace@contoso.test', role: 'admin' });
    const other = await post({
      provider: 'microsoft',
      token: await idp.microsoftToken({ tid: 'aaaaaaaa-0000-0000-0000-000000000001', oid: 'o-2', preferred_username: 'alan@contoso.test' }),
    });
    expect(other.body).toMatchObject({ user: { role: 'member' }, org: { id: res.body.org.id } });
  });

  it('issues a session that opens /api routes, and refuses a forged one', async () => {
    const res = await post({ provider: 'google', token: await idp.googleToken({ sub: 'g-3', email: 'cy@acme.test' }) });
    const ok = await request(svc.app).get('/api/does-not-exist').set('Authorization', `Bearer ${res.body.token}`);
    expect(ok.status).toBe(404); // past the session check
    const forged = await request(svc.app).get('/api/does-not-exist').set('Authorization', `Bearer ${res.body.token}x`);
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('unauthorized');
  });

  const badGoogle: [string, () => Promise<string>][] = [
    [
      'alg none',
      async () =>
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: 'https://accounts.google.com', aud: GOOGLE_AUD, sub: 'x', email: 'x@acme.test', email_verified: true, exp: now() + 600 })}.`,
    ],
    [
      'HS256 signed with the public key (RS/HS confusion)',
      async () => {
        const head = b64({ alg: 'HS256', typ: 'JWT', kid: 'g1' });
        const body = b64({ iss: 'https://accounts.google.com', aud: GOOGLE_AUD, sub: 'x', email: 'x@acme.test', email_verified: true, exp: now() + 600 });
        const sig = createHmac('sha256', idp.googlePublicPem).update(`${head}.${body}`).digest('base64url');
        return `${head}.${body}.${sig}`;
      },
    ],
    ['missing exp', () => idp.googleToken({ exp: undefined })],
    ['expired', () => idp.googleToken({ exp: now() - 3600, iat: now() - 7200 })],
    ['wrong aud', () => idp.googleToken({ aud: 'someone-else.apps.googleusercontent.com' })],
    ['wrong iss', () => idp.googleToken({ iss: 'https://evil.example.com' })],
    ['unknown kid', () => idp.googleToken({}, { kid: 'nope' })],
    ['a key not in the JWKS', () => idp.googleToken({}, { key: 'stranger' })],
    ['email_verified false', () => idp.googleToken({ email_verified: false })],
    ['garbage', async () => 'not-a-jwt'],
  ];
  it.each(badGoogle)('rejects a Google token with %s (401)', async (_name, make) => {
    const res = await post({ provider: 'google', token: await make() });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it.each([
    ['wrong aud', { aud: 'api://other' }],
    ['iss of another tenant', { iss: 'https://login.microsoftonline.com/99999999-0000-0000-0000-000000000000/v2.0' }],
    ['missing exp', { exp: undefined }],
    ['expired', { exp: now() - 600, iat: now() - 4000 }],
  ])('rejects a Microsoft token with %s (401)', async (_name, claims) => {
    const res = await post({ provider: 'microsoft', token: await idp.microsoftToken(claims) });
    expect(res.status).toBe(401);
  });

  it('validates the body and says which field is wrong', async () => {
    const res = await post({ provider: 'yahoo', token: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^provider/);
    const op = await post({ provider: 'google', token: { $ne: null } });
    expect(op.status).toBe(400);
  });
});
