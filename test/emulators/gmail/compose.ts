/**
 * Sending and delivering mail inside the emulator: header completion, Gmail's threading rules, and local
 * delivery to other emulated mailboxes (so two users of one organisation see the same message).
 */
import { randomBytes } from 'node:crypto';
import { headerValue, parseMime } from './mime';
import type { GmailState, SendRecord } from './state';
import type { Mailbox, StoredMessage } from './store';

/** `raw` is base64url in the API, but clients sometimes send standard base64; Gmail accepts both. */
export function decodeRaw(raw: string): Buffer {
  return Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function splitAtBody(raw: Buffer): { head: string; rest: string } {
  const text = raw.toString('latin1');
  const match = /\r?\n\r?\n/.exec(text);
  return match ? { head: text.slice(0, match.index), rest: text.slice(match.index) } : { head: text, rest: '\r\n\r\n' };
}

/** Adds the headers that are missing (by name), keeping the existing ones untouched. */
export function withHeaders(raw: Buffer, headers: Record<string, string>): Buffer {
  const { head, rest } = splitAtBody(raw);
  const missing = Object.entries(headers).filter(([name]) => !new RegExp(`^${name}:`, 'im').test(head));
  if (missing.length === 0) return raw;
  const added = missing.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return Buffer.from(added + head + rest, 'latin1');
}

/** Removes a header and its folded continuation lines (Bcc must not reach the recipients). */
export function withoutHeader(raw: Buffer, name: string): Buffer {
  const { head, rest } = splitAtBody(raw);
  const kept = head.replace(new RegExp(`^${name}:.*(\\r?\\n[ \\t].*)*(\\r?\\n)?`, 'gim'), '');
  return Buffer.from(kept + rest, 'latin1');
}

export function addresses(value: string | undefined): string[] {
  return (value ?? '').match(/[^\s<>,;"']+@[^\s<>,;"']+/g)?.map((a) => a.toLowerCase()) ?? [];
}

/** Incoming mail threads by References/In-Reply-To plus a matching subject, as Gmail's own threading does. */
export function deliver(mailbox: Mailbox, raw: Buffer, labelIds: string[], internalDate?: number): StoredMessage {
  const tree = parseMime(raw);
  return mailbox.add({ raw, labelIds, internalDate, threadId: mailbox.threadByReferences(tree), tree });
}

/**
 * messages.send. A sent message joins a thread only when the request names the thread AND its References or
 * In-Reply-To point into that thread AND the subject matches; otherwise it starts a new thread:
 * https://developers.google.com/gmail/api/guides/threads#adding_drafts_and_messages_to_threads
 */
export function sendMessage(state: GmailState, mailbox: Mailbox, input: Buffer, requestedThreadId?: string): StoredMessage {
  const domain = mailbox.email.split('@')[1] ?? 'example.com';
  const raw = withHeaders(mailbox.replacesMessageIds ? withoutHeader(input, 'message-id') : input, {
    From: mailbox.email,
    Date: new Date().toUTCString().replace('GMT', '+0000'),
    'Message-ID': `<${randomBytes(12).toString('hex')}@${domain}>`,
  });
  const tree = parseMime(raw);
  const byReferences = mailbox.threadByReferences(tree);
  const threadId = requestedThreadId && byReferences === requestedThreadId ? requestedThreadId : undefined;
  const recipients = ['to', 'cc', 'bcc'].flatMap((h) => addresses(headerValue(tree, h)));
  const toSelf = recipients.includes(mailbox.email);
  const sent = mailbox.add({ raw, labelIds: toSelf ? ['SENT', 'INBOX', 'UNREAD'] : ['SENT'], threadId, tree });
  const record: SendRecord = { mailbox: mailbox.email, id: sent.id, threadId: sent.threadId, requestedThreadId, raw, at: sent.internalDate };
  state.sends.push(record);
  const delivered = withoutHeader(raw, 'bcc');
  for (const address of new Set(recipients)) {
    const other = address === mailbox.email ? undefined : state.mailbox(address);
    if (other) deliver(other, delivered, ['INBOX', 'UNREAD']);
  }
  return sent;
}
