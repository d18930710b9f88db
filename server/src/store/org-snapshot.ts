/**
 * The organisation as a signed-in request needs it — its settings, domains and directory version, its users (role,
 * disabled, since when their sessions count, their own settings) and its signed-out sessions — for at most one read by
 * `_id` per request (the `_id` index on both databases); requests within ORG_REUSE_MS (100 ms) of a read share it
 * unless this process wrote an organisation since (models/org.ts orgWrites), so a change made through another
 * process is seen within 100 ms, and one made through this process at once.
 *
 * The users and revocations are kept per process and read again only when the organisation's `peopleVersion` moves
 * (models/people-version.ts moves it after every write of either, through any mongoose path), or when the copy is
 * older than MAX_AGE_MS (a writer that died between its write and the version's move is caught up with by then).
 * Within one request the snapshot is read once (`withRequestSnapshot`): the session check, the visibility policy, the
 * sidebar and `why` all take it from there instead of reading the organisation and its users again; a write of people
 * in this process during the request makes the next ask read them again.
 *
 * Queries: `orgs` by `_id`; `users` by (orgId) — index `orgId_1_email_1` on MongoDB, a read of the users of every
 * organisation on the embedded database, which is why it is kept; `sessionrevocations` by (orgId, expiresAt > now)
 * — index `orgId_1_expiresAt_1`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import mongoose, { type Types } from 'mongoose';
import { currentOrgId } from '../db/tenant';
import { Org, type OrgDoc, orgWrites } from '../models/org';
import { leanFindOne } from './lean';
import { peopleWrites } from '../models/people-version';
import { SessionRevocation } from '../models/session-revocation';
import { User, type UserDoc } from '../models/user';

/** A copy of an organisation's people is trusted for at most this long without the version saying so. */
const MAX_AGE_MS = 10_000;
/** Organisations whose people this process keeps (the least recently asked for is dropped first). */
const MAX_ORGS = 2_000;

export type SnapshotOrg = Pick<OrgDoc, '_id' | 'domains' | 'settings' | 'directoryVersion' | 'peopleVersion' | 'recordsVersion' | 'copiesOnMessages'>;
export type SnapshotUser = Pick<UserDoc, '_id' | 'email' | 'name' | 'role' | 'disabled' | 'sessionsNotBefore' | 'settings'>;
export interface OrgSnapshot {
  org: SnapshotOrg | null;
  users: readonly SnapshotUser[];
  /** The users by their id (as a hex string). */
  byId: ReadonlyMap<string, SnapshotUser>;
  /** Token ids (`jti`) of the organisation's signed-out sessions that have not expired yet. */
  revoked: ReadonlySet<string>;
}

interface People {
  version: number;
  loadedAt: number;
  users: SnapshotUser[];
  byId: Map<string, SnapshotUser>;
  revoked: Set<string>;
}
const people = new Map<string, People>();

/** Keeps (or touches) an organisation's people as the most recently asked for. */
function remember(key: string, held: People): void {
  people.delete(key);
  people.set(key, held);
  if (people.size > MAX_ORGS) people.delete(people.keys().next().value as string);
}

const ORG_FIELDS = { domains: 1, settings: 1, directoryVersion: 1, peopleVersion: 1, recordsVersion: 1, copiesOnMessages: 1 } as const;
const USER_FIELDS = { email: 1, name: 1, role: 1, disabled: 1, sessionsNotBefore: 1, settings: 1 } as const;

async function loadPeople(): Promise<Omit<People, 'version' | 'loadedAt'>> {
  const [users, revocations] = await Promise.all([
    User.find({}).select(USER_FIELDS).lean<SnapshotUser[]>().exec(),
    SessionRevocation.find({ expiresAt: mongoose.trusted({ $gt: new Date() }) })
      .select({ _id: 1 })
      .lean<{ _id: string }[]>()
      .exec(),
  ]);
  return { users, byId: new Map(users.map((u) => [String(u._id), u])), revoked: new Set(revocations.map((r) => r._id)) };
}

