/** What Gmail does differently (port.ts ProviderCapabilities). */
import type { ProviderCapabilities } from '../port';

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
};
