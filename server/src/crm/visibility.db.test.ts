/**
 * The list filter is exact: on the real database, `visibleFilter()` matches precisely the messages `access()` lets
 * the caller see, for every caller, across holders at every level and every kind of per-message override. A list
 * page is therefore never short because of hidden mail, and never holds a message the caller may not open.
 */
import { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { createOrg } from '../../../test/fakes/engine-fixture';
import { runInOrg } from '../db/tenant';
import { Message, Org, User } from '../models';
import { buildPolicy, loadVisibility, VISIBILITY_LEVELS, type LevelOverrides, type VisibilityLevel } from './visibility';

useTestDatabase();

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

it('visibleFilter() selects exactly what access() allows, for every caller', async () => {
  const orgId = await createOrg();
  await Org.updateOne({ _id: orgId }, { $set: { 'settings.sharing.defaultVisibility': 'metadata' } });
  const levels: (VisibilityLevel | null)[] = ['full', 'metadata', 'private', null, 'private', 'full'];
  const users = await runInOrg(orgId, () =>
    Promise.all(
      levels.map((visibility, i) => User.create({ email: `u${i}@acme.test`, role: 'member', identityKey: `google:u${i}`, settings: { visibility } })),
    ),
  );
  const ids = users.map((u) => u._id as Types.ObjectId);
  const departed = new Types.ObjectId(); // a holder who left the organisation, with an override left behind
  const random = rng(17);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];

  const docs = Array.from({ length: 160 }, (_, n) => {
    const holders = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick([...ids, departed])))];
    const levelOverrides: Record<VisibilityLevel, Types.ObjectId[]> = { private: [], metadata: [], full: [] };
    for (const h of holders) if (random() < 0.45) levelOverrides[pick(VISIBILITY_LEVELS)].push(h);
    return {
      dedupKey: `mid:v${n}@test`,
      subject: `m${n}`,
      date: new Date(2026, 0, 1 + n),
      direction: 'inbound',
      participants: ['pat@initech.com'],
      syncedBy: holders,
      ...(random() < 0.2 ? {} : { levelOverrides }),
    };
  });
  await runInOrg(orgId, () => Message.insertMany(docs));

  await runInOrg(orgId, async () => {
    const all = await Message.find({}).select({ syncedBy: 1, levelOverrides: 1, subject: 1 }).lean();
    expect(all).toHaveLength(160);
    let seen = 0;
    for (const caller of ids) {
      const policy = await loadVisibility(caller);
      const expected = all
        .filter((m) => policy.access(m) !== 'none')
        .map((m) => m.subject)
        .sort();
      const listed = (
        await Message.find({ $and: [{ participants: 'pat@initech.com' }, policy.visibleFilter()] })
          .select({ subject: 1 })
          .lean()
      )
        .map((m) => m.subject)
        .sort();
      expect(listed).toEqual(expected);
      seen += expected.length;
    }
    // The data exercises both sides: some mail is visible to others, some is not.
    expect(seen).toBeGreaterThan(160);
    expect(seen).toBeLessThan(160 * ids.length);
  });
});

it('an override hides or shares that one message and no other of the same holder', async () => {
  const orgId = await createOrg();
  const [sharer, keeper, reader] = await runInOrg(orgId, () =>
    Promise.all(
      ['full', 'private', 'full'].map((visibility, i) =>
        User.create({ email: `w${i}@acme.test`, role: 'member', identityKey: `google:w${i}`, settings: { visibility } }),
      ),
    ),
  );
  const overrides = (o: LevelOverrides) => o;
  await runInOrg(orgId, () =>
    Message.insertMany([
      { dedupKey: 'mid:a@t', subject: 'shared as usual', date: new Date(), direction: 'inbound', syncedBy: [sharer._id] },
      {
        dedupKey: 'mid:b@t',
        subject: 'made private',
        date: new Date(),
        direction: 'inbound',
        syncedBy: [sharer._id],
        levelOverrides: overrides({ private: [sharer._id] }),
      },
      { dedupKey: 'mid:c@t', subject: 'private as usual', date: new Date(), direction: 'inbound', syncedBy: [keeper._id] },
      {
        dedupKey: 'mid:d@t',
        subject: 'made shared',
        date: new Date(),
        direction: 'inbound',
        syncedBy: [keeper._id],
        levelOverrides: overrides({ metadata: [keeper._id] }),
      },
    ]),
  );
  await runInOrg(orgId, async () => {
    const policy = await loadVisibility(reader._id);
    const listed = (await Message.find(policy.visibleFilter()).select({ subject: 1 }).lean()).map((m) => m.subject).sort();
    expect(listed).toEqual(['made shared', 'shared as usual']);
    // buildPolicy alone agrees (the pure half of loadVisibility).
    const pure = buildPolicy(reader._id, 'full', [
      { _id: sharer._id, visibility: 'full' },
      { _id: keeper._id, visibility: 'private' },
    ]);
    expect(pure.access({ syncedBy: [keeper._id], levelOverrides: { metadata: [keeper._id] } })).toBe('metadata');
  });
});
