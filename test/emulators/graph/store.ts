/**
 * The emulated Exchange Online: mailboxes with their folders and messages, a per-mailbox change sequence that delta
 * rounds are computed from, and tombstones for items that left a folder. Every mutation goes through here so that
 * delta, change notifications and the control log all see the same history.
 */
import { randomBytes } from 'node:crypto';
import { conversationIndex, newChangeKey, newConversationId, newFolderId, newGuid, newImmutableId, parseRegularId, regularIdOf } from './ids';
import { parseRfc822, type ParsedFields } from './mime';
import type { MailChange, MailFolder, MailUser, Mailbox, StoredMessage } from './types';

/** Well-known folder names (https://learn.microsoft.com/graph/api/resources/mailfolder) and display names. */
export const WELL_KNOWN_FOLDERS: Record<string, string> = {
  inbox: 'Inbox',
  sentitems: 'Sent Items',
  drafts: 'Drafts',
  deleteditems: 'Deleted Items',
  archive: 'Archive',
  junkemail: 'Junk Email',
  outbox: 'Outbox',
};
/**
 * Where `DELETE /messages/{id}` puts an item: the hidden Recoverable Items "Deletions" folder, not Deleted Items
 * (the message-delete page notes items land in `recoverableitemsdeletions`); moving to Deleted Items is a `move`.
 */
export const RECOVERABLE_DELETIONS = 'recoverableitemsdeletions';

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (): GraphError => new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');

export type NewMessage = Omit<ParsedFields, 'internetMessageId' | 'sentDateTime'> & {
  internetMessageId?: string | null;
  sentDateTime?: string | null;
  receivedDateTime?: string;
  isRead?: boolean;
  isDraft?: boolean;
  raw?: Buffer | null;
  categories?: string[];
  extendedProperties?: Record<string, string>;
};

export class MailStore {
  readonly defaultTenantId = newGuid();
  /**
   * True: message delta ignores `$expand` (control.setDeltaExpand(false)). The message-delta page lists `$expand`
   * among the options a round encodes (https://learn.microsoft.com/graph/api/message-delta), while the delta
   * overview limits `$expand` to users' manager and groups' members (https://learn.microsoft.com/graph/delta-query-overview):
   * this is that stricter reading, under which delta items carry no `attachments` even when asked.
   */
  ignoreDeltaExpand = false;
  /**
   * How long a sent draft is in transit: "Retrieving the message in the Sent Items folder might not succeed
   * immediately after sending it. The copy of the message won't be created until the message is successfully sent,
   * which can take time." (https://learn.microsoft.com/graph/outlook-immutable-id, "Immutable ID with sending mail").
   * 0 (default): the copy is there when /send answers; more: the item is found nowhere until then (routes/send.ts).
   */
  sentCopyDelayMs = 0;
  private readonly mailboxes = new Map<string, Mailbox>();
  private readonly listeners: ((change: MailChange) => void)[] = [];

  onChange(listener: (change: MailChange) => void): void {
    this.listeners.push(listener);
  }

  list(): Mailbox[] {
    return [...this.mailboxes.values()];
  }

  get(address: string): Mailbox | undefined {
    return this.mailboxes.get(address.toLowerCase());
  }

  byUserId(id: string): Mailbox | undefined {
    return this.list().find((mb) => mb.user.id === id);
  }

  require(address: string): Mailbox {
    const mailbox = this.get(address);
    if (!mailbox) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${address}' is invalid.`);
    return mailbox;
  }

  /** The mailbox for an address, created empty (with the well-known folders) the first time it is named. */
  ensure(address: string, user: Partial<Omit<MailUser, 'address'>> = {}): Mailbox {
    const existing = this.get(address);
    if (existing) return existing;
    const local = address.split('@')[0] ?? address;
    const mailbox: Mailbox = {
      user: {
        id: user.id ?? newGuid(),
        address,
        displayName: user.displayName ?? local.replace(/[._-]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase()),
        tenantId: user.tenantId ?? this.defaultTenantId,
        ...(user.directoryRoles ? { directoryRoles: [...user.directoryRoles] } : {}),
      },
      folders: new Map(),
      messages: new Map(),
      tombstones: [],
      seq: 0,
    };
    const root: MailFolder = {
      id: newFolderId(),
      displayName: 'Top of Information Store',
      parentFolderId: '',
      wellKnownName: 'msgfolderroot',
      isHidden: false,
    };
    mailbox.folders.set(root.id, root);
    for (const [wellKnownName, displayName] of Object.entries(WELL_KNOWN_FOLDERS)) {
      const folder: MailFolder = { id: newFolderId(), displayName, parentFolderId: root.id, wellKnownName, isHidden: false };
      mailbox.folders.set(folder.id, folder);
    }
    const deletions: MailFolder = { id: newFolderId(), displayName: 'Deletions', parentFolderId: '', wellKnownName: RECOVERABLE_DELETIONS, isHidden: true };
    mailbox.folders.set(deletions.id, deletions);
    this.mailboxes.set(address.toLowerCase(), mailbox);
    return mailbox;
  }

