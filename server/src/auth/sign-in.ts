/**
 * First sign-in creates the organisation (Google Workspace domain, Microsoft tenant, or the lone user) and
 * the user — or joins the organisation an admin attached the realm to (auth/realms.ts); the first user of an
 * organisation is its admin. Idempotent and safe under concurrent sign-ins:
 * the org is an upsert, and admin is claimed by inserting one lock document under a unique index — an insert is
 * atomic on MongoDB and FerretDB alike, where FerretDB 1.24 runs a conditional update as a read then a write.
 */
import mongoose, { Types } from 'mongoose';
import { isDuplicateKey } from '../db/errors';
import { runInOrg } from '../db/tenant';
import { Org, type OrgDoc } from '../models/org';
import { SyncLock } from '../models/sync-lock';
import { User, type UserDoc } from '../models/user';
import type { VerifiedIdentity } from './identity';
import { claimRealm, orgOfRealm } from './realms';
import { domainOf } from '../mail/address';

export async function signIn(identity: VerifiedIdentity): Promise<{ org: OrgDoc; user: UserDoc }> {
  const org = await organisationOf(identity);

  const identityKey = `${identity.provider}:${identity.subject}`;
  return runInOrg(org._id, async () => {
    let user = await upsertOnce(() =>
      User.findOneAndUpdate(
        { identityKey },
        { $setOnInsert: { identityKey, role: 'member' }, $set: { email: identity.email, ...(identity.name ? { name: identity.name } : {}) } },
        { upsert: true, new: true },
      ).lean<UserDoc>(),
    );
    if (!user) throw new Error('user upsert returned nothing');
    if (!org.firstUserId && (await claimFirstAdmin(user._id))) {
      await Org.updateOne({ _id: org._id }, { $set: { firstUserId: user._id } });
      user = (await User.findOneAndUpdate({ _id: user._id }, { $set: { role: 'admin' } }, { new: true }).lean<UserDoc>())!;
      org.firstUserId = user._id;
    }
    return { org, user };
  });
}

/**
 * The organisation of the identity's realm (auth/realms.ts): the one the realm was attached to, else the realm's
 * own, created on its first sign-in, which then claims the realm. Should an admin attach the realm to another
 * organisation between our look-up and our claim, the claim loses and the sign-in goes there instead.
 */
async function organisationOf(identity: VerifiedIdentity): Promise<OrgDoc> {
  const domain = domainOf(identity.email);
  const addDomain = (orgId: Types.ObjectId) => Org.findOneAndUpdate({ _id: orgId }, { $addToSet: { domains: domain } }, { new: true }).lean<OrgDoc>();
  const mapped = await orgOfRealm(identity.orgKey);
  if (mapped) {
    const org = await addDomain(mapped);
    if (org) return org;
  }
  const own = await upsertOnce(() =>
    Org.findOneAndUpdate(
      { key: identity.orgKey },
      { $setOnInsert: { key: identity.orgKey, name: identity.orgName }, $addToSet: { domains: domain } },
      { upsert: true, new: true },
    ).lean<OrgDoc>(),
  );
  if (!own) throw new Error('organisation upsert returned nothing');
  const claim = await claimRealm(identity.orgKey, own._id, { via: 'sign-in' });
  if (claim.orgId.equals(own._id)) return own;
  const attached = await addDomain(claim.orgId);
  if (!attached) throw new Error('the organisation holding this realm is gone');
  return attached;
}

/** Two concurrent upserts of one new key: one inserts, the other hits the unique index; its retry finds the row. */
async function upsertOnce<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isDuplicateKey(err)) return run();
    throw err;
  }
}

/** True for exactly one caller per organisation, ever (the unique (orgId, key) index of sync locks decides). */
async function claimFirstAdmin(userId: Types.ObjectId): Promise<boolean> {
  try {
    await SyncLock.create({ key: 'org:first-admin', owner: String(userId), at: new Date() });
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && mongoose.isValidObjectId(value) && new Types.ObjectId(value).toHexString() === value;
}
