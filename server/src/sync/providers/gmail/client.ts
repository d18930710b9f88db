/**
 * The Gmail API client for one mailbox: the generated `@googleapis/gmail` client pointed at GMAIL_API_URL,
 * authorised by an OAuth2Client whose access token comes from the port's AccessTokenSource, and every call
 * paced (quota units per second), bounded (calls in flight) and translated (ProviderError).
 *
 * Retries: gaxios' own retry is OFF (`retry: false`). It retries 429/5xx only for GET/PUT/DELETE and not the
 * 403 rate limits Gmail also uses (docs/PROVIDERS.md "Gmail"), it would bypass the quota pacer (a retry costs units too),
 * and its backoff is invisible to the engine, whose policy table decides retry / back off / fail and persists
 * the backoff on the mailbox. The only retries here are:
 *   - one after a 401, with a fresh token (the cached one expired or was rotated);
 *   - a few for idempotent reads that the caller opts into (`retries`), used when fetching the messages of a
 *     page, so that one 503 among a hundred gets does not throw away the other ninety-nine; their waits honour
 *     Retry-After and are capped (`maxRetryWaitMs`), beyond which the error goes to the engine.
 *   - the same for users.watch and users.stop, POSTs that are idempotent (watching again replaces the watch), so
 *     that the one call standing between a caught-up mailbox and `live` is not lost to a passing 503 or 429.
 * Other POSTs (send, modify, trash) are not retried here: send is not idempotent, and the engine checks
 * findByInternetMessageId before sending again (docs/SYNC.md "Sending from the CRM").
 */
import { randomBytes } from 'node:crypto';
import { auth as googleAuth, gmail, type gmail_v1 } from '@googleapis/gmail';
import { retrying } from '../../../async/retry';
import { ProviderError, type AccessTokenSource } from '../port';
import { BATCH_MAX, batchRequestBody, parseBatchResponse, type InnerResponse } from './batch';
import { asProviderError, translateGmailError } from './errors';
import type { RequestGate } from '../common/gate';
import { METHOD_COST, type QuotaPacer, type GmailMethod } from './pacer';

/**
 * The OAuth2Client class of the google-auth-library copy that googleapis-common depends on (it pins its own,
 * currently 10.5 beside our 10.9): the top-level package's class is not assignable to the client's `auth`
 * option (separate private members), and a cast would hide a real mismatch. @googleapis/gmail re-exports it.
 */
const OAuth2Client = googleAuth.OAuth2;
type OAuth2Client = InstanceType<typeof OAuth2Client>;

/**
 * Node's own fetch for gaxios. Without `fetchImplementation`, gaxios 7 loads node-fetch through a dynamic
 * `import()`, which fails in CommonJS test runners and adds a second HTTP stack; Node's fetch also honours
 * NODE_EXTRA_CA_CERTS (the emulators' test CA). Looked up per call so a test may swap the global.
 */
export const nodeFetch: typeof fetch = (input, init) => globalThis.fetch(input, init);

export interface GmailClientOptions {
  /** GMAIL_API_URL, e.g. https://gmail.googleapis.com (no trailing slash needed). */
  apiUrl: string;
  tokens: AccessTokenSource;
  pacer: QuotaPacer;
  /** The mailbox's calls in flight and its Retry-After pause, shared by every client of the mailbox. */
  gate: RequestGate;
  /** Per-request timeout; a raw message can be 35 MB, so generous. Default 60 s. */
  timeoutMs?: number;
  /** Longest in-process wait before an opted-in retry; longer Retry-Afters go to the engine. Default 5 s. */
  maxRetryWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface CallOptions {
  /** Extra attempts after a transient or throttled failure; only for idempotent reads. Default 0. */
  retries?: number;
}

/**
 * One call's outcome inside a batch. A success is parsed when the caller asks (`json()`, which throws an
 * `invalid` ProviderError for a part that is not JSON), so a batch of large messages is turned into objects one
 * at a time rather than all at once.
 */
export type BatchAnswer = { json: () => unknown } | { error: ProviderError };

function parseAnswerPart(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProviderError('invalid', 'Gmail: a batch answer part is not JSON', { providerCode: 'malformedResponse' });
  }
}

