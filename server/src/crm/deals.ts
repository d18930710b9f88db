/**
 * Deals and their mail: a message belongs to a deal through the deal's contacts and company (docs/ARCHITECTURE.md),
 * or because someone attached it (a thread or one message, from a sidebar), so creating or editing a deal relinks
 * past mail at once, as creating a contact does. Runs in the org's context.
 */
import mongoose, { type Types } from 'mongoose';
import { Company, Contact, Deal, type DealDoc } from '../models/crm';
import { Message } from '../models/message';
import { markDirectoryChanged } from './directory';

export class DealReferenceError extends Error {
  constructor(public readonly field: 'contactIds' | 'companyId') {
    super(`${field}: unknown ${field === 'companyId' ? 'company' : 'contact'}`);
  }
}

/** Refuses ids that are not the organisation's own (the tenant scope makes another org's ids simply unknown). */
export async function checkDealReferences(refs: { contactIds?: Types.ObjectId[]; companyId?: Types.ObjectId | null }): Promise<void> {
  if (refs.contactIds?.length) {
    const found = await Contact.countDocuments({ _id: mongoose.trusted({ $in: refs.contactIds }) });
    if (found !== new Set(refs.contactIds.map(String)).size) throw new DealReferenceError('contactIds');
  }
  if (refs.companyId && !(await Company.exists({ _id: refs.companyId }))) throw new DealReferenceError('companyId');
}

type DealLinks = Pick<DealDoc, 'contactIds' | 'companyId' | 'threadIds' | 'messageIds'>;

/** The filter of the messages a deal's contacts, company and attached mail bring to it; null when it has none. */
function dealMailFilter(deal: DealLinks): Record<string, unknown> | null {
  const or: Record<string, unknown>[] = [];
  if (deal.contactIds.length) or.push({ contactIds: mongoose.trusted({ $in: deal.contactIds }) });
  if (deal.companyId) or.push({ companyIds: deal.companyId });
  if (deal.threadIds?.length) or.push({ threadId: mongoose.trusted({ $in: deal.threadIds }) });
  if (deal.messageIds?.length) or.push({ _id: mongoose.trusted({ $in: deal.messageIds }) });
  return or.length ? (mongoose.trusted({ $or: or }) as Record<string, unknown>) : null;
}

/** Makes `messages.dealIds` agree with the deal's current contacts, company and attached mail. Idempotent. */
export async function relinkDeal(deal: Pick<DealDoc, '_id'> & DealLinks): Promise<void> {
  await markDirectoryChanged();
  const filter = dealMailFilter(deal);
  // Unlink what no longer belongs, then link what does: the two steps commute with concurrent ingest,
  // which links new mail to deals itself.
  await Message.updateMany(filter ? mongoose.trusted({ dealIds: deal._id, $nor: [filter] }) : { dealIds: deal._id }, { $pull: { dealIds: deal._id } });
  if (filter) await Message.updateMany(filter, { $addToSet: { dealIds: deal._id } });
}

export async function unlinkDeal(dealId: Types.ObjectId): Promise<void> {
  await markDirectoryChanged();
  await Message.updateMany({ dealIds: dealId }, { $pull: { dealIds: dealId } });
}

export async function findDealOrNull(id: Types.ObjectId): Promise<DealDoc | null> {
  return Deal.findById(id).lean<DealDoc>();
}