/**
 * The organisation document as read at most ORG_REUSE_MS ago by this process, with no write of an organisation in
 * this process since: under a steady stream of requests one read serves a few dozen of them (a sidebar request
 * makes about eight reads in all), while a change made through another process is seen at most that much later.
 */
const ORG_REUSE_MS = 100;
const recentOrgs = new Map<string, { org: Promise<SnapshotOrg | null>; at: number; writes: number }>();

function readOrg(orgId: Types.ObjectId): Promise<SnapshotOrg | null> {
  const key = String(orgId);
  const now = Date.now();
  const held = recentOrgs.get(key);
  if (held && held.writes === orgWrites() && now - held.at < ORG_REUSE_MS) return held.org;
  const writes = orgWrites();
  const org = leanFindOne<SnapshotOrg>(Org, { _id: orgId }, ORG_FIELDS);
  recentOrgs.set(key, { org, at: now, writes });
  if (recentOrgs.size > MAX_ORGS) recentOrgs.delete(recentOrgs.keys().next().value as string);
  // A failed read is not kept; nor is one that a write in this process overlapped (the writes differ by then).
  org.catch(() => recentOrgs.get(key)?.org === org && recentOrgs.delete(key));
  return org;
}

/** The snapshot of the organisation in context: one read by `_id` (or a recent one), and its people when their version moved. */
export async function loadOrgSnapshot(): Promise<OrgSnapshot> {
  const orgId = currentOrgId();
  const key = String(orgId);
  const writesBefore = peopleWrites();
  const org = await readOrg(orgId);
  const version = org?.peopleVersion ?? 0;
  const held = people.get(key);
  const now = Date.now();
  if (held && held.version === version && now - held.loadedAt < MAX_AGE_MS) {
    remember(key, held);
    return { org, users: held.users, byId: held.byId, revoked: held.revoked };
  }
  const loaded = await loadPeople();
  // Kept only when no write of people in this process overlapped the read (a version read before such a write
  // would label newer users with an older version, which is harmless, or older users with a newer one, which is not).
  if (peopleWrites() === writesBefore) remember(key, { version, loadedAt: now, ...loaded });
  return { org, ...loaded };
}

interface RequestMemo {
  snapshot: Promise<OrgSnapshot> | null;
  writes: number;
  orgId: string;
}
const requests = new AsyncLocalStorage<RequestMemo>();

/** Runs `next` (the rest of a request, inside its organisation's context) with one snapshot read for all of it. */
export function withRequestSnapshot<T>(next: () => T): T {
  return requests.run({ snapshot: null, writes: peopleWrites(), orgId: String(currentOrgId()) }, next);
}

/**
 * The request's snapshot (read on first ask), or a fresh one outside a request. Read again when people were
 * written in this process since, or when the code runs in another organisation than the request's.
 */
export function orgSnapshot(): Promise<OrgSnapshot> {
  const memo = requests.getStore();
  if (!memo || memo.orgId !== String(currentOrgId())) return loadOrgSnapshot();
  if (memo.snapshot === null || memo.writes !== peopleWrites()) {
    memo.writes = peopleWrites();
    const loading = loadOrgSnapshot();
    memo.snapshot = loading;
    // A failed read is not kept: the next ask tries again.
    loading.catch(() => {
      if (memo.snapshot === loading) memo.snapshot = null;
    });
  }
  return memo.snapshot;
}

/** The organisation in context as the snapshot holds it (null when it does not exist). */
export async function snapshotOrg(): Promise<SnapshotOrg | null> {
  return (await orgSnapshot()).org;
}

/** The user of this id in the snapshot, if any. */
export const userIn = (snapshot: OrgSnapshot, userId: Types.ObjectId | string): SnapshotUser | undefined => snapshot.byId.get(String(userId));

/** Drops every kept copy (tests that write users behind mongoose's back). */
export function forgetOrgSnapshots(): void {
  people.clear();
  recentOrgs.clear();
}
