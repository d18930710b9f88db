/** Nothing is left behind: a disconnect or a `mirror` deletion takes cached attachment bytes and empty threads with the mail, and sent outbox entries keep no content. */
import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../../../../test/helpers/db';
import { createMailbox, createOrg, remoteOf } from '../../../../test/fakes/engine-fixture';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { AttachmentCache, Message, Outbox, Thread } from '../../models';
import { removeMailboxData } from '../control/disconnect';
import { purgeSentContent } from '../outbound/outbox';
import { applyDeletes } from './changes';
import { loadIngestContext } from './context';
import { ingestMessages } from './store';

useTestDatabase();

async function withCachedAttachment(address: string) {
  const orgId = await createOrg();
  const f = await createMailbox(orgId, address);
  const remote = await remoteOf({ from: 'carla@customer.test', to: [address], subject: 'Contract', messageId: `<c-${address}>`, text: 'see attached' });
  await ingestMessages(await loadIngestContext({ _id: f.mailboxId, orgId, userId: f.userId, address }), [remote]);
  const message = await runInOrg(orgId, () => Message.findOne({}).lean());
  await runInOrg(orgId, () => AttachmentCache.create({ messageId: message!._id, attachmentId: '2', size: 4, data: Buffer.from('%PDF') }));
  return { orgId, f, remote, message: message! };
}

const leftovers = (orgId: Types.ObjectId) =>
  runInOrg(orgId, async () => ({
    messages: await Message.countDocuments({}),
    cached: await AttachmentCache.countDocuments({}),
    threads: await Thread.countDocuments({}),
  }));

describe('removing mail leaves nothing behind', () => {
  it('disconnect: the messages only this mailbox held go with their cached attachment bytes and their threads', async () => {
    const { orgId, f } = await withCachedAttachment('dis@leftover.test');
    expect(await leftovers(orgId)).toEqual({ messages: 1, cached: 1, threads: 1 });
    await runInOrg(orgId, () => removeMailboxData(f.mailboxId, f.userId));
    expect(await leftovers(orgId)).toEqual({ messages: 0, cached: 0, threads: 0 });
  });

  it('a mirror deletion at the provider does the same', async () => {
    const { orgId, f, remote } = await withCachedAttachment('mirror@leftover.test');
    await applyDeletes({ _id: f.mailboxId, orgId, userId: f.userId }, [remote.providerMessageId], 'mirror');
    expect(await leftovers(orgId)).toEqual({ messages: 0, cached: 0, threads: 0 });
  });

  it('a sent outbox entry keeps its row and answer, not the body or the attachments', async () => {
    const orgId = await createOrg();
    const body = { text: 'Private terms', attachments: [{ filename: 'terms.pdf', contentBase64: Buffer.from('%PDF secret').toString('base64') }] };
    const sent = await runInOrg(orgId, () =>
      Outbox.create({
        userId: new Types.ObjectId(),
        idempotencyKey: 'k-1',
        requestHash: 'h',
        mailboxId: new Types.ObjectId(),
        request: body,
        status: 'sent',
        internetMessageId: 'x@y',
      }),
    );
    const queued = await runInOrg(orgId, () =>
      Outbox.create({
        userId: new Types.ObjectId(),
        idempotencyKey: 'k-2',
        requestHash: 'h',
        mailboxId: new Types.ObjectId(),
        request: body,
        status: 'queued',
        internetMessageId: 'z@y',
      }),
    );
    // Kept for the retention first.
    const among = [sent._id, queued._id];
    expect(await purgeSentContent(new Date(), 3600, among)).toEqual([]);
    expect((await purgeSentContent(new Date(Date.now() + 1000), 0, among)).map(String)).toEqual([String(sent._id)]);
    const rows = await runAsSystem('test', () => Outbox.find({ _id: mongoose.trusted({ $in: [sent._id, queued._id] }) }).lean());
    const after = rows.find((r) => String(r._id) === String(sent._id))!;
    expect(JSON.stringify(after)).not.toContain('Private terms');
    expect(after).toMatchObject({ status: 'sent', idempotencyKey: 'k-1', requestHash: 'h', request: { purged: true } });
    expect(JSON.stringify(rows.find((r) => String(r._id) === String(queued._id)))).toContain('Private terms');
  });
});
