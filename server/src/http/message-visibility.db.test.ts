/**
 * "Make this email private / shared" through the API (PUT /api/messages/:id/visibility): one email's sharing,
 * for the caller's own holding only, applied by every read — the message itself, lists, the sidebar's "synced by"
 * and "why" — with no oracle: an email made private is answered to teammates as one that was never synced.
 */
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import { runInOrg } from '../db/tenant';
import { AuditLog } from '../models/audit';
import { Message } from '../models/message';
import { User } from '../models/user';
import { removeMailboxData } from '../sync/control/disconnect';
import { bearer, neighbours, seedMessage, signIn, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let ann: SignedIn; // shares in full (the organisation's default)
let bob: SignedIn; // a teammate reading
let cy: SignedIn; // keeps their mail private
let eve: SignedIn; // another organisation

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD, RATE_LIMIT_USER_PER_MINUTE: '200' });
  ann = await signIn(svc.app, idp, 'ann@acme.test', 'acme.test');
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
  cy = await signIn(svc.app, idp, 'cy@acme.test', 'acme.test');
  eve = await signIn(svc.app, idp, 'eve@other.test', 'other.test');
  await runInOrg(cy.orgId, () => User.updateOne({ _id: cy.userId }, { $set: { 'settings.visibility': 'private' } }));
});
afterAll(() => idp.close());

const put = (who: SignedIn, id: unknown, body: unknown) =>
  request(svc.app)
    .put(`/api/messages/${String(id)}/visibility`)
    .set(bearer(who))
    .send(body as object);
const get = (who: SignedIn, path: string) => request(svc.app).get(path).set(bearer(who));
const sidebar = (who: SignedIn, internetMessageId: string | null, from: string) =>
  request(svc.app)
    .post('/api/addon/context')
    .set(bearer(who))
    .send({
      provider: 'gmail',
      message: { internetMessageId: internetMessageId ?? undefined, from: { email: from, name: '' }, to: [{ email: who.email, name: '' }], cc: [] },
    });
const subjects = async (who: SignedIn, email: string) =>
  (await get(who, `/api/context?email=${email}`)).body.recentMessages.map((m: { subject: string }) => m.subject).sort();

