/**
 * One run of one mailbox (docs/ARCHITECTURE.md "Processes", docs/SYNC.md): take the lease, do the work of the mailbox's stage, and record the outcome
 * — progress, next run time, or the error as the policy table decides it — then release the lease.
 */
import mongoose, { type Types } from 'mongoose';
import { Mailbox, type MailboxDoc } from '../../models/mailbox';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { loadIngestContext } from '../ingest/context';
import { OrgDirectory } from '../../crm/directory';
import { ThreadKeyCache } from '../ingest/threads';
import { acquireLease, LeaseLostError, releaseLease } from './lease';
import { decide, userMessage, type Action } from './policy';
import { RunContext, type RunnerDeps } from './run-context';
import { backoffDelayMs, FAIL_RETRY_MS, mayRunNow, nextRunAfterSuccess, THROTTLE_BACKOFF_BASE_MS } from './schedule';
import { parseStage, stateForStage, type SyncStage } from './stages';
import { backfill, incremental, reconcile, refetchRequested, retryPoison, upkeepPush } from './steps';
import type { AccessTokenSource, ChangeSource, MailboxRef, MailboxWriter, ProviderAdapter } from '../providers/port';
import { createTokenSource } from './tokens';

export type { RunnerDeps };

export interface RunOutcome {
  ran: boolean;
  /** Why it did not run: leased elsewhere, halted (reauth/paused), backing off, unknown mailbox. */
  reason?: 'leased' | 'halted' | 'backing_off' | 'missing' | 'lease_lost' | 'not_due';
  stage?: SyncStage;
  /** The policy's action when the run ended in an error. */
  action?: Action;
  pages: number;
  ingested: number;
  moreWork: boolean;
  /** A request for a run (a push) landed after the run's last look: the mailbox is due again now. */
  again?: boolean;
}

/** `onlyIfDue`: run only when the mailbox is due (its nextRunAt has come); otherwise answer `not_due`, having read it once. */
export async function runMailboxOnce(mailboxId: Types.ObjectId, deps: RunnerDeps, opts: { onlyIfDue?: boolean } = {}): Promise<RunOutcome> {
  const now = deps.now?.() ?? new Date();
  const idle = (reason: RunOutcome['reason']): RunOutcome => ({ ran: false, reason, pages: 0, ingested: 0, moreWork: false });
  let notDue = false;
  const wanted = (m: MailboxDoc): boolean => {
    notDue = !!opts.onlyIfDue && !!m.nextRunAt && m.nextRunAt.getTime() > now.getTime();
    return !notDue;
  };
  const leased = await acquireLease(mailboxId, deps.owner, deps.leaseSeconds ?? 60, now, wanted);
  if (notDue) return idle('not_due');
  if (!leased) {
    const exists = await runAsSystem('sync run', () => Mailbox.exists({ _id: mailboxId }));
    return idle(exists ? 'leased' : 'missing');
  }
  try {
    // A direct call (tests, a resync) may come before nextRunAt; only halts and backoff keep it from running.
    const verdict = mayRunNow({ ...leased, nextRunAt: null, lease: null }, now);
    if (!verdict.run) return idle(verdict.reason === 'halted' ? 'halted' : 'backing_off');
    return await execute(leased, deps);
  } finally {
    await releaseLease(mailboxId, deps.owner);
  }
}

async function execute(mailbox: MailboxDoc, deps: RunnerDeps): Promise<RunOutcome> {
  const ref = { id: String(mailbox._id), orgId: String(mailbox.orgId), provider: mailbox.provider, address: mailbox.address };
  const tokens = createTokenSource(mailbox, { ...deps.tokens, owner: deps.owner, now: deps.now });
  // Both reads at once: they stand between a push and its run's first provider call.
  const [ingest, directory] = await Promise.all([loadIngestContext(mailbox), runInOrg(mailbox.orgId, () => OrgDirectory.load())]);
  ingest.directory = directory;
  ingest.threadKeys = deps.threadKeys ?? new ThreadKeyCache();
  ingest.now = deps.now;
  const run = new RunContext(mailbox, buildAdapter(deps, ref, tokens), ingest, deps);
  const seenNextRunAt = mailbox.nextRunAt;
  let seenRequests = mailbox.runRequests ?? 0;
  let stage = parseStage(mailbox.stage);
  try {
    let moreWork = false;
    if (stage === 'backfill') {
      moreWork = await backfill(run);
      stage = parseStage(run.mailbox.stage);
    }
    if (stage === 'resync') {
      await reconcile(run, { freshCursor: true });
      stage = 'incremental';
    }
    if (stage === 'incremental' && !moreWork) {
      await refetchRequested(run);
      await retryPoison(run);
      // Channel first: Gmail's watch and Graph's subscription notify only changes made after they exist, so the
      // read below covers everything before it, and push everything after. Only then is the mailbox `live`.
      await upkeepPush(run);
      for (let round = 1; ; round++) {
        moreWork = await incremental(run);
        // A push that landed while this round worked: go round again at once (coalesced), not at the next poll.
        const requests = await runRequestsOf(mailbox._id);
        if (moreWork || requests === seenRequests || round >= MAX_ROUNDS_PER_RUN) break;
        seenRequests = requests;
      }
      if (!moreWork && reconcileDue(run)) await reconcile(run);
    }
    const now = run.now();
    await run.persist({
      state: stateForStage(stage),
      failures: 0,
      backoffUntil: null,
      lastError: null,
      lastSyncedAt: now,
    });
    const scheduled = await scheduleNext(mailbox._id, seenNextRunAt, nextRunAfterSuccess(now, { moreWork, pollSeconds: deps.pollSeconds }), seenRequests);
    return { ran: true, stage, pages: run.pages, ingested: run.ingested, moreWork, again: !scheduled };
  } catch (err) {
    if (err instanceof LeaseLostError) return { ran: true, reason: 'lease_lost', stage, pages: run.pages, ingested: run.ingested, moreWork: true };
    const action = await recordFailure(run, stage, err, seenNextRunAt);
    deps.log?.warn({ mailboxId: String(mailbox._id), stage, action, err: (err as Error).message }, 'sync run failed');
    return { ran: true, stage, action, pages: run.pages, ingested: run.ingested, moreWork: action === 'resync' };
  }
}

