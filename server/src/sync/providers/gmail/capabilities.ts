/** What Gmail does differently (port.ts ProviderCapabilities). */
import type { ProviderCapabilities } from '../port';

/** Gmail's system label ids (users.labels, type "system"; https://developers.google.com/gmail/api/guides/labels): each is its own name. */
export const GMAIL_SYSTEM_LABELS: readonly string[] = [
  'INBOX',
  'SENT',
  'TRASH',
  'SPAM',
  'DRAFT',
  'UNREAD',
  'STARRED',
  'IMPORTANT',
  'CHAT',
  'CATEGORY_PERSONAL',
  'CATEGORY_SOCIAL',
  'CATEGORY_PROMOTIONS',
  'CATEGORY_UPDATES',
  'CATEGORY_FORUMS',
];

export const GMAIL_CAPABILITIES: ProviderCapabilities = {
  displayName: 'Google',
  oauthSettings: 'GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET',
  // messages.send takes up to 35 MB (https://developers.google.com/gmail/api/reference/rest/v1/users.messages/send),
  // but our JSON body limit (12 MB of base64) is reached first.
  sendAttachmentCapBytes: 8 * 1024 * 1024,
  // A sent message is filed under SENT at once (writer.ts sends with messages.send).
  sentCopyLabels: ['SENT'],
  // messages.get format=raw: the message as received, parsed by us (message.ts).
  content: 'mime',
  rawIsOriginal: true,
  twoStepSend: false,
  reservedLabels: GMAIL_SYSTEM_LABELS,
};
