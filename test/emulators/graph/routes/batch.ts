/**
 * JSON batching: `POST /$batch` with up to 20 requests (https://learn.microsoft.com/graph/json-batching).
 * Each request is replayed through the emulator itself, so it is authenticated, throttled and logged like a
 * direct call; Outlook runs at most 4 of a batch at once, and in order when `dependsOn` is used
 * (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits-for-json-batching).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router, type Express } from 'express';
import { BATCH_PART_HEADER } from '../../common/faults';
import { bodyOf, handle } from '../context';
import { badRequest } from '../odata';

interface BatchRequest {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

const MAX_BATCH = 20;
const PARALLEL = 4;

/** A private loopback listener for replaying batch items, created on first use and never holding the process open. */
function loopback(
  app: () => Express,
): (
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
) => Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  let port: Promise<number> | null = null;
  const listen = (): Promise<number> => {
    port ??= new Promise((resolve) => {
      const server = http.createServer(app());
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      server.unref();
    });
    return port;
  };
  return async (method, path, headers, body) => {
    const target = await listen();
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: target, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out[k] = v;
          resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

export function batchRoutes(app: () => Express): Router {
  const router = Router();
  const send = loopback(app);
  router.post(
    '/\\$batch',
    handle(async (req, res) => {
      const requests = bodyOf(req).requests;
      if (!Array.isArray(requests) || requests.length === 0) throw badRequest('The batch must contain a requests array.', 'BadRequest');
      if (requests.length > MAX_BATCH) throw badRequest(`Too many requests in the batch. Maximum number of requests allowed is ${MAX_BATCH}.`, 'BadRequest');
      const items = requests as BatchRequest[];
      const done = new Map<string, Promise<unknown>>();
      const run = async (item: BatchRequest): Promise<unknown> => {
        await Promise.all((item.dependsOn ?? []).map((id) => done.get(id)));
        const headers: Record<string, string> = { ...(item.headers ?? {}), authorization: req.header('authorization') ?? '', [BATCH_PART_HEADER]: '1' };
        const prefer = req.header('prefer');
        if (prefer && !Object.keys(headers).some((h) => h.toLowerCase() === 'prefer')) headers.prefer = prefer;
        let payload: Buffer | undefined;
        if (item.body !== undefined) {
          payload = Buffer.from(JSON.stringify(item.body));
          headers['content-type'] ??= 'application/json';
        }
        const path = `/v1.0${item.url.startsWith('/') ? '' : '/'}${item.url}`;
        // A replay that failed in transport (the emulator is stopping) is this item's 500, not the batch's failure.
        const answer = await send(item.method.toUpperCase(), path, headers, payload).catch((err: Error) => ({
          status: 500,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify({ error: { code: 'InternalServerError', message: err.message } })),
        }));
        const type = answer.headers['content-type'] ?? '';
        const body = answer.body.length === 0 ? undefined : type.includes('json') ? JSON.parse(answer.body.toString()) : answer.body.toString('base64');
        const keep = Object.fromEntries(
          Object.entries(answer.headers).filter(([k]) => ['content-type', 'retry-after', 'location', 'preference-applied'].includes(k)),
        );
        return { id: item.id, status: answer.status, headers: keep, ...(body !== undefined ? { body } : {}) };
      };
      // Without dependsOn, at most PARALLEL run at once; a dependent item waits for what it names.
      const responses: unknown[] = [];
      const queue = [...items];
      const workers = Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          const task = run(item);
          done.set(item.id, task);
          responses.push(await task);
        }
      });
      await Promise.all(workers);
      res.json({ responses });
    }),
  );
  return router;
}
