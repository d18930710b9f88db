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

/** Creates collections and indexes of every model; idempotent, safe to run on every start. */
export async function ensureIndexes(): Promise<void> {
  for (const model of ALL_MODELS) {
    await model.createCollection().catch((err: { codeName?: string }) => {
      if (err.codeName !== 'NamespaceExists') throw err;
    });
    await model.createIndexes();
  }
}
