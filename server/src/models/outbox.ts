/**
 * CRM sends. The entry is written before anything goes to the provider (unique on the caller's
 * Idempotency-Key), so a retry or a crash never sends twice.
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

const outboxSchema = tenantSchema({
  userId: { type: Schema.Types.ObjectId, required: true },
  idempotencyKey: { type: String, required: true },
  requestHash: { type: String, required: true },
  mailboxId: { type: Schema.Types.ObjectId, required: true },
  request: { type: Schema.Types.Mixed, required: true },
  status: { type: String, enum: ['queued', 'sending', 'sent', 'failed'], default: 'queued' },
  /** The Message-ID of the message: the one we composed, until the provider's sent copy shows another (adopted). */
  internetMessageId: { type: String, required: true },
  /** Set when the sent copy carried another Message-ID than the one we composed (sync/outbound/record.ts). */
  composedInternetMessageId: { type: String, default: null },
  messageId: { type: Schema.Types.ObjectId, default: null },
  providerMessageId: { type: String, default: null },
  providerThreadId: { type: String, default: null },
  /**
   * Two-step senders (Graph): the immutable id of the complete draft, recorded before it is sent, so a retry
   * after a crash resumes that draft instead of sending another (sync/outbound/outbox.ts).
   */
  providerDraftId: { type: String, default: null },
  attempts: { type: Number, default: 0 },
  lastError: { type: new Schema({ code: String, message: String, at: Date }, { _id: false }), default: null },
  lease: { owner: { type: String, default: null }, until: { type: Date, default: null } },
});
outboxSchema.index({ orgId: 1, userId: 1, idempotencyKey: 1 }, { unique: true });
outboxSchema.index({ status: 1, updatedAt: 1 });

export interface OutboxDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  idempotencyKey: string;
  status: 'queued' | 'sending' | 'sent' | 'failed';
  internetMessageId: string;
  messageId: Types.ObjectId | null;
  providerDraftId: string | null;
}
export const Outbox = model<OutboxDoc>('Outbox', outboxSchema);
