/**
 * Gmail Message resources → the port's RemoteMessage, and the cursor / attachment-id conventions of this
 * adapter. Pure.
 */
import type { gmail_v1 } from '@googleapis/gmail';
import { ProviderError, type RemoteMessage, type SyncCursor } from '../port';
import { flagsFromLabels } from './labels';

/**
 * A messages.get format=raw answer as a RemoteMessage. `raw` is base64url
 * (https://developers.google.com/gmail/api/reference/rest/v1/users.messages#Message); internalDate is epoch ms
 * as a string (int64 travels as a JSON string).
 */
export function toRemoteMessage(message: gmail_v1.Schema$Message): RemoteMessage {
  if (!message.id || typeof message.raw !== 'string') {
    throw new ProviderError('invalid', 'Gmail: message answer without id or raw content', { providerCode: 'malformedResponse' });
  }
  const labels = message.labelIds ?? [];
  const internalDate = Number(message.internalDate);
  return {
    providerMessageId: message.id,
    providerThreadId: message.threadId ?? null,
    labels: [...labels],
    folderId: null,
    flags: flagsFromLabels(labels),
    receivedAt: new Date(Number.isFinite(internalDate) ? internalDate : 0),
    content: { kind: 'raw', raw: Buffer.from(message.raw, 'base64url') },
  };
}

// ---------- cursor ----------

/** The Gmail cursor: the mailbox historyId (a uint64 as a decimal string; never parsed into a JS number). */
export function gmailCursor(historyId: string): SyncCursor {
  return { v: 1, provider: 'google', state: { historyId } };
}

/** Reads a stored cursor back, refusing anything that is not a version-1 Gmail cursor. */
export function readGmailCursor(cursor: SyncCursor): string {
  const historyId = cursor?.state?.historyId;
  if (cursor?.v !== 1 || cursor.provider !== 'google' || typeof historyId !== 'string' || !/^\d{1,20}$/.test(historyId)) {
    throw new ProviderError('invalid', 'Not a Gmail sync cursor (expected v1, provider google, numeric historyId)');
  }
  return historyId;
}

// ---------- attachment ids ----------

/**
 * The engine names an attachment by the IMAP-style part number the MIME parser gives it (AttachmentMeta.partId:
 * "2", "1.2"; '' for a single-part message), because Gmail's attachmentId is not a key: Gmail hands out a new one
 * on every read of the message. Gmail numbers parts from 0 below the root ("1", "0.1"), IMAP from 1, so each
 * component is one less. The change source then finds that part in a format=full answer and calls
 * attachments.get with the attachmentId it carries (or decodes the inline `body.data` of a small part).
 */
export function gmailPartIdFromImap(imapPartId: string): string | null {
  if (imapPartId === '') return '';
  if (!/^\d+(\.\d+)*$/.test(imapPartId)) return null;
  const parts = imapPartId.split('.').map(Number);
  if (parts.some((n) => n < 1)) return null;
  return parts.map((n) => String(n - 1)).join('.');
}

export function findPayloadPart(payload: gmail_v1.Schema$MessagePart | undefined, partId: string): gmail_v1.Schema$MessagePart | undefined {
  if (!payload) return undefined;
  if ((payload.partId ?? '') === partId) return payload;
  for (const part of payload.parts ?? []) {
    const found = findPayloadPart(part, partId);
    if (found) return found;
  }
  return undefined;
}
