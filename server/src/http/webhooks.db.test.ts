import { Types } from 'mongoose';
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import { runInOrg } from '../db/tenant';
import { Mailbox } from '../models/mailbox';

useTestDatabase();

const PUSH_AUD = 'https://threadline.test/webhooks/gmail';
const PUSH_SA = 'push@threadline-test.iam.gserviceaccount.com';
let idp: TestIdp;
let svc: ReturnType<typeof testService>;
const orgId = new Types.ObjectId();
// Scheduled far ahead, so that "due now" is visible: marking due only ever brings nextRunAt forward.
const later = new Date('2099-01-01T00:00:00Z');
let gmailBox: Types.ObjectId;
let graphBox: Types.ObjectId;

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_PUSH_AUDIENCE: PUSH_AUD, GOOGLE_PUSH_SERVICE_ACCOUNT: PUSH_SA });
  await runInOrg(orgId, async () => {
    gmailBox = (await Mailbox.create({ userId: new Types.ObjectId(), provider: 'google', address: 'ada@acme.test', nextRunAt: later }))._id;
    graphBox = (
      await Mailbox.create({
        userId: new Types.ObjectId(),
        provider: 'microsoft',
        address: 'grace@contoso.test',
        nextRunAt: later,
        push: { channelId: 'sub-1', clientState: 'the-secret-state', expiresAt: new Date(Date.now() + 86_400_000) },
      })
    )._id;
  });
});
afterAll(() => idp.close());

const nextRunAt = async (id: Types.ObjectId) => (await runInOrg(orgId, () => Mailbox.findById(id).lean<{ nextRunAt: Date }>()))!.nextRunAt;
const reset = (id: Types.ObjectId) => runInOrg(orgId, () => Mailbox.updateOne({ _id: id }, { $set: { nextRunAt: later } }));
/** The work after the 204/202 answer, done. */
const settle = () => svc.webhooks.idle();

function pushBody(emailAddress: string, historyId: string | number = '12345') {
  return {
    message: { data: Buffer.from(JSON.stringify({ emailAddress, historyId })).toString('base64'), messageId: '1', publishTime: new Date().toISOString() },
    subscription: 'projects/p/subscriptions/s',
  };
}
const pushToken = (claims: Record<string, unknown> = {}) => idp.googleToken({ aud: PUSH_AUD, email: PUSH_SA, email_verified: true, hd: undefined, ...claims });

