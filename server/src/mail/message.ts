/**
 * The provider-neutral form of one email, as the MIME reading (sync/ingest/parse.ts) and the Graph mapping
 * (sync/providers/graph/mapping.ts) produce it and the ingest, the outbox and the CRM rules consume it.
 */
export interface ParsedAddress {
  /** Normalised (see mail/address.ts). */
  email: string;
  /** Display name, '' when none. */
  name: string;
}

export interface AttachmentMeta {
  /**
   * IMAP-style part number ("2", "1.2"), null for a single-part message; `uu<N>` for the N-th file uuencoded in the
   * text (sync/ingest/mime/uuencode.ts), which no provider serves as an attachment: its bytes come from the raw message.
   */
  partId: string | null;
  /** sha256 of the decoded content: identifies the same file across copies of a message. */
  checksum: string;
  filename: string | null;
  mimeType: string;
  /** Decoded size in bytes. */
  size: number;
  /** Content-ID without angle brackets, for mapping `cid:` references in the HTML. */
  contentId: string | null;
  /** Shown in the body (Content-Disposition inline, or referenced from multipart/related) rather than listed. */
  inline: boolean;
}

/** Raw header values the auto-create and privacy rules look at (unfolded, trimmed, capped), null when absent. */
export interface MessageHeaders {
  listId: string | null;
  listUnsubscribe: string | null;
  autoSubmitted: string | null;
  precedence: string | null;
}

export type ParseWarning = 'date_missing' | 'date_invalid' | 'text_truncated' | 'html_truncated' | 'text_conversion_failed' | 'references_truncated';

export interface ParsedMessage {
  /** Normalised Message-ID (see mail/message-id.ts), null when missing or unusable. */
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string;
  from: ParsedAddress[];
  replyTo: ParsedAddress[];
  to: ParsedAddress[];
  cc: ParsedAddress[];
  bcc: ParsedAddress[];
  /** The Date header, else the caller's fallback (the provider's internalDate), else null. */
  date: Date | null;
  dateSource: 'header' | 'fallback' | 'none';
  text: string;
  /**
   * Unsanitised HTML body, null when the message has none. Sanitise with sanitizeEmailHtml (sync/ingest/sanitize.ts)
   * before storing.
   */
  html: string | null;
  snippet: string;
  attachments: AttachmentMeta[];
  headers: MessageHeaders;
  /** Size of the raw message in bytes. */
  sizeBytes: number;
  /** Over maxBytes: only the header block was parsed; text, html and attachments are empty. */
  tooLarge: boolean;
  malformed: boolean;
  malformedReason: string | null;
  /** sha256 of the raw bytes; computed only when there is no Message-ID, as the dedup key's last resort. */
  rawSha256: string | null;
  warnings: ParseWarning[];
  /**
   * Where the bytes did not say (or misstated) their charset and one was assumed (sync/ingest/mime/charsets.ts);
   * empty when everything decoded as declared. A message with notes is one a later, better parser may read
   * differently, so it should stay re-parsable (sync/ingest/mime/mail-parser.ts).
   */
  decoding: DecodingNote[];
}

/** One place where the bytes did not say what they were and something was assumed (sync/ingest/mime/charsets.ts). */
export interface DecodingNote {
  /** `header:<name>` (e.g. `header:subject`) or `body:<content type>` (e.g. `body:text/plain`). */
  where: string;
  /** The declared charset label, null when none was. */
  declared: string | null;
  /** The charset used. */
  charset: string;
  /** utf-8: undeclared bytes that were valid UTF-8; detected: chardet's guess; windows-1252: the last resort. */
  source: 'utf-8' | 'declared' | 'detected' | 'windows-1252';
}
