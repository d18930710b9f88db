/**
 * The version of an organisation's people: its users (who they are, their role, whether they are disabled, their
 * sharing level, since when their sessions count) and its signed-out sessions. Every write of those two models,
 * through any mongoose path, moves `Org.peopleVersion` after the write (org-versions.ts), so a process that keeps a
 * copy of them (store/org-snapshot.ts) reads them again on its next request. In-process, `peopleWrites()` moves at
 * once too, so a request that changed a user and then asks for the people sees the change.
 */
import { orgVersion } from './org-versions';

const people = orgVersion('peopleVersion');

/** Writes of people in this process so far (a request's copy of the people is good while this has not moved). */
export const peopleWrites = people.writes;
export const versionsPeople = people.plugin;
