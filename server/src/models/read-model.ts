/**
 * Read-model entries (server/src/store/keys.ts): one tiny document per entry, found by a range of its string `_id`.
 * Written with plain inserts (a duplicate `_id` means "already there"), deleted by `_id`, rebuilt from the
 * messages by `npm run rebuild-read-models`. No secondary index: the `_id` index serves every query.
 */
import { Schema, Types } from 'mongoose';
import { model, tenantSchema } from './define';

/** `<orgId> a <address> <date> <messageId>`: a message that has this address among its participants. */
const activitySchema = tenantSchema({
  _id: { type: String, required: true },
  messageId: { type: Schema.Types.ObjectId, required: true },
  date: { type: Date, required: true },
}, { timestamps: false, versionKey: false });

/** `<orgId> c <messageId> <copyId>`: a mailbox copy of a message. */
const copyRefSchema = tenantSchema({
  _id: { type: String, required: true },
  messageId: { type: Schema.Types.ObjectId, required: true },
  copyId: { type: Schema.Types.ObjectId, required: true },
}, { timestamps: false, versionKey: false });

export interface ActivityDoc { _id: string; orgId: Types.ObjectId; messageId: Types.ObjectId; date: Date }
export interface CopyRefDoc { _id: string; orgId: Types.ObjectId; messageId: Types.ObjectId; copyId: Types.ObjectId }
export const Activity = model<ActivityDoc>('Activity', activitySchema);
export const CopyRef = model<CopyRefDoc>('CopyRef', copyRefSchema);
