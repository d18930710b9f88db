/**
 * Who may see a message (DESIGN §4.7). A message's level is the most permissive sharing level among its holders
 * (the users in `syncedBy`): each holder's own `settings.visibility`, or the organisation's
 * `sharing.defaultVisibility` when they set none. A holder always sees everything.
 *
 * Chosen design: nothing is stored on the message. Each request loads the organisation's users once (one query,
 * a few fields) and precomputes who shares at which level; list queries then filter with
 * `syncedBy ∈ {caller} ∪ {users who share at least metadata}`, and each loaded message gets its level from the
 * same table in memory. So there is no N+1, and a change of a user's or the organisation's setting (or of a
 * message's holders) applies on the very next read with nothing to recompute or go stale.
 */
import mongoose, { Types } from 'mongoose';
import { currentOrgId } from '../db/tenant';
import { Org, OrgDoc } from '../models/org';
import { User } from '../models/user';

export const VISIBILITY_LEVELS = ['private', 'metadata', 'full'] as const;
export type VisibilityLevel = (typeof VISIBILITY_LEVELS)[number];

/** What the caller gets of one message: everything, headers only, or nothing at all. */
export type Access = 'full' | 'metadata' | 'none';

const rank = (level: VisibilityLevel) => VISIBILITY_LEVELS.indexOf(level);

/**
 * Pure: the caller's access to a message held by `holders`. With no holder left (a message about to be removed)
 * nobody sees it, which is the safe answer.
 */
export function accessTo(holders: readonly Types.ObjectId[], callerId: Types.ObjectId, levelOf: (userId: string) => VisibilityLevel): Access {
  if (holders.some((h) => h.equals(callerId))) return 'full';
  let best: VisibilityLevel | null = null;
  for (const h of holders) {
    const level = levelOf(String(h));
    if (best === null || rank(level) > rank(best)) best = level;
  }
  return best === null || best === 'private' ? 'none' : best;
}

export interface VisibilityPolicy {
  callerId: Types.ObjectId;
  /** A user's own sharing level (their setting, else the organisation's default). */
  levelOf(userId: Types.ObjectId | string): VisibilityLevel;
  /** The caller's access to a message with these holders. */
  access(message: { syncedBy: readonly Types.ObjectId[] }): Access;
  /** A filter fragment matching exactly the messages the caller may see at all (for list queries). */
  visibleFilter(): Record<string, unknown>;
  /**
   * Whether the caller may be told about this holder — as one of `syncedBy`, or by their copy's labels and read
   * state: themselves, and teammates who do not keep their mail private.
   */
  shows(userId: Types.ObjectId | string): boolean;
}

/** Builds the policy from the organisation's users, as a pure function of already-loaded data (tested alone). */
export function buildPolicy(
  callerId: Types.ObjectId,
  defaultLevel: VisibilityLevel,
  users: { _id: Types.ObjectId; visibility: VisibilityLevel | null }[],
): VisibilityPolicy {
  const levels = new Map(users.map((u) => [String(u._id), u.visibility ?? defaultLevel]));
  // A holder who is no longer a user of the organisation shares nothing.
  const levelOf = (userId: string): VisibilityLevel => levels.get(userId) ?? 'private';
  const sharers = users.filter((u) => levelOf(String(u._id)) !== 'private').map((u) => u._id);
  return {
    callerId,
    levelOf: (userId) => levelOf(String(userId)),
    access: (m) => accessTo(m.syncedBy, callerId, levelOf),
    visibleFilter: () => ({ syncedBy: mongoose.trusted({ $in: [callerId, ...sharers] }) }),
    shows: (userId) => String(userId) === String(callerId) || levelOf(String(userId)) !== 'private',
  };
}

/** Loads the policy for a request; runs inside the caller's organisation context. */
export async function loadVisibility(callerId: Types.ObjectId): Promise<VisibilityPolicy> {
  const org = await Org.findById(currentOrgId()).select({ 'settings.sharing': 1 }).lean<Pick<OrgDoc, 'settings'>>();
  const defaultLevel = org?.settings?.sharing?.defaultVisibility ?? 'full';
  const users = await User.find({}).select({ 'settings.visibility': 1 })
    .lean<{ _id: Types.ObjectId; settings?: { visibility?: VisibilityLevel | null } }[]>();
  return buildPolicy(callerId, defaultLevel, users.map((u) => ({ _id: u._id, visibility: u.settings?.visibility ?? null })));
}
