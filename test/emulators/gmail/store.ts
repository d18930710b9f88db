/**
 * One emulated Gmail mailbox: messages with labels, threads, user labels and the history log.
 *
 * Every change goes through `record()`, which gives the change a new mailbox historyId, appends a history
 * record and tells the listener (push). History ids grow but are not contiguous, as in Gmail
 * (https://developers.google.com/gmail/api/reference/rest/v1/users.history/list): tests must not assume +1.
 */
import { randomBytes } from 'node:crypto';
import { headerValue, parseMime, snippetOf, type MimeNode } from './mime';
import { systemLabels, type Label } from './labels';

export interface StoredMessage {
  id: string;
  threadId: string;
  raw: Buffer;
  labelIds: Set<string>;
  internalDate: number;
  historyId: number;
  tree: MimeNode;
  snippet: string;
}

export type MessageRef = { id: string; threadId: string };
type Snapshot = MessageRef & { labelIds: string[] };

export interface HistoryRecord {
  id: number;
  at: number;
  messages: MessageRef[];
  messagesAdded?: Array<{ message: Snapshot }>;
  messagesDeleted?: Array<{ message: Snapshot }>;
  labelsAdded?: Array<{ message: Snapshot; labelIds: string[] }>;
  labelsRemoved?: Array<{ message: Snapshot; labelIds: string[] }>;
}

export type HistoryKind = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

export interface NewMessage {
  raw: Buffer;
  labelIds?: string[];
  internalDate?: number;
  /** Thread to join; resolved by the caller (threading rules differ between send and delivery). */
  threadId?: string;
  /** The parsed raw, when the caller already has it. */
  tree?: MimeNode;
}

let idCounter = 0;

/** Gmail ids are 16 hex digits that grow with time; keep that shape (some code sorts or validates them). */
function newMessageId(internalDate: number): string {
  idCounter = (idCounter + 1) & 0xfffff;
  return ((BigInt(Math.max(internalDate, 0)) << 20n) | BigInt(idCounter)).toString(16).padStart(16, '0');
}

/** Subject comparison for threading: prefixes like Re:/Fwd: and case do not matter. */
export function normalizeSubject(subject: string | undefined): string {
  return (subject ?? '')
    .replace(/^(\s*(re|fwd?|aw|sv|tr)\s*(\[\d+\])?\s*:\s*)+/i, '')
    .trim()
    .toLowerCase();
}

export class Mailbox {
  readonly messages = new Map<string, StoredMessage>();
  readonly labels = new Map<string, Label>(systemLabels().map((l) => [l.id, l]));
  readonly history: HistoryRecord[] = [];
  historyId: number;
  /** startHistoryId below this answers 404 (history expired). */
  historyFloor: number;
  /**
   * True: messages.send gives every message a Message-ID of Gmail's own, replacing the client's (control
   * replaceMessageIdsOnSend). Gmail documents neither keeping nor replacing it (https://developers.google.com/gmail/api/guides/sending
   * only says the message must be RFC 2822), so a product must read the sent copy back; false (default) keeps it.
   */
  replacesMessageIds = false;
  private nextUserLabel = 1;
  private byMessageIdHeader = new Map<string, string>();
  /** Thread id → message ids, and a newest-first order rebuilt only after adds and deletes (benchmarks list
   * mailboxes of 100,000 messages page by page; sorting them on every page would dominate). */
  private threads = new Map<string, Set<string>>();
  private sorted: StoredMessage[] | undefined;

  constructor(
    readonly email: string,
    private readonly onChange: (mailbox: Mailbox, record: HistoryRecord) => void = () => {},
  ) {
    // Start at a realistic, random-looking value: engines that assume small ids get caught.
    this.historyId = 100_000 + randomBytes(2).readUInt16BE(0);
    this.historyFloor = this.historyId;
  }

  private record(fill: (record: HistoryRecord) => void): HistoryRecord {
    this.historyId += 1 + (this.history.length % 3);
    const record: HistoryRecord = { id: this.historyId, at: Date.now(), messages: [] };
    fill(record);
    this.history.push(record);
    this.onChange(this, record);
    return record;
  }

  private snapshot(message: StoredMessage): Snapshot {
    return { id: message.id, threadId: message.threadId, labelIds: [...message.labelIds] };
  }

