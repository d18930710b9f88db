/**
 * Wires the parts into a runnable service for a given configuration: used by main.ts and by the tests,
 * so both run the same assembly. Connecting the database is the caller's job.
 */
import type { Express } from 'express';
import { createApp } from './app';
import { createIdentityVerifier } from './auth/identity';
import { createSessionTokens, SessionTokens } from './auth/session-token';
import { createVault, Vault } from './auth/vault';
import type { Config } from './config';
import { databaseAnswers } from './db/connection';
import { mailboxRoutes } from './http/mailbox-routes';
import { oauthRoutes } from './http/oauth-routes';
import { webhookRoutes } from './http/webhook-routes';
import type { Logger } from './logger';
import { createMetrics, Metrics } from './metrics';
import { createSyncControl, SyncControl } from './sync/control';
import { buildProviders, Providers } from './sync/providers/registry';

export interface Service {
  app: Express;
  sessions: SessionTokens;
  vault: Vault;
  metrics: Metrics;
  providers: Providers;
  sync: SyncControl;
}

export function buildService(config: Config, log: Logger): Service {
  if (!config.JWT_SECRET || !config.TOKEN_ENCRYPTION_KEY) throw new Error('JWT_SECRET and TOKEN_ENCRYPTION_KEY must be resolved before building the service');
  const metrics = createMetrics();
  const sessions = createSessionTokens({ secret: config.JWT_SECRET, issuer: config.PUBLIC_URL, ttlSeconds: config.SESSION_TTL_SECONDS });
  const vault = createVault({
    currentKey: Buffer.from(config.TOKEN_ENCRYPTION_KEY, 'base64'),
    oldKeys: (config.TOKEN_ENCRYPTION_OLD_KEYS ?? '').split(',').filter(Boolean).map((k) => Buffer.from(k.trim(), 'base64')),
  });
  const identity = createIdentityVerifier(config);
  const providers = buildProviders(config);
  const sync = createSyncControl({ vault, providers, log });
  const connect = { publicUrl: config.PUBLIC_URL, vault, oauth: providers.oauth };
  const app = createApp({
    config, log, metrics, identity, sessions, databaseAnswers: () => databaseAnswers(),
    publicRouters: [
      oauthRoutes({ connect, onConnected: ({ mailboxId }) => sync.markDue(mailboxId) }),
      webhookRoutes({ identity, sync, log }),
    ],
    apiRouters: [mailboxRoutes({ connect, actions: sync })],
  });
  return { app, sessions, vault, metrics, providers, sync };
}
