/**
 * Message shapes of the HTTP API (server/openapi.yaml is authoritative), one declaration for the
 * server that builds them (server/src/http/views.ts) and the console that reads them (web/src/types.ts).
 */
export interface Address { email: string; name: string }
export interface MessageFlags { read: boolean; starred: boolean; archived: boolean; deleted: boolean }

export interface MessageSummary {
  id: string;
  threadId: string | null;
  internetMessageId: string | null;
  subject: string;
  from: Address;
  to: Address[];
  cc: Address[];
  date: string;
  direction: 'inbound' | 'outbound' | 'internal';
  snippet: string;
  hasAttachments: boolean;
  state: MessageFlags;
  labels: string[];
  syncedBy: string[];
}

export interface MessageDetail extends MessageSummary {
  text: string;
  html: string;
  attachments: { id: string; filename: string; mimeType: string; size: number }[];
  mailboxes: { mailboxId: string; address: string }[];
  /**
   * Where the mail did not say (or misstated) its charset and one was assumed: `where` is `header:<name>` or
   * `body:<content type>`, `source` how the charset was chosen (`utf-8`, `detected`, `windows-1252`, `declared`).
   * Empty when everything decoded as declared, and for mail the provider gave as structured data.
   */
  decoding: { where: string; declared: string | null; charset: string; source: string }[];
}

export type SharingLevel = 'private' | 'metadata' | 'full';

/**
 * "This email, my choice": what the caller decided for one email (`GET /api/messages/:id/choices`, and the sidebars'
 * `thisMessage.choices`).
 */
export interface MessageChoices {
  /** The caller's "don't log" choice covering this email (its own, else its thread's); null: logged by the rules. */
  notLogged: { id: string; scope: 'message' | 'thread'; createdAt: string } | null;
  /** The caller's holding's sharing; null when none of their mailboxes holds the email (nothing of theirs to share). */
  sharing: { level: SharingLevel; override: SharingLevel | null; defaultLevel: SharingLevel } | null;
}
