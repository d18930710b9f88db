/**
 * One copy of a message in one mailbox: provider ids, labels or folder, the state flags with the time each
 * last changed, and the CRM's writes not yet echoed by the provider (so the echo is not taken for a change).
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

const mailboxMessageSchema = tenantSchema({
  mailboxId: { type: Schema.Types.ObjectId, required: true },
  userId: { type: Schema.Types.ObjectId, required: true },
  messageId: { type: Schema.Types.ObjectId, required: true },
  providerMessageId: { type: String, required: true },
  providerThreadId: { type: String, default: null },
  labels: { type: [String], default: [] },
  folderId: { type: String, default: null },
  /** The provider's receive time: bounds a cursor-expiry re-list to the same history window as the listing. */
  receivedAt: { type: Date, default: null },
  state: {
    type: {
      read: { type: Boolean, default: false },
      starred: { type: Boolean, default: false },
      archived: { type: Boolean, default: false },
      deleted: { type: Boolean, default: false },
    },
    default: () => ({}),
  },
  stateChangedAt: { type: { read: Date, starred: Date, archived: Date, deleted: Date }, default: () => ({}) },
  pending: {
    type: [new Schema({ field: String, value: Schema.Types.Mixed, at: Date }, { _id: false })],
    default: [],
  },
});
mailboxMessageSchema.index({ orgId: 1, mailboxId: 1, providerMessageId: 1 }, { unique: true });
mailboxMessageSchema.index({ orgId: 1, messageId: 1 });
mailboxMessageSchema.index({ orgId: 1, mailboxId: 1, providerThreadId: 1 });

export type MessageFlags = { read: boolean; starred: boolean; archived: boolean; deleted: boolean };
export interface MailboxMessageDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  mailboxId: Types.ObjectId;
  userId: Types.ObjectId;
  messageId: Types.ObjectId;
  providerMessageId: string;
  providerThreadId: string | null;
  labels: string[];
  folderId: string | null;
  receivedAt: Date | null;
  state: MessageFlags;
  stateChangedAt: Partial<Record<keyof MessageFlags, Date>>;
  pending: { field: string; value: unknown; at: Date }[];
}

export const MailboxMessage = model<MailboxMessageDoc>('MailboxMessage', mailboxMessageSchema);
