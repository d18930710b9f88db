/**
 * The Gmail API client for one mailbox: the generated `@googleapis/gmail` client pointed at GMAIL_API_URL,
 * authorised by an OAuth2Client whose access token comes from the port's AccessTokenSource, and every call
 * paced (quota units per second), bounded (calls in flight) and translated (ProviderError).
 *
 * Retries: gaxios' own retry is OFF (`retry: false`). It retries 429/5xx only for GET/PUT/DELETE and not the
 * 403 rate limits Gmail also uses (DESIGN.md §5), it would bypass the quota pacer (a retry costs units too),
 * and its backoff is invisible to the engine, whose policy table decides retry / back off / fail and persists
 * the backoff on the mailbox. The only retries here are:
 *   - one after a 401, with a fresh token (the cached one expired or was rotated);
 *   - a few for idempotent reads that the caller opts into (`retries`), used when fetching the messages of a
 *     page, so that one 503 among a hundred gets does not throw away the other ninety-nine; their waits honour
 *     Retry-After and are capped (`maxRetryWaitMs`), beyond which the error goes to the engine.
 * POSTs (send, modify, trash, watch) are never retried here: send is not idempotent, and the engine checks
 * findByInternetMessageId before sending again (DESIGN.md §4.8).
 */
import { auth as googleAuth, gmail, type gmail_v1 } from '@googleapis/gmail';
import { ProviderError, type AccessTokenSource } from '../port';
import { asProviderError } from './errors';
import type { RequestGate } from '../shared/gate';
import { METHOD_COST, QuotaPacer, type GmailMethod } from './pacer';

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

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const BASE_BACKOFF_MS = 250;

export class GmailClient {
  private readonly api: gmail_v1.Gmail;
  private readonly auth: OAuth2Client;
  private readonly maxRetryWaitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

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
    this.sleep = opts.sleep ?? defaultSleep;
  }

  /**
   * Runs one Gmail method: waits for a slot and for `METHOD_COST[method]` quota units, then calls `request`
   * with a current token. Throws ProviderError for provider failures; anything else is rethrown unchanged.
   */
  async call<T>(method: GmailMethod, request: (api: gmail_v1.Gmail) => Promise<{ data: T }>, opts: CallOptions = {}): Promise<T> {
    const retries = opts.retries ?? 0;
    let attempt = 0;
    let refreshedToken = false;
    for (;;) {
      try {
        return await this.once(method, request);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        if (err.code === 'auth_revoked' && err.details.status === 401 && !refreshedToken) {
          // A 401 was not processed by Gmail, so even a POST may be repeated once with a new token.
          refreshedToken = true;
          this.opts.tokens.invalidate();
          continue;
        }
        const retryable = err.code === 'transient' || err.code === 'throttled';
        const waitMs = err.details.retryAfterMs ?? BASE_BACKOFF_MS * 2 ** attempt;
        if (!retryable || attempt >= retries || waitMs > this.maxRetryWaitMs) throw err;
        attempt += 1;
        await this.sleep(waitMs);
      }
    }
  }

  private async once<T>(method: GmailMethod, request: (api: gmail_v1.Gmail) => Promise<{ data: T }>): Promise<T> {
    const { gate, pacer, tokens } = this.opts;
    return gate.run(
      async () => {
        let token: string;
        try {
          token = await tokens.accessToken();
        } catch (err) {
          throw asProviderError(err);
        }
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
