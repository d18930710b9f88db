import { Types } from 'mongoose';
import { useTestDatabase } from '../../../../test/helpers/db';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { Mailbox } from '../../models/mailbox';
import { SyncLock } from '../../models/sync-lock';
import { stableId } from '../../models/ids';
import { acquireLease } from './lease';

useTestDatabase();

const orgId = new Types.ObjectId();

async function mailboxWithOrphanClaim(claimAgeMs: number): Promise<Types.ObjectId> {
  const id = (await runInOrg(orgId, () => Mailbox.create({ userId: new Types.ObjectId(), provider: 'google', address: `x${claimAgeMs}@acme.test` })))._id;
  // Generation 1 claimed, but its lease write never landed (the claimant died, or its write was undone).
  const key = `lease:${String(id)}:1`;
  await runAsSystem('test', () =>
    SyncLock.create({ _id: stableId(orgId, 'lock', key), orgId, key, owner: 'dead-worker', at: new Date(Date.now() - claimAgeMs) }),
  );
  return id;
}

describe('mailbox leases', () => {
  it('claims past a generation whose claim is orphaned (old, and never became a lease)', async () => {
    const id = await mailboxWithOrphanClaim(10_000);
    const taken = await acquireLease(id, 'worker-b', 60, new Date());
    expect(taken?.lease).toMatchObject({ owner: 'worker-b', gen: 2 });
  });

  it('does not claim past a fresh claim: its holder may still be writing the lease', async () => {
    const id = await mailboxWithOrphanClaim(500);
    expect(await acquireLease(id, 'worker-b', 60, new Date())).toBeNull();
  });
});
