/**
 * Signed-out sessions (DELETE /api/session): the session token's `jti` is the `_id`. Requests check them through the
 * organisation's snapshot (store/org-snapshot.ts), which holds the unexpired ones and reads them again whenever one
 * is written. A row is needed only until the token would have expired anyway; rows past `expiresAt` are
 * swept when sessions are signed out (FerretDB 1.24 has no TTL indexes; production MongoDB could add one).
 */
import { Types } from 'mongoose';
import { model, tenantSchema } from './define';
import { versionsPeople } from './people-version';

const sessionRevocationSchema = tenantSchema(
  {
    _id: { type: String, required: true },
    userId: { type: Types.ObjectId, required: true },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: false },
);
sessionRevocationSchema.index({ orgId: 1, expiresAt: 1 });
sessionRevocationSchema.plugin(versionsPeople);

export interface SessionRevocationDoc {
  _id: string;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  expiresAt: Date;
}
export const SessionRevocation = model<SessionRevocationDoc>('SessionRevocation', sessionRevocationSchema);
