/**
 * Who may see a message (docs/SYNC.md "Dedup and visibility"). A message's level is the most permissive sharing level
 * among its holders (the users in `syncedBy`): each holder's level for that message — the override they set for their
 * holding of it ("make this email private / shared", `levelOverrides`), else their own `settings.visibility`, else the
 * organisation's `sharing.defaultVisibility`. A holder always sees everything.
 *
 * Chosen design: only the per-message overrides are stored on the message. Each request loads the organisation's
 * users once (one query, a few fields) and precomputes who shares at which level; list queries then filter with
 * one `$or` (visibleFilter), and each loaded message gets its level from the same table and its own overrides in
 * memory. So there is no N+1, and a change of a user's or the organisation's setting (or of a message's holders)
 * applies on the very next read with nothing to recompute or go stale.
 *
 * Indexes: the visibility filter adds none and needs none. Every list query is driven by its own index — the
 * sidebar's `(orgId, participants, date)`, a contact's or company's timeline `(orgId, contactIds|companyIds, date)`,
 * a thread `(orgId, threadId, date)` — and the filter is checked on the documents that index yields, as the plain
 * `syncedBy` filter was before overrides existed. Overrides are absent from almost every message, so their branches
 * cost a missing-field test there.
 */
import mongoose, { type Types } from 'mongoose';
import { orgSnapshot } from '../store/org-snapshot';

export const VISIBILITY_LEVELS = ['private', 'metadata', 'full'] as const;
export type VisibilityLevel = (typeof VISIBILITY_LEVELS)[number];

/** What the caller gets of one message: everything, headers only, or nothing at all. */
export type Access = 'full' | 'metadata' | 'none';

/**
 * Holders' levels for this one message (each holder in at most one list): kept on the message, so list queries
 * can filter by them. Only a holder sets one, for their own holding; it leaves with their last copy.
 */
export interface LevelOverrides {
  private?: readonly Types.ObjectId[];
  metadata?: readonly Types.ObjectId[];
  full?: readonly Types.ObjectId[];
}

/** What the policy reads of a message. */
export interface Holding {
  syncedBy: readonly Types.ObjectId[];
  levelOverrides?: LevelOverrides | null;
}

const rank = (level: VisibilityLevel) => VISIBILITY_LEVELS.indexOf(level);
const { trusted } = mongoose;

/** The override `userId` set for their holding of this message, or null. The most restrictive wins a (corrupt) tie. */
export function overrideOf(m: Pick<Holding, 'levelOverrides'>, userId: Types.ObjectId | string): VisibilityLevel | null {
  const o = m.levelOverrides;
  if (!o) return null;
  const id = String(userId);
  return VISIBILITY_LEVELS.find((level) => (o[level] ?? []).some((u) => String(u) === id)) ?? null;
}

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
  /** A holder's level for this one message: their override for it, else levelOf. */
  levelIn(message: Holding, userId: Types.ObjectId | string): VisibilityLevel;
  /** The caller's access to a message with these holders and overrides. */
  access(message: Holding): Access;
  /**
   * A filter fragment matching exactly the messages the caller may see at all (for list queries): a plain MongoDB
   * query, `$or` of the branches described in buildPolicy. Put it in an `$and` (or spread it into a filter that
   * has no `$or` of its own).
   */
  visibleFilter(): Record<string, unknown>;
  /**
   * Whether the caller may be told about this holder of this message — as one of `syncedBy`, or by their copy's
   * labels and read state: themselves, and holders who do not keep this message private.
   */
  shows(userId: Types.ObjectId | string, message: Holding): boolean;
}

/** Builds the policy from the organisation's users, as a pure function of already-loaded data (tested alone). */
export function buildPolicy(
  callerId: Types.ObjectId,
  defaultLevel: VisibilityLevel,
  users: { _id: Types.ObjectId; visibility: VisibilityLevel | null }[],
): VisibilityPolicy {
  const levels = new Map(users.map((u) => [String(u._id), u.visibility ?? defaultLevel]));
  // A holder who is no longer a user of the organisation shares nothing, whatever override they left.
  const levelOf = (userId: string): VisibilityLevel => levels.get(userId) ?? 'private';
  const levelIn = (m: Holding, userId: string): VisibilityLevel => (levels.has(userId) ? (overrideOf(m, userId) ?? levelOf(userId)) : 'private');
  const sharers = users.filter((u) => levelOf(String(u._id)) !== 'private').map((u) => u._id);
  const everyone = users.map((u) => u._id);
  return {
    callerId,
    levelOf: (userId) => levelOf(String(userId)),
    levelIn: (m, userId) => levelIn(m, String(userId)),
    access: (m) => accessTo(m.syncedBy, callerId, (h) => levelIn(m, h)),
    visibleFilter: () => {
      // Visible iff the caller holds it, or some holder's level for it is not private. A holder's level is their
      // override when they set one, else their own level, so the holders who can make it visible are the sharers
      // (own level not private) who did not override it to private, and anyone who overrode it to shared.
      const branches: Record<string, unknown>[] = [
        { syncedBy: callerId },
        // Overridden to shared by one of its holders (an override is only ever set by a holder, and leaves with them).
        { 'levelOverrides.metadata': trusted({ $in: everyone }) },
        { 'levelOverrides.full': trusted({ $in: everyone }) },
      ];
      if (sharers.length > 0) {
        // The usual case: a sharer holds it and no sharer made it private.
        branches.push({ syncedBy: trusted({ $in: sharers }), 'levelOverrides.private': trusted({ $nin: sharers }) });
        // Some sharer made it private: another sharer holding it without that override still shares it.
        branches.push({
          'levelOverrides.private': trusted({ $in: sharers }),
          $or: sharers.map((s) => ({ syncedBy: s, 'levelOverrides.private': trusted({ $ne: s }) })),
        });
      }
      return { $or: branches };
    },
    shows: (userId, m) => String(userId) === String(callerId) || levelIn(m, String(userId)) !== 'private',
  };
}

/** A user of the organisation as a request's reads need them: their sharing level, and who they are. */
export interface OrgUser {
  _id: Types.ObjectId;
  email: string;
  name: string;
  settings?: { visibility?: VisibilityLevel | null };
}

/**
 * Loads the policy for a request; runs inside the caller's organisation context. The organisation and its users
 * come from its snapshot (store/org-snapshot.ts: read once per request, the users from the database only when they
 * changed), which the sidebar and `why` share for the caller's address, the teammates and who holds a message.
 */
export async function loadVisibility(callerId: Types.ObjectId): Promise<VisibilityPolicy> {
  const { org, users } = await orgSnapshot();
  const defaultLevel = org?.settings?.sharing?.defaultVisibility ?? 'full';
  return buildPolicy(
    callerId,
    defaultLevel,
    users.map((u) => ({ _id: u._id, visibility: u.settings?.visibility ?? null })),
  );
}
