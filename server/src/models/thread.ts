/**
 * CRM threads, joined across mailboxes by References/In-Reply-To and by provider thread ids.
 *
 * A thread's `_id` is derived from its root Message-ID (see sync/ingest/threads.ts), so every mailbox that sees a
 * reply computes the same thread without a lookup. `ThreadKey` maps a provider thread (`<mailboxId>:<threadId>`) to
 * the CRM thread it joined first; the mapping never changes once written, so it is inserted, never updated (the
 * embedded FerretDB scans a whole collection for every update, while inserts and `_id` reads stay cheap).
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

const threadSchema = tenantSchema({
  subject: { type: String, default: '' },
  /** The root key the thread's id was derived from (a normalised Message-ID, or a provider thread key). */
  messageKeys: { type: [String], default: [] },
  /** `<mailboxId>:<provider thread id>` of the copies known when the thread was created (see ThreadKey). */
  providerThreadKeys: { type: [String], default: [] },
  /** Date of the message that created the thread; the newest message comes from `messages` (orgId, threadId, date). */
  lastMessageAt: { type: Date, default: null },
});
threadSchema.index({ orgId: 1, messageKeys: 1 });
threadSchema.index({ orgId: 1, providerThreadKeys: 1 });

const threadKeySchema = tenantSchema(
  {
    /** `pt:<mailboxId>:<provider thread id>`. The `_id` is a hash of orgId and key (models/ids.ts). */
    key: { type: String, required: true },
    threadId: { type: Schema.Types.ObjectId, required: true },
  },
  { timestamps: false },
);
threadKeySchema.index({ orgId: 1, key: 1 }, { unique: true });

export interface ThreadDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  subject: string;
  messageKeys: string[];
  providerThreadKeys: string[];
  lastMessageAt: Date | null;
}
export interface ThreadKeyDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  key: string;
  threadId: Types.ObjectId;
}
export const Thread = model<ThreadDoc>('Thread', threadSchema);
export const ThreadKey = model<ThreadKeyDoc>('ThreadKey', threadKeySchema);
