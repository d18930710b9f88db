/** Floods are slowed with 429 + Retry-After, normal use is not; large bodies are read only where they belong. */
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';

useTestDatabase();

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(() => idp.close());

const env = (extra: Record<string, string> = {}) => ({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD, ...extra });

describe('rate limits', () => {
  it('lets 100 failed sign-ins a minute from one address pass, then answers 429 with Retry-After; good sign-ins are not counted', async () => {
    const { app } = testService(env({ RATE_LIMIT_SIGN_IN_FAILURES_PER_MINUTE: '100' }));
    const good = await idp.googleToken({ sub: 'rl-1', email: 'ok@limits.test', hd: 'limits.test' });
    for (let i = 0; i < 5; i++) expect((await request(app).post('/api/session').send({ provider: 'google', token: good })).status).toBe(200);
    for (let i = 0; i < 100; i++) {
      const res = await request(app)
        .post('/api/session')
        .send({ provider: 'google', token: `not-a-jwt-${i}` });
      expect(res.status).toBe(401);
    }
    const limited = await request(app).post('/api/session').send({ provider: 'google', token: 'one-more' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.error.code).toBe('rate_limited');
    // Login-link redemption shares the address's budget of failures.
    expect((await request(app).post('/api/session/redeem').send({ code: 'x' })).status).toBe(429);
  });

  it('limits one user on the expensive routes without touching another user', async () => {
    const { app } = testService(env({ RATE_LIMIT_USER_PER_MINUTE: '60' }));
    const session = async (sub: string, email: string) =>
      (
        await request(app)
          .post('/api/session')
          .send({ provider: 'google', token: await idp.googleToken({ sub, email, hd: 'busy.test' }) })
      ).body.token as string;
    const ann = await session('rl-ann', 'ann@busy.test');
    const bob = await session('rl-bob', 'bob@busy.test');
    for (let i = 0; i < 60; i++) expect((await request(app).get('/api/context?email=x@y.test').set('authorization', `Bearer ${ann}`)).status).toBe(200);
    const limited = await request(app).get('/api/context?email=x@y.test').set('authorization', `Bearer ${ann}`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await request(app).get('/api/context?email=x@y.test').set('authorization', `Bearer ${bob}`)).status).toBe(200);
  });
});

describe('body limits', () => {
  it("refuses a large body on ordinary routes with 413, and reads the send route's large body only after authentication", async () => {
    const { app } = testService(env({ JSON_BODY_LIMIT: '64kb' }));
    const token = (
      await request(app)
        .post('/api/session')
        .send({ provider: 'google', token: await idp.googleToken({ sub: 'bl-1', email: 'big@body.test', hd: 'body.test' }) })
    ).body.token;
    const big = { excludedAddresses: Array.from({ length: 5000 }, (_, i) => `someone-${i}@example.com`) };
    const res = await request(app).put('/api/me/settings').set('authorization', `Bearer ${token}`).send(big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('too_large');
    const attachment = { filename: 'a.bin', contentType: 'application/octet-stream', contentBase64: Buffer.alloc(200_000).toString('base64') };
    const unsigned = await request(app)
      .post('/api/messages')
      .send({ mailboxId: 'x', to: [], subject: 's', attachments: [attachment] });
    expect(unsigned.status).toBe(401);
    const signed = await request(app)
      .post('/api/messages')
      .set('authorization', `Bearer ${token}`)
      .send({ mailboxId: 'x', to: [], subject: 's', attachments: [attachment] });
    expect(signed.status).not.toBe(413);
  });
});
