/**
 * Raw RFC 5322 message → the provider-neutral fields the ingest pipeline needs. Never throws for bad input: a message
 * that cannot be parsed comes back flagged `malformed` with what could be salvaged, and an oversize one comes back
 * `tooLarge` with its headers only, so the caller keeps the raw copy and carries on (docs/SYNC.md "Failures are
 * visible").
 *
 * mailparser's streaming MailParser is used rather than simpleParser: simpleParser buffers every attachment in memory,
 * while here attachment streams are drained as they arrive (only size and checksum are kept), which keeps memory flat
 * for mail with large attachments.
 */
import { createHash } from 'node:crypto';
import type { AddressObject, AttachmentStream, EmailAddress, HeaderLines, MessageText } from 'mailparser';
import { normaliseAddress } from '../../mail/address';
import type { AttachmentMeta, DecodingNote, ParsedAddress, ParsedMessage, ParseWarning } from '../../mail/message';
import { messageIdTokens, normaliseMessageId } from '../../mail/message-id';
import libmime from 'libmime';
import { EML_HEAD_BYTES, isEmbeddedMessage, nameForUnnamed } from './mime/attachment-names';
import { FidelityMailParser } from './mime/mail-parser';
import type { UuFile } from './mime/uuencode';

export interface ParseOptions {
  /** Messages larger than this are not parsed beyond their headers. Default 40 MiB (a 25 MB attachment, base64). */
  maxBytes?: number;
  /** The provider's internal date, used when the Date header is missing or unusable. */
  fallbackDate?: Date;
  /** Text and HTML bodies are cut to these many characters. Defaults 1,000,000 and 2,000,000. */
  maxTextChars?: number;
  maxHtmlChars?: number;
}

/**
 * The version of the MIME reading, stored on every message parsed from raw MIME (`parserVersion`). Raise it when a
 * change reads some mail differently: `npm run reparse` then reads again the stored messages flagged as having
 * needed a fallback (docs/MIME.md). 1 was mailparser alone (never recorded); 2 added the decodings of mime/, uuencoded
 * files and the report-part and .eml names.
 */
export const PARSER_VERSION = 2;

/**
 * Mail up to Gmail's receive limit (50 MB, https://support.google.com/mail/answer/6584) is read in full; larger
 * (an Exchange Online organisation may raise its limit to 150 MB) is stored with its headers only.
 */
const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
const DEFAULT_MAX_TEXT_CHARS = 1_000_000;
const DEFAULT_MAX_HTML_CHARS = 2_000_000;
/** mailsplit refuses a header block above this (EMAXLEN): a bound on hostile headers, far above real ones. */
const MAX_HEAD_BYTES = 1024 * 1024;
/** Bytes scanned for the end of the header block of an oversize message. */
const MAX_HEADER_SCAN_BYTES = 2 * MAX_HEAD_BYTES;
const MAX_REFERENCES = 100;
const MAX_HEADER_VALUE_CHARS = 2000;
const MAX_NAME_CHARS = 256;
const SNIPPET_CHARS = 200;
const NUL = /\u0000/g;

/** Parses a raw message; resolves for every input (see the module comment). */
export async function parseMessage(raw: Buffer, opts: ParseOptions = {}): Promise<ParsedMessage> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const tooLarge = raw.length > maxBytes;
  // Size is checked before any parsing (docs/SECURITY.md "Rate limits and body sizes"): an oversize message costs one
  // bounded scan for its headers.
  const input = tooLarge ? salvageHeaders(raw) : raw;
  let collected = await collect(input);
  const malformedReason = collected.error ? describeError(collected.error) : null;
  if (collected.error && !tooLarge) {
    // The body may be what broke (too many parts, bad nesting): salvage the header fields so the message can still
    // be deduplicated, linked and shown with a "could not be read" body.
    const headersOnly = await collect(salvageHeaders(raw));
    collected = headersOnly.error ? emptyCollected() : headersOnly;
  } else if (collected.error) {
    collected = emptyCollected();
  }
  return build(raw, collected, { ...opts, tooLarge, malformedReason });
}

const UU_ID = /^uu([1-9][0-9]{0,2})$/;

