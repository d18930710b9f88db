/**
 * The batch endpoint (https://developers.google.com/gmail/api/guides/batch): a multipart/mixed body whose parts
 * are `application/http` requests; the answer is multipart/mixed with one `HTTP/1.1 …` response per part, each
 * with `Content-ID: response-<request Content-ID>`. At most 100 calls, and each still costs its quota units,
 * which is why the inner calls go back through this server's whole Express app: auth, quota, faults and the request
 * log apply to each exactly as to a direct call.
 *
 * How they go back: in-process (`dispatch`). Each inner call gets a real `http.IncomingMessage` and
 * `http.ServerResponse` over a throw-away in-memory socket and is handed to the app as the http server hands a
 * request (`app(req, res)`: Express swaps their prototypes, runs every middleware and route, falls back to its final
 * handler); the answer is read from what the response wrote to that socket. Why: replaying each call with `fetch` to
 * the server's own URL cost an undici request, a loopback connection and an HTTP parse at both ends per call, most of
 * a batch's CPU (the ingest bench gets 100,000 raw messages as batches of 100): about 0.75 → 0.33 ms of CPU per inner
 * call in a micro-benchmark, what is left being the app's own work. A private plain-http listener for the replays
 * would still pay for a client and both parses. Real Node objects rather than a hand-made request/response pair:
 * the middleware gets what it relies on (a readable request for the body parsers, setHeader/headersSent, 'finish'
 * and 'close') exactly as on a socket, and nothing here depends on Express internals. Chunked encoding is off, so
 * what follows the response's head is its body as written (no route sets a Transfer-Encoding of its own).
 */
