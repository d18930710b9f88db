import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { createOrg } from '../../../test/fakes/engine-fixture';
import { runAsSystem, runInOrg } from '../db/tenant';
import { Outbox } from '../models/outbox';
import { processDueOutbox } from '../sync/outbound/outbox';
import type { MailboxAdapters } from '../sync/providers/runtime';
import { markOpen, MISSING_GRACE_MS, openEntryIds } from './outbox-open';

useTestDatabase();

// No entry here reaches a provider: their mailboxes do not exist, so a due one fails before any adapter is asked.
const adapters = {} as MailboxAdapters;

const entry = (orgId: Types.ObjectId, key: string, fields: Record<string, unknown>) =>
  runInOrg(orgId, () =>
    Outbox.create({
      userId: new Types.ObjectId(),
      idempotencyKey: key,
      requestHash: 'h',
      mailboxId: new Types.ObjectId(),
      request: { text: `body of ${key}` },
      internetMessageId: `${key}@outbox.test`,
      ...fields,
    }),
  );
const open = async () => (await openEntryIds()).map(String).sort();
const byId = async (id: Types.ObjectId) => runAsSystem('test', () => Outbox.findById(id).lean<{ status: string; request: { purged?: boolean } }>());

describe('the outbox sweep reads the open entries only', () => {
  it('catches up on entries written before the open-entry list, works them, and then forgets them', async () => {
    const orgId = await createOrg();
    const queued = await entry(orgId, 'queued', { status: 'queued' });
    const sent = await entry(orgId, 'sent', { status: 'sent' });
    const purged = await entry(orgId, 'purged', { status: 'sent', request: { purged: true } });
    const failed = await entry(orgId, 'failed', { status: 'failed' });
    expect(await open()).toEqual([]);

    const first = await processDueOutbox(adapters, { retentionSeconds: 0, now: new Date(Date.now() + 1000) });
    // The queued one was due (its mailbox is gone: failed), the sent one's content purged; the two done ones
    // were never listed.
    expect(first).toMatchObject({ failed: 1, sent: 0 });
    expect((await byId(queued._id))?.status).toBe('failed');
    expect((await byId(sent._id))?.request).toMatchObject({ purged: true });
    expect(await open()).toEqual([String(queued._id)]);
    expect(await open()).not.toContain(String(purged._id));
    expect(await open()).not.toContain(String(failed._id));

    // The next sweep sees the queued entry failed: nothing is left open.
    await processDueOutbox(adapters, { retentionSeconds: 0 });
    expect(await open()).toEqual([]);
  });

  it('keeps a sent entry open until its content is purged after the retention', async () => {
    const orgId = await createOrg();
    const sent = await entry(orgId, 'kept', { status: 'sent' });
    await markOpen(sent._id, orgId);
    await processDueOutbox(adapters, { retentionSeconds: 3600 });
    expect(await open()).toContain(String(sent._id));
    expect((await byId(sent._id))?.request).toMatchObject({ text: 'body of kept' });
    await processDueOutbox(adapters, { retentionSeconds: 3600, now: new Date(Date.now() + 3601_000) });
    expect(await open()).not.toContain(String(sent._id));
    expect((await byId(sent._id))?.request).toMatchObject({ purged: true });
  });

  it('forgets an open id without an entry only once the entry could no longer be on its way', async () => {
    const orgId = await createOrg();
    const young = new Types.ObjectId();
    const old = Types.ObjectId.createFromTime(Math.floor((Date.now() - MISSING_GRACE_MS - 60_000) / 1000));
    await markOpen(young, orgId);
    await markOpen(old, orgId);
    await processDueOutbox(adapters, {});
    expect(await open()).toContain(String(young));
    expect(await open()).not.toContain(String(old));
  });

  it('reads the outbox by `_id` only, however many sends it holds', async () => {
    const orgId = await createOrg();
    for (let i = 0; i < 5; i++) await entry(orgId, `done-${i}`, { status: 'sent', request: { purged: true } });
    await processDueOutbox(adapters, {}); // this process's catch-up, if not done yet
    const queued = await entry(orgId, 'later', { status: 'queued' });
    await markOpen(queued._id, orgId);
    const filters: Record<string, unknown>[] = [];
    mongoose.set('debug', (collection: string, method: string, filter: Record<string, unknown>) => {
      if (collection === 'outboxes' && /^(find|findOne|updateMany|updateOne|countDocuments)$/.test(method)) filters.push(filter);
    });
    try {
      expect(await processDueOutbox(adapters, {})).toMatchObject({ failed: 1 });
    } finally {
      mongoose.set('debug', false);
    }
    expect(filters.length).toBeGreaterThan(0);
    for (const f of filters) expect(f).toHaveProperty('_id');
  });
});
