/**
 * The organisation's snapshot against the real database: one read by `_id` per ask while its people have not
 * changed, the people read again after any write of a user or a signed-out session (through whatever mongoose
 * path), a write by another process seen through the version it moves, and one snapshot per request.
 */
import { Types } from 'mongoose';
import { recordQueries } from '../../../test/helpers/query-log';
import { useTestDatabase } from '../../../test/helpers/db';
import { enterOrg, runAsSystem, runInOrg } from '../db/tenant';
import { Org } from '../models/org';
import { SessionRevocation } from '../models/session-revocation';
import { User } from '../models/user';
import { forgetOrgSnapshots, loadOrgSnapshot, orgSnapshot, userIn, withRequestSnapshot } from './org-snapshot';

useTestDatabase();

const orgId = new Types.ObjectId();
const otherOrgId = new Types.ObjectId();
let ada: Types.ObjectId;

beforeAll(async () => {
  await Org.create({ _id: orgId, key: 'snapshot.test', name: 'Snapshot', domains: ['snapshot.test'] });
  await Org.create({ _id: otherOrgId, key: 'other.test', name: 'Other', domains: ['other.test'] });
  ada = await runInOrg(orgId, async () => (await User.create({ email: 'ada@snapshot.test', role: 'admin', identityKey: 'google:ada' }))._id);
  await runInOrg(otherOrgId, () => User.create({ email: 'zed@other.test', role: 'admin', identityKey: 'google:zed' }));
});

/** A little more than store/org-snapshot.ts ORG_REUSE_MS. */
const REUSE_MS = 120;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const inOrg = <T>(fn: () => Promise<T>) => runInOrg(orgId, fn);
const version = async () => (await Org.findById(orgId).lean())?.peopleVersion ?? 0;
const collections = (reads: { collection: string }[]) => reads.map((r) => r.collection).sort();

describe('the organisation snapshot', () => {
  it('holds the organisation, its own users only, and reads only the organisation while its people stand still', async () => {
    const first = await inOrg(loadOrgSnapshot);
    expect(first.org?.domains).toEqual(['snapshot.test']);
    expect(first.users.map((u) => u.email)).toEqual(['ada@snapshot.test']);
    expect(userIn(first, ada)?.role).toBe('admin');
    // Within ORG_REUSE_MS of a read, the organisation read is shared; after it, the organisation alone is read again.
    expect(await recordQueries(() => inOrg(loadOrgSnapshot))).toEqual([]);
    await pause(REUSE_MS);
    const reads = await recordQueries(() => inOrg(loadOrgSnapshot));
    expect(collections(reads)).toEqual(['orgs']);
  });

  it('reads the organisation again at once after this process wrote one', async () => {
    await inOrg(loadOrgSnapshot);
    await Org.updateOne({ _id: orgId }, { $set: { name: 'Snapshot Ltd' } });
    expect(collections(await recordQueries(() => inOrg(loadOrgSnapshot)))).toEqual(['orgs']);
  });

  it('moves the version on every kind of write of a user, and the next snapshot shows the change', async () => {
    const writes: [string, () => Promise<unknown>][] = [
      ['updateOne', () => User.updateOne({ _id: ada }, { $set: { name: 'Ada L' } })],
      ['findOneAndUpdate', () => User.findOneAndUpdate({ _id: ada }, { $set: { role: 'member' } })],
      ['save', async () => (await User.findById(ada))!.set({ disabled: true }).save()],
      ['create', () => User.create({ email: 'bob@snapshot.test', role: 'member', identityKey: 'google:bob' })],
      ['insertMany', () => User.insertMany([{ email: 'cy@snapshot.test', role: 'member', identityKey: 'google:cy' }])],
      ['deleteOne', () => User.deleteOne({ email: 'cy@snapshot.test' })],
      ['updateMany', () => User.updateMany({}, { $set: { sessionsNotBefore: new Date(0) } })],
    ];
    for (const [name, write] of writes) {
      const before = await version();
      await inOrg(write);
      expect([name, await version()]).toEqual([name, before + 1]);
    }
    const snapshot = await inOrg(loadOrgSnapshot);
    expect(snapshot.users.map((u) => u.email).sort()).toEqual(['ada@snapshot.test', 'bob@snapshot.test']);
    expect(userIn(snapshot, ada)).toMatchObject({ name: 'Ada L', role: 'member', disabled: true, sessionsNotBefore: new Date(0) });
    // The other organisation's people did not move.
    expect((await Org.findById(otherOrgId).lean())?.peopleVersion ?? 0).toBe(1);
  });

  it('a system write (no organisation of its own) moves the version of the organisations it matched', async () => {
    const before = await version();
    await runAsSystem('test: rename across organisations', () => User.updateMany({ email: 'bob@snapshot.test' }, { $set: { name: 'Bob' } }));
    expect(await version()).toBe(before + 1);
  });

  it('sees a signed-out session at once', async () => {
    const jti = 'tok-1';
    expect((await inOrg(loadOrgSnapshot)).revoked.has(jti)).toBe(false);
    await inOrg(() => SessionRevocation.create({ _id: jti, userId: ada, expiresAt: new Date(Date.now() + 60_000) }));
    expect((await inOrg(loadOrgSnapshot)).revoked.has(jti)).toBe(true);
    // An expired revocation is not kept (its token has expired anyway).
    await inOrg(() => SessionRevocation.create({ _id: 'tok-old', userId: ada, expiresAt: new Date(Date.now() - 1000) }));
    expect((await inOrg(loadOrgSnapshot)).revoked.has('tok-old')).toBe(false);
  });

  it("sees another process's write through the version, and only then", async () => {
    await inOrg(loadOrgSnapshot);
    // Behind mongoose's back (another process writing: this one's hooks do not run).
    await User.collection.updateOne({ _id: ada }, { $set: { role: 'admin' } });
    expect(userIn(await inOrg(loadOrgSnapshot), ada)?.role).toBe('member');
    await Org.collection.updateOne({ _id: orgId }, { $inc: { peopleVersion: 1 } });
    // The organisation itself is read again once the last read is ORG_REUSE_MS old.
    await pause(REUSE_MS);
    expect(userIn(await inOrg(loadOrgSnapshot), ada)?.role).toBe('admin');
  });

  it('reads once per request, and again after the request itself wrote people', async () => {
    forgetOrgSnapshots();
    const reads = await recordQueries(
      () =>
        new Promise<void>((resolve, reject) =>
          enterOrg(orgId, () =>
            withRequestSnapshot(() => {
              (async () => {
                const a = await orgSnapshot();
                const b = await orgSnapshot();
                expect(b).toBe(a);
                await User.updateOne({ _id: ada }, { $set: { name: 'Ada Lovelace' } });
                expect(userIn(await orgSnapshot(), ada)?.name).toBe('Ada Lovelace');
              })().then(resolve, reject);
            }),
          ),
        ),
    );
    const reads0 = reads.filter((r) => ['find', 'findOne'].includes(r.method));
    // Two snapshots (before and after the write), each the organisation, its users and its signed-out sessions.
    expect(collections(reads0)).toEqual(['orgs', 'orgs', 'sessionrevocations', 'sessionrevocations', 'users', 'users']);
  });
});
