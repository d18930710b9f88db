/**
 * Identity realms against the real embedded database: a realm belongs to one organisation (its first sign-in
 * claims it), an admin can attach a further one, sign-ins follow the attachment, and a realm already in use —
 * claimed, or the key of an older organisation with users — is refused without changing anything.
 */
import type { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { runAsSystem, runInOrg } from '../db/tenant';
import { Org, OrgRealm, User } from '../models';
import type { VerifiedIdentity } from './identity';
import { attachRealm, claimRealm, orgOfRealm, RealmError } from './realms';
import { signIn } from './sign-in';

useTestDatabase();

const google = (email: string, sub = `sub-${email}`): VerifiedIdentity => {
  const hd = email.split('@')[1]!;
  return { provider: 'google', orgKey: `google:${hd}`, orgName: hd, subject: sub, email };
};
const microsoft = (email: string, tid: string): VerifiedIdentity => ({
  provider: 'microsoft',
  orgKey: `microsoft:${tid}`,
  orgName: email.split('@')[1]!,
  subject: `${tid}:oid-${email}`,
  email,
});
const attachAs = (orgId: Types.ObjectId, userId: Types.ObjectId, tid: string) =>
  attachRealm(orgId, `microsoft:${tid}`, { userId, verifiedAs: `admin@${tid}.test`, tenantId: tid });

describe('identity realms', () => {
  it('claims the realm of a new organisation at its first sign-in', async () => {
    const { org } = await signIn(google('ada@realm-one.test'));
    expect(String(await orgOfRealm('google:realm-one.test'))).toBe(String(org._id));
    const realm = await runInOrg(org._id, () => OrgRealm.findById('google:realm-one.test').lean());
    expect(realm).toMatchObject({ provider: 'google', via: 'sign-in' });
  });

  it('sends users of an attached Microsoft tenant to the organisation it was attached to, as members', async () => {
    const { org, user } = await signIn(google('grace@realm-two.test'));
    const done = await attachAs(org._id, user._id, 'tenant-two');
    expect(done).toMatchObject({ key: 'microsoft:tenant-two', alreadyAttached: false });
    const henry = await signIn(microsoft('henry@realm-two.test', 'tenant-two'));
    expect(String(henry.org._id)).toBe(String(org._id));
    expect(henry.user.role).toBe('member');
    // No organisation of its own was made for the tenant.
    expect(await Org.countDocuments({ key: 'microsoft:tenant-two' })).toBe(0);
    // Attaching again is harmless.
    expect(await attachAs(org._id, user._id, 'tenant-two')).toMatchObject({ alreadyAttached: true });
  });

  it('refuses (409) a tenant that already has its own organisation with users, and changes nothing', async () => {
    const own = await signIn(microsoft('zed@realm-three.test', 'tenant-three'));
    const { org, user } = await signIn(google('grace@realm-four.test'));
    const err = await attachAs(org._id, user._id, 'tenant-three').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RealmError);
    expect(err).toMatchObject({ code: 'realm_in_use', status: 409, details: { users: 1 } });
    expect(String(await orgOfRealm('microsoft:tenant-three'))).toBe(String(own.org._id));
    expect(String((await signIn(microsoft('zed@realm-three.test', 'tenant-three'))).org._id)).toBe(String(own.org._id));
  });

  it('refuses a realm whose organisation predates realms and has users, and leaves no claim behind', async () => {
    // An organisation made before realms were recorded: an org keyed by the tenant, with a user, and no realm.
    const legacy = await Org.create({ key: 'microsoft:tenant-five', name: 'legacy.test' });
    await runInOrg(legacy._id, () => User.create({ email: 'old@legacy.test', role: 'admin', identityKey: 'microsoft:tenant-five:oid-old' }));
    const { org, user } = await signIn(google('grace@realm-six.test'));
    await expect(attachAs(org._id, user._id, 'tenant-five')).rejects.toMatchObject({ code: 'realm_in_use' });
    expect(await runAsSystem('test', () => OrgRealm.countDocuments({ _id: 'microsoft:tenant-five' }))).toBe(0);
    // Its users still sign in there (and now claim the realm for it).
    expect(String((await signIn(microsoft('old@legacy.test', 'tenant-five'))).org._id)).toBe(String(legacy._id));
    expect(String(await orgOfRealm('microsoft:tenant-five'))).toBe(String(legacy._id));
  });

  it('gives a realm to exactly one organisation when claims race', async () => {
    const orgs = await Promise.all(Array.from({ length: 6 }, (_, i) => Org.create({ key: `google:race-${i}.test`, name: `race ${i}` })));
    const claims = await Promise.all(orgs.map((o) => claimRealm('microsoft:tenant-race', o._id, { via: 'admin' })));
    expect(claims.filter((c) => c.created)).toHaveLength(1);
    const winner = claims.find((c) => c.created)!.orgId;
    expect(claims.every((c) => String(c.orgId) === String(winner))).toBe(true);
  });
});
