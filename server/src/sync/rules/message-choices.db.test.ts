/**
 * "Don't log this thread", then "Log it again", through the sync engine with a provider fake: the choice survives
 * new mail in the thread and a full reconciliation (re-import), and "Log again" brings back every copy it kept out
 * on the mailbox's next run, each fetched alone — no re-listing of the mailbox.
 */
import { useTestDatabase } from '../../../../test/helpers/db';
import { CountingOAuth, createMailbox, createOrg, rawMail, vault, type Fixture, type MailSpec } from '../../../../test/fakes/engine-fixture';
import { FakeMailbox, fakeAdapterFactory } from '../../../../test/fakes/fake-provider';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { LogExclusion, Mailbox, MailboxMessage, Message } from '../../models';
import { runMailboxOnce, type RunnerDeps } from '../engine/runner';
import { excludeFromLog, logAgain } from './message-choices';

useTestDatabase();

const boxes = new Map<string, FakeMailbox>();
const deps: RunnerDeps = {
  owner: 'worker-a', adapterFor: fakeAdapterFactory(boxes), tokens: { vault, oauth: { google: new CountingOAuth() } },
  pollSeconds: 60, pageSize: 20, sleep: async () => {}, random: () => 0.5,
};
const held = (f: Fixture) => runInOrg(f.orgId, async () => (await MailboxMessage.find({ mailboxId: f.mailboxId }).lean()).map((c) => c.providerMessageId).sort());
const run = async (f: Fixture) => { for (let i = 0; i < 10 && (await runMailboxOnce(f.mailboxId, deps)).moreWork; i++); };

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
  await add(box, 'g2', 'T1', { messageId: '<deal-3@customer.test>', subject: 'Re: Sensitive deal', references: ['<deal@customer.test>', '<deal-2@customer.test>'] }, 1);
  await run(f);
  expect(await held(f)).toEqual(['h0']);
  // A reconciliation re-lists the mailbox and fetches what it lacks: the thread stays out.
  await runAsSystem('test', () => Mailbox.updateOne({ _id: f.mailboxId }, { $set: { reconcileRequestedAt: new Date() } }));
  await run(f);
  expect(await held(f)).toEqual(['h0']);
  expect(await runInOrg(f.orgId, () => Message.countDocuments({ subject: /Sensitive/ }))).toBe(0);

  const woken: string[] = [];
  const exclusionId = (await runInOrg(f.orgId, () => LogExclusion.findOne({}).lean()))!._id;
  const undone = await runInOrg(f.orgId, () => logAgain(f.userId, exclusionId, async (id) => { woken.push(String(id)); }));
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
