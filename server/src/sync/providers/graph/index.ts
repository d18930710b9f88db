/**
 * The Microsoft Graph adapter behind the ports (port.ts): a factory the engine calls per mailbox; beside it the OAuth
 * client the connect routes use, the error translator and the push receiver the webhooks use. Per-mailbox state that must outlive one adapter instance — the request gate
 * (4 in flight, Retry-After) and the folder catalog — lives in the factory's closure, keyed by mailbox id; nothing
 * happens at import time.
 */
import type { Config } from '../../../config';
import type { AdapterFactory, PushHints } from '../port';
import { RequestGate } from '../common/gate';
import { GraphChangeSource } from './change-source';
import { GraphMailboxClient } from './client';
import { FolderCatalog } from './folders';
import { GraphPush } from './push';
import { GraphWriter } from './writer';

export type GraphAdapterConfig = Pick<Config, 'GRAPH_API_URL' | 'PUBLIC_URL' | 'GRAPH_SUBSCRIPTION_MINUTES'> &
  Partial<Pick<Config, 'GRAPH_REQUEST_TIMEOUT_SECONDS'>>;

export interface GraphAdapterOptions {
  /** Graph's per-app, per-mailbox concurrency limit (https://learn.microsoft.com/graph/throttling-limits). */
  maxInFlight?: number;
  /** How long the folder tree is reused before new folders are looked for. Default 5 minutes. */
  folderRefreshMs?: number;
  deltaPageSize?: number;
  maxRetryWaitMs?: number;
  /** false: polling only (push: null). Default true. */
  push?: boolean;
  /** Change-notification hints (hints.ts; the server's are in MongoDB: engine/push-hints.ts); none: every round reads every folder. */
  hints?: PushHints;
}

/** Graph allows 4 concurrent requests per app and mailbox; the fifth is answered 429. */
export const GRAPH_MAX_IN_FLIGHT = 4;

export function graphAdapterFactory(config: GraphAdapterConfig, options: GraphAdapterOptions = {}): AdapterFactory {
  const perMailbox = new Map<string, { gate: RequestGate; catalog: FolderCatalog }>();
  return (mailbox, tokens) => {
    let shared = perMailbox.get(mailbox.id);
    if (!shared) {
      shared = {
        gate: new RequestGate({ maxInFlight: options.maxInFlight ?? GRAPH_MAX_IN_FLIGHT }),
        catalog: new FolderCatalog({ refreshMs: options.folderRefreshMs ?? 5 * 60_000 }),
      };
      perMailbox.set(mailbox.id, shared);
    }
    const client = new GraphMailboxClient({
      apiUrl: config.GRAPH_API_URL,
      tokens,
      gate: shared.gate,
      maxRetryWaitMs: options.maxRetryWaitMs,
      ...(config.GRAPH_REQUEST_TIMEOUT_SECONDS ? { requestTimeoutMs: config.GRAPH_REQUEST_TIMEOUT_SECONDS * 1000 } : {}),
    });
    return {
      changeSource: new GraphChangeSource({
        client,
        catalog: shared.catalog,
        deltaPageSize: options.deltaPageSize,
        hints: options.hints,
        mailboxId: mailbox.id,
      }),
      writer: new GraphWriter(client),
      push: options.push === false ? null : new GraphPush(client, { publicUrl: config.PUBLIC_URL, lifetimeMinutes: config.GRAPH_SUBSCRIPTION_MINUTES }),
    };
  };
}

export { translateGraphError } from './errors';
export { microsoftOAuth } from './oauth';
export { GraphPushReceiver } from './push';
