/**
 * A connected mailbox and everything its sync needs to resume after any crash: tokens (sealed), state and
 * stage, the provider cursor, backfill position and counts, push channel, lease, schedule and failures.
 */
import { Schema, type Types } from 'mongoose';
import { model, sealedSecret, tenantSchema } from './define';

export const MAILBOX_STATES = ['backfilling', 'live', 'throttled', 'error', 'reauth_required', 'paused'] as const;
export type MailboxState = (typeof MAILBOX_STATES)[number];

const mailboxSchema = tenantSchema({
  userId: { type: Schema.Types.ObjectId, required: true },
  provider: { type: String, enum: ['google', 'microsoft'], required: true },
  address: { type: String, required: true, lowercase: true, trim: true },
  tokens: {
    access: { type: sealedSecret, default: null },
    refresh: { type: sealedSecret, default: null },
    accessExpiresAt: { type: Date, default: null },
    scopes: { type: [String], default: [] },
  },
  state: { type: String, enum: MAILBOX_STATES, default: 'backfilling' },
  stage: { type: String, default: 'backfill' },
  /** Versioned, provider-tagged cursor (Gmail historyId; Graph one deltaLink per folder). */
  cursor: { type: Schema.Types.Mixed, default: null },
  backfill: {
    position: { type: Schema.Types.Mixed, default: null },
    imported: { type: Number, default: 0 },
    total: { type: Number, default: 0 },
    startedAt: { type: Date, default: null },
    completedAt: { type: Date, default: null },
  },
  push: {
    channelId: { type: String, default: null },
    clientState: { type: String, default: null },
    expiresAt: { type: Date, default: null },
    lastNotifiedAt: { type: Date, default: null },
  },
  lease: { owner: { type: String, default: null }, until: { type: Date, default: null }, gen: { type: Number, default: 0 } },
  nextRunAt: { type: Date, default: () => new Date() },
  /**
   * How many times a push, a connect or a user asked for a run (engine/scheduler.ts markDue). A run that sees it
   * move while it works goes round again, so a notification that lands mid-run is never left for the next poll.
   */
  runRequests: { type: Number, default: 0 },
  /** Message ids push notifications named since the last round (engine/push-hints.ts); `count` caps the list. */
  pushHints: {
    ids: { type: [String], default: [] },
    count: { type: Number, default: 0 },
    overflow: { type: Boolean, default: false },
  },
  failures: { type: Number, default: 0 },
  backoffUntil: { type: Date, default: null },
  lastError: { type: new Schema({ code: String, message: String, at: Date }, { _id: false }), default: null },
  lastSyncedAt: { type: Date, default: null },
  /**
   * Provider ids to fetch alone on the next run, as new mail: set by "Log this email again" for the copies the user's
   * choice had kept out (engine/steps.ts refetchRequested), so they come back without a full reconciliation.
   */
  refetchIds: { type: [String], default: [] },
  /** Set by a user's Resync: the next run re-reads the mailbox and repairs what is missing. */
  reconcileRequestedAt: { type: Date, default: null },
  /** Messages the provider could not give us (poison): retried a few times, then skipped and kept here as a record. */
  poison: {
    type: [
      new Schema(
        {
          providerMessageId: String,
          attempts: Number,
          code: String,
          message: String,
          firstAt: Date,
          lastAt: Date,
          skipped: Boolean,
        },
        { _id: false },
      ),
    ],
    default: [],
  },
  /** A short lease on refreshing the access token: one process refreshes while the others wait and reuse its token. */
  tokenRefresh: { owner: { type: String, default: null }, until: { type: Date, default: null }, gen: { type: Number, default: 0 } },
  /** Last time the stored copies were compared with the provider's ids (periodic reconciliation). */
  reconciledAt: { type: Date, default: null },
});
mailboxSchema.index({ orgId: 1, provider: 1, address: 1 }, { unique: true });
mailboxSchema.index({ orgId: 1, userId: 1 });
// The scheduler's sweep across organisations (system context).
mailboxSchema.index({ nextRunAt: 1 });
mailboxSchema.index({ provider: 1, address: 1 });
// Webhooks find a Graph mailbox by its subscription id (system context).
mailboxSchema.index({ 'push.channelId': 1 });

export interface SealedSecretDoc {
  v: 1;
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}
export interface PoisonEntry {
  providerMessageId: string;
  attempts: number;
  code: string;
  message: string;
  firstAt: Date;
  lastAt: Date;
  skipped: boolean;
}
export interface MailboxDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  provider: 'google' | 'microsoft';
  address: string;
  tokens: { access: SealedSecretDoc | null; refresh: SealedSecretDoc | null; accessExpiresAt: Date | null; scopes: string[] };
  state: MailboxState;
  stage: string;
  cursor: unknown;
  backfill: { position: unknown; imported: number; total: number; startedAt: Date | null; completedAt: Date | null };
  push: { channelId: string | null; clientState: string | null; expiresAt: Date | null; lastNotifiedAt: Date | null };
  lease: { owner: string | null; until: Date | null; gen?: number };
  backoffUntil: Date | null;
  lastError: { code: string; message: string; at: Date } | null;
  lastSyncedAt: Date | null;
  nextRunAt: Date;
  runRequests?: number;
  pushHints?: { ids: string[]; count: number; overflow: boolean };
  failures: number;
  poison: PoisonEntry[];
  tokenRefresh: { owner: string | null; until: Date | null; gen?: number };
  reconciledAt: Date | null;
  reconcileRequestedAt: Date | null;
  refetchIds?: string[];
}

export const Mailbox = model<MailboxDoc>('Mailbox', mailboxSchema);
