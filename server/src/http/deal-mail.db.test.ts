import { Types } from 'mongoose';
import { request, type Response } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { unindexedQueries } from '../../../test/helpers/index-check';
import { recordQueries } from '../../../test/helpers/query-log';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import { bearer, seedMessage, signIn, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let ada: SignedIn;
let bob: SignedIn;

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  ada = await signIn(svc.app, idp, 'ada@acme.test', 'acme.test');
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
});
afterAll(() => idp.close());

const post = (who: SignedIn, path: string, body: unknown) =>
  request(svc.app)
    .post(path)
    .set(bearer(who))
    .send(body as object);
const subjects = async (who: SignedIn, dealId: string) =>
  ((await request(svc.app).get(`/api/deals/${dealId}/messages`).set(bearer(who))).body.messages as { subject: string }[]).map((m) => m.subject).sort();

describe('GET /api/deals/:id/messages', () => {
  it("pages a deal's mail newest first from its contacts and what was attached by hand, every read by key", async () => {
    const t0 = Date.now() - 10 * 3600_000;
    const at = (h: number) => new Date(t0 + h * 3600_000);
    const mail = [];
    for (const h of [1, 3, 5]) mail.push(await seedMessage({ holders: [{ who: ada }], subject: `Globex ${h}`, from: 'sue@globex.test', date: at(h) }));
    const attached = await seedMessage({
      holders: [{ who: ada }],
      subject: 'Forwarded quote',
      from: 'pat@initech.com',
      date: at(4),
      threadId: new Types.ObjectId(),
    });
    await seedMessage({ holders: [{ who: ada }], subject: 'Not the deal', from: 'pat@initech.com', date: at(6) });
    // Made after the mail, as a rep does from the sidebar: it links the mail already stored.
    const contact = (await post(ada, '/api/contacts', { name: 'Sue', email: 'sue@globex.test' })).body as { id: string };
    const deal = (await post(ada, '/api/deals', { name: 'Globex', contactIds: [contact.id] })).body as { id: string };
    await post(ada, `/api/deals/${deal.id}/mail`, { internetMessageId: attached.internetMessageId, scope: 'message' });

    // The organisation's directory is read once per process and version (crm/directory.ts): loaded by a first read.
    await request(svc.app).get(`/api/deals/${deal.id}/messages`).set(bearer(ada));
    const pages: string[][] = [];
    let cursor: string | null = null;
    const queries = await recordQueries(async () => {
      do {
        const res: Response = await request(svc.app)
          .get(`/api/deals/${deal.id}/messages?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
          .set(bearer(ada));
        if (!res.body.messages) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
        pages.push(res.body.messages.map((m: { subject: string }) => m.subject));
        cursor = res.body.nextCursor;
      } while (cursor);
    });
    expect(pages).toEqual([
      ['Globex 5', 'Forwarded quote'],
      ['Globex 3', 'Globex 1'],
    ]);
    const mailReads = queries.filter((q) => ['messages', 'activities', 'contacts', 'companies', 'deals'].includes(q.collection));
    expect(mailReads.filter((q) => !('_id' in q.filter)).map((q) => `${q.collection}.${q.method} ${JSON.stringify(q.filter)}`)).toEqual([]);
    expect(unindexedQueries(queries)).toEqual([]);
    expect(mail).toHaveLength(3);
  });
});

describe('POST /api/deals/:id/mail', () => {
  it("attaches the open email's thread (or just the email) to a deal with no contact in common", async () => {
    const thread = new Types.ObjectId();
    const first = await seedMessage({ holders: [{ who: ada }], subject: 'Pilot kick-off', threadId: thread, from: 'pat@initech.com' });
    await seedMessage({ holders: [{ who: ada }], subject: 'Re: Pilot kick-off', threadId: thread, from: 'pat@initech.com' });
    const lone = await seedMessage({ holders: [{ who: ada }], subject: 'Unrelated', threadId: new Types.ObjectId(), from: 'sue@hooli.com' });
    const deal = (await post(ada, '/api/deals', { name: 'Initech pilot' })).body as { id: string };
    expect(await subjects(ada, deal.id)).toEqual([]);

    const res = await post(ada, `/api/deals/${deal.id}/mail`, { internetMessageId: first.internetMessageId });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deal: { id: deal.id, name: 'Initech pilot' }, attached: { scope: 'thread', messages: 2 } });
    expect(await subjects(ada, deal.id)).toEqual(['Pilot kick-off', 'Re: Pilot kick-off']);

    const one = await post(ada, `/api/deals/${deal.id}/mail`, { internetMessageId: `<${lone.internetMessageId}>`, scope: 'message' });
    expect(one.body.attached).toEqual({ scope: 'message', messages: 1 });
    expect(await subjects(ada, deal.id)).toEqual(['Pilot kick-off', 'Re: Pilot kick-off', 'Unrelated']);

    // A later edit of the deal's people keeps what was attached by hand.
    await request(svc.app).patch(`/api/deals/${deal.id}`).set(bearer(ada)).send({ contactIds: [] });
    expect(await subjects(ada, deal.id)).toEqual(['Pilot kick-off', 'Re: Pilot kick-off', 'Unrelated']);
  });

  it('refuses mail the caller may not see, unknown mail and unknown deals alike with 404', async () => {
    await request(svc.app)
      .put('/api/me/settings')
      .set(bearer(ada))
      .send({ excludedDomains: [], excludedAddresses: [], excludedLabels: [], visibility: 'private' });
    const secret = await seedMessage({ holders: [{ who: ada }], subject: 'Ada private', from: 'pat@initech.com' });
    const deal = (await post(bob, '/api/deals', { name: 'Bob deal' })).body as { id: string };
    const hidden = await post(bob, `/api/deals/${deal.id}/mail`, { internetMessageId: secret.internetMessageId });
    const unknown = await post(bob, `/api/deals/${deal.id}/mail`, { internetMessageId: 'nobody@nowhere.test' });
    expect([hidden.status, unknown.status]).toEqual([404, 404]);
    expect(hidden.body).toEqual(unknown.body);
    expect((await post(ada, `/api/deals/${new Types.ObjectId()}/mail`, { internetMessageId: secret.internetMessageId })).status).toBe(404);
    expect((await post(ada, `/api/deals/${deal.id}/mail`, { internetMessageId: '' })).status).toBe(400);
  });
});
