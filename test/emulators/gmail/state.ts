/**
 * Everything the Gmail emulator holds: mailboxes by address, and the log of what the product did to them
 * (sends and label changes through the API), which the control API reads back.
 */
import type { HistoryRecord } from './store';
import { Mailbox } from './store';

export interface SendRecord {
  mailbox: string;
  id: string;
  threadId: string;
  /** Thread the client asked for; differs from threadId when Gmail's threading rules refused it. */
  requestedThreadId?: string;
  raw: Buffer;
  at: number;
}

export interface ModificationRecord {
  mailbox: string;
  method: string;
  ids: string[];
  addLabelIds: string[];
  removeLabelIds: string[];
  at: number;
}

export class GmailState {
  readonly mailboxes = new Map<string, Mailbox>();
  readonly sends: SendRecord[] = [];
  readonly modifications: ModificationRecord[] = [];

  constructor(private readonly onChange: (mailbox: Mailbox, record: HistoryRecord) => void) {}

  mailbox(email: string): Mailbox | undefined {
    return this.mailboxes.get(email.toLowerCase());
  }

  /** The mailbox of the address, created empty when unknown (a first sign-in does that). */
  ensure(email: string): Mailbox {
    const key = email.toLowerCase();
    let mailbox = this.mailboxes.get(key);
    if (!mailbox) {
      mailbox = new Mailbox(key, this.onChange);
      this.mailboxes.set(key, mailbox);
    }
    return mailbox;
  }
}
