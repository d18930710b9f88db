/**
 * Gmail's batch endpoint (https://developers.google.com/gmail/api/guides/batch), as the adapter uses it: many
 * `messages.get` in one HTTP request. What the guide says, and what follows here:
 *   - the request is `POST /batch/gmail/v1` with a `multipart/mixed` body; each part is `Content-Type:
 *     application/http` holding one whole HTTP request whose URL is a path only, with an optional `Content-ID`;
 *   - the outer request's headers (Authorization) apply to every inner call;
 *   - at most 100 calls per batch, and "sending batches larger than 50 requests is not recommended" (larger ones
 *     are likely to be rate limited): BATCH_MAX is 50;
 *   - n calls in a batch count as n requests against the quota (the pacer is charged per inner call);
 *   - the answer is `multipart/mixed` with one `application/http` part per call holding its HTTP response,
 *     `Content-ID: response-<the request's Content-ID>`. The calls may be executed in any order, so answers are
 *     paired with their calls by Content-ID, never by position.
 * Each inner answer has its own status: one call can fail (404, 429, 5xx) while the others succeed.
 */

/** The largest batch the guide recommends. */
export const BATCH_MAX = 50;

export interface InnerResponse {
  status: number;
  headers: Record<string, string>;
  /** A view into the batch answer's bytes (parseBatchResponse). */
  body: Buffer;
}

/** The body of a batch of GET calls, one part per path, Content-ID `<item-N>` (N from 1). */
export function batchRequestBody(paths: readonly string[], boundary: string): string {
  const parts = paths.map((path, i) => `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <item-${i + 1}>\r\n\r\nGET ${path}\r\n\r\n`);
  return `${parts.join('')}--${boundary}--\r\n`;
}

/** The boundary parameter of a multipart Content-Type, quoted or not (RFC 2046 §5.1.1). */
export function boundaryOf(contentType: string | null | undefined): string | null {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match ? (match[1] ?? match[2]) : null;
}

/** Splits header lines into a lower-cased map (no folding: neither Google nor HTTP/1.1 uses it any more). */
function headerMap(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const LF2 = Buffer.from('\n\n');

/** Up to the first blank line (as header lines), and the bytes after it. */
function splitHead(bytes: Buffer): [string[], Buffer] {
  const crlf = bytes.indexOf(CRLF2);
  // A bare-LF blank line only counts before the first CRLF one: never a scan of a large body for it.
  const lf = (crlf >= 0 ? bytes.subarray(0, crlf + 1) : bytes).indexOf(LF2);
  const [at, length] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : lf >= 0 ? [lf, 2] : [-1, 0];
  if (at < 0) return [bytes.toString('latin1').split(/\r?\n/), Buffer.alloc(0)];
  return [bytes.subarray(0, at).toString('latin1').split(/\r?\n/), bytes.subarray(at + length)];
}

/** The bytes without the line break that ends them (the one before the next delimiter belongs to it, RFC 2046 §5.1.1). */
function withoutFinalBreak(bytes: Buffer): Buffer {
  let end = bytes.length;
  if (bytes[end - 1] === 0x0a) end -= 1;
  if (bytes[end - 1] === 0x0d) end -= 1;
  return bytes.subarray(0, end);
}

/** Leading spaces or tabs and the line break after the delimiter (transport padding, RFC 2046 §5.1.1). */
function afterPadding(bytes: Buffer): Buffer {
  let i = 0;
  while (bytes[i] === 0x20 || bytes[i] === 0x09) i += 1;
  if (bytes[i] === 0x0d) i += 1;
  if (bytes[i] === 0x0a) return bytes.subarray(i + 1);
  return bytes;
}

/**
 * The inner responses of a batch answer by item number (the N of `response-item-N`; a part without a Content-ID
 * by its position). Parts that are not an HTTP response, or name no item we sent, are left out: the caller
 * treats a call without an answer as failed.
 *
 * The answer is read as bytes and each inner body is a view into them, never a string of the whole answer: a
 * batch of raw messages can hold several messages near Gmail's 50 MB limit, and as JavaScript strings they would
 * sit in the server's bounded heap (scripts/server-node-flags.ts) all at once; the caller parses one body at a time.
 */
export function parseBatchResponse(contentType: string | null, body: Buffer): Map<number, InnerResponse> {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error('a batch answer without a multipart boundary');
  const out = new Map<number, InnerResponse>();
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  let at = body.indexOf(delimiter);
  let position = 0;
  while (at >= 0) {
    const from = at + delimiter.length;
    if (body[from] === 0x2d && body[from + 1] === 0x2d) break; // the close delimiter
    const next = body.indexOf(delimiter, from);
    const chunk = body.subarray(from, next < 0 ? body.length : next);
    at = next;
    position += 1;
    const [partHeaders, http] = splitHead(afterPadding(chunk));
    // Google answers `<response-item-N>`; brackets anywhere are tolerated. Without any Content-ID the guide's
    // "in the same order as the requests" is all there is to go by.
    const contentId = headerMap(partHeaders)['content-id'];
    const id = contentId === undefined ? [contentId, String(position)] : /^response-item-(\d+)$/i.exec(contentId.replace(/[<>\s]/g, ''));
    if (!id) continue;
    const [head, rest] = splitHead(http);
    const status = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(head[0] ?? '');
    if (!status) continue;
    out.set(Number(id[1]), { status: Number(status[1]), headers: headerMap(head.slice(1)), body: withoutFinalBreak(rest) });
  }
  return out;
}
