/**
 * "Don't log this email / this thread" honoured by the ingest, before anything is stored: a later sync, a re-import
 * or a replay of the same email leaves no trace of it for that user; a thread choice keeps out every later message of
 * the thread in their mailbox — by the References / In-Reply-To chain and by the provider's thread — and only theirs.
 * Without the ingest check, each of these would store the email again.
 */
import mongoose, { type Types } from 'mongoose';
import { useTestDatabase } from '../../../../test/helpers/db';
import { createMailbox, createOrg, remoteOf, type Fixture, type MailSpec } from '../../../../test/fakes/engine-fixture';
import { runInOrg } from '../../db/tenant';
import { LogExclusion, MailboxMessage, Message } from '../../models';
import { excludeFromLog } from '../rules/message-choices';
import { loadIngestContext } from './context';
import { insertIdempotent } from './bulk';
import { LogExclusionKey } from '../../models/log-exclusion';
import { collisionFingerprint, dedupKey } from './dedup-key';
import { coveredByChoices, emailKey, logKeyId } from './log-choices';
import { parseAll, screen } from './prepare';
import { mergeRules, NO_RULES } from './privacy';
import { ingestMessages, takeBackLateChoices } from './store';

useTestDatabase();

const ingest = async (f: Fixture, remote: Parameters<typeof ingestMessages>[1]) =>
  ingestMessages(await loadIngestContext({ _id: f.mailboxId, orgId: f.orgId, userId: f.userId, address: f.address }), remote);
const held = (f: Fixture) =>
  runInOrg(f.orgId, async () =>
    (await MailboxMessage.find({ mailboxId: f.mailboxId }).select({ providerMessageId: 1 }).lean()).map((c) => c.providerMessageId).sort(),
  );
const subjects = (orgId: Types.ObjectId) => runInOrg(orgId, async () => (await Message.find({}).select({ subject: 1 }).lean()).map((m) => m.subject).sort());

async function everythingStored(): Promise<string> {
  const db = mongoose.connection.db!;
  const names = (await db.listCollections().toArray()).map((c) => c.name).filter((n) => n !== 'orgs' && n !== 'users');
  return (await Promise.all(names.map(async (n) => JSON.stringify(await db.collection(n).find({}).toArray())))).join('\n').toLowerCase();
}

const mail = (over: Partial<MailSpec> & { messageId: string; subject: string }): MailSpec => ({ from: 'carla@customer.test', to: ['ann@acme.test'], ...over });

describe('a choice not to log one email', () => {
  it('keeps that email out of every later sync and re-import for this user; a teammate still logs it', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const bob = await createMailbox(orgId, 'bob@acme.test');
    const spec = mail({ messageId: '<offer-1@customer.test>', subject: 'Confidential offer', text: 'the secret terms', to: ['ann@acme.test'] });
    const other = mail({ messageId: '<hello-1@customer.test>', subject: 'Hello' });
    await ingest(ann, [await remoteOf(spec, { providerMessageId: 'a-1' }), await remoteOf(other, { providerMessageId: 'a-2' })]);

    const chosen = await runInOrg(orgId, () => excludeFromLog(ann.userId, { internetMessageId: 'offer-1@customer.test' }, 'message'));
    expect(chosen).toMatchObject({ ok: true, created: true, removed: { copies: 1, messages: 1 } });
    expect(await held(ann)).toEqual(['a-2']);

    // The next sync, a re-import under another provider id, a replay: nothing of it is stored again.
    const again = await ingest(ann, [await remoteOf(spec, { providerMessageId: 'a-1' }), await remoteOf(spec, { providerMessageId: 'a-1-reimported' })]);
    expect(again).toMatchObject({ stored: 0, newMessages: 0, excluded: 2, excludedByChoice: 2 });
    expect(await held(ann)).toEqual(['a-2']);
    expect(await subjects(orgId)).toEqual(['Hello']);
    const dump = await everythingStored();
    for (const trace of ['confidential offer', 'secret terms', 'offer-1@customer.test']) expect(dump).not.toContain(trace);

    // Only Ann's choice: Bob's copy of the same email is logged.
    expect(await ingest(bob, [await remoteOf({ ...spec, to: ['bob@acme.test'] }, { providerMessageId: 'b-1' })])).toMatchObject({
      stored: 1,
      excludedByChoice: 0,
    });
    expect(await subjects(orgId)).toEqual(['Confidential offer', 'Hello']);
  });

  it('works for an email not in the CRM yet, chosen by its Message-ID', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    expect(await runInOrg(orgId, () => excludeFromLog(ann.userId, { internetMessageId: 'later-1@customer.test' }, 'message'))).toMatchObject({
      ok: true,
      removed: { copies: 0, messages: 0 },
    });
    expect(await ingest(ann, [await remoteOf(mail({ messageId: '<later-1@customer.test>', subject: 'Arrives later' }))])).toMatchObject({
      stored: 0,
      excludedByChoice: 1,
    });
    expect(await subjects(orgId)).toEqual([]);
  });
});

