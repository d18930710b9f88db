/**
 * The sync stages of a mailbox and the user-facing states of the API (server/openapi.yaml). Each run does only the work of the stage
 * the mailbox is in (one bad message must not stop the mailbox); the state shown to users follows from the stage unless a failure overrides it.
 */
import { MAILBOX_STATES, type MailboxState } from '../../models/mailbox';

export const SYNC_STAGES = ['backfill', 'incremental', 'resync'] as const;
/** backfill: importing history, newest first. incremental: following the cursor. resync: re-listing after the cursor expired. */
export type SyncStage = (typeof SYNC_STAGES)[number];

/** Where an error happened, for the policy table: a stage, one message of a page, or push upkeep. */
export type PolicyStage = SyncStage | 'item' | 'push';

export { MAILBOX_STATES, type MailboxState };

/** States in which no provider call is made until a person acts (reconnect, resume). */
export const HALTED_STATES: readonly MailboxState[] = ['reauth_required', 'paused'];

export function parseStage(value: unknown): SyncStage {
  return (SYNC_STAGES as readonly unknown[]).includes(value) ? (value as SyncStage) : 'backfill';
}

/** The state a healthy mailbox shows in a stage. */
export function stateForStage(stage: SyncStage): MailboxState {
  return stage === 'incremental' ? 'live' : 'backfilling';
}
