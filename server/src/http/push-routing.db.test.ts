import { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { createMailbox, createOrg } from '../../../test/fakes/engine-fixture';
import { runAsSystem, runInOrg } from '../db/tenant';
import { Mailbox } from '../models/mailbox';
import { PushRouter } from './push-routing';

useTestDatabase();

const ids = (ms: { _id: unknown }[]) => ms.map((m) => String(m._id));

describe('PushRouter', () => {
  it('finds the mailboxes a push names, and at once notices a disconnect, a reconnect and a new subscription', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const router = new PushRouter();
    const annKey = { provider: 'google', address: 'ann@acme.test' } as const;
    expect(ids(await router.mailboxesFor(annKey))).toEqual([String(ann.mailboxId)]);
    expect(ids(await router.mailboxesFor(annKey))).toEqual([String(ann.mailboxId)]); // remembered, read by _id

    // Disconnected, then connected again as a new mailbox: the next push goes to the new one.
    await runInOrg(orgId, () => Mailbox.deleteOne({ _id: ann.mailboxId }));
    expect(await router.mailboxesFor(annKey)).toEqual([]);
    const again = { mailboxId: new Types.ObjectId() };
    await runInOrg(orgId, () => Mailbox.create({ _id: again.mailboxId, userId: ann.userId, provider: 'google', address: 'ann@acme.test', state: 'backfilling', stage: 'backfill', nextRunAt: new Date(0) }));
    expect(ids(await router.mailboxesFor(annKey))).toEqual([String(again.mailboxId)]);

    // Graph: routed by subscription id; a replaced subscription no longer routes the old id.
    await runAsSystem('test', () => Mailbox.updateOne({ _id: again.mailboxId }, { $set: { provider: 'microsoft', push: { channelId: 'sub-1', clientState: 's1' } } }));
    const sub1 = { provider: 'microsoft', channelId: 'sub-1' } as const;
    expect((await router.mailboxesFor(sub1))[0]?.push?.clientState).toBe('s1');
    await runAsSystem('test', () => Mailbox.updateOne({ _id: again.mailboxId }, { $set: { push: { channelId: 'sub-2', clientState: 's2' } } }));
    expect(await router.mailboxesFor(sub1)).toEqual([]);
    expect((await router.mailboxesFor({ provider: 'microsoft', channelId: 'sub-2' }))[0]?.push?.clientState).toBe('s2');
  });
});