describe('a choice not to log a thread', () => {
  it('keeps out the thread and every later message of it in the user’s mailbox, by References, In-Reply-To and the provider thread', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const root = mail({ messageId: '<root@customer.test>', subject: 'Legal matter' });
    const reply = mail({
      messageId: '<reply-1@customer.test>',
      subject: 'Re: Legal matter',
      inReplyTo: '<root@customer.test>',
      references: ['<root@customer.test>'],
    });
    await ingest(ann, [
      await remoteOf(root, { providerMessageId: 'r0', providerThreadId: 'T1' }),
      await remoteOf(reply, { providerMessageId: 'r1', providerThreadId: 'T1' }),
    ]);
    await ingest(ann, [
      await remoteOf(mail({ messageId: '<other@customer.test>', subject: 'Unrelated' }), { providerMessageId: 'u1', providerThreadId: 'T9' }),
    ]);
    const { messageId: replyId } = await runInOrg(orgId, async () => ({ messageId: (await Message.findOne({ subject: 'Re: Legal matter' }).lean())!._id }));

    const chosen = await runInOrg(orgId, () => excludeFromLog(ann.userId, { messageId: replyId }, 'thread'));
    expect(chosen).toMatchObject({ ok: true, removed: { copies: 2, messages: 2 } });
    expect(await subjects(orgId)).toEqual(['Unrelated']);

    const later = [
      // A reply by the References chain, in another provider thread (a teammate forwarded it, say).
      await remoteOf(
        mail({ messageId: '<reply-2@customer.test>', subject: 'Re: Legal matter', references: ['<root@customer.test>', '<reply-1@customer.test>'] }),
        { providerMessageId: 'r2', providerThreadId: 'T2' },
      ),
      // A reply whose client kept only the provider's thread (no References, no In-Reply-To).
      await remoteOf(mail({ messageId: '<reply-3@customer.test>', subject: 'Legal matter, again' }), { providerMessageId: 'r3', providerThreadId: 'T1' }),
    ];
    expect(await ingest(ann, later)).toMatchObject({ stored: 0, excludedByChoice: 2 });
    // A reply to a message that was itself kept out (only In-Reply-To, a third provider thread): the chain goes on.
    const chained = await remoteOf(mail({ messageId: '<reply-4@customer.test>', subject: 'Re: Legal matter, again', inReplyTo: '<reply-3@customer.test>' }), {
      providerMessageId: 'r4',
      providerThreadId: 'T3',
    });
    expect(await ingest(ann, [chained])).toMatchObject({ stored: 0, excludedByChoice: 1 });
    // The rest of the mailbox is logged as before.
    expect(
      await ingest(ann, [
        await remoteOf(mail({ messageId: '<new@customer.test>', subject: 'New topic' }), { providerMessageId: 'n1', providerThreadId: 'T4' }),
      ]),
    ).toMatchObject({ stored: 1 });
    expect(await subjects(orgId)).toEqual(['New topic', 'Unrelated']);
    const dump = await everythingStored();
    for (const trace of ['legal matter', 'root@customer.test', 'reply-3@customer.test']) expect(dump).not.toContain(trace);
    // The copies it kept out are remembered by provider id only, for "Log again".
    const exclusion = await runInOrg(orgId, () => LogExclusion.findOne({}).lean());
    expect(exclusion!.copies.map((c) => c.providerMessageId).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });
});

it('a choice made while a page is being stored takes back the copy that page wrote (step 9)', async () => {
  const orgId = await createOrg();
  const ann = await createMailbox(orgId, 'ann@acme.test');
  const remote = await remoteOf(mail({ messageId: '<race@customer.test>', subject: 'Raced' }), { providerMessageId: 'x1' });
  await ingest(ann, [remote]);
  expect(await held(ann)).toEqual(['x1']);
  // The choice's keys landed after the page's step 1b read them: written as excludeFromLog writes them, no removal yet.
  await runInOrg(orgId, async () => {
    const [parsed] = await parseAll([remote]);
    const exclusion = await LogExclusion.create({ userId: ann.userId, scope: 'message' });
    await insertIdempotent(LogExclusionKey, [
      { _id: logKeyId(orgId, ann.userId, emailKey(dedupKey(parsed))), orgId, userId: ann.userId, exclusionId: exclusion._id },
    ]);
    const s = screen(remote, parsed, { address: ann.address }, ['acme.test'], mergeRules(NO_RULES), () => false);
    if (s.kind !== 'kept') throw new Error('screened out');
    const copy = await MailboxMessage.findOne({ providerMessageId: 'x1' }).lean();
    const result = { stored: 1, excluded: 0, excludedByChoice: 0 } as Parameters<typeof takeBackLateChoices>[2];
    await takeBackLateChoices({ orgId, userId: ann.userId, mailboxId: ann.mailboxId }, [{ item: s.item, copyId: copy!._id }], result);
    expect(result).toMatchObject({ stored: 0, excluded: 1, excludedByChoice: 1 });
  });
  expect(await held(ann)).toEqual([]);
  expect(await subjects(orgId)).toEqual([]);
});

it('checks a copy again under the key it has now, once a Message-ID collision gave it a key of its own', async () => {
  const orgId = await createOrg();
  const ann = await createMailbox(orgId, 'ann@acme.test');
  const remote = await remoteOf(mail({ messageId: '<shared@customer.test>', subject: 'Another email, same id' }), { providerMessageId: 'y1' });
  await runInOrg(orgId, async () => {
    const [parsed] = await parseAll([remote]);
    const s = screen(remote, parsed, { address: ann.address }, ['acme.test'], mergeRules(NO_RULES), () => false);
    if (s.kind !== 'kept') throw new Error('screened out');
    const owner = { orgId, userId: ann.userId, mailboxId: ann.mailboxId };
    // Ann chose not to log the email that first had this Message-ID.
    const exclusion = await LogExclusion.create({ userId: ann.userId, scope: 'message' });
    await insertIdempotent(LogExclusionKey, [
      { _id: logKeyId(orgId, ann.userId, emailKey(s.item.dedupKey)), orgId, userId: ann.userId, exclusionId: exclusion._id },
    ]);
    expect((await coveredByChoices(owner, [s.item])).size).toBe(1);
    // Step 1b's check, then the collision check found this copy is another email: it is not the one she chose.
    s.item.dedupKey = `${s.item.dedupKey}#${collisionFingerprint(parsed)}`;
    expect((await coveredByChoices(owner, [s.item])).size).toBe(0);
  });
});
