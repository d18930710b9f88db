/**
 * How request handlers and jobs reach a mailbox at its provider: an adapter built for that mailbox with a
 * token source over its sealed tokens. The token source (refresh once per mailbox, auth_revoked →
 * reauth_required) is the engine's; this seam lets the HTTP layer use it without knowing how it works.
 */
import type { Types } from 'mongoose';
import type { AccessTokenSource, ProviderAdapter, ProviderName } from './port';

export interface MailboxForAdapter {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  provider: ProviderName;
  address: string;
}

export interface MailboxAdapters {
  /** Runs inside the mailbox's organisation context. */
  forMailbox(mailbox: MailboxForAdapter): ProviderAdapter;
}

export type TokenSourceFactory = (mailbox: MailboxForAdapter) => AccessTokenSource;
