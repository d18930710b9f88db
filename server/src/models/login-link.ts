/**
 * One-time sign-in links: an add-on opens the web console already signed in through
 * `PUBLIC_URL/app/#login=<code>`. Only a hash of the code is stored, so a database read cannot be replayed as a
 * link. FerretDB 1.24 has no TTL indexes, so `expiresAt` is checked on read and expired links are swept when new
 * ones are made (http/login-link-routes.ts).
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

const loginLinkSchema = tenantSchema(
  {
    /** base64url SHA-256 of the code's secret part. */
    codeHash: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    expiresAt: { type: Date, required: true },
    /** The identity-provider sign-in of the session that made the link: the session it gives cannot outlive it. */
    authTime: { type: Number, default: null },
  },
  { timestamps: false },
);
loginLinkSchema.index({ orgId: 1, codeHash: 1 }, { unique: true });
loginLinkSchema.index({ orgId: 1, expiresAt: 1 });

export interface LoginLinkDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  codeHash: string;
  userId: Types.ObjectId;
  expiresAt: Date;
  authTime?: number | null;
}
export const LoginLink = model<LoginLinkDoc>('LoginLink', loginLinkSchema);
