/**
 * "Make this email private / shared" (docs/sidebars.md): a holder's sharing level for their holding of one message,
 * overriding their own setting and the organisation's default for that message only. Stored on the message
 * (`levelOverrides`, one list per level) so that list queries can filter by it (crm/visibility.ts); only a holder
 * sets it, for themselves, and it leaves with their last copy (ingest/removal.ts). Runs in the caller's organisation.
 */
import type { Types } from 'mongoose';
import { Message, type MessageDoc } from '../models/message';
import { loadVisibility, overrideOf, VISIBILITY_LEVELS, type Holding, type VisibilityLevel, type VisibilityPolicy } from './visibility';

/** The caller's holding's sharing, as the API and the sidebars show it. */
export interface HoldingSharing {
  /** What teammates get of this email through the caller's holding. */
  level: VisibilityLevel;
  /** The caller's override for this email, or null when their own level applies. */
  override: VisibilityLevel | null;
  /** The caller's own level (their setting, else the organisation's default): what `override: null` means. */
  defaultLevel: VisibilityLevel;
}

/** Null when the caller holds no copy: there is no holding of theirs to share or keep private. */
export function holdingSharing(policy: VisibilityPolicy, message: Holding): HoldingSharing | null {
  const callerId = policy.callerId;
  if (!message.syncedBy.some((h) => h.equals(callerId))) return null;
  return { level: policy.levelIn(message, callerId), override: overrideOf(message, callerId), defaultLevel: policy.levelOf(callerId) };
}

/** The update that gives `userId` this override (or none): out of the other lists, into its own, in one write. */
export function overrideUpdate(userId: Types.ObjectId, level: VisibilityLevel | null): Record<string, unknown> {
  const others = VISIBILITY_LEVELS.filter((l) => l !== level);
  const pull = Object.fromEntries(others.map((l) => [`levelOverrides.${l}`, userId]));
  return level === null ? { $pull: pull } : { $pull: pull, $addToSet: { [`levelOverrides.${level}`]: userId } };
}

export type SetSharingOutcome =
  | { ok: true; message: Pick<MessageDoc, '_id'>; sharing: HoldingSharing }
  /** Not stored, or stored but hidden from the caller: one answer for both (no oracle). */
  | { ok: false; reason: 'not_found' }
  /** The caller sees it through a teammate's holding but holds no copy: nothing of theirs to share. */
  | { ok: false; reason: 'not_holder' };

export async function setHoldingLevel(callerId: Types.ObjectId, messageId: Types.ObjectId, level: VisibilityLevel | null): Promise<SetSharingOutcome> {
  const policy = await loadVisibility(callerId);
  const found = await Message.findById(messageId).select({ syncedBy: 1, levelOverrides: 1 }).lean<Pick<MessageDoc, '_id' | 'syncedBy' | 'levelOverrides'>>();
  if (!found || policy.access(found) === 'none') return { ok: false, reason: 'not_found' };
  // Guarded by holding in the same write: a holder whose last copy left meanwhile sets nothing.
  const res = await Message.updateOne({ _id: messageId, syncedBy: callerId }, overrideUpdate(callerId, level));
  if (res.matchedCount === 0) return { ok: false, reason: 'not_holder' };
  const after = await Message.findById(messageId).select({ syncedBy: 1, levelOverrides: 1 }).lean<Pick<MessageDoc, '_id' | 'syncedBy' | 'levelOverrides'>>();
  const sharing = after ? holdingSharing(policy, after) : null;
  if (!after || !sharing) return { ok: false, reason: 'not_holder' };
  return { ok: true, message: after, sharing };
}
