/**
 * The sidebar's cost does not grow with the mailbox or the organisation: the same queries for 5 or 305 messages,
 * every read of mail and CRM records found by `_id` (an equality, an `$in` or a key range: the one index the
 * embedded FerretDB has, and MongoDB's `_id` index), and — on MongoDB, where explain shows index use — no collection
 * scan. bench/context.bench.ts measures the latency.
 */
import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { servingIndex, unindexedQueries } from '../../../test/helpers/index-check';
import { recordQueries, type Recorded } from '../../../test/helpers/query-log';
import { runInOrg } from '../db/tenant';
import { Company, Contact, Deal } from '../models/crm';
import { Mailbox } from '../models/mailbox';
import { MailboxMessage } from '../models/mailbox-message';
import { Message } from '../models/message';
import { Org } from '../models/org';
import { User } from '../models/user';
import { indexCopies } from '../store/activity';
import { withRequestSnapshot } from '../store/org-snapshot';
import { addonContext, sidebarContext } from './context';

useTestDatabase();

const orgId = new Types.ObjectId();
let callerId: Types.ObjectId;

async function seedMessages(count: number, offset: number) {
  await runInOrg(orgId, async () => {
    const docs = await Message.insertMany(
      Array.from({ length: count }, (_, i) => ({
        dedupKey: `mid:${offset + i}@bench`,
        subject: `s${offset + i}`,
        from: { email: 'jane@globex.com', name: 'Jane' },
        to: [{ email: 'ada@acme.test', name: '' }],
        date: new Date(Date.UTC(2025, 0, 1) + (offset + i) * 60_000),
        direction: 'inbound',
        participants: ['jane@globex.com', 'ada@acme.test'],
        syncedBy: [callerId],
        text: 'x'.repeat(2000),
      })),
    );
    const mailbox = await Mailbox.findOne({ userId: callerId }).lean<{ _id: Types.ObjectId }>();
    const copies = await MailboxMessage.insertMany(
      docs.map((d) => ({ mailboxId: mailbox!._id, userId: callerId, messageId: d._id, providerMessageId: `p-${d.dedupKey}` })),
    );
    await indexCopies(copies.map((c, i) => ({ copyId: c._id, messageId: docs[i]._id, date: docs[i].date, participants: docs[i].participants })));
  });
}

beforeAll(async () => {
  await Org.create({ _id: orgId, key: `test:${orgId}`, name: 'acme', domains: ['acme.test'] });
  await runInOrg(orgId, async () => {
    const user = await User.create({ email: 'ada@acme.test', role: 'admin', identityKey: 'google:ada' });
    callerId = user._id as Types.ObjectId;
    await Mailbox.create({ userId: callerId, provider: 'google', address: 'ada@acme.test', state: 'live' });
    const company = await Company.create({ name: 'Globex', domains: ['globex.com'] });
    const contact = await Contact.create({ emails: ['jane@globex.com'], name: 'Jane', companyId: company._id });
    await Deal.create({ name: 'Renewal', contactIds: [contact._id], companyId: company._id });
  });
  await seedMessages(12, 0);
});

// As a request runs them: in the organisation, with one snapshot of it (store/org-snapshot.ts).
const sidebar = () => runInOrg(orgId, () => withRequestSnapshot(() => sidebarContext(callerId, ['jane@globex.com', 'sam@initech.com'])));
const addon = () =>
  runInOrg(orgId, () =>
    withRequestSnapshot(() =>
      addonContext(
        callerId,
        {
          provider: 'gmail',
          message: { internetMessageId: '<3@bench>', from: { email: 'jane@globex.com', name: 'Jane' }, to: [{ email: 'ada@acme.test', name: '' }], cc: [] },
        },
        { publicUrl: 'https://crm.test' },
      ),
    ),
  );

