/**
 * A small, synchronous MIME tree splitter and the Gmail `payload` built from it.
 *
 * mailparser flattens a message into text/html/attachments, but Gmail's `payload` is the MIME tree itself
 * (https://developers.google.com/gmail/api/reference/rest/v1/users.messages#MessagePart), so we split the raw
 * bytes ourselves and use libmime/libqp only for header values and transfer decoding. Bytes are handled as
 * latin1 strings so that no byte is changed before decoding.
 */
import iconv from 'iconv-lite';
import libmime from 'libmime';
import { decode as decodeQuotedPrintable } from 'libqp';

export interface MimeNode {
  /** Gmail's part id: "" for the root, "0", "1", then "1.0" for nested parts. */
  partId: string;
  mimeType: string;
  filename: string;
  /** Header values unfolded and RFC 2047-decoded, in message order. */
  headers: Array<{ name: string; value: string }>;
  charset?: string;
  /** Decoded content of a leaf (transfer encoding removed, original charset kept); empty for multipart. */
  content: Buffer;
  parts: MimeNode[];
}

export interface PayloadBody {
  size: number;
  data?: string;
  attachmentId?: string;
}

export interface Payload {
  partId: string;
  mimeType: string;
  filename: string;
  headers: Array<{ name: string; value: string }>;
  body: PayloadBody;
  parts?: Payload[];
}

function splitHead(text: string): { head: string; body: string } {
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { head: text, body: '' };
  return { head: text.slice(0, match.index), body: text.slice(match.index + match[0].length) };
}

function parseHeaders(head: string): Array<{ name: string; value: string }> {
  const headers: Array<{ name: string; value: string }> = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      headers[headers.length - 1].value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // mbox "From " lines and garbage are skipped, as Gmail does
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  // Raw header bytes are latin1 here; re-read them as UTF-8 (RFC 6532) before decoding encoded words.
  return headers.map((h) => ({ name: h.name, value: libmime.decodeWords(Buffer.from(h.value, 'latin1').toString('utf8')) }));
}

const header = (headers: MimeNode['headers'], name: string): string | undefined => headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;

function decodeContent(body: string, encoding: string): Buffer {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(Buffer.from(body, 'latin1'));
    default:
      return Buffer.from(body, 'latin1');
  }
}

function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  const delimiter = `--${boundary}`;
  const lines = body.split(/\r?\n/);
  let current: string[] | undefined;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === `${delimiter}--`) {
      if (current) parts.push(current.join('\r\n'));
      return parts;
    }
    if (trimmed === delimiter) {
      if (current) parts.push(current.join('\r\n'));
      current = [];
      continue;
    }
    current?.push(line);
  }
  if (current) parts.push(current.join('\r\n')); // unterminated multipart: keep what there is
  return parts;
}

function parseNode(text: string, partId: string, depth: number): MimeNode {
  const { head, body } = splitHead(text);
  const headers = parseHeaders(head);
  const contentType = libmime.parseHeaderValue(header(headers, 'content-type') ?? 'text/plain');
  const disposition = libmime.parseHeaderValue(header(headers, 'content-disposition') ?? '');
  const mimeType = (contentType.value || 'text/plain').toLowerCase();
  const filename = disposition.params.filename ?? contentType.params.name ?? '';
  const node: MimeNode = { partId, mimeType, filename, headers, charset: contentType.params.charset, content: Buffer.alloc(0), parts: [] };
  // Depth cap: a hostile message must not blow the stack of the emulator.
  if (mimeType.startsWith('multipart/') && contentType.params.boundary && depth < 50) {
    node.parts = splitMultipart(body, contentType.params.boundary).map((part, i) => parseNode(part, partId === '' ? String(i) : `${partId}.${i}`, depth + 1));
    return node;
  }
  node.content = decodeContent(body, header(headers, 'content-transfer-encoding') ?? '7bit');
  return node;
}

export function parseMime(raw: Buffer): MimeNode {
  return parseNode(raw.toString('latin1'), '', 0);
}

export function headerValue(node: MimeNode, name: string): string | undefined {
  return header(node.headers, name);
}

export function* walk(node: MimeNode): Generator<MimeNode> {
  yield node;
  for (const part of node.parts) yield* walk(part);
}

/** Gmail gives a leaf with a filename (an attachment, inline or not) an attachmentId instead of inline data. */
export const isAttachment = (node: MimeNode): boolean => node.parts.length === 0 && node.filename !== '';

export function decodeText(node: MimeNode): string {
  const charset = node.charset && iconv.encodingExists(node.charset) ? node.charset : 'utf-8';
  return iconv.decode(node.content, charset);
}

/**
 * The payload tree as messages.get format=full returns it. `attachmentIdFor` makes the attachment ids:
 * Gmail's change from one call to the next, so callers must not use them as stable keys.
 */
export function toPayload(node: MimeNode, attachmentIdFor: (partId: string) => string): Payload {
  const body: PayloadBody = { size: node.content.length };
  if (node.parts.length === 0) {
    if (isAttachment(node)) body.attachmentId = attachmentIdFor(node.partId);
    else if (node.content.length > 0) body.data = node.content.toString('base64url');
  }
  const payload: Payload = { partId: node.partId, mimeType: node.mimeType, filename: node.filename, headers: node.headers, body };
  if (node.parts.length > 0) payload.parts = node.parts.map((p) => toPayload(p, attachmentIdFor));
  return payload;
}

export function findPart(root: MimeNode, partId: string): MimeNode | undefined {
  for (const node of walk(root)) if (node.partId === partId) return node;
  return undefined;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** Gmail's snippet: the start of the text, whitespace collapsed, HTML-escaped (e.g. `&#39;` for a quote). */
export function snippetOf(root: MimeNode): string {
  const leaves = [...walk(root)].filter((n) => n.parts.length === 0 && !isAttachment(n));
  const plain = leaves.find((n) => n.mimeType === 'text/plain');
  const html = leaves.find((n) => n.mimeType === 'text/html');
  let text = plain ? decodeText(plain) : html ? decodeText(html).replace(/<style[\s\S]*?<\/style>|<[^>]+>/gi, ' ') : '';
  text = text
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return escapeHtml(text.slice(0, 200));
}
