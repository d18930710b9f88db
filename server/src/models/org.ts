/**
 * Organisations: a Google Workspace domain (`hd`), a Microsoft tenant (`tid`), or a lone user. The org is
 * the tenant root, so it is the one model not scoped by the tenant plugin; reach it through `orgId`.
 */
import { Schema, type Types } from 'mongoose';
import { model, QUERY_WRITES } from './define';

const settingsSchema = new Schema(
  {
    sync: {
      historyDays: { type: Number, default: 90, min: 0, max: 3650 },
      deletionPolicy: { type: String, enum: ['mirror', 'preserve'], default: 'mirror' },
      onlyKnownContacts: { type: Boolean, default: false },
      autoCreateContacts: { type: String, enum: ['none', 'outbound', 'all'], default: 'none' },
      excludedDomains: { type: [String], default: [] },
      excludedAddresses: { type: [String], default: [] },
      excludedLabels: { type: [String], default: [] },
      excludeInternal: { type: Boolean, default: false },
    },
    sharing: { defaultVisibility: { type: String, enum: ['full', 'metadata', 'private'], default: 'full' } },
  },
  { _id: false },
);

const orgSchema = new Schema(
  {
    /** `google:<hd>`, `google-user:<sub>` or `microsoft:<tid>`: where the org comes from. */
    key: { type: String, required: true, unique: true },
    name: { type: String, required: true },
    domains: { type: [String], default: [] },
    /** Claimed atomically by the first user to sign in, who becomes the organisation's admin. */
    firstUserId: { type: Schema.Types.ObjectId, default: null },
    settings: { type: settingsSchema, default: () => ({}) },
    /**
     * Moves before every change of the CRM records that decide how mail is linked (contacts, companies, deals), so a
     * sync run holding an older copy of them (crm/directory.ts) knows to look again.
     */
    directoryVersion: { type: Number, default: 0 },
    /**
     * Moves after every write of the organisation's users or session revocations (models/people-version.ts), so a
     * process holding a copy of them (store/org-snapshot.ts) knows to read them again.
     */
    peopleVersion: { type: Number, default: 0 },
    /**
     * Moves after every write of the organisation's contacts, companies or deals (models/org-versions.ts), so a
     * process holding copies of them (store/record-cache.ts) drops them.
     */
    recordsVersion: { type: Number, default: 0 },
    /**
     * True once every message's copies are listed on the message itself (`copyIds`): always for an organisation
     * created since, and for an older one once its copy refs were folded in (store/activity.ts foldCopyRefs, run at
     * start-up). Until then the read paths also read the copy refs.
     */
    copiesOnMessages: { type: Boolean, default: true },
  },
  { timestamps: true, strict: 'throw' },
);

export interface OrgDoc {
  _id: Types.ObjectId;
  key: string;
  name: string;
  domains: string[];
  firstUserId: Types.ObjectId | null;
  directoryVersion?: number;
  peopleVersion?: number;
  recordsVersion?: number;
  copiesOnMessages?: boolean;
  settings: {
    sync: {
      historyDays: number;
      deletionPolicy: 'mirror' | 'preserve';
      onlyKnownContacts: boolean;
      autoCreateContacts: 'none' | 'outbound' | 'all';
      excludedDomains: string[];
      excludedAddresses: string[];
      excludedLabels: string[];
      excludeInternal: boolean;
    };
    sharing: { defaultVisibility: 'full' | 'metadata' | 'private' };
  };
}

let writes = 0;
/**
 * Writes of organisations in this process so far, through any mongoose path: a copy of an organisation kept by
 * this process (store/org-snapshot.ts) is good only while this has not moved.
 */
export const orgWrites = (): number => writes;
const counted = () => {
  writes += 1;
};
orgSchema.post(QUERY_WRITES, { document: false, query: true }, counted);
orgSchema.post('save', counted);
orgSchema.post('insertMany', counted);
orgSchema.pre('bulkWrite', function (next: () => void) {
  counted();
  next();
});

export const Org = model<OrgDoc>('Org', orgSchema);
