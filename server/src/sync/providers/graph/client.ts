/**
 * The Microsoft Graph client for one mailbox: `@microsoft/microsoft-graph-client` v3 with a custom middleware
 * chain — MailboxGate → AuthenticationHandler → HTTPMessageHandler — in place of the default one
 * (Auth → Retry → Redirect → Telemetry → HTTP), whose RetryHandler waits out a Retry-After for its own request
 * only, while every other request of the mailbox keeps going (docs/PROVIDERS.md "Microsoft Graph": never send before it elapses).
 *
 * URL composition (GraphRequest.buildFullUrl): urlJoin(baseUrl, defaultVersion, path). So baseUrl is
 * GRAPH_API_URL itself and defaultVersion 'v1.0'; a baseUrl ending in /v1.0/ would give /v1.0/v1.0/.
 * AuthenticationHandler attaches the token only to https URLs whose host is a Graph host or in `customHosts`
 * (host names without port: GraphRequestUtil.isValidEndpoint compares the part before ':'); over plain http it
 * would silently send none. So an https GRAPH_API_URL keeps the library's handler with `customHosts`, and an http
 * one (a local proxy, an emulator: both are allowed) gets BearerToken below, which attaches the token to requests
 * for GRAPH_API_URL's own origin and refuses anything else. Absolute nextLink/deltaLink URLs are never handed to
 * the client (it treats non-https ones as paths): `graphPathFromLink` checks their origin against GRAPH_API_URL
 * and makes them relative.
 */