import { randomBytes } from 'node:crypto';
import { IncomingMessage, type RequestListener, ServerResponse, STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';
import express, { type Request, type Response, type Router } from 'express';
import { BATCH_PART_HEADER } from '../common/faults';
import type { GmailContext } from './context';
import { invalidArgument, sendGoogleError } from './errors';
import { headerValue, parseMime } from './mime';

/** Inner calls of one batch worked on at once. */
const INNER_CONCURRENCY = 8;
const CRLF = Buffer.from('\r\n');

interface InnerRequest {
  contentId: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

function parseInner(text: string, contentId: string): InnerRequest | undefined {
  const [head, ...rest] = text.split(/\r?\n\r?\n/);
  const [requestLine, ...headerLines] = head.split(/\r?\n/);
  const match = /^(GET|POST|PUT|PATCH|DELETE)\s+(\S+)/i.exec(requestLine.trim());
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { contentId, method: match[1].toUpperCase(), path: match[2], headers, body: rest.join('\r\n\r\n') };
}

interface InnerAnswer {
  status: number;
  contentType: string | undefined;
  retryAfter: string | undefined;
  /** The body as the response wrote it, in pieces (copied once, into the batch answer). */
  body: Buffer[];
}

/** The connection an inner call is answered on: keeps what the response writes (head and body) in memory. */
class MemorySocket extends Duplex {
  readonly chunks: Buffer[] = [];
  // What a loopback TCP socket would report (req.ip, req.protocol); nothing reads from it.
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    callback();
  }

  /** What was written after the head. The head is written in one piece, alone or ahead of the first body bytes. */
  body(): Buffer[] {
    const [first, ...rest] = this.chunks;
    const headEnd = first?.indexOf('\r\n\r\n') ?? -1;
    if (headEnd >= 0) return [first.subarray(headEnd + 4), ...rest];
    const all = Buffer.concat(this.chunks);
    const end = all.indexOf('\r\n\r\n');
    return end < 0 ? [] : [all.subarray(end + 4)];
  }
}

const headerText = (value: number | string | string[] | undefined): string | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value.join(', ') : String(value);

/**
 * One call through the app, as the http server would hand it over. `url` is absolute (it gives the Host header).
 * Rejects when the call's connection is dropped without an answer (the final handler does that after an error
 * once headers were sent), as a client would see it.
 */
function dispatch(app: RequestListener, method: string, url: URL, headers: Record<string, string>, body: string | undefined): Promise<InnerAnswer> {
  return new Promise<InnerAnswer>((resolve, reject) => {
    const socket = new MemorySocket();
    const req = new IncomingMessage(socket as never);
    req.method = method;
    req.url = `${url.pathname}${url.search}`;
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    const payload = body === undefined ? undefined : Buffer.from(body);
    // What fetch added to such a request and a route may read: the Host, and a length and a type for a string body.
    const all: Record<string, string> = { host: url.host, ...headers };
    // The framing is this dispatch's own: a part's Content-Length (or Transfer-Encoding) describes the part.
    delete all['content-length'];
    delete all['transfer-encoding'];
    if (payload) {
      all['content-length'] = String(payload.length);
      all['content-type'] ??= 'text/plain;charset=UTF-8';
    }
    req.headers = all;
    req.rawHeaders = Object.entries(all).flat();
    if (payload?.length) req.push(payload);
    req.push(null);
    req.complete = true;

    const res = new ServerResponse(req);
    // No chunked framing: what follows the head on the socket is the body itself.
    res.useChunkedEncodingByDefault = false;
    res.assignSocket(socket as never);
    res.once('finish', () => {
      resolve({
        status: res.statusCode,
        contentType: headerText(res.getHeader('content-type')),
        retryAfter: headerText(res.getHeader('retry-after')),
        body: socket.body(),
      });
      // As after an answer on a real connection, the response then closes ('close' listeners run). Not from within
      // this 'finish' (a write callback): a stream destroyed there builds an error for its pending callbacks.
      process.nextTick(() => socket.destroy());
    });
    res.once('close', () => {
      if (!res.writableFinished) reject(new Error('the call was dropped without an answer'));
    });
    app(req, res);
  });
}

export function batchRoutes(ctx: GmailContext): Router {
  const router = express.Router();
  const handler = async (req: Request, res: Response) => {
    res.locals.op = 'gmail.batch';
    if (!ctx.batchEndpoint) return sendGoogleError(res, 404, 'Not Found', { reason: 'notFound' });
    const contentType = req.get('content-type') ?? '';
    if (!/^multipart\/mixed/i.test(contentType) || !Buffer.isBuffer(req.body)) {
      return invalidArgument(res, 'Batch requests must be multipart/mixed');
    }
    const tree = parseMime(Buffer.concat([Buffer.from(`Content-Type: ${contentType}\r\n\r\n`), req.body]));
    if (tree.parts.length > 100) return invalidArgument(res, 'A batch may contain at most 100 calls');
    const calls = tree.parts.map((part, i) => parseInner(part.content.toString('utf8'), (headerValue(part, 'content-id') ?? `${i + 1}`).replace(/^<|>$/g, '')));
    const outerAuth = req.get('authorization');
    const boundary = `batch_${randomBytes(12).toString('hex')}`;
    // "The server might perform your calls in any order" (the batch guide): they run concurrently here, a few at a
    // time; the answer still lists them in the order of the request, each with its Content-ID.
    // The app this router is mounted in (index.ts), the whole chain a direct call goes through.
    const app = req.app as unknown as RequestListener;
    const answerOf = async (call: InnerRequest | undefined): Promise<Buffer[]> => {
      let status = 400;
      let body: Buffer[] = [Buffer.from(JSON.stringify({ error: { code: 400, message: 'Malformed batch part', status: 'INVALID_ARGUMENT' } }))];
      let type = 'application/json; charset=UTF-8';
      let retryAfter: string | undefined;
      if (call) {
        // Inner calls inherit the outer Authorization unless they carry their own.
        const headers: Record<string, string> = { ...call.headers, [BATCH_PART_HEADER]: '1' };
        if (!headers.authorization && outerAuth) headers.authorization = outerAuth;
        const target = `${ctx.baseUrl()}${call.path.replace(/^https?:\/\/[^/]+/, '')}`;
        try {
          // An unparsable path, or a body that is not as long as the part's Content-Length says, fails the part as
          // when the calls were replayed with fetch (with fetch's messages).
          if (!URL.canParse(target)) throw new TypeError(`Failed to parse URL from ${target}`);
          const payload = call.method === 'GET' || call.method === 'DELETE' ? undefined : call.body;
          const declared = call.headers['content-length'];
          if (payload !== undefined && declared !== undefined && Number(declared) !== Buffer.byteLength(payload)) throw new TypeError('fetch failed');
          const answer = await dispatch(app, call.method, new URL(target), headers, payload);
          status = answer.status;
          type = answer.contentType ?? type;
          retryAfter = answer.retryAfter;
          body = answer.body;
        } catch (err) {
          // The call got no answer (a path that is no URL, a dropped call): this part fails as a backend error, not the batch.
          status = 500;
          body = [Buffer.from(JSON.stringify({ error: { code: 500, message: `Backend Error: ${(err as Error).message}`, status: 'INTERNAL' } }))];
        }
      }
      const contentId = call ? `response-${call.contentId}` : 'response-invalid';
      const head =
        `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: ${contentId}\r\n\r\n` +
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${type}\r\n${retryAfter ? `Retry-After: ${retryAfter}\r\n` : ''}\r\n`;
      return [Buffer.from(head), ...body, CRLF];
    };
    const chunks = new Array<Buffer[]>(calls.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(INNER_CONCURRENCY, calls.length) }, async () => {
        while (next < calls.length) {
          const i = next++;
          chunks[i] = await answerOf(calls[i]);
        }
      }),
    );
    // A Buffer body keeps Express from appending `; charset=utf-8` after the boundary parameter.
    res.set('Content-Type', `multipart/mixed; boundary=${boundary}`).send(Buffer.concat([...chunks.flat(), Buffer.from(`--${boundary}--\r\n`)]));
  };
  const raw = express.raw({ type: () => true, limit: '60mb' });
  router.post('/batch/gmail/v1', raw, handler);
  router.post('/batch', raw, handler);
  return router;
}
