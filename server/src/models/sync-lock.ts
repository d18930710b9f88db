/**
 * Generation locks for the sync engine's leases. An atomic "take the mailbox" needs one write that only one
 * worker can win. `findOneAndUpdate` is that on MongoDB, but the embedded FerretDB 1.24 (SQLite) runs it as a
 * read then a write, and concurrent callers all win (measured: 4–8 of 8). An insert of one `_id` is atomic on
 * both — the primary key — so each lease generation is claimed by inserting its lock document.
 */
import { model, tenantSchema } from './define';

const syncLockSchema = tenantSchema(
  {
    /** `<purpose>:<mailboxId>:<generation>`; the `_id` is a hash of orgId and key (models/ids.ts). */
    key: { type: String, required: true },
    owner: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { timestamps: false },
);
syncLockSchema.index({ orgId: 1, key: 1 }, { unique: true });

export interface SyncLockDoc {
  orgId: unknown;
  key: string;
  owner: string;
  at: Date;
}
export const SyncLock = model<SyncLockDoc>('SyncLock', syncLockSchema);
