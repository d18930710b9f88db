/**
 * The batch endpoint (https://developers.google.com/gmail/api/guides/batch): a multipart/mixed body whose parts
 * are `application/http` requests; the answer is multipart/mixed with one `HTTP/1.1 …` response per part, each
 * with `Content-ID: response-<request Content-ID>`. At most 100 calls, and each still costs its quota units,
 * which is why the inner calls go back through this server (auth, quota, faults and the request log apply).
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import express, { type Request, type Response, type Router } from 'express';
import { BATCH_PART_HEADER } from '../common/faults';
import type { GmailContext } from './context';
import { invalidArgument, sendGoogleError } from './errors';
import { headerValue, parseMime } from './mime';

/** Inner calls of one batch worked on at once. */
const INNER_CONCURRENCY = 8;

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
    const answerOf = async (call: InnerRequest | undefined): Promise<string> => {
      let status = 400;
      let text = JSON.stringify({ error: { code: 400, message: 'Malformed batch part', status: 'INVALID_ARGUMENT' } });
      let type = 'application/json; charset=UTF-8';
      let retryAfter: string | null = null;
      if (call) {
        // Inner calls inherit the outer Authorization unless they carry their own.
        const headers: Record<string, string> = { ...call.headers, [BATCH_PART_HEADER]: '1' };
        if (!headers.authorization && outerAuth) headers.authorization = outerAuth;
        const path = call.path.replace(/^https?:\/\/[^/]+/, '');
        try {
          const answer = await fetch(`${ctx.baseUrl()}${path}`, {
            method: call.method,
            headers,
            body: call.method === 'GET' || call.method === 'DELETE' ? undefined : call.body,
          });
          status = answer.status;
          type = answer.headers.get('content-type') ?? type;
          retryAfter = answer.headers.get('retry-after');
          text = await answer.text();
        } catch (err) {
          // The replay itself failed (the emulator is stopping): this part fails as a backend error, not the batch.
          status = 500;
          text = JSON.stringify({ error: { code: 500, message: `Backend Error: ${(err as Error).message}`, status: 'INTERNAL' } });
        }
      }
      const contentId = call ? `response-${call.contentId}` : 'response-invalid';
      return (
        `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: ${contentId}\r\n\r\n` +
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${type}\r\n${retryAfter ? `Retry-After: ${retryAfter}\r\n` : ''}\r\n${text}\r\n`
      );
    };
    const chunks = new Array<string>(calls.length);
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
    res.set('Content-Type', `multipart/mixed; boundary=${boundary}`).send(Buffer.from(`${chunks.join('')}--${boundary}--\r\n`));
  };
  const raw = express.raw({ type: () => true, limit: '60mb' });
  router.post('/batch/gmail/v1', raw, handler);
  router.post('/batch', raw, handler);
  return router;
}