/**
 * The mailbox's adapter, or — when it cannot be built (a provider URL or setting it refuses) — one whose every call
 * fails with that reason, so the run fails through the policy table like any failed call: backed off, persisted and
 * shown on the mailbox, instead of escaping the run and being retried at once.
 */
function buildAdapter(deps: RunnerDeps, ref: MailboxRef, tokens: AccessTokenSource): ProviderAdapter {
  try {
    return deps.adapterFor(ref, tokens);
  } catch (err) {
    const fail = (): never => {
      throw err;
    };
    const failing = new Proxy({}, { get: () => fail });
    return { changeSource: failing as ChangeSource, writer: failing as MailboxWriter, push: null };
  }
}

/** Rounds one run may make for pushes that keep landing while it works; after that the mailbox stays due. */
const MAX_ROUNDS_PER_RUN = 5;

async function runRequestsOf(mailboxId: Types.ObjectId): Promise<number> {
  const doc = await runAsSystem('sync run requests', () => Mailbox.findById(mailboxId, { runRequests: 1 }).lean<{ runRequests?: number }>());
  return doc?.runRequests ?? 0;
}

function reconcileDue(run: RunContext): boolean {
  const m = run.mailbox;
  if (m.reconcileRequestedAt) return true;
  const every = run.deps.reconcileEveryMs ?? 86_400_000;
  return !m.reconciledAt || run.now().getTime() - m.reconciledAt.getTime() >= every;
}

/**
 * nextRunAt is written only if nobody changed it during the run: a push that arrived meanwhile (markDue sets it to
 * "now", or — when the mailbox was already due — counts a run request) must not be overwritten by "in
 * pollSeconds": the mailbox then stays due and runs again as soon as this run lets go of it. False then.
 */
async function scheduleNext(mailboxId: Types.ObjectId, seen: Date, next: Date, seenRequests?: number): Promise<boolean> {
  const requests = seenRequests === undefined ? {} : { runRequests: seenRequests === 0 ? mongoose.trusted({ $in: [0, null] }) : seenRequests };
  const res = await runAsSystem('sync schedule', () => Mailbox.updateOne({ _id: mailboxId, nextRunAt: seen, ...requests }, { $set: { nextRunAt: next } }));
  return res.matchedCount === 1;
}

async function recordFailure(run: RunContext, stage: SyncStage, err: unknown, seenNextRunAt: Date): Promise<Action> {
  const d = decide(err, stage);
  const now = run.now();
  const failures = (run.mailbox.failures ?? 0) + 1;
  const at = now;
  try {
    switch (d.action) {
      case 'reauth':
        // The token source already halted the mailbox on a failed refresh; an adapter's own auth_revoked lands here.
        await run.persist({ state: 'reauth_required', lastError: { code: d.code, message: userMessage(d.code), at } });
        break;
      case 'resync':
        await run.persist({ stage: 'resync', state: 'backfilling', lastError: null });
        await run.event('cursor_expired', { code: d.code, detail: d.detail });
        await scheduleNext(run.mailbox._id, seenNextRunAt, now);
        break;
      case 'fail': {
        const until = new Date(now.getTime() + FAIL_RETRY_MS);
        await run.persist({ state: 'error', failures, backoffUntil: until, lastError: { code: d.code, message: userMessage(d.code), at } });
        await scheduleNext(run.mailbox._id, seenNextRunAt, until);
        break;
      }
      default: {
        // retry (exhausted in-run), backoff, or an item error that escaped: back off, persisted on the mailbox.
        const delayMs = backoffDelayMs(failures, {
          baseMs: d.code === 'throttled' ? THROTTLE_BACKOFF_BASE_MS : undefined,
          retryAfterMs: d.retryAfterMs,
          random: run.deps.random ?? Math.random,
        });
        const until = new Date(now.getTime() + delayMs);
        const state = d.code === 'throttled' ? 'throttled' : failures >= 3 ? 'error' : stateForStage(stage);
        await run.persist({ state, failures, backoffUntil: until, lastError: { code: d.code, message: userMessage(d.code, { retryAt: until }), at } });
        await scheduleNext(run.mailbox._id, seenNextRunAt, until);
      }
    }
    await run.event('run_failed', { stage, code: d.code, action: d.action, detail: d.detail });
  } catch (writeErr) {
    if (!(writeErr instanceof LeaseLostError)) throw writeErr;
  }
  return d.action;
}
