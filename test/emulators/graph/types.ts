/**
 * The emulated Exchange mailbox model. These are storage shapes, not Graph JSON: render.ts turns a StoredMessage
 * into the Graph `message` resource for one request (its $select, its id type, its body preference).
 */

export interface EmailAddress {
  name: string;
  address: string;
}
export interface Recipient {
  emailAddress: EmailAddress;
}

export type FlagStatus = 'notFlagged' | 'flagged' | 'complete';

export interface StoredAttachment {
  id: string;
  name: string;
  contentType: string;
  size: number;
  isInline: boolean;
  contentId: string | null;
  content: Buffer;
  lastModifiedDateTime: string;
}

export interface StoredMessage {
  /** Never changes while the item stays in the mailbox (https://learn.microsoft.com/graph/outlook-immutable-id). */
  immutableId: string;
  /** Bumped on every move: the regular (default) id is derived from it, so it changes when the message moves. */
  moveGeneration: number;
  folderId: string;
  /** Mailbox change sequence at which it entered its current folder (delta `created` vs `updated`). */
  enteredFolderSeq: number;
  /** Mailbox change sequence of its last change (delta rounds return items changed after their watermark). */
  changeSeq: number;
  changeKey: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  receivedDateTime: string;
  sentDateTime: string | null;
  internetMessageId: string;
  conversationId: string;
  conversationIndex: string;
  subject: string;
  from: Recipient | null;
  sender: Recipient | null;
  toRecipients: Recipient[];
  ccRecipients: Recipient[];
  bccRecipients: Recipient[];
  replyTo: Recipient[];
  body: { contentType: 'html' | 'text'; content: string };
  /** Plain-text rendering of the body, for bodyPreview and `Prefer: outlook.body-content-type="text"`. */
  text: string;
  isRead: boolean;
  isDraft: boolean;
  flag: { flagStatus: FlagStatus };
  categories: string[];
  importance: 'low' | 'normal' | 'high';
  internetMessageHeaders: { name: string; value: string }[];
  inReplyTo: string | null;
  references: string[];
  attachments: StoredAttachment[];
  /** The original RFC 822 bytes for seeded or delivered mail; null for items composed through the API. */
  raw: Buffer | null;
  /** singleValueExtendedProperties set by a client, keyed by the property id in lower case. */
  extendedProperties?: Record<string, string>;
}

export interface MailFolder {
  id: string;
  displayName: string;
  parentFolderId: string;
  wellKnownName: string | null;
  isHidden: boolean;
}

/** What a delta round reports for an item that left a folder (moved out, deleted, purged). */
export interface Tombstone {
  folderId: string;
  immutableId: string;
  /** The regular id the item had while it was in that folder. */
  regularId: string;
  seq: number;
}

export interface MailUser {
  /** The Entra object id (`oid`), also Graph's user id. */
  id: string;
  address: string;
  displayName: string;
  tenantId: string;
  /**
   * Entra directory roles (role template ids, e.g. 62e90394-69f5-4237-9190-012177145e10 Global Administrator),
   * emitted as `wids` in ID tokens when the app registration asks for them (groupMembershipClaims).
   */
  directoryRoles?: string[];
}

export interface Mailbox {
  user: MailUser;
  folders: Map<string, MailFolder>;
  messages: Map<string, StoredMessage>;
  tombstones: Tombstone[];
  seq: number;
  /**
   * True: this mailbox keeps the internetMessageId it assigned to a draft even when a client PATCHes another one
   * (control.assignOwnMessageIds) — the reading of the docs under which a client's Message-ID never survives, so
   * a product must read the sent copy's id back. False (default): a draft's internetMessageId is updatable, as the
   * message-update page says ("Updatable only if isDraft = true", https://learn.microsoft.com/graph/api/message-update).
   */
  assignsOwnMessageIds?: boolean;
}

/** A change the store announces to subscriptions and the control log. */
export interface MailChange {
  mailbox: Mailbox;
  message: StoredMessage;
  kind: 'created' | 'updated' | 'moved' | 'deleted';
  /** For moves and deletes: the folder the item left and the regular id it had there. */
  fromFolderId?: string;
  fromRegularId?: string;
}