/**
 * API roots that answered a batch as a server without the endpoint would (404 Not Found, 405, 501, or 400 for a
 * body it cannot read: a proxy or another emulator): their calls go one by one from then on, in this process.
 */
const batchUnsupported = new Set<string>();
const NO_BATCH_STATUS = new Set([400, 404, 405, 415, 501]);

const BASE_BACKOFF_MS = 250;

/** A 401 was not processed by Gmail: the call may be made again, even a POST, once with a new token. */
const unauthorised = (err: unknown): boolean => err instanceof ProviderError && err.code === 'auth_revoked' && err.details.status === 401;
const passing = (err: unknown): boolean => err instanceof ProviderError && (err.code === 'transient' || err.code === 'throttled');

export class GmailClient {
  private readonly api: gmail_v1.Gmail;
  private readonly auth: OAuth2Client;
  private readonly maxRetryWaitMs: number;

  constructor(private readonly opts: GmailClientOptions) {
    // No client id/secret: this client never refreshes by itself (no refresh token is ever given to it);
    // AccessTokenSource owns refreshing, once per mailbox, and its errors reach the engine unchanged.
    this.auth = new OAuth2Client();
    this.api = gmail({
      version: 'v1',
      rootUrl: `${opts.apiUrl.replace(/\/+$/, '')}/`,
      auth: this.auth,
      retry: false,
      timeout: opts.timeoutMs ?? 60_000,
      fetchImplementation: nodeFetch,
    });
    this.maxRetryWaitMs = opts.maxRetryWaitMs ?? 5_000;
  }

  /**
   * Runs one Gmail method: waits for a slot and for `METHOD_COST[method]` quota units, then calls `request`
   * with a current token. Throws ProviderError for provider failures; anything else is rethrown unchanged.
   */
  async call<T>(method: GmailMethod, request: (api: gmail_v1.Gmail) => Promise<{ data: T }>, opts: CallOptions = {}): Promise<T> {
    const withFreshToken = this.freshTokenOnce();
    return retrying(() => withFreshToken(() => this.once(method, request)), {
      retries: opts.retries ?? 0,
      retryable: passing,
      retryAfterMs: (err) => (err as ProviderError).details.retryAfterMs,
      baseMs: BASE_BACKOFF_MS,
      maxWaitMs: this.maxRetryWaitMs,
      clock: this.opts.sleep ? { sleep: this.opts.sleep } : undefined,
    });
  }

  /** Runs a call; after a 401, invalidates the token and runs it once more — once for all the tries it wraps. */
  private freshTokenOnce(): <T>(call: () => Promise<T>) => Promise<T> {
    let refreshed = false;
    return async (call) => {
      try {
        return await call();
      } catch (err) {
        if (refreshed || !unauthorised(err)) throw err;
        refreshed = true;
        this.opts.tokens.invalidate();
        return call();
      }
    };
  }

  /**
   * The most calls of `method` one batch should hold (batch.ts): none when the API root has no batch endpoint;
   * else at most BATCH_MAX, and at most half the quota budget, since a batch's units stay counted until it is
   * answered (pacer.ts). Under a tight quota batches would not be faster anyway: the quota is the limit.
   */
  batchSize(method: GmailMethod): number {
    if (batchUnsupported.has(this.root())) return 0;
    return Math.min(BATCH_MAX, Math.floor(this.opts.pacer.budget() / METHOD_COST[method] / 2));
  }

  /**
   * Whether a batch of `calls` is the faster way now: not while the quota is what limits this mailbox (calls
   * waiting for units, or too few left in the window for the batch), where holding a batch's units until its answer would only
   * slow it down — single calls then keep the budget in use (measured: 0.95 of the quota floor, against 0.88
   * with batches).
   */
  batchPays(method: GmailMethod, calls: number): boolean {
    const { pacer } = this.opts;
    return calls >= 2 && calls <= this.batchSize(method) && pacer.waiting() === 0 && pacer.unitsInWindow() + calls * METHOD_COST[method] <= pacer.budget();
  }

