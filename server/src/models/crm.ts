/** CRM records: contacts (several addresses), companies (several domains), deals. */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';
import { orgVersion } from './org-versions';

/** Every write of a contact, company or deal moves `Org.recordsVersion` (store/record-cache.ts keeps copies). */
const records = orgVersion('recordsVersion');
export const recordWrites = records.writes;

const contactSchema = tenantSchema({
  emails: { type: [String], required: true, validate: (v: string[]) => v.length > 0 },
  name: { type: String, default: '' },
  title: { type: String, default: '' },
  phone: { type: String, default: '' },
  companyId: { type: Schema.Types.ObjectId, default: null },
  ownerId: { type: Schema.Types.ObjectId, default: null },
  source: { type: String, enum: ['manual', 'auto'], default: 'manual' },
});
// One address belongs to one contact in the organisation (a multikey unique index).
contactSchema.index({ orgId: 1, emails: 1 }, { unique: true });
contactSchema.index({ orgId: 1, companyId: 1 });
contactSchema.index({ orgId: 1, name: 1 });

const companySchema = tenantSchema({
  name: { type: String, required: true },
  domains: { type: [String], default: [] },
});
companySchema.index({ orgId: 1, domains: 1 }, { unique: true });
companySchema.index({ orgId: 1, name: 1 });

const dealSchema = tenantSchema({
  name: { type: String, required: true },
  stage: { type: String, default: 'open' },
  status: { type: String, enum: ['open', 'won', 'lost'], default: 'open' },
  amount: { type: Number, default: null },
  currency: { type: String, default: 'USD' },
  closeDate: { type: Date, default: null },
  ownerId: { type: Schema.Types.ObjectId, default: null },
  contactIds: { type: [Schema.Types.ObjectId], default: [] },
  companyId: { type: Schema.Types.ObjectId, default: null },
  /** Mail attached by hand (a sidebar's "Attach to deal"): whole threads, or single messages. */
  threadIds: { type: [Schema.Types.ObjectId], default: [] },
  messageIds: { type: [Schema.Types.ObjectId], default: [] },
});
dealSchema.index({ orgId: 1, contactIds: 1 });
dealSchema.index({ orgId: 1, companyId: 1 });

export interface ContactDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  emails: string[];
  name: string;
  title: string;
  phone: string;
  companyId: Types.ObjectId | null;
  ownerId: Types.ObjectId | null;
  source: 'manual' | 'auto';
}
export interface CompanyDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  name: string;
  domains: string[];
}
export interface DealDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  name: string;
  stage: string;
  status: 'open' | 'won' | 'lost';
  amount: number | null;
  currency: string;
  closeDate: Date | null;
  ownerId: Types.ObjectId | null;
  contactIds: Types.ObjectId[];
  companyId: Types.ObjectId | null;
  threadIds?: Types.ObjectId[];
  messageIds?: Types.ObjectId[];
}

for (const schema of [contactSchema, companySchema, dealSchema]) schema.plugin(records.plugin);

export const Contact = model<ContactDoc>('Contact', contactSchema);
export const Company = model<CompanyDoc>('Company', companySchema);
export const Deal = model<DealDoc>('Deal', dealSchema);
