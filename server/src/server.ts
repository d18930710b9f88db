/**
 * Wires the parts into a runnable service for a given configuration: used by main.ts and by the tests,
 * so both run the same assembly. Connecting the database is the caller's job.
 */
import type { Express } from 'express';
import { addinRoutes } from '../../outlook-addin/serve';
import { consoleRoutes } from '../../web/serve';
import { createApp } from './app';
import { createIdentityVerifier } from './auth/identity';
import { createSessionTokens, type SessionTokens } from './auth/session-token';
import { createVault, type Vault } from './auth/vault';
import type { Config } from './config';
import { databaseAnswers } from './db/connection';
import { contactRoutes } from './http/contact-routes';
import { contextRoutes } from './http/context-routes';
import { dealRoutes } from './http/deal-routes';
import { loginLinkRoutes } from './http/login-link-routes';
import { signOutRoutes } from './http/session-routes';
import { userRoutes } from './http/user-routes';
import { mailboxRoutes } from './http/mailbox-routes';
import { messageChoiceRoutes } from './http/message-choice-routes';
import { messageReadRoutes } from './http/message-read-routes';
import { messageWriteRoutes } from './http/message-write-routes';
import { oauthRoutes } from './http/oauth-routes';
import { realmApiRoutes, realmCallbackRoutes } from './http/realm-routes';
import { senderExclusionRoutes } from './http/sender-exclusion-routes';
import { activityRoutes } from './http/activity-routes';
import { dealMailRoutes } from './http/deal-mail-routes';
import { settingsRoutes } from './http/settings-routes';
import { webhookRoutes, type Webhooks } from './http/webhook-routes';
import { whyRoutes } from './http/why-routes';
import type { Logger } from './logger';
import { createMetrics, type Metrics } from './metrics';
import { createSyncControl, type SyncControl } from './sync/control/control';
import { createSyncHost, type SyncHost } from './sync/control/host';
import { processDueOutbox, sendSoon } from './sync/outbound/outbox';
import { buildProviders, type Providers } from './sync/providers/registry';
import { storedPushHints } from './sync/engine/push-hints';
import type { MailboxAdapters } from './sync/providers/runtime';

export interface Service {
  app: Express;
  sessions: SessionTokens;
  vault: Vault;
  metrics: Metrics;
  providers: Providers;
  sync: SyncControl;
  host: SyncHost;
  /** The push endpoints; `idle()` settles once the work after their answers is done. */
  webhooks: Pick<Webhooks, 'idle'>;
  /** The outbox sweep for the worker loop: sends what is queued, or was left sending by a dead worker. */
  processDueOutbox: (opts?: { limit?: number }) => ReturnType<typeof processDueOutbox>;
}

export function buildService(config: Config, log: Logger, opts: { adapters?: MailboxAdapters } = {}): Service {
  if (!config.JWT_SECRET || !config.TOKEN_ENCRYPTION_KEY) throw new Error('JWT_SECRET and TOKEN_ENCRYPTION_KEY must be resolved before building the service');
  const metrics = createMetrics();
  const sessions = createSessionTokens({
    secret: config.JWT_SECRET,
    issuer: config.PUBLIC_URL,
    ttlSeconds: config.SESSION_TTL_SECONDS,
    maxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
  });
  const vault = createVault({
    currentKey: Buffer.from(config.TOKEN_ENCRYPTION_KEY, 'base64'),
    oldKeys: (config.TOKEN_ENCRYPTION_OLD_KEYS ?? '')
      .split(',')
      .filter(Boolean)
      .map((k) => Buffer.from(k.trim(), 'base64')),
  });
  const identity = createIdentityVerifier(config);
  const providers = buildProviders(config, { hints: storedPushHints, identity });
  const host = createSyncHost({ config, vault, providers, log });
  // Tests may pass adapters of their own (say, with a token source that never refreshes).
  const adapters = opts.adapters ?? host.adapters;
  const sync = createSyncControl({ vault, providers, adapters, log });
  const connect = { publicUrl: config.PUBLIC_URL, vault, oauth: providers.oauth };
  const webhooks = webhookRoutes({ receivers: providers.push, sync, log, metrics });
  const loginLinks = loginLinkRoutes({ sessions, publicUrl: config.PUBLIC_URL });
  const realms = {
    publicUrl: config.PUBLIC_URL,
    identity,
    microsoft: { clientId: config.MICROSOFT_CLIENT_ID, clientSecret: config.MICROSOFT_CLIENT_SECRET, authority: config.MICROSOFT_AUTHORITY },
  };
  const app = createApp({
    config,
    log,
    metrics,
    identity,
    sessions,
    databaseAnswers: () => databaseAnswers(),
    publicRouters: [
      oauthRoutes({ connect, onConnected: ({ mailboxId }) => sync.markDue(mailboxId) }),
      realmCallbackRoutes(realms),
      webhooks.router,
      addinRoutes(),
      loginLinks.redeem,
      consoleRoutes({ devSignIn: config.NODE_ENV !== 'production' }),
    ],
    apiRouters: [
      mailboxRoutes({ connect, actions: sync }),
      messageReadRoutes({ adapters }),
      messageChoiceRoutes({ markDue: (mailboxId) => sync.markDue(mailboxId) }),
      messageWriteRoutes({
        adapters,
        // Sent right after the 202; should this process die first, a worker's outbox sweep sends it.
        onQueued: sendSoon(adapters, (err) => log.error({ err }, 'sending a queued message failed')),
      }),
      contactRoutes(),
      dealRoutes(),
      dealMailRoutes(),
      activityRoutes(),
      contextRoutes({ publicUrl: config.PUBLIC_URL }),
      settingsRoutes(),
      senderExclusionRoutes({ onBackgroundError: (err) => log.error({ err }, "removing an excluded sender's past mail failed") }),
      realmApiRoutes(realms),
      whyRoutes(),
      loginLinks.create,
      signOutRoutes(),
      userRoutes(),
    ],
  });
  const outboxSweep = (o: { limit?: number } = {}) => processDueOutbox(adapters, { ...o, retentionSeconds: config.OUTBOX_CONTENT_RETENTION_SECONDS });
  return { app, sessions, vault, metrics, providers, sync, host, webhooks, processDueOutbox: outboxSweep };
}
