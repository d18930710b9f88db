/**
 * The mail read model against the real database: newest-first answers across addresses that count only accepted
 * messages, paging, removal with the mail, and a rebuild that restores what was lost and drops what is stale.
 */
import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { runInOrg } from '../db/tenant';
import { MailboxMessage } from '../models/mailbox-message';
import { Message, type MessageDoc } from '../models/message';
import { Org } from '../models/org';
import { Activity, CopyRef } from '../models/read-model';
import { removeCopies, removeMessages } from '../sync/ingest/removal';
import { recordQueries } from '../../../test/helpers/query-log';
import { addressSources, copiesOf, domainSources, foldAllCopyRefs, foldCopyRefs, indexCopies, indexMessages, newestWith } from './activity';
import { key, prefixRange } from './keys';
import { rebuildReadModels } from './rebuild';

useTestDatabase();

const orgId = new Types.ObjectId();
const ada = new Types.ObjectId();
const bob = new Types.ObjectId();
const mailboxA = new Types.ObjectId();
const mailboxB = new Types.ObjectId();
const t0 = Date.UTC(2025, 0, 1);

/** A message with its participants and one copy per holder, indexed as the ingest does. */
async function store(n: number, participants: string[], holders: Types.ObjectId[], index = true): Promise<MessageDoc> {
  return runInOrg(orgId, async () => {
    const doc = (
      await Message.create({
        dedupKey: `mid:${n}@t`,
        subject: `s${n}`,
        date: new Date(t0 + n * 60_000),
        direction: 'inbound',
        participants,
        syncedBy: holders,
      })
    ).toObject() as MessageDoc;
    for (const h of holders) {
      const copy = await MailboxMessage.create({
        mailboxId: h.equals(ada) ? mailboxA : mailboxB,
        userId: h,
        messageId: doc._id,
        providerMessageId: `p${n}-${String(h)}`,
      });
      if (index) await indexCopies([{ copyId: copy._id, messageId: doc._id, date: doc.date, participants }]);
    }
    return doc;
  });
}

const load = (ids: Types.ObjectId[]) => Message.find({ _id: mongoose.trusted({ $in: ids }) }).lean<MessageDoc[]>();
const subjects = (docs: MessageDoc[]) => docs.map((d) => d.subject);
const visibleToAda = (d: MessageDoc) => d.syncedBy.some((h) => h.equals(ada));

/** The stored message, with the copy ids it lists. */
const reread = (doc: MessageDoc) => runInOrg(orgId, async () => (await Message.findById(doc._id).lean<MessageDoc>()) ?? { ...doc, copyIds: [] });
const holdersOf = async (doc: MessageDoc, org = orgId) =>
  ((await runInOrg(org, () => copiesOf([doc]))).get(String(doc._id)) ?? []).map((c) => String(c.userId)).sort();

beforeAll(async () => {
  await Org.create({ _id: orgId, key: 'activity-test', name: 'Activity test' });
  // jane: 1..20 (ada); sam: 5, 15, 25 (ada), with jane on 15; 21..60 jane again but only bob holds them (private to ada).
  for (let n = 1; n <= 20; n++) await store(n, n === 15 ? ['jane@globex.com', 'sam@initech.com'] : ['jane@globex.com'], [ada]);
  for (const n of [5, 25]) await store(100 + n, ['sam@initech.com'], [ada]);
  for (let n = 21; n <= 60; n++) await store(n, ['jane@globex.com'], [bob]);
});

describe('newestWith', () => {
  it('merges addresses newest first, once per message', async () => {
    const docs = await runInOrg(orgId, () => newestWith(addressSources(['jane@globex.com', 'sam@initech.com']), 5, load, () => true));
    expect(subjects(docs)).toEqual(['s125', 's105', 's60', 's59', 's58']);
    const both = await runInOrg(orgId, () => newestWith(addressSources(['jane@globex.com', 'sam@initech.com']), 100, load, () => true));
    expect(both.filter((d) => d.subject === 's15')).toHaveLength(1);
    expect(both).toHaveLength(62);
  });

  it('counts only accepted messages: forty newer ones turned down do not crowd out the older', async () => {
    const docs = await runInOrg(orgId, () => newestWith(addressSources(['jane@globex.com']), 3, load, visibleToAda));
    expect(subjects(docs)).toEqual(['s20', 's19', 's18']);
  });

  it('pages strictly before a position, ties on the date broken by id', async () => {
    const first = await runInOrg(orgId, () => newestWith(addressSources(['jane@globex.com']), 4, load, visibleToAda));
    const last = first[first.length - 1];
    const next = await runInOrg(orgId, () => newestWith(addressSources(['jane@globex.com']), 4, load, visibleToAda, { date: last.date, messageId: last._id }));
    expect(subjects(next)).toEqual(['s16', 's15', 's14', 's13']);
  });

  it('reads a company domain as one source: everyone at globex.com, never a free-mail domain', async () => {
    await store(400, ['li@globex.com', 'someone@gmail.com'], [ada]);
    const docs = await runInOrg(orgId, () => newestWith(domainSources(['globex.com']), 2, load, () => true));
    expect(subjects(docs)).toEqual(['s400', 's60']);
    expect(await runInOrg(orgId, () => newestWith(domainSources(['gmail.com']), 2, load, () => true))).toEqual([]);
  });

  it('answers nothing for an address nobody wrote to, or one that cannot be a key', async () => {
    expect(await runInOrg(orgId, () => newestWith(addressSources(['nobody@x.test', 'a b@x.test']), 5, load, () => true))).toEqual([]);
  });
});

