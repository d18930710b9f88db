/**
 * The sync side of a process: provider adapters with the engine's token source (for request handlers and the
 * outbox), and the workers (for `--role worker|all`). Built from the service's parts; starts nothing on import.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Vault } from '../../auth/vault';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { startWorkers, type Workers } from '../engine/scheduler';
import { createTokenSource } from '../engine/tokens';
import type { Providers } from '../providers/registry';
import type { MailboxAdapters } from '../providers/runtime';

export interface SyncHost {
  /** This process in leases (workers, token refreshes, outbox). */
  owner: string;
  adapters: MailboxAdapters;
  startWorkers(opts: { concurrency: number }): Workers;
}

type SyncSettings = 'SYNC_POLL_SECONDS' | 'SYNC_LEASE_SECONDS' | 'SYNC_RECONCILE_SECONDS' | 'SYNC_PUSH_RENEW_BEFORE_SECONDS';

export function createSyncHost(deps: { config: Pick<Config, SyncSettings>; vault: Vault; providers: Providers; log: Logger }): SyncHost {
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const tokenDeps = { vault: deps.vault, oauth: deps.providers.oauth, owner };
  return {
    owner,
    adapters: {
      forMailbox: (m) =>
        deps.providers.adapterFor({ id: String(m._id), orgId: String(m.orgId), provider: m.provider, address: m.address }, createTokenSource(m, tokenDeps)),
    },
    startWorkers: ({ concurrency }) =>
      startWorkers({
        owner,
        concurrency,
        adapterFor: deps.providers.adapterFor,
        tokens: { vault: deps.vault, oauth: deps.providers.oauth },
        pollSeconds: deps.config.SYNC_POLL_SECONDS,
        leaseSeconds: deps.config.SYNC_LEASE_SECONDS,
        reconcileEveryMs: deps.config.SYNC_RECONCILE_SECONDS * 1000,
        pushRenewBeforeMs: deps.config.SYNC_PUSH_RENEW_BEFORE_SECONDS * 1000,
        log: deps.log,
      }),
  };
}
