/**
 * Pending OAuth sign-ins (a mailbox connect, a tenant added to an organisation): the `state` sent to the provider
 * names its organisation (`<orgId hex>.<random>`) and is used once.
 */
import mongoose from 'mongoose';
import { runInOrg } from '../db/tenant';
import { OAuthState, type OAuthStateDoc } from '../models/audit';

/**
 * Takes a state for good: whoever deletes it wins, so a replay — even a concurrent one — finds nothing. A delete of
 * one document is atomic on MongoDB and on FerretDB alike, whereas FerretDB 1.24 ran findOneAndUpdate as a read
 * then a write, which two concurrent callbacks could both win. Null when the state is malformed, unknown, expired,
 * already used, or of another provider or purpose (a connect state never completes a realm callback, nor back).
 * States written before `purpose` existed are connects.
 */
export async function takeOAuthState(state: string, match: Pick<OAuthStateDoc, 'provider'> & { purpose: 'connect' | 'realm' }): Promise<OAuthStateDoc | null> {
  const orgHex = state.split('.')[0] ?? '';
  if (!/^[0-9a-f]{24}$/.test(orgHex)) return null;
  return runInOrg(orgHex, async () => {
    const purpose = match.purpose === 'realm' ? 'realm' : mongoose.trusted({ $ne: 'realm' });
    const doc = await OAuthState.findOne({ state, provider: match.provider, purpose, expiresAt: mongoose.trusted({ $gt: new Date() }) }).lean<OAuthStateDoc>();
    if (!doc) return null;
    const { deletedCount } = await OAuthState.deleteOne({ _id: doc._id });
    return deletedCount === 1 ? doc : null;
  });
}
