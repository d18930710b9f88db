import type { Types } from 'mongoose';
import { model, tenantSchema } from './define';
import { versionsPeople } from './people-version';

const userSchema = tenantSchema({
  email: { type: String, required: true, lowercase: true, trim: true },
  name: { type: String, default: '' },
  role: { type: String, enum: ['admin', 'member'], required: true },
  /** `google:<sub>` or `microsoft:<tid>:<oid>`: the identity this user signs in with. */
  identityKey: { type: String, required: true },
  /** Set by an admin: the user can no longer sign in, and their sessions stop at once (http/context.ts). */
  disabled: { type: Boolean, default: false },
  /** Sessions whose identity-provider sign-in is older than this are refused (sign-out everywhere, disabling). */
  sessionsNotBefore: { type: Date, default: null },
  settings: {
    excludedDomains: { type: [String], default: [] },
    excludedAddresses: { type: [String], default: [] },
    excludedLabels: { type: [String], default: [] },
    visibility: { type: String, enum: ['full', 'metadata', 'private', null], default: null },
  },
});
userSchema.index({ orgId: 1, identityKey: 1 }, { unique: true });
userSchema.index({ orgId: 1, email: 1 });
userSchema.plugin(versionsPeople);

export interface UserDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  email: string;
  name: string;
  role: 'admin' | 'member';
  identityKey: string;
  disabled?: boolean;
  sessionsNotBefore?: Date | null;
  settings: { excludedDomains: string[]; excludedAddresses: string[]; excludedLabels: string[]; visibility: 'full' | 'metadata' | 'private' | null };
}

export const User = model<UserDoc>('User', userSchema);