describe('newestWith against every message read in full', () => {
  const other = new Types.ObjectId();
  const people = ['a@one.test', 'b@two.test', 'c@three.test', 'd@four.test'];
  let all: MessageDoc[] = [];

  beforeAll(async () => {
    // 300 messages over four people, one to three each, with many dates shared (ties are ordered by id), a third
    // of them held by bob only.
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const docs = Array.from({ length: 300 }, (_, n) => ({
      _id: new Types.ObjectId(),
      orgId: other,
      dedupKey: `mid:${n}@full`,
      subject: `f${n}`,
      date: new Date(t0 + Math.floor(random() * 120) * 60_000),
      direction: 'inbound',
      participants: people.filter(() => random() < 0.4).concat(people[n % 4]),
      syncedBy: [random() < 0.33 ? bob : ada],
    }));
    await runInOrg(other, async () => {
      await Message.insertMany(docs);
      await indexMessages(docs.map((d) => ({ messageId: d._id, date: d.date, participants: d.participants })));
    });
    all = await runInOrg(other, () => Message.find({}).lean<MessageDoc[]>());
  });

  /** The answer by brute force: every message with one of the addresses, newest first (ties by id), accepted. */
  const expected = (addresses: string[], limit: number, accept: (d: MessageDoc) => boolean, before?: MessageDoc) =>
    all
      .filter((d) => d.participants.some((p) => addresses.includes(p)))
      .sort((x, y) => y.date.getTime() - x.date.getTime() || (String(y._id) < String(x._id) ? -1 : 1))
      .filter((d) => !before || d.date < before.date || (d.date.getTime() === before.date.getTime() && String(d._id) < String(before._id)))
      .filter(accept)
      .slice(0, limit)
      .map((d) => d.subject);

  it.each([
    [['a@one.test'], 10],
    [['a@one.test', 'b@two.test'], 10],
    [people, 25],
    [people, 1],
    [['b@two.test', 'c@three.test', 'nobody@x.test'], 200],
  ])('%j, newest %d, with everything and with what ada holds, from the start and from a position', async (addresses, limit) => {
    for (const accept of [() => true, visibleToAda]) {
      const first = await runInOrg(other, () => newestWith(addressSources(addresses), limit, load, accept));
      expect(subjects(first)).toEqual(expected(addresses, limit, accept));
      const from = first[Math.floor(first.length / 2)];
      const next = await runInOrg(other, () => newestWith(addressSources(addresses), limit, load, accept, { date: from.date, messageId: from._id }));
      expect(subjects(next)).toEqual(expected(addresses, limit, accept, from));
    }
  });

  it('reads one page per source when every message is accepted', async () => {
    const queries = await recordQueries(() => runInOrg(other, () => newestWith(addressSources(people.slice(0, 3)), 10, load, () => true)));
    expect(queries.filter((q) => q.collection === 'activities')).toHaveLength(3);
  });
});

describe('copies and removal', () => {
  it("finds a message's copies by key, and forgets them with the mail", async () => {
    const doc = await store(200, ['kim@umbrella.test'], [ada, bob]);
    const queries = await recordQueries(async () => expect(await holdersOf(await reread(doc))).toEqual([String(ada), String(bob)].sort()));
    // The message lists its copies: no copy refs are read in an organisation that has none.
    expect(queries.filter((q) => q.collection === 'copyrefs')).toHaveLength(0);

    await runInOrg(orgId, () => removeCopies({ messageId: doc._id, userId: bob }, bob));
    expect((await reread(doc)).copyIds).toHaveLength(1);
    expect(await holdersOf(await reread(doc))).toEqual([String(ada)]);
    await runInOrg(orgId, () => removeMessages([doc._id]));
    expect(await holdersOf(await reread(doc))).toEqual([]);
    const left = await runInOrg(orgId, () => Activity.countDocuments({ _id: mongoose.trusted(prefixRange(orgId, 'a', ['kim@umbrella.test'])) }));
    expect(left).toBe(0);
  });
});

