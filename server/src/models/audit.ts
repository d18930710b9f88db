/**
 * OAuth connect states (deleted when used: single use), the per-mailbox sync journal, and the audit log.
 * FerretDB 1.24 has no TTL indexes ("expireAfterSeconds is not implemented yet"), so expiry is checked on
 * read and expired states are swept by the scheduler rather than left to the database.
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

const oauthStateSchema = tenantSchema({
  /** `<orgId>.<random>`: the callback learns the org from the state itself, so lookups stay org-scoped. */
  state: { type: String, required: true },
  userId: { type: Schema.Types.ObjectId, required: true },
  provider: { type: String, enum: ['google', 'microsoft'], required: true },
  /** 'connect': a mailbox (sync/control/connect.ts); 'realm': an admin proving a Microsoft tenant (auth/realms.ts). */
  purpose: { type: String, enum: ['connect', 'realm'], default: 'connect' },
  codeVerifier: { type: String, required: true },
  expiresAt: { type: Date, required: true },
});
oauthStateSchema.index({ orgId: 1, state: 1 }, { unique: true });
oauthStateSchema.index({ expiresAt: 1 });

const syncEventSchema = tenantSchema(
  {
    mailboxId: { type: Schema.Types.ObjectId, required: true },
    at: { type: Date, default: () => new Date() },
    kind: { type: String, required: true },
    detail: { type: Schema.Types.Mixed, default: null },
  },
  { timestamps: false },
);
syncEventSchema.index({ orgId: 1, mailboxId: 1, at: -1 });

const auditSchema = tenantSchema(
  {
    at: { type: Date, default: () => new Date() },
    actorId: { type: Schema.Types.ObjectId, default: null },
    action: { type: String, required: true },
    target: { type: String, default: null },
    detail: { type: Schema.Types.Mixed, default: null },
  },
  { timestamps: false },
);
auditSchema.index({ orgId: 1, at: -1 });

export interface OAuthStateDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  state: string;
  userId: Types.ObjectId;
  provider: 'google' | 'microsoft';
  purpose?: 'connect' | 'realm';
  codeVerifier: string;
  expiresAt: Date;
}

export const OAuthState = model<OAuthStateDoc>('OAuthState', oauthStateSchema);
export const SyncEvent = model('SyncEvent', syncEventSchema);
export const AuditLog = model('AuditLog', auditSchema);
