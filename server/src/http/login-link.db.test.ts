/** One-time sign-in links: made by a signed-in user, redeemed once for a session, refused when expired. */
import { request } from '../../../test/helpers/contract';
import { runInOrg } from '../db/tenant';
import { LoginLink } from '../models/login-link';
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

/** Each test's users in an organisation of their own (the address's domain as the Workspace domain). */
async function signIn(sub: string, email: string) {
  const token = await idp.googleToken({ sub, email, hd: email.split('@')[1] });
  const res = await request(svc.app).post('/api/session').send({ provider: 'google', token });
  expect(res.status).toBe(200);
  return res.body as { token: string; user: { id: string; role: string }; org: { id: string } };
}

const makeLink = (token: string) => request(svc.app).post('/api/session/link').set('authorization', `Bearer ${token}`);
const redeem = (code: unknown) => request(svc.app).post('/api/session/redeem').send({ code });
const codeOf = (url: string) => new URL(url).hash.slice('#login='.length);

describe('one-time sign-in links', () => {
  it('opens the console as the link’s user, once', async () => {
    const ada = await signIn('g-ada', 'ada@links.test');
    const link = await makeLink(ada.token);
    expect(link.status).toBe(200);
    expect(link.body.url).toMatch(/^http:\/\/127\.0\.0\.1:3999\/app\/#login=[0-9a-f]{24}\.[\w-]{43}$/);
    expect(Date.parse(link.body.expiresAt) - Date.now()).toBeGreaterThan(100_000);
    expect(link.headers['cache-control']).toBe('no-store');

    const first = await redeem(codeOf(link.body.url));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ user: { id: ada.user.id, email: 'ada@links.test', role: 'admin' }, org: { id: ada.org.id } });
    const me = await request(svc.app).get('/api/me/settings').set('authorization', `Bearer ${first.body.token}`);
    expect(me.status).toBe(200);

    const again = await redeem(codeOf(link.body.url));
    expect(again.status).toBe(401);
  });

  it('stores only a hash of the code', async () => {
    const bob = await signIn('g-bob', 'bob@hashes.test');
    const code = codeOf((await makeLink(bob.token)).body.url);
    const stored = await runInOrg(bob.org.id, () => LoginLink.find({}).lean());
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(code.split('.')[1]);
  });

  it('refuses an expired code, and sweeps expired links when a new one is made', async () => {
    const cy = await signIn('g-cy', 'cy@expiry.test');
    const code = codeOf((await makeLink(cy.token)).body.url);
    await runInOrg(cy.org.id, () => LoginLink.updateMany({}, { $set: { expiresAt: new Date(Date.now() - 1000) } }));
    expect((await redeem(code)).status).toBe(401);
    await makeLink(cy.token);
    expect(await runInOrg(cy.org.id, () => LoginLink.countDocuments({}))).toBe(1);
  });

  it('refuses a code of another organisation, a malformed code and a missing session alike', async () => {
    const dee = await signIn('g-dee', 'dee@one.test');
    const eve = await signIn('g-eve', 'eve@two.test');
    const secret = codeOf((await makeLink(dee.token)).body.url).split('.')[1];
    expect(eve.org.id).not.toBe(dee.org.id);
    expect((await redeem(`${eve.org.id}.${secret}`)).status).toBe(401);
    expect((await redeem('nonsense')).status).toBe(401);
    expect((await redeem(42)).status).toBe(400);
    expect((await request(svc.app).post('/api/session/link')).status).toBe(401);
    expect((await redeem(`${dee.org.id}.${secret}`)).status).toBe(200);
  });
});