  /** A folder by id or well-known name (names are case-insensitive, ids are not). */
  folder(mailbox: Mailbox, ref: string): MailFolder | undefined {
    const direct = mailbox.folders.get(ref);
    if (direct) return direct;
    const name = ref.toLowerCase();
    for (const folder of mailbox.folders.values()) if (folder.wellKnownName === name) return folder;
    return undefined;
  }

  requireFolder(mailbox: Mailbox, ref: string): MailFolder {
    const folder = this.folder(mailbox, ref);
    if (!folder) throw notFound();
    return folder;
  }

  childFolders(mailbox: Mailbox, parentId: string): MailFolder[] {
    return [...mailbox.folders.values()].filter((f) => f.parentFolderId === parentId && !f.isHidden);
  }

  createFolder(mailbox: Mailbox, parentId: string, displayName: string): MailFolder {
    if (this.childFolders(mailbox, parentId).some((f) => f.displayName.toLowerCase() === displayName.toLowerCase())) {
      throw new GraphError(409, 'ErrorFolderExists', 'A folder with the specified name already exists.');
    }
    const folder: MailFolder = { id: newFolderId(), displayName, parentFolderId: parentId, wellKnownName: null, isHidden: false };
    mailbox.folders.set(folder.id, folder);
    return folder;
  }

  /** A message by its immutable id or its *current* regular id; a regular id from before a move is not found. */
  message(mailbox: Mailbox, id: string): StoredMessage | undefined {
    const byImmutable = mailbox.messages.get(id);
    if (byImmutable) return byImmutable;
    const regular = parseRegularId(id);
    if (!regular) return undefined;
    const message = mailbox.messages.get(regular.immutableId);
    return message && message.moveGeneration === regular.moveGeneration ? message : undefined;
  }

  requireMessage(mailbox: Mailbox, id: string): StoredMessage {
    const message = this.message(mailbox, id);
    if (!message) throw notFound();
    return message;
  }

  messagesIn(mailbox: Mailbox, folderId: string): StoredMessage[] {
    return [...mailbox.messages.values()].filter((m) => m.folderId === folderId);
  }

  byInternetMessageId(mailbox: Mailbox, internetMessageId: string): StoredMessage | undefined {
    return [...mailbox.messages.values()].find((m) => m.internetMessageId === internetMessageId);
  }

  async insertRaw(mailbox: Mailbox, folderId: string, raw: Buffer, opts: { isRead?: boolean; receivedDateTime?: string } = {}): Promise<StoredMessage> {
    const parsed = await parseRfc822(raw);
    return this.insert(mailbox, folderId, { ...parsed, raw, ...opts });
  }