/** Whether an attachment id names a uuencoded file (AttachmentMeta.partId), whose bytes only the raw message holds. */
export const isUuencodedAttachmentId = (id: string): boolean => UU_ID.test(id);

/**
 * The bytes of the uuencoded file `uu<N>` of a raw message (for downloads: no provider serves it as an attachment),
 * or null when the message has no such file.
 */
export async function uuencodedAttachment(raw: Buffer, attachmentId: string): Promise<Buffer | null> {
  const n = UU_ID.exec(attachmentId);
  if (!n) return null;
  const collected = await collect(raw);
  return collected.uuFiles[Number(n[1]) - 1]?.bytes ?? null;
}

interface Collected {
  headerLines: HeaderLines;
  from?: AddressObject | AddressObject[];
  to?: AddressObject | AddressObject[];
  cc?: AddressObject | AddressObject[];
  bcc?: AddressObject | AddressObject[];
  replyTo?: AddressObject | AddressObject[];
  subject?: string;
  text?: string;
  html?: string;
  textConversionError: boolean;
  attachments: AttachmentMeta[];
  uuFiles: UuFile[];
  decoding: DecodingNote[];
  error?: unknown;
}

function emptyCollected(): Collected {
  return { headerLines: [], textConversionError: false, attachments: [], uuFiles: [], decoding: [] };
}

/** Files uuencoded in the text, listed after the MIME attachments and checksummed the same way. */
function uuAttachments(files: UuFile[]): AttachmentMeta[] {
  return files.map((f, i) => ({
    partId: `uu${i + 1}`,
    checksum: createHash('sha256').update(f.bytes).digest('hex'),
    filename: f.filename.replace(NUL, ''),
    mimeType: libmime.detectMimeType(f.filename) || 'application/octet-stream',
    size: f.bytes.length,
    contentId: null,
    inline: false,
  }));
}

/** Runs MailParser over the bytes; resolves (never rejects) with what it saw and the first error, if any. */
function collect(input: Buffer): Promise<Collected> {
  return new Promise((resolve) => {
    const out = emptyCollected();
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      if (error !== undefined) out.error = error;
      resolve(out);
    };
    let parser: FidelityMailParser;
    try {
      parser = new FidelityMailParser({
        checksumAlgo: 'sha256',
        maxHeadSize: MAX_HEAD_BYTES,
        // html-to-text on a huge body is the slowest thing mailparser does; above this it keeps the HTML only.
        maxHtmlLengthToParse: DEFAULT_MAX_HTML_CHARS,
        skipTextToHtml: true,
        skipImageLinks: true,
        // A bounce's delivery status is listed as an attachment, as postal-mime and Thunderbird show it, rather than
        // appended to the text (docs/MIME.md).
        keepDeliveryStatus: true,
      });
    } catch (error) {
      settle(error);
      return;
    }
    out.decoding = parser.decodingNotes;
    out.uuFiles = parser.uuFiles;
    parser.on('headers', (headers) => {
      out.subject = stringHeader(headers.get('subject'));
      out.from = addressHeader(headers.get('from'));
      out.to = addressHeader(headers.get('to'));
      out.cc = addressHeader(headers.get('cc'));
      out.bcc = addressHeader(headers.get('bcc'));
      out.replyTo = addressHeader(headers.get('reply-to'));
    });
    parser.on('headerLines', (lines) => {
      out.headerLines = lines;
    });
    parser.on('data', (data: AttachmentStream | MessageText) => {
      if (data.type === 'text') {
        out.text = data.text;
        out.html = typeof data.html === 'string' ? data.html : undefined;
        out.textConversionError = data.textConversionError !== undefined;
        return;
      }
      // Metadata only: the bytes are drained and dropped; StreamHash records checksum and size when the stream ends.
      // An unnamed embedded message keeps its first bytes, to be named after its subject.
      const head: Buffer[] = [];
      let headBytes = isEmbeddedMessage(data.contentType) && !data.filename ? 0 : EML_HEAD_BYTES;
      data.content.on('data', (chunk: Buffer) => {
        if (headBytes >= EML_HEAD_BYTES) return;
        head.push(chunk);
        headBytes += chunk.length;
      });
      data.content.once('end', () => {
        out.attachments.push(attachmentMeta(data, head.length > 0 ? Buffer.concat(head) : null));
        data.release?.();
      });
      data.content.once('error', (error: unknown) => settle(error));
    });
    parser.once('error', (error: unknown) => settle(error));
    parser.once('end', () => settle());
    try {
      parser.end(input);
    } catch (error) {
      settle(error);
    }
  });
}

