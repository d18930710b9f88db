/**
 * "Don't log this thread", then "Log it again", through the sync engine with a provider fake: the choice survives
 * new mail in the thread and a full reconciliation (re-import), and "Log again" brings back every copy it kept out
 * on the mailbox's next run, each fetched alone — no re-listing of the mailbox.
 */
import { useTestDatabase } from '../../../../test/helpers/db';
import { CountingOAuth, createMailbox, createOrg, rawMail, vault, type Fixture, type MailSpec } from '../../../../test/fakes/engine-fixture';
import { FakeMailbox, fakeAdapterFactory } from '../../../../test/fakes/fake-provider';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { Types } from 'mongoose';
import { LogExclusion, Mailbox, MailboxMessage, Message, Outbox } from '../../models';
import { runMailboxOnce, type RunnerDeps } from '../engine/runner';
import { excludeFromLog, logAgain } from './message-choices';

useTestDatabase();

const boxes = new Map<string, FakeMailbox>();
const deps: RunnerDeps = {
  owner: 'worker-a',
  adapterFor: fakeAdapterFactory(boxes),
  tokens: { vault, oauth: { google: new CountingOAuth() } },
  pollSeconds: 60,
  pageSize: 20,
  sleep: async () => {},
  random: () => 0.5,
};
const held = (f: Fixture) =>
  runInOrg(f.orgId, async () => (await MailboxMessage.find({ mailboxId: f.mailboxId }).lean()).map((c) => c.providerMessageId).sort());
const run = async (f: Fixture) => {
  for (let i = 0; i < 10 && (await runMailboxOnce(f.mailboxId, deps)).moreWork; i++);
};

async function add(box: FakeMailbox, id: string, threadId: string, spec: Omit<MailSpec, 'from' | 'to'>, hoursAgo: number): Promise<void> {
  const date = new Date(Date.now() - hoursAgo * 3_600_000);
  box.add({ id, threadId, raw: await rawMail({ from: 'carla@customer.test', to: ['ann@acme.test'], date, ...spec }), receivedAt: date });
}

it('a thread choice outlives new mail and a reconciliation; "Log again" fetches exactly its copies back on the next run', async () => {
  const f = await createMailbox(await createOrg(), 'ann@acme.test');
  const box = new FakeMailbox();
  boxes.set(String(f.mailboxId), box);
  await add(box, 'g0', 'T1', { messageId: '<deal@customer.test>', subject: 'Sensitive deal' }, 30);
  await add(box, 'g1', 'T1', { messageId: '<deal-2@customer.test>', subject: 'Re: Sensitive deal', references: ['<deal@customer.test>'] }, 20);
  await add(box, 'h0', 'T2', { messageId: '<hello@customer.test>', subject: 'Hello' }, 10);
  await run(f);
  expect(await held(f)).toEqual(['g0', 'g1', 'h0']);

  const chosen = await runInOrg(f.orgId, () => excludeFromLog(f.userId, { internetMessageId: 'deal-2@customer.test' }, 'thread'));
  expect(chosen).toMatchObject({ ok: true, removed: { copies: 2, messages: 2 } });
  await add(
    box,
    'g2',
    'T1',
    { messageId: '<deal-3@customer.test>', subject: 'Re: Sensitive deal', references: ['<deal@customer.test>', '<deal-2@customer.test>'] },
    1,
  );
  await run(f);
  expect(await held(f)).toEqual(['h0']);
  // A reconciliation re-lists the mailbox and fetches what it lacks: the thread stays out.
  await runAsSystem('test', () => Mailbox.updateOne({ _id: f.mailboxId }, { $set: { reconcileRequestedAt: new Date() } }));
  await run(f);
  expect(await held(f)).toEqual(['h0']);
  expect(await runInOrg(f.orgId, () => Message.countDocuments({ subject: /Sensitive/ }))).toBe(0);

  const woken: string[] = [];
  const exclusionId = (await runInOrg(f.orgId, () => LogExclusion.findOne({}).lean()))!._id;
  const undone = await runInOrg(f.orgId, () =>
    logAgain(f.userId, exclusionId, async (id) => {
      woken.push(String(id));
    }),
  );
  expect(undone).toMatchObject({ ok: true, reimport: { messages: 3, reconcile: false } });
  expect(woken).toEqual([String(f.mailboxId)]);
  box.calls.length = 0;
  await run(f);
  expect(await held(f)).toEqual(['g0', 'g1', 'g2', 'h0']);
  expect(box.calls.filter((c) => c === 'fetchMessage')).toHaveLength(3);
  expect(box.calls).not.toContain('listAllIds');
  expect((await runAsSystem('test', () => Mailbox.findById(f.mailboxId).lean()))!.refetchIds).toEqual([]);
  // And the thread is one thread again in the CRM.
  const threads = await runInOrg(f.orgId, async () => new Set((await Message.find({ subject: /Sensitive/ }).lean()).map((m) => String(m.threadId))));
  expect(threads.size).toBe(1);
});