describe('POST /webhooks/gmail', () => {
  beforeEach(() => reset(gmailBox));

  it('acknowledges a verified push with 204 and marks the mailbox due', async () => {
    const res = await request(svc.app)
      .post('/webhooks/gmail')
      .set('Authorization', `Bearer ${await pushToken()}`)
      .send(pushBody('Ada@acme.test', 999));
    expect(res.status).toBe(204);
    await settle();
    expect((await nextRunAt(gmailBox)).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it.each([
    ['no token', async () => undefined, 401],
    ['a token for another audience', () => pushToken({ aud: 'https://elsewhere.test/hook' }), 401],
    ['a token from another service account', () => pushToken({ email: 'mallory@evil.iam.gserviceaccount.com' }), 403],
    ['an expired token', () => pushToken({ exp: Math.floor(Date.now() / 1000) - 600 }), 401],
  ])('refuses %s and schedules nothing', async (_name, make, status) => {
    const token = await make();
    const req = request(svc.app).post('/webhooks/gmail');
    const res = await (token ? req.set('Authorization', `Bearer ${token}`) : req).send(pushBody('ada@acme.test'));
    expect(res.status).toBe(status);
    await settle();
    expect(await nextRunAt(gmailBox)).toEqual(later);
  });

  it('acknowledges and ignores an unknown address or a garbled body', async () => {
    expect(
      (
        await request(svc.app)
          .post('/webhooks/gmail')
          .set('Authorization', `Bearer ${await pushToken()}`)
          .send(pushBody('nobody@else.test'))
      ).status,
    ).toBe(204);
    expect(
      (
        await request(svc.app)
          .post('/webhooks/gmail')
          .set('Authorization', `Bearer ${await pushToken()}`)
          .send({ message: { data: 'bm90IGpzb24=' } })
      ).status,
    ).toBe(204);
    await settle();
    expect(await nextRunAt(gmailBox)).toEqual(later);
  });
});

describe('POST /webhooks/graph', () => {
  beforeEach(() => reset(graphBox));

  it('answers the validation handshake with the token as text/plain', async () => {
    for (const path of ['/webhooks/graph', '/webhooks/graph/lifecycle']) {
      const res = await request(svc.app).post(`${path}?validationToken=Validation%3A%20abc%20123`).send();
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('Validation: abc 123');
    }
  });

  it('drops a notification with the wrong clientState', async () => {
    const res = await request(svc.app)
      .post('/webhooks/graph')
      .send({ value: [{ subscriptionId: 'sub-1', clientState: 'guess', changeType: 'created' }] });
    expect(res.status).toBe(202);
    await settle();
    expect(await nextRunAt(graphBox)).toEqual(later);
  });

  it('marks the mailbox due for a notification with the right clientState', async () => {
    const res = await request(svc.app)
      .post('/webhooks/graph')
      .send({ value: [{ subscriptionId: 'sub-1', clientState: 'the-secret-state', changeType: 'created' }] });
    expect(res.status).toBe(202);
    await settle();
    expect((await nextRunAt(graphBox)).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('marks a mailbox due once for all its notifications in one request, with every message they name', async () => {
    const before = await runInOrg(orgId, () => Mailbox.findById(graphBox).lean<{ runRequests?: number }>());
    const notice = (id: string) => ({
      subscriptionId: 'sub-1',
      clientState: 'the-secret-state',
      changeType: 'created',
      resource: `Users/u/Messages/${id}`,
      resourceData: { id },
    });
    await request(svc.app)
      .post('/webhooks/graph')
      .send({ value: [notice('AAMk-1'), notice('AAMk-2'), notice('AAMk-3')] })
      .expect(202);
    await settle();
    const m = await runInOrg(orgId, () => Mailbox.findById(graphBox).lean<{ runRequests?: number; pushHints?: { ids: string[]; count: number } }>());
    expect((m!.runRequests ?? 0) - (before!.runRequests ?? 0)).toBe(1);
    expect(m!.pushHints?.ids.sort()).toEqual(['AAMk-1', 'AAMk-2', 'AAMk-3']);
    expect(m!.pushHints?.count).toBe(3);
  });

  it('on reauthorizationRequired, makes the subscription due for renewal and the mailbox due', async () => {
    await request(svc.app)
      .post('/webhooks/graph/lifecycle')
      .send({ value: [{ subscriptionId: 'sub-1', clientState: 'the-secret-state', lifecycleEvent: 'reauthorizationRequired' }] })
      .expect(202);
    await settle();
    const m = await runInOrg(orgId, () => Mailbox.findById(graphBox).lean<{ push: { expiresAt: Date }; nextRunAt: Date }>());
    expect(m!.push.expiresAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(m!.nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('on missed, schedules a catch-up', async () => {
    await request(svc.app)
      .post('/webhooks/graph/lifecycle')
      .send({ value: [{ subscriptionId: 'sub-1', clientState: 'the-secret-state', lifecycleEvent: 'missed' }] })
      .expect(202);
    await settle();
    expect((await nextRunAt(graphBox)).getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe('POST /webhooks/graph under a flood of forged notifications', () => {
  it('looks at no more than the per-request cap, counts the rest, and still acts on a genuine item', async () => {
    await reset(graphBox);
    const counter = async (reason: string) =>
      Number(
        new RegExp(`threadline_push_notifications_dropped_total\\{provider="microsoft",reason="${reason}"\\} (\\d+)`).exec(
          (await request(svc.app).get('/metrics')).text,
        )?.[1] ?? 0,
      );
    const [capBefore, forgedBefore] = [await counter('over_request_cap'), await counter('unknown_or_forged')];
    const forged = Array.from({ length: 1000 }, (_, i) => ({
      subscriptionId: `forged-${i}`,
      clientState: 'guess',
      changeType: 'created',
      resourceData: { id: `m-${i}` },
    }));
    const genuine = { subscriptionId: 'sub-1', clientState: 'the-secret-state', changeType: 'created', resourceData: { id: 'real-1' } };
    const res = await request(svc.app)
      .post('/webhooks/graph')
      .send({ value: [genuine, ...forged] });
    expect(res.status).toBe(202);
    await settle();
    expect((await nextRunAt(graphBox)).getTime()).toBeLessThanOrEqual(Date.now());
    expect((await counter('over_request_cap')) - capBefore).toBe(901);
    expect((await counter('unknown_or_forged')) - forgedBefore).toBe(99);
  });
});
