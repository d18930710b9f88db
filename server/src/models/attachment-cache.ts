/**
 * Attachment bytes fetched from a provider on demand, kept so the next download does not cost a provider call.
 * Bounded per item and per organisation (see sync/refetch/attachment-fetch.ts); removed with the message it belongs
 * to when privacy rules are tightened, so excluded mail leaves no attachment behind either.
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

const attachmentCacheSchema = tenantSchema({
  messageId: { type: Schema.Types.ObjectId, required: true },
  attachmentId: { type: String, required: true },
  size: { type: Number, required: true },
  data: { type: Buffer, required: true },
  lastUsedAt: { type: Date, default: () => new Date() },
});
attachmentCacheSchema.index({ orgId: 1, messageId: 1, attachmentId: 1 }, { unique: true });
attachmentCacheSchema.index({ orgId: 1, lastUsedAt: 1 });

export interface AttachmentCacheDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  messageId: Types.ObjectId;
  attachmentId: string;
  size: number;
  data: Buffer;
  lastUsedAt: Date;
}

export const AttachmentCache = model<AttachmentCacheDoc>('AttachmentCache', attachmentCacheSchema);
