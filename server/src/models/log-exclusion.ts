/**
 * "Don't log this email / this thread" (docs/sidebars.md): a user's choice that one email, or a whole thread, is not
 * logged from their mailboxes, whatever the organisation's and their own rules say.
 *
 * `LogExclusion` is the choice; `LogExclusionKey` holds the keys ingest checks every incoming copy against. A key's
 * `_id` is a hash of the organisation, the user and the key (`m:<dedup key>` for an email, `r:<Message-ID>` for a
 * thread member, `p:<mailbox>:<provider thread>` for the provider's thread: sync/ingest/log-choices.ts), so the check
 * is one read by `_id` per page — the one lookup the embedded FerretDB serves from an index — and the keys keep no
 * Message-ID, subject or address in clear: excluded mail leaves nothing readable behind.
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

/** Copies remembered per choice, so "Log again" can fetch them back at once; past this, a reconciliation does it. */
export const MAX_REMEMBERED_COPIES = 1000;

const logExclusionSchema = tenantSchema({
  userId: { type: Schema.Types.ObjectId, required: true },
  scope: { type: String, enum: ['message', 'thread'], required: true },
  /**
   * Provider ids of the copies this choice removed, and of the later ones of the thread it kept out: opaque ids, no
   * content. "Log again" asks the engine to fetch exactly these (engine/refetch.ts).
   */
  copies: {
    type: [new Schema({ mailboxId: { type: Schema.Types.ObjectId, required: true }, providerMessageId: { type: String, required: true } }, { _id: false })],
    default: [],
  },
  /** More copies than MAX_REMEMBERED_COPIES: "Log again" also reconciles the user's mailboxes to find the rest. */
  overflow: { type: Boolean, default: false },
});
logExclusionSchema.index({ orgId: 1, userId: 1, createdAt: -1 });

const logExclusionKeySchema = tenantSchema(
  {
    userId: { type: Schema.Types.ObjectId, required: true },
    exclusionId: { type: Schema.Types.ObjectId, required: true },
  },
  { timestamps: false },
);
logExclusionKeySchema.index({ orgId: 1, exclusionId: 1 });

export interface LogExclusionDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  scope: 'message' | 'thread';
  copies: { mailboxId: Types.ObjectId; providerMessageId: string }[];
  overflow: boolean;
  createdAt: Date;
}
export interface LogExclusionKeyDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  exclusionId: Types.ObjectId;
}

export const LogExclusion = model<LogExclusionDoc>('LogExclusion', logExclusionSchema);
export const LogExclusionKey = model<LogExclusionKeyDoc>('LogExclusionKey', logExclusionKeySchema);
