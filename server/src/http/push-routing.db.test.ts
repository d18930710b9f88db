import { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { createMailbox, createOrg } from '../../../test/fakes/engine-fixture';
import { runAsSystem, runInOrg } from '../db/tenant';
import { Mailbox } from '../models/mailbox';
import { recordQueries } from '../../../test/helpers/query-log';
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
    await runInOrg(orgId, () =>
      Mailbox.create({
        _id: again.mailboxId,
        userId: ann.userId,
        provider: 'google',
        address: 'ann@acme.test',
        state: 'backfilling',
        stage: 'backfill',
        nextRunAt: new Date(0),
      }),
    );
    expect(ids(await router.mailboxesFor(annKey))).toEqual([String(again.mailboxId)]);

    // Graph: routed by subscription id; a replaced subscription no longer routes the old id.
    await runAsSystem('test', () =>
      Mailbox.updateOne({ _id: again.mailboxId }, { $set: { provider: 'microsoft', push: { channelId: 'sub-1', clientState: 's1' } } }),
    );
    const sub1 = { provider: 'microsoft', channelId: 'sub-1' } as const;
    expect((await router.mailboxesFor(sub1))[0]?.push?.clientState).toBe('s1');
    await runAsSystem('test', () => Mailbox.updateOne({ _id: again.mailboxId }, { $set: { push: { channelId: 'sub-2', clientState: 's2' } } }));
    expect(await router.mailboxesFor(sub1)).toEqual([]);
    expect((await router.mailboxesFor({ provider: 'microsoft', channelId: 'sub-2' }))[0]?.push?.clientState).toBe('s2');
  });

  it('answers the first pushes of many mailboxes with one read of every mailbox, then reads each by _id', async () => {
    const orgId = await createOrg();
    const boxes = await Promise.all([0, 1, 2, 3, 4].map((i) => createMailbox(orgId, `many${i}@acme.test`)));
    const router = new PushRouter();
    const scans = (qs: Awaited<ReturnType<typeof recordQueries>>) =>
      qs.filter((q) => q.collection === 'mailboxes' && q.method === 'find' && !('_id' in q.filter));
    const first = await recordQueries(async () => {
      const found = await Promise.all(boxes.map((_b, i) => router.mailboxesFor({ provider: 'google', address: `many${i}@acme.test` })));
      expect(found.map((f) => ids(f))).toEqual(boxes.map((b) => [String(b.mailboxId)]));
    });
    expect(scans(first)).toHaveLength(1);
    const later = await recordQueries(async () => {
      for (const [i, b] of boxes.entries())
        expect(ids(await router.mailboxesFor({ provider: 'google', address: `many${i}@acme.test` }))).toEqual([String(b.mailboxId)]);
    });
    expect(scans(later)).toEqual([]);
    // A mailbox connected after that read is found on its first push.
    const late = await createMailbox(orgId, 'late@acme.test');
    expect(ids(await router.mailboxesFor({ provider: 'google', address: 'late@acme.test' }))).toEqual([String(late.mailboxId)]);
  });
});
