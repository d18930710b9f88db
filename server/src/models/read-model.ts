/**
 * Read-model entries (server/src/store/keys.ts), found by their string `_id` (a key or a range of keys): activity is
 * written with plain inserts (a duplicate `_id` means "already there"), deleted by `_id` and rebuilt from the mail
 * by `npm run rebuild-read-models`. No secondary index: `_id` serves all.
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

/** `<orgId> a <address> <date> <messageId>`: a message that has this address among its participants. */
const activitySchema = tenantSchema(
  {
    _id: { type: String, required: true },
    messageId: { type: Schema.Types.ObjectId, required: true },
    date: { type: Date, required: true },
  },
  { timestamps: false, versionKey: false },
);

/**
 * `<orgId> c <messageId>`: the mailbox copies of a message, as they were kept before each message listed its own
 * (`copyIds`). Nothing writes them now; an organisation's are folded into its messages at start-up and then deleted
 * (server/src/store/activity.ts foldCopyRefs).
 */
const copyRefSchema = tenantSchema(
  {
    _id: { type: String, required: true },
    messageId: { type: Schema.Types.ObjectId, required: true },
    copyIds: { type: [Schema.Types.ObjectId], default: [] },
  },
  { timestamps: false, versionKey: false },
);

export interface ActivityDoc {
  _id: string;
  orgId: Types.ObjectId;
  messageId: Types.ObjectId;
  date: Date;
}
export interface CopyRefDoc {
  _id: string;
  orgId: Types.ObjectId;
  messageId: Types.ObjectId;
  copyIds: Types.ObjectId[];
}
export const Activity = model<ActivityDoc>('Activity', activitySchema);
export const CopyRef = model<CopyRefDoc>('CopyRef', copyRefSchema);
