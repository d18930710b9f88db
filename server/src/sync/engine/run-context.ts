/** What one run of one mailbox carries between its steps: the leased mailbox, the adapter, and fenced persistence. */
import { Types } from 'mongoose';
import { retrying } from '../../async/retry';
import { Mailbox, type MailboxDoc } from '../../models/mailbox';
import { SyncEvent } from '../../models';
import { runAsSystem } from '../../db/tenant';
import type { Logger } from '../../logger';
import type { IngestContext } from '../ingest/context';
import type { ThreadKeyCache } from '../ingest/threads';
import type { AdapterFactory, ProviderAdapter } from '../providers/port';
import { LeaseLostError, renewLease } from './lease';
import { decide, MAX_RETRIES_IN_RUN } from './policy';
import type { PolicyStage } from './stages';
import type { TokenDeps } from './tokens';

export interface RunnerDeps {
  /** This worker's id in leases. */
  owner: string;
  adapterFor: AdapterFactory;
  tokens: Pick<TokenDeps, 'vault' | 'oauth'>;
  pollSeconds: number;
  now?: () => Date;
  random?: () => number;
  /** In-run waits (retries); replaced in tests. */
  sleep?: (ms: number) => Promise<void>;
  leaseSeconds?: number;
  pageSize?: number;
  /** Backfill pages per run before yielding the worker to other mailboxes (the backfill resumes at once). */
  maxPagesPerRun?: number;
  reconcileEveryMs?: number;
  pushRenewBeforeMs?: number;
  threadKeys?: ThreadKeyCache;
  log?: Logger;
}

export class RunContext {
  pages = 0;
  ingested = 0;
  constructor(
    public mailbox: MailboxDoc,
    public readonly adapter: ProviderAdapter,
    public readonly ingest: IngestContext,
    public readonly deps: RunnerDeps,
  ) {}

  now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  get since(): Date {
    return new Date(this.now().getTime() - this.ingest.org.sync.historyDays * 86_400_000);
  }

  /**
   * Writes to the mailbox only while this worker still holds its lease, and extends the lease: a worker that stalled
   * past its lease and lost the mailbox to another gets LeaseLostError instead of moving a cursor it no longer owns.
   */
  async persist(set: Record<string, unknown>): Promise<void> {
    const now = this.now();
    const until = new Date(now.getTime() + (this.deps.leaseSeconds ?? 60) * 1000);
    const res = await runAsSystem('sync progress', () =>
      Mailbox.updateOne({ _id: this.mailbox._id, 'lease.owner': this.deps.owner }, { $set: { ...set, 'lease.until': until } }),
    );
    if (res.matchedCount !== 1) throw new LeaseLostError(this.mailbox._id);
    const fresh = await runAsSystem('sync progress', () => Mailbox.findById(this.mailbox._id).lean<MailboxDoc>());
    if (fresh) this.mailbox = fresh;
  }

  async keepLease(): Promise<void> {
    if (!(await renewLease(this.mailbox._id, this.deps.owner, this.deps.leaseSeconds ?? 60, this.now()))) throw new LeaseLostError(this.mailbox._id);
  }

  async event(kind: string, detail: Record<string, unknown>): Promise<void> {
    await runAsSystem('sync event', () => SyncEvent.create({ orgId: this.mailbox.orgId, mailboxId: this.mailbox._id, at: this.now(), kind, detail }));
  }

  /** Runs a provider call, retrying in-run what the policy table marks `retry`; anything else is thrown to the runner. */
  call<T>(stage: PolicyStage, fn: () => Promise<T>): Promise<T> {
    return retrying(fn, {
      retries: MAX_RETRIES_IN_RUN,
      retryable: (err) => decide(err, stage).action === 'retry',
      baseMs: 250,
      maxBackoffMs: 5_000,
      random: this.deps.random ?? Math.random,
      clock: this.deps.sleep ? { sleep: this.deps.sleep } : undefined,
    });
  }
}

export const objectId = (id: Types.ObjectId | string): Types.ObjectId => new Types.ObjectId(String(id));