  /**
   * GET calls of one method in one batch request (batch.ts; at most BATCH_MAX): each charged to the pacer as the
   * call it is, the answers in the order of `paths`, each its JSON or its own ProviderError. Null when the API
   * root has no batch endpoint (then remembered: see batchAvailable; the caller makes the calls one by one). A failure of the whole batch throws, as a
   * single call's would; a 401 is retried once with a fresh token.
   */
  async getMany(method: GmailMethod, paths: readonly string[]): Promise<BatchAnswer[] | null> {
    if (paths.length > BATCH_MAX) throw new Error(`a Gmail batch of ${paths.length} ${method} is over ${BATCH_MAX}`);
    return this.freshTokenOnce()(() => this.batchOnce(method, paths));
  }

  /** The current access token; a refresh failure as the ProviderError the engine decides on. */
  private async accessToken(): Promise<string> {
    try {
      return await this.opts.tokens.accessToken();
    } catch (err) {
      throw asProviderError(err);
    }
  }

  private root(): string {
    return this.opts.apiUrl.replace(/\/+$/, '');
  }

  private async batchOnce(method: GmailMethod, paths: readonly string[]): Promise<BatchAnswer[] | null> {
    const { gate, pacer } = this.opts;
    return gate.run(
      async () => {
        const token = await this.accessToken();
        const releases = await Promise.all(paths.map(() => pacer.acquire(METHOD_COST[method], { untilAnswered: true })));
        try {
          await gate.waitOutBlock(this.maxRetryWaitMs);
          const boundary = `batch_${randomBytes(12).toString('hex')}`;
          let answer: Response;
          try {
            answer = await nodeFetch(`${this.root()}/batch/gmail/v1`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/mixed; boundary=${boundary}` },
              body: batchRequestBody(paths, boundary),
              signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
            });
          } catch (err) {
            throw translateGmailError(err) ?? err;
          }
          // Bytes, not text: see parseBatchResponse.
          const bytes = Buffer.from(await answer.arrayBuffer());
          if (NO_BATCH_STATUS.has(answer.status)) {
            batchUnsupported.add(this.root());
            return null;
          }
          if (answer.status !== 200)
            throw this.failure({ status: answer.status, headers: { 'retry-after': answer.headers.get('retry-after') ?? '' }, body: bytes });
          const inner = parseBatchResponse(answer.headers.get('content-type'), bytes);
          return paths.map((_, i): BatchAnswer => {
            const response = inner.get(i + 1);
            if (!response) return { error: new ProviderError('transient', 'Gmail: the batch answer left this call out') };
            if (response.status === 200) return { json: () => parseAnswerPart(response.body) };
            return { error: this.failure(response) };
          });
        } finally {
          for (const release of releases) release();
        }
      },
      { maxWaitMs: this.maxRetryWaitMs },
    );
  }

  /** An HTTP failure (of a batch or of one call in it) as the ProviderError a single call would have thrown. */
  private failure(response: InnerResponse): ProviderError {
    const text = response.body.toString('utf8');
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      /* not JSON: the status alone decides */
    }
    const error =
      translateGmailError({ response: { status: response.status, headers: response.headers, data } }) ??
      new ProviderError('transient', `Gmail: HTTP ${response.status} in a batch`, { status: response.status });
    // As for a single call: a Retry-After pauses the whole mailbox.
    if (error.details.retryAfterMs !== undefined) this.opts.gate.blockFor(error.details.retryAfterMs);
    return error;
  }

  private async once<T>(method: GmailMethod, request: (api: gmail_v1.Gmail) => Promise<{ data: T }>): Promise<T> {
    const { gate, pacer } = this.opts;
    return gate.run(
      async () => {
        const token = await this.accessToken();
        const release = await pacer.acquire(METHOD_COST[method]);
        try {
          // A Retry-After may have started while this call waited for its units.
          await gate.waitOutBlock(this.maxRetryWaitMs);
          // Set per call: the token source may have refreshed since the last one. Concurrent calls set the
          // same current token, so sharing the OAuth2Client is safe.
          this.auth.setCredentials({ access_token: token });
          const response = await request(this.api);
          return response.data;
        } catch (err) {
          const error = asProviderError(err);
          // Retry-After holds for the whole mailbox (it is the user's quota that ran out, or the backend that asked
          // for a pause), so it is recorded before this slot is released and no queued call slips through.
          if (error instanceof ProviderError && error.details.retryAfterMs !== undefined) gate.blockFor(error.details.retryAfterMs);
          throw error;
        } finally {
          release();
        }
      },
      { maxWaitMs: this.maxRetryWaitMs },
    );
  }
}