function attachmentMeta(a: AttachmentStream, head: Buffer | null): AttachmentMeta {
  const contentId = a.contentId ? a.contentId.replace(/^\s*<|>\s*$/g, '').trim() || null : null;
  const mimeType = (a.contentType || 'application/octet-stream').toLowerCase();
  return {
    partId: a.partId,
    checksum: a.checksum ?? '',
    filename: a.filename ? a.filename.replace(NUL, '') : nameForUnnamed(mimeType, head),
    mimeType,
    size: a.size ?? 0,
    contentId,
    inline: a.contentDisposition === 'inline' || a.related === true,
  };
}

function stringHeader(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function addressHeader(value: unknown): AddressObject | AddressObject[] | undefined {
  const isObject = (v: unknown): v is AddressObject => typeof v === 'object' && v !== null && Array.isArray((v as { value?: unknown }).value);
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? value : undefined;
}

/** Header fields the pipeline reads; a salvage pass keeps only these. */
const SALVAGED_FIELDS = new Set([
  'message-id',
  'in-reply-to',
  'references',
  'subject',
  'date',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'list-id',
  'list-unsubscribe',
  'auto-submitted',
  'precedence',
]);
const MAX_SALVAGED_FIELD_BYTES = 64 * 1024;

/**
 * A synthetic, bounded message made of the fields in SALVAGED_FIELDS from the raw header block: for an oversize
 * message (whose body is never parsed) and for one whose full parse failed — possibly on the headers themselves
 * (a header section past the head budget) — so that the fields that identify and link the message survive.
 * Bytes are handled as latin1 so that 8-bit header bytes pass through unchanged.
 */
function salvageHeaders(raw: Buffer): Buffer {
  const scan = raw.subarray(0, MAX_HEADER_SCAN_BYTES).toString('latin1');
  const blank = /\r?\n\r?\n/.exec(scan);
  const block = blank ? scan.slice(0, blank.index) : scan;
  const fields: string[][] = [];
  let current: string[] | null = null;
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line)) {
      // A continuation line (RFC 5322 §2.2.3 folding) belongs to the field before it.
      current?.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    current = SALVAGED_FIELDS.has(name) ? [line] : null;
    if (current) fields.push(current);
  }
  const text = fields.map((f) => f.join('\r\n').slice(0, MAX_SALVAGED_FIELD_BYTES)).join('\r\n');
  return Buffer.from(`${text}\r\n\r\n`, 'latin1');
}

function describeError(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (typeof code === 'string' ? `${code}: ${message}` : message).slice(0, 500);
}

interface BuildContext extends ParseOptions {
  tooLarge: boolean;
  malformedReason: string | null;
}

function build(raw: Buffer, c: Collected, ctx: BuildContext): ParsedMessage {
  const warnings: ParseWarning[] = [];
  const lines = c.headerLines;

  const messageId = normaliseMessageId(rawHeader(lines, 'message-id'));
  const inReplyTo = normaliseMessageId(rawHeader(lines, 'in-reply-to'));
  let references = uniq(allRawHeaders(lines, 'references').flatMap(messageIdTokens));
  if (references.length > MAX_REFERENCES) {
    // The root and the most recent ancestors are what threading uses; the middle of a long chain is not.
    references = [references[0], ...references.slice(-(MAX_REFERENCES - 1))];
    warnings.push('references_truncated');
  }

  const { date, dateSource } = resolveDate(rawHeader(lines, 'date'), ctx.fallbackDate, warnings);

  const maxText = ctx.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  const maxHtml = ctx.maxHtmlChars ?? DEFAULT_MAX_HTML_CHARS;
  let text = (c.text ?? '').replace(NUL, '');
  if (text.length > maxText) {
    text = text.slice(0, maxText);
    warnings.push('text_truncated');
  }
  let html = c.html !== undefined ? c.html.replace(NUL, '') : null;
  if (html !== null && html.length > maxHtml) {
    html = html.slice(0, maxHtml);
    warnings.push('html_truncated');
  }
  if (c.textConversionError) warnings.push('text_conversion_failed');

  return {
    messageId,
    inReplyTo,
    references,
    subject: (c.subject ?? '').replace(NUL, '').trim(),
    from: addresses(c.from),
    replyTo: addresses(c.replyTo),
    to: addresses(c.to),
    cc: addresses(c.cc),
    bcc: addresses(c.bcc),
    date,
    dateSource,
    text,
    html,
    snippet: makeSnippet(text),
    attachments: [...c.attachments, ...uuAttachments(c.uuFiles)],
    headers: {
      listId: rawHeader(lines, 'list-id'),
      listUnsubscribe: rawHeader(lines, 'list-unsubscribe'),
      autoSubmitted: rawHeader(lines, 'auto-submitted'),
      precedence: rawHeader(lines, 'precedence'),
    },
    sizeBytes: raw.length,
    tooLarge: ctx.tooLarge,
    malformed: ctx.malformedReason !== null,
    malformedReason: ctx.malformedReason,
    rawSha256: messageId === null ? createHash('sha256').update(raw).digest('hex') : null,
    warnings,
    decoding: c.decoding,
  };
}