it('a reply sent from the CRM goes with its thread and comes back with it, under the id the CRM gave it', async () => {
  const f = await createMailbox(await createOrg(), 'ann@acme.test');
  const box = new FakeMailbox();
  boxes.set(String(f.mailboxId), box);
  await add(box, 'g0', 'T1', { messageId: '<offer@customer.test>', subject: 'Offer' }, 30);
  await run(f);
  // A reply from the CRM: its message is written at enqueue, in the thread, under the id the API answered; the outbox
  // knows its Sent copy.
  const crmId = new Types.ObjectId();
  const date = new Date(Date.now() - 20 * 3_600_000);
  await runInOrg(f.orgId, async () => {
    const { threadId } = (await Message.findOne({ subject: 'Offer' }).lean())!;
    await Message.create({
      _id: crmId,
      dedupKey: 'mid:reply@acme.test',
      subject: 'Re: Offer',
      date,
      direction: 'outbound',
      from: { email: 'ann@acme.test' },
      threadId,
      syncedBy: [f.userId],
    });
    await Outbox.create({
      userId: f.userId,
      idempotencyKey: 'k-1',
      requestHash: 'h',
      mailboxId: f.mailboxId,
      request: {},
      status: 'sent',
      internetMessageId: 'reply@acme.test',
      messageId: crmId,
      providerMessageId: 'g1',
    });
  });
  box.add({
    id: 'g1',
    threadId: 'T1',
    raw: await rawMail({
      from: 'ann@acme.test',
      to: ['carla@customer.test'],
      subject: 'Re: Offer',
      messageId: '<reply@acme.test>',
      references: ['<offer@customer.test>'],
      date,
    }),
    receivedAt: date,
  });
  await run(f);
  const copyOf = (id: string) =>
    runInOrg(f.orgId, async () => (await MailboxMessage.findOne({ mailboxId: f.mailboxId, providerMessageId: id }).lean())?.messageId);
  expect(String(await copyOf('g1'))).toBe(String(crmId));

  const chosen = await runInOrg(f.orgId, () => excludeFromLog(f.userId, { internetMessageId: 'offer@customer.test' }, 'thread'));
  expect(chosen).toMatchObject({ ok: true, removed: { copies: 2, messages: 2 } });
  // A reconciliation keeps the send out too: the CRM no longer holds it, so it is mail like any other.
  await runAsSystem('test', () => Mailbox.updateOne({ _id: f.mailboxId }, { $set: { reconcileRequestedAt: new Date() } }));
  await run(f);
  expect(await held(f)).toEqual([]);
  expect(await runInOrg(f.orgId, () => Message.countDocuments({}))).toBe(0);

  if (!chosen.ok) throw new Error('not chosen');
  await runInOrg(f.orgId, () => logAgain(f.userId, new Types.ObjectId(chosen.exclusion.id), async () => {}));
  await run(f);
  expect(await held(f)).toEqual(['g0', 'g1']);
  expect(String(await copyOf('g1'))).toBe(String(crmId));
  const back = await runInOrg(f.orgId, () => Message.findById(crmId).lean());
  expect(back).toMatchObject({ subject: 'Re: Offer', direction: 'outbound' });
  expect(back!.syncedBy.map(String)).toEqual([String(f.userId)]);
  const offer = await runInOrg(f.orgId, () => Message.findOne({ subject: 'Offer' }).lean());
  expect(String(back!.threadId)).toBe(String(offer!.threadId));
});

it('"Log again" of another user’s choice is refused as unknown', async () => {
  const orgId = await createOrg();
  const ann = await createMailbox(orgId, 'ann@acme.test');
  const bob = await createMailbox(orgId, 'bob@acme.test');
  const made = await runInOrg(orgId, () => excludeFromLog(ann.userId, { internetMessageId: 'x@y.test' }, 'message'));
  if (!made.ok) throw new Error('not made');
  const id = await runInOrg(orgId, async () => (await LogExclusion.findOne({}).lean())!._id);
  expect(await runInOrg(orgId, () => logAgain(bob.userId, id, async () => {}))).toEqual({ ok: false, reason: 'not_found' });
  expect(await runInOrg(orgId, () => LogExclusion.countDocuments({}))).toBe(1);
});
