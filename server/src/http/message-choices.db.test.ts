/**
 * "Don't log this email / this thread" and "Log it again" through the API (/api/me/excluded-messages), and the
 * per-email choices as the sidebars and the console read them (GET /api/messages/:id/choices).
 */
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import { runInOrg } from '../db/tenant';
import { Mailbox } from '../models/mailbox';
import { Message } from '../models/message';
import { User } from '../models/user';
import { bearer, seedMessage, signIn, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let ann: SignedIn;
let bob: SignedIn;
let cy: SignedIn; // keeps their mail private
let eve: SignedIn; // another organisation

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  ann = await signIn(svc.app, idp, 'ann@acme.test', 'acme.test');
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
  cy = await signIn(svc.app, idp, 'cy@acme.test', 'acme.test');
  eve = await signIn(svc.app, idp, 'eve@other.test', 'other.test');
  await runInOrg(cy.orgId, () => User.updateOne({ _id: cy.userId }, { $set: { 'settings.visibility': 'private' } }));
});
afterAll(() => idp.close());

const exclude = (who: SignedIn, body: unknown) =>
  request(svc.app)
    .post('/api/me/excluded-messages')
    .set(bearer(who))
    .send(body as object);
const get = (who: SignedIn, path: string) => request(svc.app).get(path).set(bearer(who));
const del = (who: SignedIn, id: string) => request(svc.app).delete(`/api/me/excluded-messages/${id}`).set(bearer(who));

describe('POST /api/me/excluded-messages', () => {
  it('"don\'t log this email": the caller\'s copy goes, the email with it when nobody else holds it; the same choice again is the first', async () => {
    const m = await seedMessage({ holders: [{ who: ann }], subject: 'Only Ann' });
    const res = await exclude(ann, { messageId: String(m._id), scope: 'message' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      scope: 'message',
      createdAt: expect.any(String),
      created: true,
      removed: { copies: 1, messages: 1 },
    });
    expect((await get(ann, `/api/messages/${m._id}`)).status).toBe(404);
    // Again, by its Message-ID this time (the email is gone, the choice is not): the same choice, nothing new.
    const again = await exclude(ann, { internetMessageId: m.internetMessageId, scope: 'message' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: res.body.id, created: false, removed: { copies: 0, messages: 0 } });
    expect((await get(ann, '/api/me/excluded-messages')).body.exclusions).toEqual([
      { id: res.body.id, scope: 'message', createdAt: res.body.createdAt, copies: 1 },
    ]);
  });

  it('an email a teammate also holds stays for them; the caller leaves its holders, and sees it as not logged by them', async () => {
    const m = await seedMessage({ holders: [{ who: ann }, { who: bob }], subject: 'Both hold it' });
    expect((await get(ann, `/api/messages/${m._id}/choices`)).body).toEqual({
      notLogged: null,
      sharing: { level: 'full', override: null, defaultLevel: 'full' },
    });
    const res = await exclude(ann, { messageId: String(m._id), scope: 'thread' });
    expect(res.body).toMatchObject({ scope: 'thread', removed: { copies: 1, messages: 0 } });
    const doc = await runInOrg(ann.orgId, () => Message.findById(m._id).lean());
    expect(doc!.syncedBy.map(String)).toEqual([String(bob.userId)]);
    // Ann still sees it through Bob; her choice is there, and she has no holding of her own to share.
    expect((await get(ann, `/api/messages/${m._id}/choices`)).body).toEqual({
      notLogged: { id: res.body.id, scope: 'thread', createdAt: res.body.createdAt },
      sharing: null,
    });
    expect((await get(bob, `/api/messages/${m._id}/choices`)).body.notLogged).toBeNull();
  });

  it('tells nothing about an email the caller may not see: 404 by id, and by Message-ID the same answer as for an unknown one', async () => {
    const hidden = await seedMessage({ holders: [{ who: cy }], subject: 'Cy private' });
    expect((await exclude(bob, { messageId: String(hidden._id), scope: 'message' })).status).toBe(404);
    expect((await get(bob, `/api/messages/${hidden._id}/choices`)).status).toBe(404);
    const byMid = await exclude(bob, { internetMessageId: hidden.internetMessageId, scope: 'thread' });
    const unknown = await exclude(bob, { internetMessageId: '<never-seen@initech.com>', scope: 'thread' });
    const shape = (b: Record<string, unknown>) => ({ ...b, id: '-', createdAt: '-' });
    expect(byMid.status).toBe(unknown.status);
    expect(shape(byMid.body)).toEqual(shape(unknown.body));
    // Cy's email is untouched.
    expect((await get(cy, `/api/messages/${hidden._id}`)).status).toBe(200);
    expect((await exclude(eve, { messageId: String(hidden._id), scope: 'message' })).status).toBe(404);
  });

  it('answers 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ scope: 'message' }, /^messageId or internetMessageId/],
      [{ messageId: '0'.repeat(24), internetMessageId: '<a@b>', scope: 'message' }, /^messageId or internetMessageId/],
      [{ messageId: 'nope', scope: 'message' }, /^messageId: /],
      [{ internetMessageId: '<>', scope: 'message' }, /^internetMessageId: /],
      [{ internetMessageId: '<a@b>', scope: 'everything' }, /^scope: must be message or thread/],
      [{ internetMessageId: '<a@b>', scope: 'message', extra: true }, /Unrecognized key/i],
    ];
    for (const [body, message] of cases) {
      const res = await exclude(ann, body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }
    expect((await request(svc.app).post('/api/me/excluded-messages').send({ internetMessageId: '<a@b>', scope: 'message' })).status).toBe(401);
  });
});

describe('DELETE /api/me/excluded-messages/:id ("log it again")', () => {
  it("lifts the choice and asks the mailbox to fetch the copies back at once; twice, or someone else's, is 404", async () => {
    const m = await seedMessage({ holders: [{ who: ann }], subject: 'Back again' });
    const choice = (await exclude(ann, { messageId: String(m._id), scope: 'message' })).body;
    expect((await del(bob, choice.id)).status).toBe(404);
    const res = await del(ann, choice.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: choice.id, scope: 'message', createdAt: choice.createdAt, reimport: { messages: 1, reconcile: false } });
    const mailbox = await runInOrg(ann.orgId, () => Mailbox.findById(ann.mailboxId).lean());
    expect(mailbox!.refetchIds).toHaveLength(1);
    expect(mailbox!.nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect((await del(ann, choice.id)).status).toBe(404);
    expect((await get(ann, '/api/me/excluded-messages')).body.exclusions.map((e: { id: string }) => e.id)).not.toContain(choice.id);
    expect((await del(ann, 'not-an-id')).body.error.message).toMatch(/^id: /);
  });
});