describe('rebuild', () => {
  it('indexes mail the read model lost, drops entries of mail that is gone, and changes nothing when run again', async () => {
    const unindexed = await store(300, ['lee@soylent.test'], [ada], false);
    const ghost = new Types.ObjectId();
    await runInOrg(orgId, () =>
      Activity.create({ _id: key(orgId, 'a', 'lee@soylent.test', '2030-01-01T00:00:00.000Z', ghost), messageId: ghost, date: new Date('2030-01-01') }),
    );
    // A message listing a copy that is gone, beside the one it has.
    const listed = await store(301, ['lee@soylent.test'], [ada]);
    await runInOrg(orgId, () => Message.updateOne({ _id: listed._id }, { $addToSet: { copyIds: ghost } }));

    const first = await rebuildReadModels(orgId);
    expect(first).toMatchObject({ staleActivity: 1, staleCopyIds: 1, foldedCopyRefs: 0 });
    const docs = await runInOrg(orgId, () => newestWith(addressSources(['lee@soylent.test']), 5, load, () => true));
    expect(docs.map((d) => String(d._id))).toEqual([String(listed._id), String(unindexed._id)]);
    expect(await holdersOf(await reread(unindexed))).toEqual([String(ada)]);
    expect((await reread(listed)).copyIds?.map(String)).not.toContain(String(ghost));

    const count = () =>
      runInOrg(orgId, async () => [await Activity.countDocuments({}), (await Message.find({}).lean<MessageDoc[]>()).flatMap((m) => m.copyIds ?? []).length]);
    const before = await count();
    expect(await rebuildReadModels(orgId)).toMatchObject({ staleActivity: 0, staleCopyIds: 0 });
    expect(await count()).toEqual(before);
  });
});

describe('an organisation that stored mail before copy ids lived on the messages', () => {
  it('reads its copy refs until they are folded into the messages, then only the messages', async () => {
    const legacy = new Types.ObjectId();
    // As such an organisation's document is: no `copiesOnMessages` (written past mongoose, which would default it).
    await Org.collection.insertOne({ _id: legacy, key: 'legacy-org', name: 'Legacy', domains: [] });
    const doc = await runInOrg(legacy, async () => {
      const m = (
        await Message.create({
          dedupKey: 'mid:legacy@t',
          subject: 'old',
          date: new Date(t0),
          direction: 'inbound',
          participants: ['x@y.test'],
          syncedBy: [ada, bob],
        })
      ).toObject() as MessageDoc;
      const copies = await MailboxMessage.create([
        { mailboxId: mailboxA, userId: ada, messageId: m._id, providerMessageId: 'legacy-a' },
        { mailboxId: mailboxB, userId: bob, messageId: m._id, providerMessageId: 'legacy-b' },
      ]);
      // Ada's copy came before the change (a copy ref), Bob's after it (on the message).
      await CopyRef.create({ _id: key(legacy, 'c', m._id), messageId: m._id, copyIds: [copies[0]._id] });
      await Message.updateOne({ _id: m._id }, { $addToSet: { copyIds: copies[1]._id } });
      return (await Message.findById(m._id).lean<MessageDoc>())!;
    });
    const both = [String(ada), String(bob)].sort();
    expect(await holdersOf(doc, legacy)).toEqual(both);

    // What a process does at start-up: every organisation not yet marked, once.
    expect(await foldAllCopyRefs()).toEqual([{ orgId: String(legacy), folded: 1 }]);
    expect(await foldAllCopyRefs()).toEqual([]);
    expect(await foldCopyRefs(legacy)).toBe(0);
    expect((await Org.findById(legacy).lean())?.copiesOnMessages).toBe(true);
    expect(await runInOrg(legacy, () => CopyRef.countDocuments({}))).toBe(0);
    const folded = (await runInOrg(legacy, () => Message.findById(doc._id).lean<MessageDoc>()))!;
    expect(folded.copyIds).toHaveLength(2);
    const queries = await recordQueries(async () => expect(await holdersOf(folded, legacy)).toEqual(both));
    expect(queries.filter((q) => q.collection === 'copyrefs')).toHaveLength(0);
  });
});

describe('keys', () => {
  it('refuses a part that could make two ranges overlap', () => {
    expect(() => key(orgId, 'a', 'a b@x.test')).toThrow(/printable ASCII without spaces/);
    expect(prefixRange(orgId, 'a', ['x@y.test'])).toEqual({ $gt: `${String(orgId)} a x@y.test `, $lt: `${String(orgId)} a x@y.test \x7f` });
  });
});
