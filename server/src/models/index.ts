import mongoose from 'mongoose';
import { Note, Task } from './activity';
import { AttachmentCache } from './attachment-cache';
import { AuditLog, OAuthState, SyncEvent } from './audit';
import { Company, Contact, Deal } from './crm';
import { LoginLink } from './login-link';
import { LogExclusion, LogExclusionKey } from './log-exclusion';
import { Mailbox } from './mailbox';
import { MailboxMessage } from './mailbox-message';
import { Message } from './message';
import { Org } from './org';
import { OrgRealm } from './org-realm';
import { Outbox } from './outbox';
import { Activity, CopyRef } from './read-model';
import { SessionRevocation } from './session-revocation';
import { SyncLock } from './sync-lock';
import { Thread, ThreadKey } from './thread';
import { User } from './user';

export {
  Activity,
  CopyRef,
  Note,
  Task,
  AttachmentCache,
  AuditLog,
  Company,
  Contact,
  Deal,
  LogExclusion,
  LogExclusionKey,
  LoginLink,
  Mailbox,
  MailboxMessage,
  Message,
  OAuthState,
  Org,
  OrgRealm,
  Outbox,
  SessionRevocation,
  SyncEvent,
  SyncLock,
  Thread,
  ThreadKey,
  User,
};

/** Every model, for index creation at start-up. */
export const ALL_MODELS = [
  Org,
  OrgRealm,
  User,
  Mailbox,
  Message,
  MailboxMessage,
  Thread,
  ThreadKey,
  SyncLock,
  Contact,
  Company,
  Deal,
  Outbox,
  OAuthState,
  SyncEvent,
  AuditLog,
  AttachmentCache,
  LoginLink,
  Note,
  Task,
  SessionRevocation,
  Activity,
  CopyRef,
  LogExclusion,
  LogExclusionKey,
];

/**
 * Creates collections and indexes of every model; idempotent, safe to run on every start.
 *
 * On MongoDB every declared index is built: the queries name the one that serves them (test/helpers/index-check.ts
 * holds them to it). FerretDB's SQLite backend finds documents only through `_id`, yet keeps every other index as
 * an SQLite expression index over the document's JSON, evaluated on every insert and update: the non-unique ones
 * cost about a quarter of its CPU per ingested message and serve no query (docs/PERFORMANCE.md). There only the
 * unique indexes are built, for the duplicate-key errors the idempotent upserts rely on, and non-unique ones that
 * an earlier version built are dropped.
 */
export async function ensureIndexes(): Promise<void> {
  const uniqueOnly = await isFerretdb();
  for (const model of ALL_MODELS) {
    await model.createCollection().catch((err: { codeName?: string }) => {
      if (err.codeName !== 'NamespaceExists') throw err;
    });
    if (!uniqueOnly) {
      await model.createIndexes();
      continue;
    }
    for (const [keys, options] of model.schema.indexes()) {
      if (options?.unique) await model.collection.createIndex(keys as mongoose.mongo.IndexSpecification, options as mongoose.mongo.CreateIndexesOptions);
    }
    for (const index of await model.collection.indexes()) {
      if (index.name && index.name !== '_id_' && !index.unique) await model.collection.dropIndex(index.name);
    }
  }
}

/** FerretDB answers buildInfo with its own version beside the MongoDB one it emulates. */
async function isFerretdb(): Promise<boolean> {
  const db = mongoose.connection.db;
  if (!db) throw new Error('ensureIndexes: the database is not connected');
  const info = await db.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string';
}