describe('query budget', () => {
  let small: { sidebar: Recorded[]; addon: Recorded[] };

  beforeAll(async () => {
    await sidebar(); // the first request of a process loads the organisation's directory
    small = { sidebar: await recordQueries(sidebar), addon: await recordQueries(addon) };
    await seedMessages(300, 12);
  });

  it('issues the same few queries for 12 or 312 messages', async () => {
    const big = { sidebar: await recordQueries(sidebar), addon: await recordQueries(addon) };
    // The organisation's own read depends on when the last one was (within 100 ms it is shared), not on the data.
    const shape = (r: Recorded[]) =>
      r
        .filter((q) => q.collection !== 'orgs')
        .map((q) => `${q.collection}.${q.method}`)
        .sort();
    expect(shape(big.sidebar)).toEqual(shape(small.sidebar));
    expect(shape(big.addon)).toEqual(shape(small.addon));
    expect(big.sidebar.length).toBeLessThanOrEqual(11);
    expect(big.addon.length).toBeLessThanOrEqual(10);
    // The messages list their copies: the copies are read by `_id` straight after them, with no ref between.
    expect(big.sidebar.filter((q) => q.collection === 'copyrefs')).toHaveLength(0);
    expect(big.sidebar.filter((q) => q.collection === 'mailboxmessages')).toHaveLength(1);
    // At most one read of the organisation serves the policy, the caller's address, the teammates and the holders
    // (none when a request less than 100 ms before read it); its users were read by the first request and are not
    // read again while they do not change.
    for (const route of [big.sidebar, big.addon]) {
      expect(route.filter((q) => q.collection === 'orgs').length).toBeLessThanOrEqual(1);
      expect(route.filter((q) => q.collection === 'users')).toHaveLength(0);
    }
  });

  it('reads the activity by key range, newest first with a limit, and the messages by _id without bodies', async () => {
    const reads = await recordQueries(sidebar);
    const activity = reads.filter((q) => q.collection === 'activities');
    expect(activity.length).toBeGreaterThan(0);
    for (const q of activity) {
      expect(q.filter._id).toMatchObject({ $gt: expect.any(String), $lt: expect.any(String) });
      expect(q.options).toMatchObject({ sort: { _id: -1 }, limit: expect.any(Number) });
    }
    const messages = reads.filter((q) => q.collection === 'messages');
    expect(messages).toHaveLength(1);
    expect(messages[0].filter).toMatchObject({ _id: { $in: expect.any(Array) } });
    expect(messages[0].options.projection).not.toHaveProperty('text');
    const result = await sidebar();
    expect(result.recentMessages.map((m) => m.subject)).toEqual(Array.from({ length: 10 }, (_, i) => `s${311 - i}`));
  });

  it('finds every message, copy and CRM record by _id (the embedded database indexes nothing else)', async () => {
    const byKey = ['messages', 'mailboxmessages', 'contacts', 'companies', 'deals', 'activities', 'copyrefs'];
    const queries = [...(await recordQueries(sidebar)), ...(await recordQueries(addon))].filter((q) => byKey.includes(q.collection));
    expect(queries.length).toBeGreaterThan(4);
    for (const q of queries)
      expect({ query: `${q.collection}.${q.method} ${JSON.stringify(q.filter)}`, byId: '_id' in q.filter }).toMatchObject({ byId: true });
  });

  it('names a MongoDB index for every query: none would be a collection scan there', async () => {
    const queries = [...(await recordQueries(sidebar)), ...(await recordQueries(addon))];
    expect(queries.length).toBeGreaterThan(4);
    expect(unindexedQueries(queries)).toEqual([]);
  });

  it('(the index check itself) finds no index for a filter on fields no index leads with', () => {
    expect(servingIndex('messages', { orgId: 1, subject: 'x' })).toBeNull();
    expect(servingIndex('messages', { orgId: 1, participants: { $in: ['a@b.test'] } })).toBe('orgId_participants_date');
    expect(servingIndex('deals', { orgId: 1, $or: [{ contactIds: 1 }, { name: 'x' }] })).toBeNull();
    expect(
      unindexedQueries([
        { collection: 'messages', method: 'find', filter: { orgId: 1, subject: 'x' } },
        { collection: 'messages', method: 'updateOne', filter: { orgId: 1, text: 'x' } },
        { collection: 'messages', method: 'find', filter: { _id: 1, subject: 'x' } },
        { collection: 'messages', method: 'insertOne', filter: {} },
      ]),
    ).toEqual(['messages.find {"orgId":1,"subject":"x"}', 'messages.updateOne {"orgId":1,"text":"x"}']);
  });

  const onMongo = process.env.THREADLINE_TEST_DB_KIND === 'ferretdb' ? it.skip : it;
  onMongo('uses an index for every query (no COLLSCAN in any winning plan)', async () => {
    const queries = [...(await recordQueries(sidebar)), ...(await recordQueries(addon))].filter((q) => q.method === 'find' || q.method === 'findOne');
    for (const q of queries) {
      const db = mongoose.connection.db!;
      const plan = await db.collection(q.collection).find(q.filter, q.options).explain('queryPlanner');
      expect({ query: `${q.collection} ${JSON.stringify(q.filter)}`, scans: JSON.stringify(plan.queryPlanner.winningPlan).includes('COLLSCAN') }).toEqual({
        query: `${q.collection} ${JSON.stringify(q.filter)}`,
        scans: false,
      });
    }
  });
});

describe('copies', () => {
  it("shows each message's state from the caller's own copy", async () => {
    const newest = await runInOrg(orgId, () => Message.findOne({ dedupKey: 'mid:311@bench' }).lean<{ _id: Types.ObjectId }>());
    const mailbox = await runInOrg(orgId, () => Mailbox.findOne({ userId: callerId }).lean<{ _id: Types.ObjectId }>());
    await runInOrg(orgId, async () => {
      await MailboxMessage.deleteMany({ messageId: newest!._id });
      const copy = await MailboxMessage.create({
        mailboxId: mailbox!._id,
        userId: callerId,
        messageId: newest!._id,
        providerMessageId: 'p304',
        state: { read: true, starred: true },
      });
      await indexCopies([{ copyId: copy._id, messageId: newest!._id, date: new Date(), participants: [] }]);
    });
    const result = await sidebar();
    expect(result.recentMessages[0].state).toMatchObject({ read: true, starred: true });
    expect(result.deals.map((d) => d.name)).toEqual(['Renewal']);
  });
});
