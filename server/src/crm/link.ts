/**
 * Linking past mail to a contact when it is created or edited (docs/SYNC.md "Linking"; `POST /api/contacts` in
 * server/openapi.yaml: linked at once). New mail is linked during the ingest from the run's OrgDirectory; this is the
 * other direction.
 */
import mongoose, { type Types } from 'mongoose';
import { Company, Deal, Message } from '../models';
import { runInOrg } from '../db/tenant';
import { companyDomainFor } from '../mail/domains';
import { normaliseAddress } from '../mail/address';
import { markDirectoryChanged } from './directory';

export interface RelinkableContact {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  emails: string[];
  companyId?: Types.ObjectId | null;
}

/**
 * Adds the contact (and its company and deals) to every message with one of its addresses, and removes it from
 * messages that no longer carry any of them (an address was edited away). Two updates, whatever the mail volume.
 */
export async function relinkContact(contact: RelinkableContact): Promise<{ linked: number; unlinked: number }> {
  const emails = [...new Set(contact.emails.map(normaliseAddress).filter((e): e is string => e !== null))];
  return runInOrg(contact.orgId, async () => {
    await markDirectoryChanged();
    const companyIds = new Map<string, Types.ObjectId>();
    if (contact.companyId) companyIds.set(String(contact.companyId), contact.companyId);
    const domains = [...new Set(emails.map(companyDomainFor).filter((d): d is string => d !== null))];
    for (const domain of domains) {
      const company = await Company.findOne({ domains: domain }, { _id: 1 }).lean();
      if (company) companyIds.set(String(company._id), company._id);
    }
    const dealFilter = [{ contactIds: contact._id }, ...[...companyIds.values()].map((companyId) => ({ companyId }))];
    const deals = await Deal.find(mongoose.trusted({ $or: dealFilter }), { _id: 1 }).lean();

    const linked =
      emails.length === 0
        ? { modifiedCount: 0 }
        : await Message.updateMany(
            { participants: mongoose.trusted({ $in: emails }) },
            { $addToSet: { contactIds: contact._id, companyIds: { $each: [...companyIds.values()] }, dealIds: { $each: deals.map((d) => d._id) } } },
          );
    const unlinked = await Message.updateMany(
      { contactIds: contact._id, participants: mongoose.trusted({ $nin: emails }) },
      { $pull: { contactIds: contact._id } },
    );
    return { linked: linked.modifiedCount, unlinked: unlinked.modifiedCount };
  });
}
