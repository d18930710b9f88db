/** CRM threads, joined across mailboxes by References/In-Reply-To and by provider thread ids. */
import { Schema, Types } from 'mongoose';
import { model, tenantSchema } from './define';

const threadSchema = tenantSchema({
  subject: { type: String, default: '' },
  /** Normalised Message-IDs of the thread's messages and of those they reference. */
  messageKeys: { type: [String], default: [] },
  /** `<mailboxId>:<provider thread id>` of every mailbox copy. */
  providerThreadKeys: { type: [String], default: [] },
  lastMessageAt: { type: Date, default: null },
});
threadSchema.index({ orgId: 1, messageKeys: 1 });
threadSchema.index({ orgId: 1, providerThreadKeys: 1 });

export interface ThreadDoc { _id: Types.ObjectId; orgId: Types.ObjectId; subject: string; messageKeys: string[]; providerThreadKeys: string[]; lastMessageAt: Date | null }
export const Thread = model<ThreadDoc>('Thread', threadSchema);
