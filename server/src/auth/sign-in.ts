/**
 * First sign-in creates the organisation (Google Workspace domain, Microsoft tenant, or the lone user) and
 * the user; the first user of an organisation is its admin. Idempotent and safe under concurrent sign-ins:
 * the org is an upsert, and admin is claimed with a compare-and-set on `firstUserId`.
 */
import mongoose, { Types } from 'mongoose';
import { runInOrg } from '../db/tenant';
import { Org, OrgDoc } from '../models/org';
import { User, UserDoc } from '../models/user';
import type { VerifiedIdentity } from './identity';
import { domainOf } from '../sync/ingest/address';

export async function signIn(identity: VerifiedIdentity): Promise<{ org: OrgDoc; user: UserDoc }> {
  const domain = domainOf(identity.email);
  const org = await Org.findOneAndUpdate(
    { key: identity.orgKey },
    { $setOnInsert: { key: identity.orgKey, name: identity.orgName }, $addToSet: { domains: domain } },
    { upsert: true, new: true },
  ).lean<OrgDoc>();
  if (!org) throw new Error('organisation upsert returned nothing');

  const identityKey = `${identity.provider}:${identity.subject}`;
  return runInOrg(org._id, async () => {
    let user = await User.findOneAndUpdate(
      { identityKey },
      { $setOnInsert: { identityKey, role: 'member' }, $set: { email: identity.email, ...(identity.name ? { name: identity.name } : {}) } },
      { upsert: true, new: true },
    ).lean<UserDoc>();
    if (!user) throw new Error('user upsert returned nothing');
    if (!org.firstUserId) {
      const claimed = await Org.updateOne({ _id: org._id, firstUserId: null }, { $set: { firstUserId: user._id } });
      if (claimed.modifiedCount === 1) {
        user = (await User.findOneAndUpdate({ _id: user._id }, { $set: { role: 'admin' } }, { new: true }).lean<UserDoc>())!;
        org.firstUserId = user._id;
      }
    }
    return { org, user };
  });
}

export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && mongoose.isValidObjectId(value) && new Types.ObjectId(value).toHexString() === value;
}
