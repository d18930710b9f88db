/**
 * The Message resource in each `format` of users.messages.get
 * (https://developers.google.com/gmail/api/reference/rest/v1/Format). Numbers that are uint64/int64 in the
 * discovery document (historyId, internalDate) travel as JSON strings, as Gmail sends them.
 */
import { randomBytes } from 'node:crypto';
import { toPayload } from './mime';
import type { StoredMessage } from './store';

export type MessageFormat = 'full' | 'metadata' | 'minimal' | 'raw';

/**
 * Gmail hands out a different attachmentId on each read of the same part; any of them stays usable. Encoding
 * the part id plus a random salt reproduces both properties, so engines cannot use attachment ids as keys.
 */
export function attachmentIdFor(messageId: string, partId: string): string {
  return Buffer.from(`${messageId}:${partId}:${randomBytes(12).toString('hex')}`).toString('base64url');
}

export function parseAttachmentId(attachmentId: string): { messageId: string; partId: string } | undefined {
  const [messageId, partId] = Buffer.from(attachmentId, 'base64url').toString().split(':');
  return messageId !== undefined && partId !== undefined ? { messageId, partId } : undefined;
}

export function renderMessage(message: StoredMessage, format: MessageFormat = 'full', metadataHeaders: string[] = []) {
  const base = {
    id: message.id,
    threadId: message.threadId,
    labelIds: [...message.labelIds],
    snippet: message.snippet,
    sizeEstimate: message.raw.length,
    historyId: String(message.historyId),
    internalDate: String(message.internalDate),
  };
  if (format === 'minimal') return base;
  if (format === 'raw') return { ...base, raw: message.raw.toString('base64url') };
  if (format === 'metadata') {
    const wanted = metadataHeaders.map((h) => h.toLowerCase());
    const headers = wanted.length === 0 ? message.tree.headers : message.tree.headers.filter((h) => wanted.includes(h.name.toLowerCase()));
    return { ...base, payload: { mimeType: message.tree.mimeType, headers } };
  }
  return { ...base, payload: toPayload(message.tree, (partId) => attachmentIdFor(message.id, partId)) };
}

export const messageRef = (m: StoredMessage) => ({ id: m.id, threadId: m.threadId });

/** Keyset page tokens (newest first): stable while new mail arrives, unlike offsets. */
export function encodePageToken(m: StoredMessage): string {
  return Buffer.from(`${m.internalDate}:${m.id}`).toString('base64url');
}

export function afterPageToken(token: string | undefined): (m: StoredMessage) => boolean {
  if (!token) return () => true;
  const [date, id] = Buffer.from(token, 'base64url').toString().split(':');
  const at = Number(date);
  return (m) => m.internalDate < at || (m.internalDate === at && m.id < id);
}

/**
 * Where the page after `token` starts in a newest-first list (Mailbox.newestFirst): "after the token" is false and
 * then true along that order, so a binary search finds it and a page costs its own size, not the mailbox's.
 */
export function pageStart(newestFirst: readonly StoredMessage[], token: string | undefined): number {
  const after = afterPageToken(token);
  let lo = 0;
  let hi = newestFirst.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (after(newestFirst[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