describe('one email made private', () => {
  it('hides that email, and only it, from teammates everywhere; its holder keeps it in full', async () => {
    const secret = await seedMessage({ holders: [{ who: ann }], from: 'pat@initech.com', subject: 'Salary talk', text: 'my salary' });
    await seedMessage({ holders: [{ who: ann }], from: 'pat@initech.com', subject: 'Pricing' });
    expect(await subjects(bob, 'pat@initech.com')).toEqual(['Pricing', 'Salary talk']);

    const res = await put(ann, secret._id, { level: 'private' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ messageId: String(secret._id), sharing: { level: 'private', override: 'private', defaultLevel: 'full' } });

    // Teammates: not in lists, not readable, and the sidebar and "why" answer as for an email nobody synced.
    expect(await subjects(bob, 'pat@initech.com')).toEqual(['Pricing']);
    expect((await get(bob, `/api/messages/${secret._id}`)).status).toBe(404);
    const view = (await sidebar(bob, secret.internetMessageId, 'pat@initech.com')).body.view;
    const never = (await sidebar(bob, '<never-synced@initech.com>', 'pat@initech.com')).body.view;
    expect(view.thisMessage).toMatchObject({ status: 'not_synced', messageId: null, syncedBy: [] });
    expect(view.thisMessage.status).toBe(never.thisMessage.status);
    expect(JSON.stringify(view)).not.toContain('Salary');
    const why = await get(bob, `/api/why?messageId=${encodeURIComponent(secret.internetMessageId!)}`);
    const whyNever = await get(bob, `/api/why?messageId=${encodeURIComponent('<never-synced@initech.com>')}`);
    expect(why.body).toEqual(whyNever.body);

    // The holder: everything, and the choice as theirs.
    expect((await get(ann, `/api/messages/${secret._id}`)).body.text).toBe('my salary');
    expect(await subjects(ann, 'pat@initech.com')).toEqual(['Pricing', 'Salary talk']);

    // Back to the default: shared again.
    const reset = await put(ann, secret._id, { level: null });
    expect(reset.body.sharing).toEqual({ level: 'full', override: null, defaultLevel: 'full' });
    expect(await subjects(bob, 'pat@initech.com')).toEqual(['Pricing', 'Salary talk']);
    expect(await runInOrg(ann.orgId, () => AuditLog.countDocuments({ action: 'message.visibility', target: String(secret._id) }))).toBe(2);
  });

  it('a second holder who shares keeps the email visible, at their level, without naming the one who made it private', async () => {
    const both = await seedMessage({ holders: [{ who: ann }, { who: bob }], from: 'sue@hooli.com', subject: 'Both hold it' });
    await put(ann, both._id, { level: 'private' });
    const seen = await get(cy, `/api/messages/${both._id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.syncedBy).toEqual([String(bob.userId)]);
    const view = (await sidebar(cy, both.internetMessageId, 'sue@hooli.com')).body.view;
    expect(view.thisMessage.syncedBy.map((u: { email: string }) => u.email)).toEqual(['bob@acme.test']);
  });
});

describe('one email shared by someone who keeps their mail private', () => {
  it('shows that email at the chosen level, and names its holder for it alone', async () => {
    const shared = await seedMessage({ holders: [{ who: cy }], from: 'kim@globex.com', subject: 'For the team', text: 'the body' });
    const kept = await seedMessage({ holders: [{ who: cy }], from: 'kim@globex.com', subject: 'Still mine' });
    expect(await subjects(bob, 'kim@globex.com')).toEqual([]);

    expect((await put(cy, shared._id, { level: 'metadata' })).body.sharing).toEqual({ level: 'metadata', override: 'metadata', defaultLevel: 'private' });
    const meta = await get(bob, `/api/messages/${shared._id}`);
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ subject: 'For the team', text: '', syncedBy: [String(cy.userId)] });

    await put(cy, shared._id, { level: 'full' });
    expect((await get(bob, `/api/messages/${shared._id}`)).body.text).toBe('the body');
    expect(await subjects(bob, 'kim@globex.com')).toEqual(['For the team']);
    expect((await get(bob, `/api/messages/${kept._id}`)).status).toBe(404);
    const view = (await sidebar(bob, shared.internetMessageId, 'kim@globex.com')).body.view;
    expect(view.thisMessage).toMatchObject({ status: 'synced', syncedBy: [expect.objectContaining({ email: 'cy@acme.test', isYou: false })] });
    // Stored once, in one list.
    const doc = await runInOrg(cy.orgId, () => Message.findById(shared._id).lean());
    expect([doc?.levelOverrides?.full, doc?.levelOverrides?.metadata ?? [], doc?.levelOverrides?.private ?? []].map((l) => (l ?? []).map(String))).toEqual([
      [String(cy.userId)],
      [],
      [],
    ]);
  });
});

describe('who may set it', () => {
  it('only a holder, for their own holding: 403 to a teammate who only sees it, 404 to whoever cannot see it', async () => {
    const m = await seedMessage({ holders: [{ who: ann }], from: 'lee@initech.com', subject: 'Ann holds it' });
    const notHolder = await put(bob, m._id, { level: 'private' });
    expect(notHolder.status).toBe(403);
    expect(notHolder.body.error.message).toContain('only a holder');
    const hidden = await seedMessage({ holders: [{ who: cy }], from: 'lee@initech.com', subject: 'Cy keeps it' });
    const unseen = await put(bob, hidden._id, { level: 'full' });
    expect(unseen.status).toBe(404);
    expect((await put(bob, neighbours(hidden._id)[0], { level: 'full' })).body).toEqual(unseen.body);
    expect((await put(eve, m._id, { level: 'private' })).status).toBe(404);
    const doc = await runInOrg(ann.orgId, () => Message.findById(m._id).lean());
    expect(doc?.levelOverrides ?? {}).not.toHaveProperty('private.0');
  });

  it('answers 400 naming the field for a bad body, 401 without a session', async () => {
    const m = await seedMessage({ holders: [{ who: ann }], subject: 'x' });
    for (const body of [{ level: 'public' }, {}, { level: 'full', extra: 1 }]) {
      const res = await put(ann, m._id, body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/^level: |^\(body\)|extra/);
    }
    expect((await put(ann, 'not-an-id', { level: 'full' })).body.error.message).toMatch(/^id: /);
    expect((await request(svc.app).put(`/api/messages/${m._id}/visibility`).send({ level: 'full' })).status).toBe(401);
  });

  it('the override leaves with the holder’s last copy', async () => {
    const m = await seedMessage({ holders: [{ who: ann }, { who: bob }], subject: 'Leaving' });
    await put(bob, m._id, { level: 'private' });
    await runInOrg(bob.orgId, () => removeMailboxData(bob.mailboxId, bob.userId));
    const doc = await runInOrg(bob.orgId, () => Message.findById(m._id).lean());
    expect(doc?.syncedBy.map(String)).toEqual([String(ann.userId)]);
    expect((doc?.levelOverrides?.private ?? []).map(String)).not.toContain(String(bob.userId));
  });
});

it('is rate limited per user like the other expensive routes', async () => {
  const limited = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD, RATE_LIMIT_USER_PER_MINUTE: '60' });
  const m = await seedMessage({ holders: [{ who: ann }], subject: 'Busy' });
  const token = (
    await request(limited.app)
      .post('/api/session')
      .send({ provider: 'google', token: await idp.googleToken({ sub: `sub-${ann.email}`, email: ann.email, hd: 'acme.test' }) })
  ).body.token;
  const bearer = () => ({ Authorization: `Bearer ${token}` });
  const codes = new Set<number>();
  // 400s count too: a client that floods with bad bodies is slowed as much as one with good ones.
  for (let i = 0; i < 60; i++)
    codes.add(
      (
        await request(limited.app)
          .put(`/api/messages/${m._id}/visibility`)
          .set(bearer())
          .send({ level: i % 2 ? 'full' : 'bad' })
      ).status,
    );
  expect([...codes].sort()).toEqual([200, 400]);
  const over = await request(limited.app).put(`/api/messages/${m._id}/visibility`).set(bearer()).send({ level: 'full' });
  expect(over.status).toBe(429);
  expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
});
