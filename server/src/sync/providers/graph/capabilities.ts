/** What Microsoft Graph does differently (port.ts ProviderCapabilities). */
import type { ProviderCapabilities } from '../port';

export const GRAPH_CAPABILITIES: ProviderCapabilities = {
  displayName: 'Microsoft',
  oauthSettings: 'MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET',
  // A draft takes its attachments in one JSON request of at most 4 MB (bigger files need an upload session,
  // https://learn.microsoft.com/graph/outlook-large-attachments): 3 MiB leaves room for the base64 growth of the rest.
  sendAttachmentCapBytes: 3 * 1024 * 1024,
  // The Sent Items folder's id is only known when sync reads the copy back; Graph has no labels for it.
  sentCopyLabels: [],
  // Structured JSON mapped to the parsed shape (mapping.ts); $value is Exchange's MIME rendering of the item
  // (https://learn.microsoft.com/graph/outlook-get-mime-message), not the bytes received.
  content: 'structured',
  rawIsOriginal: false,
  // sendMail answers 202 without an id: a draft (or createReply), then send (writer.ts).
  twoStepSend: true,
  reservedLabels: [],
};
