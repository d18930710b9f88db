/**
 * Sessions end: sign-out ends one session (or all of the user's) at once, an admin disabling a user ends theirs and
 * refuses their sign-ins, and login links cannot renew a session past the absolute lifetime.
 */
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
});
afterAll(() => idp.close());

async function signIn(sub: string, email: string) {
  const token = await idp.googleToken({ sub, email, hd: email.split('@')[1] });
  return request(svc.app).post('/api/session').send({ provider: 'google', token });
}
const get = (token: string) => request(svc.app).get('/api/me/settings').set('authorization', `Bearer ${token}`);

describe('ending sessions', () => {
  it("signs out one session at once; the user's other sessions go on", async () => {
    const a = (await signIn('s-1', 'ann@end.test')).body;
    const b = (await signIn('s-1', 'ann@end.test')).body;
    expect((await get(a.token)).status).toBe(200);
    expect((await request(svc.app).delete('/api/session').set('authorization', `Bearer ${a.token}`)).status).toBe(204);
    expect((await get(a.token)).status).toBe(401);
    expect((await get(b.token)).status).toBe(200);
  });

  it('signs out everywhere: every session signed in until now ends', async () => {
    const a = (await signIn('s-2', 'bo@end.test')).body;
    const b = (await signIn('s-2', 'bo@end.test')).body;
    await new Promise((r) => setTimeout(r, 1100)); // sign-in times are whole seconds
    expect((await request(svc.app).delete('/api/session?everywhere=true').set('authorization', `Bearer ${a.token}`)).status).toBe(204);
    expect((await get(b.token)).status).toBe(401);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await get((await signIn('s-2', 'bo@end.test')).body.token)).status).toBe(200);
  });

  it('an admin disabling a user ends their sessions at once and refuses their sign-in, and a link of theirs', async () => {
    const admin = (await signIn('s-3', 'admin@disable.test')).body;
    const rep = (await signIn('s-4', 'rep@disable.test')).body;
    const link = await request(svc.app).post('/api/session/link').set('authorization', `Bearer ${rep.token}`);
    expect((await get(rep.token)).status).toBe(200);
    // A member cannot disable anyone, an admin cannot disable themselves.
    expect((await request(svc.app).patch(`/api/users/${admin.user.id}`).set('authorization', `Bearer ${rep.token}`).send({ disabled: true })).status).toBe(403);
    expect((await request(svc.app).patch(`/api/users/${admin.user.id}`).set('authorization', `Bearer ${admin.token}`).send({ disabled: true })).status).toBe(
      400,
    );
    const off = await request(svc.app).patch(`/api/users/${rep.user.id}`).set('authorization', `Bearer ${admin.token}`).send({ disabled: true });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ id: rep.user.id, disabled: true });
    expect((await get(rep.token)).status).toBe(401);
    expect((await signIn('s-4', 'rep@disable.test')).status).toBe(403);
    const code = new URL(link.body.url).hash.slice('#login='.length);
    expect((await request(svc.app).post('/api/session/redeem').send({ code })).status).toBe(401);
    // Another organisation's admin cannot touch this user.
    const stranger = (await signIn('s-5', 'admin@elsewhere.test')).body;
    expect((await request(svc.app).patch(`/api/users/${rep.user.id}`).set('authorization', `Bearer ${stranger.token}`).send({ disabled: false })).status).toBe(
      404,
    );
    await request(svc.app).patch(`/api/users/${rep.user.id}`).set('authorization', `Bearer ${admin.token}`).send({ disabled: false }).expect(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await signIn('s-4', 'rep@disable.test')).status).toBe(200);
  });

  it("a login link passes on its session's sign-in time, so chained links cannot extend a sign-in", async () => {
    const short = testService({
      GOOGLE_JWKS_URL: idp.googleJwksUrl,
      GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD,
      SESSION_TTL_SECONDS: '3600',
      SESSION_MAX_AGE_SECONDS: '300',
    });
    const token = await idp.googleToken({ sub: 's-6', email: 'cy@chain.test', hd: 'chain.test' });
    const first = (await request(short.app).post('/api/session').send({ provider: 'google', token })).body;
    const signedInAt = Date.now();
    expect(Date.parse(first.expiresAt) - signedInAt).toBeLessThanOrEqual(300_000);
    const link = await request(short.app).post('/api/session/link').set('authorization', `Bearer ${first.token}`);
    const code = new URL(link.body.url).hash.slice('#login='.length);
    const second = (await request(short.app).post('/api/session/redeem').send({ code })).body;
    expect(Date.parse(second.expiresAt)).toBeLessThanOrEqual(Date.parse(first.expiresAt));
  });
});
