/**
 * Identity realms: which organisation a Google Workspace domain (`google:<hd>`), a lone Google user
 * (`google-user:<sub>`) or a Microsoft tenant (`microsoft:<tid>`) signs in to. A realm is first claimed by the
 * organisation its own first sign-in creates; an admin may attach a further realm to theirs (a Microsoft 365
 * tenant to a Workspace organisation, say: auth/realms.ts), so Gmail and Outlook users can share one organisation.
 *
 * The realm key is the `_id`: a realm belongs to at most one organisation, decided by an insert of that `_id`
 * (atomic on MongoDB and on FerretDB alike, unlike a conditional update, which FerretDB 1.24 runs as a read then
 * a write). This is the one unique key that does not start with `orgId`: it maps into organisations, like
 * `orgs.key`, and must be unique across them.
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

const orgRealmSchema = tenantSchema(
  {
    _id: { type: String, required: true },
    provider: { type: String, enum: ['google', 'microsoft'], required: true },
    /** 'sign-in': the organisation's own realm; 'admin': attached by an admin after signing in to that realm. */
    via: { type: String, enum: ['sign-in', 'admin'], required: true },
    attachedBy: { type: Schema.Types.ObjectId, default: null },
    /** Who proved the realm at the provider (the Microsoft admin's address), for the audit trail. */
    verifiedAs: { type: String, default: null },
    attachedAt: { type: Date, required: true },
  },
  { timestamps: false },
);
orgRealmSchema.index({ orgId: 1, attachedAt: 1 });

export interface OrgRealmDoc {
  _id: string;
  orgId: Types.ObjectId;
  provider: 'google' | 'microsoft';
  via: 'sign-in' | 'admin';
  attachedBy: Types.ObjectId | null;
  verifiedAs: string | null;
  attachedAt: Date;
}

export const OrgRealm = model<OrgRealmDoc>('OrgRealm', orgRealmSchema);