import {
  AuthenticationHandler,
  Client,
  GraphClientError,
  HTTPMessageHandler,
  ResponseType,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { ProviderError, type AccessTokenSource } from '../port';
import { parseRetryAfter, retrying } from '../../../async/retry';
import type { RequestGate } from '../common/gate';
import { asProviderError } from './errors';

export interface GraphClientOptions {
  /** GRAPH_API_URL, e.g. https://graph.microsoft.com (no /v1.0). */
  apiUrl: string;
  tokens: AccessTokenSource;
  /** The mailbox's gate (shared by every adapter instance of the mailbox). */
  gate: RequestGate;
  /** Longest in-process wait for a Retry-After or a backoff; longer ones go to the engine. Default 30 s. */
  maxRetryWaitMs?: number;
  /** Attempts per request for throttling and (GET only) transient failures. Default 4. */
  maxAttempts?: number;
  /**
   * An attempt with no answer after this long is aborted (a transient failure: GETs are retried). Without it a
   * stalled connection holds one of the mailbox's 4 slots — and a backfill that waits on it — for ever: neither
   * fetch nor the Graph client has a default timeout. Default 30 s (GRAPH_REQUEST_TIMEOUT_SECONDS).
   */
  requestTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const BASE_BACKOFF_MS = 250;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Outlook ids otherwise change on every move (https://learn.microsoft.com/graph/outlook-immutable-id). */
export const IMMUTABLE_ID_PREFERENCE = 'IdType="ImmutableId"';

/**
 * nextLink / deltaLink / Location → a path relative to GRAPH_API_URL/v1.0, or ProviderError('invalid') when the
 * link points anywhere else (docs/PROVIDERS.md "Microsoft Graph": a link is data from the network; following it elsewhere would send
 * the mailbox's token there).
 */
export function graphPathFromLink(link: string, apiUrl: string): string {
  let url: URL;
  let base: URL;
  try {
    url = new URL(link);
    base = new URL(apiUrl);
  } catch {
    throw new ProviderError('invalid', 'Graph: a link in the answer is not a URL');
  }
  const prefix = `${base.pathname.replace(/\/+$/, '')}/v1.0/`;
  if (url.origin !== base.origin || !url.pathname.startsWith(prefix) || url.username || url.password) {
    throw new ProviderError('invalid', `Graph: refusing to follow a link outside GRAPH_API_URL (${url.origin})`);
  }
  return `/${url.pathname.slice(prefix.length)}${url.search}`;
}

/** `?a=b&c=d` with each value percent-encoded: the Graph client joins query parts as given, without encoding. */
export function query(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

type HeaderBag = Record<string, string>;

function headerBag(context: Context): HeaderBag {
  context.options ??= {};
  const current = context.options.headers;
  // GraphRequest always passes a plain object; normalise anything else once.
  if (!current || current instanceof Headers || Array.isArray(current)) {
    const bag: HeaderBag = {};
    new Headers(current as HeadersInit | undefined).forEach((value, name) => {
      bag[name] = value;
    });
    context.options.headers = bag;
    return bag;
  }
  return current as HeaderBag;
}

function withImmutableIds(headers: HeaderBag): void {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === 'prefer');
  const existing = key ? (headers[key] ?? '') : '';
  if (/idtype\s*=\s*"?immutableid"?/i.test(existing)) return;
  if (key) delete headers[key];
  headers.Prefer = existing ? `${existing}, ${IMMUTABLE_ID_PREFERENCE}` : IMMUTABLE_ID_PREFERENCE;
}

/** Keeps what happened below HTTP (token source, network) intact through GraphRequest.send, which rethrows only GraphClientError as is. */
function passThrough(inner: unknown): GraphClientError {
  const wrapped = new GraphClientError(inner instanceof Error ? inner.message : String(inner));
  (wrapped as GraphClientError & { customError?: unknown }).customError = inner;
  return wrapped;
}

/** An attempt whose answer may be asked again: it stays the request's answer when no try is left. */
class RetryableAnswer extends Error {
  constructor(readonly retryAfterMs: number | undefined) {
    super('retryable answer');
  }
}

/** An attempt that got no answer (network, timeout, token source): `error` translated. */
class NoAnswer extends Error {
  constructor(readonly error: unknown) {
    super('no answer');
  }
}

/**
 * The mailbox's gate as a middleware: the Prefer header, the 4-in-flight limit and Retry-After for every attempt,
 * one retry after a 401 with a refreshed token, and bounded retries for 429 (any method: a throttled request was
 * not processed) and for 5xx / network failures of GETs only (a POST such as send is not idempotent).
 */
class MailboxGate implements Middleware {
  private next: Middleware | undefined;
  constructor(private readonly opts: GraphClientOptions) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const next = this.next;
    if (!next) throw new Error('MailboxGate needs a next middleware');
    const { gate, tokens } = this.opts;
    const maxWaitMs = this.opts.maxRetryWaitMs ?? 30_000;
    const idempotent = (context.options?.method ?? 'GET').toUpperCase() === 'GET';
    const headers = headerBag(context);
    withImmutableIds(headers);
    let refreshed = false;
    const attempt = async (failures: number): Promise<void> => {
      // AuthenticationHandler appends to an existing Authorization header: clear it before each attempt.
      for (const key of Object.keys(headers)) if (key.toLowerCase() === 'authorization') delete headers[key];
      let failure: { error: unknown } | null = null;
      // Token first, outside the slot: AuthenticationHandler then finds it cached, so nothing waits on I/O between
      // the gate's Retry-After check and the send. (A token read from the database in between let a request go out
      // after another request's 429 had set a block: a Retry-After violation under a request budget.) A failure
      // here is left to AuthenticationHandler's own call below, which reports it as before.
      await tokens.accessToken().catch(() => undefined);
      try {
        await gate.run(
          async () => {
            try {
              // Per attempt: a retried request gets a fresh timer. TimeoutError is a network failure (errors.ts).
              context.options!.signal = AbortSignal.timeout(this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
              await next.execute(context);
            } catch (error) {
              failure = { error };
              return;
            }
            const res = context.response;
            if (res && (res.status === 429 || res.status === 503)) {
              // Recorded before the slot is released, so no queued request is sent inside the window.
              const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
              if (retryAfterMs !== undefined) gate.blockFor(retryAfterMs);
              else if (res.status === 429) gate.blockFor(BASE_BACKOFF_MS * 2 ** failures);
            }
          },
          { maxWaitMs },
        );
      } catch (error) {
        throw passThrough(error);
      }
      const caught = failure as { error: unknown } | null;
      if (caught) throw new NoAnswer(asProviderError(caught.error));
      const res = context.response;
      if (!res) return;
      if (res.status === 401 && !refreshed) {
        // A 401 was not processed by Graph, so even a POST may be repeated once with a new token (not a try).
        refreshed = true;
        tokens.invalidate();
        await res.arrayBuffer().catch(() => undefined);
        return attempt(failures);
      }
      const throttled = res.status === 429 || (res.status === 503 && res.headers.has('retry-after'));
      if (throttled || (idempotent && res.status >= 500)) throw new RetryableAnswer(parseRetryAfter(res.headers.get('retry-after')));
    };
    try {
      // A throttled attempt recorded its wait in the gate above (for every request of the mailbox, sent or queued);
      // the wait here is the same Retry-After or backoff, after which the gate lets this request through.
      await retrying(attempt, {
        retries: (this.opts.maxAttempts ?? 4) - 1,
        retryable: (err) =>
          err instanceof RetryableAnswer || (err instanceof NoAnswer && idempotent && err.error instanceof ProviderError && err.error.code === 'transient'),
        retryAfterMs: (err) => (err instanceof RetryableAnswer ? err.retryAfterMs : undefined),
        baseMs: BASE_BACKOFF_MS,
        maxWaitMs,
        clock: this.opts.sleep ? { sleep: this.opts.sleep } : undefined,
        // The answer given up on is read to its end, so its connection goes back to the pool.
        onRetry: async (err) => {
          if (err instanceof RetryableAnswer) await context.response?.arrayBuffer().catch(() => undefined);
        },
      });
    } catch (err) {
      // Out of tries, or a Retry-After too long to wait in process: the answer goes up as it is (errors.ts).
      if (err instanceof RetryableAnswer) return;
      throw err instanceof NoAnswer ? passThrough(err.error) : err;
    }
  }
}

/** The token for plain-http roots, where AuthenticationHandler sends none (see the module comment). */
class BearerToken implements Middleware {
  private next: Middleware | undefined;
  constructor(
    private readonly origin: string,
    private readonly tokens: AccessTokenSource,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new Error('BearerToken needs a next middleware');
    const target = typeof context.request === 'string' ? context.request : context.request.url;
    if (new URL(target).origin !== this.origin)
      throw new ProviderError('invalid', `Graph: refusing to send the mailbox's token outside GRAPH_API_URL (${new URL(target).origin})`);
    headerBag(context).Authorization = `Bearer ${await this.tokens.accessToken()}`;
    await this.next.execute(context);
  }
}

/** One Graph page of a collection or a delta round. */
export interface GraphPage<T> {
  value: T[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

export class GraphMailboxClient {
  readonly client: Client;

  constructor(private readonly opts: GraphClientOptions) {
    const base = new URL(opts.apiUrl);
    const https = base.protocol === 'https:';
    this.client = Client.initWithMiddleware({
      middleware: [
        new MailboxGate(opts),
        https ? new AuthenticationHandler({ getAccessToken: () => opts.tokens.accessToken() }) : new BearerToken(base.origin, opts.tokens),
        new HTTPMessageHandler(),
      ],
      baseUrl: opts.apiUrl.replace(/\/+$/, ''),
      defaultVersion: 'v1.0',
      ...(https ? { customHosts: new Set([base.hostname]) } : {}),
    });
  }

  /** A link Graph returned (nextLink, deltaLink), after the origin check. */
  pathOf(link: string): string {
    return graphPathFromLink(link, this.opts.apiUrl);
  }

  get<T>(path: string, headers: Record<string, string> = {}): Promise<T> {
    return this.call(() => this.client.api(path).headers(headers).get() as Promise<T>);
  }

  /** A binary answer (`$value`): the client would otherwise parse it as JSON or text. */
  async getBytes(path: string): Promise<Buffer> {
    const body = await this.call(() => this.client.api(path).responseType(ResponseType.ARRAYBUFFER).get() as Promise<ArrayBuffer>);
    return Buffer.from(body);
  }

  post<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.call(() => this.client.api(path).headers(headers).post(body) as Promise<T>);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call(() => this.client.api(path).patch(body) as Promise<T>);
  }

  async delete(path: string): Promise<void> {
    await this.call(() => this.client.api(path).delete() as Promise<unknown>);
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      const translated = asProviderError(err);
      // Not a provider failure: rethrow what our own code threw, unwrapped from passThrough().
      if (translated === err && err instanceof GraphClientError) throw (err as GraphClientError & { customError?: unknown }).customError ?? err;
      throw translated;
    }
  }
}

/** `/me/messages/{id}` with the id escaped (immutable ids are base64url-like, but nothing may be assumed). */
export const messagePath = (id: string, suffix = ''): string => `/me/messages/${encodeURIComponent(id)}${suffix}`;
export const folderPath = (id: string, suffix = ''): string => `/me/mailFolders/${encodeURIComponent(id)}${suffix}`;