/**
 * mailparser replaces an unparsable Date with the current time, which would date old mail "now"; so the raw header is
 * read here. Dates before 1970 or more than a day past the fallback (or now) are treated as invalid: they are spam
 * tricks or broken clocks, and the provider's own receive time is the better truth.
 */
function resolveDate(
  header: string | null,
  fallback: Date | undefined,
  warnings: ParseWarning[],
): { date: Date | null; dateSource: ParsedMessage['dateSource'] } {
  const usableFallback = fallback && !Number.isNaN(fallback.getTime()) ? fallback : undefined;
  if (header !== null) {
    const parsed = new Date(header.replace(/\s+/g, ' '));
    const ceiling = (usableFallback?.getTime() ?? Date.now()) + 24 * 3600 * 1000;
    const t = parsed.getTime();
    if (!Number.isNaN(t) && t >= 0 && t <= ceiling) return { date: parsed, dateSource: 'header' };
    warnings.push('date_invalid');
  } else {
    warnings.push('date_missing');
  }
  return usableFallback ? { date: usableFallback, dateSource: 'fallback' } : { date: null, dateSource: 'none' };
}

/** Flattens groups, normalises each address, drops the invalid ones and duplicates (first occurrence wins). */
function addresses(header: AddressObject | AddressObject[] | undefined): ParsedAddress[] {
  if (!header) return [];
  const out: ParsedAddress[] = [];
  const seen = new Set<string>();
  const visit = (entry: EmailAddress): void => {
    if (entry.group) entry.group.forEach(visit);
    const email = normaliseAddress(entry.address);
    if (email === null || seen.has(email)) return;
    seen.add(email);
    const name = (entry.name ?? '').replace(NUL, '').replace(/\s+/g, ' ').trim().slice(0, MAX_NAME_CHARS);
    out.push({ email, name });
  };
  for (const obj of Array.isArray(header) ? header : [header]) obj.value.forEach(visit);
  return out;
}

/** The first occurrence of a header, unfolded and trimmed, or null. Header lines are `Name: value` with folding. */
function rawHeader(lines: HeaderLines, key: string): string | null {
  return allRawHeaders(lines, key)[0] ?? null;
}

function allRawHeaders(lines: HeaderLines, key: string): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (line.key !== key) continue;
    const colon = line.line.indexOf(':');
    const value = line.line
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .replace(NUL, '')
      .trim();
    out.push(value.slice(0, key === 'references' ? MAX_HEAD_BYTES : MAX_HEADER_VALUE_CHARS));
  }
  return out;
}

function makeSnippet(text: string): string {
  const collapsed = text
    .slice(0, SNIPPET_CHARS * 8)
    .replace(/\s+/g, ' ')
    .trim();
  const chars = Array.from(collapsed);
  return chars.length <= SNIPPET_CHARS ? collapsed : `${chars.slice(0, SNIPPET_CHARS).join('').trimEnd()}…`;
}

function uniq(values: string[]): string[] {
  return [...new Set(values)];
}