  insert(mailbox: Mailbox, folderId: string, fields: NewMessage): StoredMessage {
    const now = new Date().toISOString();
    // Exchange threads a reply into the conversation of the message it answers; we follow In-Reply-To/References.
    const parentIds = [fields.inReplyTo, ...[...fields.references].reverse()].filter((v): v is string => Boolean(v));
    const parent = parentIds.map((id) => this.byInternetMessageId(mailbox, id)).find(Boolean);
    const message: StoredMessage = {
      immutableId: newImmutableId(),
      moveGeneration: 0,
      folderId,
      enteredFolderSeq: 0,
      changeSeq: 0,
      changeKey: newChangeKey(),
      createdDateTime: now,
      lastModifiedDateTime: now,
      receivedDateTime: fields.receivedDateTime ?? fields.sentDateTime ?? now,
      sentDateTime: fields.sentDateTime ?? null,
      internetMessageId: fields.internetMessageId ?? `<${randomBytes(12).toString('hex').toUpperCase()}@emulator.prod.outlook.com>`,
      conversationId: parent?.conversationId ?? newConversationId(),
      conversationIndex: conversationIndex(parent?.conversationIndex ?? null),
      subject: fields.subject,
      from: fields.from,
      sender: fields.sender,
      toRecipients: fields.toRecipients,
      ccRecipients: fields.ccRecipients,
      bccRecipients: fields.bccRecipients,
      replyTo: fields.replyTo,
      body: fields.body,
      text: fields.text,
      isRead: fields.isRead ?? false,
      isDraft: fields.isDraft ?? false,
      flag: { flagStatus: 'notFlagged' },
      categories: fields.categories ?? [],
      importance: fields.importance,
      internetMessageHeaders: fields.internetMessageHeaders,
      inReplyTo: fields.inReplyTo,
      references: fields.references,
      attachments: fields.attachments,
      raw: fields.raw ?? null,
      ...(fields.extendedProperties ? { extendedProperties: { ...fields.extendedProperties } } : {}),
    };
    mailbox.messages.set(message.immutableId, message);
    this.touch(mailbox, message);
    message.enteredFolderSeq = message.changeSeq;
    this.emit({ mailbox, message, kind: 'created' });
    return message;
  }

  update(mailbox: Mailbox, message: StoredMessage, patch: Partial<StoredMessage>): StoredMessage {
    Object.assign(message, patch);
    this.touch(mailbox, message);
    this.emit({ mailbox, message, kind: 'updated' });
    return message;
  }

  /** A move leaves a tombstone in the source folder and gives the item a new regular id (same immutable id). */
  move(mailbox: Mailbox, message: StoredMessage, destinationId: string, patch: Partial<StoredMessage> = {}): StoredMessage {
    if (message.folderId === destinationId) return this.update(mailbox, message, patch);
    const fromFolderId = message.folderId;
    const fromRegularId = regularIdOf(message);
    Object.assign(message, patch);
    message.folderId = destinationId;
    message.moveGeneration += 1;
    this.touch(mailbox, message);
    message.enteredFolderSeq = message.changeSeq;
    mailbox.tombstones.push({ folderId: fromFolderId, immutableId: message.immutableId, regularId: fromRegularId, seq: message.changeSeq });
    this.emit({ mailbox, message, kind: 'moved', fromFolderId, fromRegularId });
    return message;
  }

  copy(mailbox: Mailbox, message: StoredMessage, destinationId: string): StoredMessage {
    const { immutableId: _id, moveGeneration: _gen, ...rest } = message;
    return this.insert(mailbox, destinationId, { ...rest, attachments: message.attachments.map((a) => ({ ...a })) });
  }

  /** Hard delete (permanentDelete, or the user purging): gone from every folder view. */
  purge(mailbox: Mailbox, message: StoredMessage): void {
    const fromRegularId = regularIdOf(message);
    mailbox.messages.delete(message.immutableId);
    mailbox.seq += 1;
    mailbox.tombstones.push({ folderId: message.folderId, immutableId: message.immutableId, regularId: fromRegularId, seq: mailbox.seq });
    this.emit({ mailbox, message, kind: 'deleted', fromFolderId: message.folderId, fromRegularId });
  }

  /** A sent draft in transit (sentCopyDelayMs): gone from its folder and not found by any id until `release`. */
  hold(mailbox: Mailbox, message: StoredMessage): void {
    this.purge(mailbox, message);
  }

  /** The held item appears in `folderId` under its immutable id (a new regular id, as after any move). */
  release(mailbox: Mailbox, message: StoredMessage, folderId: string, patch: Partial<StoredMessage> = {}): StoredMessage {
    Object.assign(message, patch);
    message.folderId = folderId;
    message.moveGeneration += 1;
    mailbox.messages.set(message.immutableId, message);
    this.touch(mailbox, message);
    message.enteredFolderSeq = message.changeSeq;
    this.emit({ mailbox, message, kind: 'created' });
    return message;
  }

  private touch(mailbox: Mailbox, message: StoredMessage): void {
    mailbox.seq += 1;
    message.changeSeq = mailbox.seq;
    message.changeKey = newChangeKey();
    message.lastModifiedDateTime = new Date().toISOString();
  }

  private emit(change: MailChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
