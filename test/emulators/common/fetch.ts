/**
 * A `fetch` over node:http/https that trusts a given CA, for client libraries driven in-process by tests.
 *
 * Why: gaxios 7 (under @googleapis/gmail and google-auth-library) loads node-fetch v3 with a dynamic `import()`,
 * which jest's CommonJS runtime refuses (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG), so tests must pass a
 * `fetchImplementation`. Node's global fetch cannot take a private CA without the undici package, and
 * NODE_EXTRA_CA_CERTS only works when set before the process starts. Buffering whole bodies is fine for tests.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

export interface NodeFetchOptions {
  /** Extra trusted CA (PEM) for https URLs. */
  ca?: string;
}

async function bodyBytes(body: unknown): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof Readable || (typeof body === 'object' && Symbol.asyncIterator in body)) {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  if (body instanceof ReadableStream) return Buffer.from(await new Response(body).arrayBuffer());
  throw new TypeError(`unsupported request body type: ${typeof body}`);
}

export function createNodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const httpsAgent = new https.Agent({ ca: options.ca, keepAlive: false });
  const nodeFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const payload = await bodyBytes(init.body);
    const headers = new Headers(init.headers);
    if (payload && !headers.has('content-length')) headers.set('content-length', String(payload.length));
    // fetch derives these content types from the body; gaxios relies on it for form posts (token endpoint).
    if (!headers.has('content-type')) {
      if (init.body instanceof URLSearchParams) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      else if (typeof init.body === 'string') headers.set('content-type', 'text/plain;charset=UTF-8');
    }
    const plainHeaders: Record<string, string> = {};
    headers.forEach((value, name) => {
      plainHeaders[name] = value;
    });
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: init.method ?? 'GET',
          headers: plainHeaders,
          agent: url.protocol === 'https:' ? httpsAgent : undefined,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (Array.isArray(value)) value.forEach((v) => responseHeaders.append(name, v));
              else if (value !== undefined) responseHeaders.set(name, value);
            }
            // A Response with status 204/304 may not carry a body, even an empty one.
            const nullBody = status === 204 || status === 304 || init.method === 'HEAD';
            const response = new Response(nullBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders });
            Object.defineProperty(response, 'url', { value: url.toString() });
            resolve(response);
          });
        },
      );
      req.on('error', reject);
      // As fetch does: reject with the signal's reason (a TimeoutError DOMException for AbortSignal.timeout).
      init.signal?.addEventListener(
        'abort',
        () => req.destroy(typeof init.signal?.reason === 'object' && init.signal.reason !== null ? (init.signal.reason as Error) : new Error('aborted')),
        { once: true },
      );
      req.end(payload);
    });
  };
  return nodeFetch as typeof fetch;
}