  /** The thread a message with these headers joins by References/In-Reply-To and subject, if any. */
  threadByReferences(tree: MimeNode): string | undefined {
    const refs = `${headerValue(tree, 'references') ?? ''} ${headerValue(tree, 'in-reply-to') ?? ''}`.match(/<[^>]+>/g) ?? [];
    const subject = normalizeSubject(headerValue(tree, 'subject'));
    for (const ref of refs.reverse()) {
      const found = this.messages.get(this.byMessageIdHeader.get(ref) ?? '');
      if (found && normalizeSubject(headerValue(found.tree, 'subject')) === subject) return found.threadId;
    }
    return undefined;
  }

  add(input: NewMessage): StoredMessage {
    const tree = input.tree ?? parseMime(input.raw);
    const internalDate = input.internalDate ?? Date.now();
    const id = newMessageId(internalDate);
    const message: StoredMessage = {
      id,
      threadId: input.threadId && this.threadExists(input.threadId) ? input.threadId : id,
      raw: input.raw,
      labelIds: new Set(input.labelIds ?? []),
      internalDate,
      historyId: 0,
      tree,
      snippet: snippetOf(tree),
    };
    this.messages.set(id, message);
    this.threads.set(message.threadId, (this.threads.get(message.threadId) ?? new Set()).add(id));
    this.sorted = undefined;
    const messageIdHeader = headerValue(tree, 'message-id');
    if (messageIdHeader) this.byMessageIdHeader.set(messageIdHeader.trim(), id);
    const record = this.record((r) => {
      r.messages.push({ id, threadId: message.threadId });
      r.messagesAdded = [{ message: this.snapshot(message) }];
    });
    message.historyId = record.id;
    return message;
  }

  modify(id: string, add: string[], remove: string[]): StoredMessage | undefined {
    const message = this.messages.get(id);
    if (!message) return undefined;
    const added = add.filter((l) => !message.labelIds.has(l));
    const removed = remove.filter((l) => message.labelIds.has(l) && !add.includes(l));
    if (added.length === 0 && removed.length === 0) return message; // no change, no history
    added.forEach((l) => message.labelIds.add(l));
    removed.forEach((l) => message.labelIds.delete(l));
    const record = this.record((r) => {
      r.messages.push({ id, threadId: message.threadId });
      const snap = this.snapshot(message);
      if (added.length) r.labelsAdded = [{ message: snap, labelIds: added }];
      if (removed.length) r.labelsRemoved = [{ message: snap, labelIds: removed }];
    });
    message.historyId = record.id;
    return message;
  }

  remove(id: string): boolean {
    const message = this.messages.get(id);
    if (!message) return false;
    this.messages.delete(id);
    this.threads.get(message.threadId)?.delete(id);
    if (this.threads.get(message.threadId)?.size === 0) this.threads.delete(message.threadId);
    this.sorted = undefined;
    this.record((r) => {
      r.messages.push({ id, threadId: message.threadId });
      r.messagesDeleted = [{ message: this.snapshot(message) }];
    });
    return true;
  }

  threadExists(threadId: string): boolean {
    return this.threads.has(threadId);
  }

  /** The thread's messages, oldest first. */
  thread(threadId: string): StoredMessage[] {
    return [...(this.threads.get(threadId) ?? [])].map((id) => this.messages.get(id)!).sort((a, b) => a.internalDate - b.internalDate);
  }

  /** All messages, newest first (Gmail's list order). Do not mutate the returned array. */
  newestFirst(): readonly StoredMessage[] {
    this.sorted ??= [...this.messages.values()].sort((a, b) => b.internalDate - a.internalDate || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return this.sorted;
  }

  createLabel(name: string, visibility: Partial<Label> = {}): Label | undefined {
    const taken = [...this.labels.values()].some((l) => l.name.toLowerCase() === name.toLowerCase());
    if (taken) return undefined;
    const label: Label = {
      id: `Label_${this.nextUserLabel++}`,
      name,
      type: 'user',
      messageListVisibility: visibility.messageListVisibility ?? 'show',
      labelListVisibility: visibility.labelListVisibility ?? 'labelShow',
    };
    this.labels.set(label.id, label);
    return label;
  }

  /** Drops history older than `ageMs`, or all of it; startHistoryIds before the cut then answer 404. */
  expireHistory(ageMs = 0): void {
    const cutoff = Date.now() - ageMs;
    while (this.history.length > 0 && this.history[0].at <= cutoff) this.historyFloor = this.history.shift()!.id;
    if (this.history.length === 0) this.historyFloor = this.historyId;
  }

  threadsTotal(): number {
    return this.threads.size;
  }
}
