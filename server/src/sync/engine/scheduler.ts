/**
 * The worker loop (docs/ARCHITECTURE.md "Processes", docs/SYNC.md "Push, polling and reconciliation"): picks mailboxes that are due (across organisations), runs up to `concurrency`
 * at once, and sweeps periodically for push channels to renew and reconciliations to run. Nothing starts at import;
 * `startWorkers` starts it and `stop()` ends it gracefully (running mailboxes finish their current run).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import mongoose, { type Types } from 'mongoose';
import { Mailbox } from '../../models/mailbox';
import { runAsSystem } from '../../db/tenant';
import { ThreadKeyCache } from '../ingest/threads';
import { resealTokens } from './reseal';
import { runMailboxOnce, type RunnerDeps, type RunOutcome } from './runner';
import { HALTED_STATES } from './stages';
import { notePushHint, type DueUpdate } from './push-hints';
import { announceProcess, othersAlive } from './presence';

export interface WorkerOptions extends Omit<RunnerDeps, 'owner'> {
  concurrency: number;
  /**
   * How often the loop looks at the due signal when idle while another process could raise it. Default 250 ms (a
   * webhook in this process wakes it at once). Alone, the loop sleeps until its next deadline instead.
   */
  idleMs?: number;
  /**
   * Longest an idle loop goes without looking for due mailboxes in the database, when nothing said one became due
   * (the due signal, a run ending here, the earliest known next run). Default 10 s.
   */
  rescanEveryMs?: number;
  /** Called after each look of the loop: whether it read the mailboxes (tests, benchmarks). */
  onLook?: (scanned: boolean) => void;
  /** How often to sweep for push renewals and reconciliations. Default 10 minutes. */
  sweepEveryMs?: number;
  owner?: string;
  /** false: no loop; the caller drives rounds with tick() (tests, benchmarks). */
  autoStart?: boolean;
  onRun?: (mailboxId: Types.ObjectId, outcome: RunOutcome) => void;
}

export interface Workers {
  readonly owner: string;
  /**
   * Marks a mailbox due now (with the message a push named, if any) and starts its run in this process when a slot is
   * free, or after the run of it in flight here; otherwise tells every worker (webhooks, connect).
   */
  markDue(mailboxId: Types.ObjectId, hints?: readonly string[]): Promise<void>;
  /** Runs one pick-and-run round; resolves when the runs it started are done (tests, benchmarks). */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Coalesced by construction: however many pushes arrive, the mailbox is simply due now. Backoff still applies (the
 * due query skips mailboxes whose backoffUntil is in the future), so a push storm cannot break Retry-After.
 * `runRequests` counts every request: a run in flight sees it move and goes round again (runner.ts), and its
 * reschedule leaves the mailbox due, so a push that lands mid-run is never deferred to the next poll.
 * One write, its hints included: a push waits for no more round trips than it must before its run starts.
 */
export async function recordDue(mailboxId: Types.ObjectId, now: Date, hints: readonly string[] = []): Promise<void> {
  // Sooner, never later: a mailbox already due keeps its place in the queue (oldest due first).
  const due: DueUpdate = { $inc: { runRequests: 1 }, $min: { nextRunAt: now } };
  if (hints.length) return notePushHint(mailboxId, hints, due);
  await runAsSystem('mark mailbox due', () => Mailbox.updateOne({ _id: mailboxId }, due));
}

/** A due-mark written and announced to every worker (an `--role api` process, or a worker with no free slot). */
export async function markDue(mailboxId: Types.ObjectId, now: Date = new Date(), hints?: readonly string[]): Promise<void> {
  await recordDue(mailboxId, now, hints);
  await signalDue();
}

/**
 * The due signal: one document, read by `_id`, whose counter moves whenever a mailbox is made due sooner than its
 * stored next run (a push, a connect, a resync, new settings). An idle worker reads only this document each
 * interval and looks for due mailboxes — a read of every mailbox document on the embedded FerretDB, which
 * filters by `_id` only — when it moved, when the earliest next run it knows of has come, or every rescan
 * interval (which also catches a lease or backoff that ran out). Losing a signal only delays a run to that rescan.
 * A signal raised in this process also wakes this process's loops at once; a worker with no other process beside
 * it (presence.ts) gets every signal that way, and reads the document only at its rescans.
 */
const SIGNALS = 'syncsignals';
const DUE = 'due';
type SignalDoc = { _id: string; seq: number };

/** The loops of this process, told of a signal raised here without reading it back. */
const localLoops = new Set<() => void>();

export async function signalDue(): Promise<void> {
  await mongoose.connection.collection<SignalDoc>(SIGNALS).updateOne({ _id: DUE }, { $inc: { seq: 1 } }, { upsert: true });
  for (const wake of localLoops) wake();
}

async function dueSignal(): Promise<number> {
  return (await mongoose.connection.collection<SignalDoc>(SIGNALS).findOne({ _id: DUE }))?.seq ?? 0;
}

/** When the next mailbox that can run is due after `now` (its nextRunAt), or null when none is scheduled. */
async function nextDueAt(now: Date): Promise<Date | null> {
  const doc = await runAsSystem('sync scheduler next due', () =>
    Mailbox.findOne(
      mongoose.trusted({
        nextRunAt: mongoose.trusted({ $gt: now }),
        state: mongoose.trusted({ $nin: [...HALTED_STATES] }),
      }),
      { nextRunAt: 1 },
    )
      .sort({ nextRunAt: 1 })
      .lean<{ nextRunAt: Date }>(),
  );
  return doc?.nextRunAt ?? null;
}

/** A user's Resync (POST /api/mailboxes/:id/resync): the next run re-lists the mailbox and repairs what is missing. */
export async function requestResync(mailboxId: Types.ObjectId, now: Date = new Date()): Promise<void> {
  await runAsSystem('request resync', () =>
    Mailbox.updateOne({ _id: mailboxId }, { $set: { reconcileRequestedAt: now, nextRunAt: now, backoffUntil: null, failures: 0 } }),
  );
  await signalDue();
}

/**
 * Mailboxes due now, not leased, not halted, not backing off; oldest due first. `excluded`, when given, receives
 * the ids of `exclude` that were due too.
 */
export async function findDue(now: Date, limit: number, exclude: Set<string>, excluded?: Set<string>): Promise<Types.ObjectId[]> {
  const docs = await runAsSystem('sync scheduler sweep', () =>
    Mailbox.find(
      mongoose.trusted({
        nextRunAt: mongoose.trusted({ $lte: now }),
        state: mongoose.trusted({ $nin: [...HALTED_STATES] }),
        $and: [
          { $or: [{ 'lease.owner': null }, { 'lease.until': mongoose.trusted({ $lte: now }) }] },
          { $or: [{ backoffUntil: null }, { backoffUntil: mongoose.trusted({ $lte: now }) }] },
        ],
      }),
      { _id: 1 },
    )
      .sort({ nextRunAt: 1 })
      .limit(limit + exclude.size)
      .lean(),
  );
  for (const d of docs) if (exclude.has(String(d._id))) excluded?.add(String(d._id));
  return docs
    .map((d) => d._id)
    .filter((id) => !exclude.has(String(id)))
    .slice(0, limit);
}

/** Push channels expiring within `withinMs`, and mailboxes whose reconciliation is overdue, are made due now. */
export async function sweepUpkeep(now: Date, opts: { pushRenewBeforeMs: number; reconcileEveryMs: number }): Promise<number> {
  const res = await runAsSystem('sync upkeep sweep', () =>
    Mailbox.updateMany(
      mongoose.trusted({
        state: mongoose.trusted({ $nin: [...HALTED_STATES] }),
        stage: 'incremental',
        nextRunAt: mongoose.trusted({ $gt: now }),
        $or: [
          { 'push.expiresAt': mongoose.trusted({ $ne: null, $lte: new Date(now.getTime() + opts.pushRenewBeforeMs) }) },
          { reconciledAt: mongoose.trusted({ $lte: new Date(now.getTime() - opts.reconcileEveryMs) }) },
          { reconcileRequestedAt: mongoose.trusted({ $ne: null }) },
        ],
      }),
      { $set: { nextRunAt: now } },
    ),
  );
  return res.modifiedCount;
}

const MAX_CRASH_COOLDOWN_MS = 5 * 60_000;
const DEADLINE_SLACK_MS = 5;

export function startWorkers(opts: WorkerOptions): Workers {
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const deps: RunnerDeps = { ...opts, owner, threadKeys: opts.threadKeys ?? new ThreadKeyCache() };
  const now = () => opts.now?.() ?? new Date();
  const running = new Map<string, Promise<void>>();
  // A run that crashed (an error the run could not even record, e.g. the database failing mid-way) is not picked
  // again at once: its mailbox waits 1 s, 2 s, 4 s … up to 5 minutes, in this process. The mailbox's state in the
  // database is untouched, so another worker may still take it.
  const cooling = new Map<string, { until: number; crashes: number }>();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;
  let lastSweep = 0;
  // What the last look at the mailboxes knew: the due signal then, when it was, and the earliest next run after it.
  // `dirty`: something in this process (a run ending with work left, a failure) may have made a mailbox due.
  let seen = { seq: -1, at: 0, nextAt: 0 };
  let dirty = true;
  // The earliest next run scheduled by runs that ended since the current look began (folded into `seen` after it).
  let settledNextAt = Number.POSITIVE_INFINITY;
  // Mailboxes running here that became due again while they ran (a push, or a look that found them due): each is
  // run once more when its run ends, if it is still due then.
  const dueAgain = new Set<string>();
  // Whether another process could raise the due signal (presence.ts), as of `othersAt`: until known, assume so.
  let others = true;
  let othersAt = Number.NEGATIVE_INFINITY;
  const rescanEveryMs = opts.rescanEveryMs ?? 10_000;
  const sweepEveryMs = opts.sweepEveryMs ?? 600_000;

  /**
   * What a run's end tells the loop. A plain success scheduled its mailbox's next poll: that time joins the earliest
   * next run known, and the loop does not look for due mailboxes because of it — a look reads every mailbox
   * document on the embedded FerretDB, and would compete with the run of the next push. A push that landed during
   * the run starts the next run at once, here (RunOutcome.again, or `dueAgain`). Anything else (work left, a
   * failure, a run that did not happen) may have left a mailbox due: the loop looks.
   */
  const settle = (id: Types.ObjectId, outcome: RunOutcome | null): void => {
    const key = String(id);
    const rerun = !stopped && opts.autoStart !== false;
    const wasDueAgain = dueAgain.delete(key);
    if (outcome?.again && rerun) return void runOne(id);
    if (outcome && outcome.reason === 'not_due') return;
    if (outcome?.ran && !outcome.moreWork && !outcome.action && !outcome.reason && !outcome.again) {
      const nextAt = now().getTime() + deps.pollSeconds * 1000;
      seen.nextAt = Math.min(seen.nextAt, nextAt);
      settledNextAt = Math.min(settledNextAt, nextAt);
      if (wasDueAgain && rerun) void runOne(id, { onlyIfDue: true });
      return;
    }
    dirty = true;
  };

  const runOne = (id: Types.ObjectId, runOpts: { onlyIfDue?: boolean } = {}): Promise<void> => {
    const key = String(id);
    let outcome: RunOutcome | null = null;
    const p = runMailboxOnce(id, deps, runOpts)
      .then((out) => {
        cooling.delete(key);
        outcome = out;
        opts.onRun?.(id, out);
      })
      .catch((err: Error) => {
        const crashes = (cooling.get(key)?.crashes ?? 0) + 1;
        const waitMs = Math.min(MAX_CRASH_COOLDOWN_MS, 1000 * 2 ** (crashes - 1));
        cooling.set(key, { until: now().getTime() + waitMs, crashes });
        opts.log?.error({ mailboxId: key, err: err.message, crashes, retryInMs: waitMs }, 'sync run crashed');
      })
      .finally(() => {
        running.delete(key);
        settle(id, outcome);
      });
    running.set(key, p);
    return p;
  };

  /** Mailboxes this process will not start at `t`: running here, or cooling down after a crash. */
  const busy = (t: Date): Set<string> => {
    const keys = new Set(running.keys());
    for (const [key, c] of cooling) if (c.until > t.getTime()) keys.add(key);
    return keys;
  };

  /**
   * Sweeps when due, then — when something may have become due (see signalDue) — starts runs for as many due
   * mailboxes as there are free slots.
   */
  const pick = async (force = false): Promise<Promise<void>[]> => {
    const t = now();
    if (t.getTime() - lastSweep >= sweepEveryMs) {
      lastSweep = t.getTime();
      const made = await sweepUpkeep(t, { pushRenewBeforeMs: opts.pushRenewBeforeMs ?? 86_400_000, reconcileEveryMs: opts.reconcileEveryMs ?? 86_400_000 });
      if (made > 0) dirty = true;
      // Tokens sealed under a rotated-out key move to the current one, so old keys can be retired (reseal.ts).
      const resealed = await resealTokens(deps.tokens.vault);
      if (resealed > 0) opts.log?.info({ resealed }, 'provider tokens re-sealed under the current key');
    }
    const free = opts.concurrency - running.size;
    if (free <= 0) return [];
    if (t.getTime() - othersAt >= rescanEveryMs) {
      othersAt = t.getTime();
      others = await othersAlive(owner);
    }
    const rescan = force || dirty || t.getTime() >= seen.nextAt || t.getTime() - seen.at >= rescanEveryMs;
    // Alone, every signal was raised here and set `dirty`: the document is read only with a look, to remember it.
    const seq = others || rescan ? await dueSignal() : seen.seq;
    const scan = rescan || seq !== seen.seq;
    opts.onLook?.(scan);
    if (!scan) return [];
    dirty = false;
    settledNextAt = Number.POSITIVE_INFINITY;
    const busyDue = new Set<string>();
    const due = await findDue(t, free, busy(t), busyDue);
    for (const key of busyDue) if (running.has(key)) dueAgain.add(key);
    // All slots filled: look again as soon as one frees. Otherwise the earliest next run is when to look again.
    const next = due.length >= free ? t : await nextDueAt(t);
    seen = { seq, at: t.getTime(), nextAt: Math.min(next ? next.getTime() : Number.POSITIVE_INFINITY, settledNextAt) };
    return due.map((id) => runOne(id));
  };

  /**
   * How long the loop sleeps before its next look (a finished run or a wake-up ends the sleep sooner). With every
   * slot taken there is nothing to look for until a run ends, so only the upkeep sweep has a deadline. While
   * another process could raise the due signal, the signal document is read every `idleMs`. Alone, every signal is
   * raised in this process and wakes the loop itself (localLoops, markDue, a run's end), so the loop sleeps until
   * the first thing it would act on by itself: the earliest next run it knows of, its rescan, its check for other
   * processes, or the sweep. An idle server thus wakes a few times per rescan interval instead of four times a
   * second (each wakeup costs CPU even when it reads nothing: docs/PERFORMANCE.md, "Idle").
   */
  const idleWait = (): number => {
    const idleMs = opts.idleMs ?? 250;
    const full = running.size >= opts.concurrency;
    if (!full && (others || dirty)) return idleMs;
    let until = lastSweep + sweepEveryMs;
    if (!full) until = Math.min(until, seen.nextAt, seen.at + rescanEveryMs, othersAt + rescanEveryMs);
    // A timer may fire a millisecond before its deadline by the wall clock: sleeping a little past it avoids a
    // second wakeup that would find the deadline not yet come.
    return Math.min(Math.max(idleMs, until - now().getTime() + DEADLINE_SLACK_MS), rescanEveryMs);
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      let started = 0;
      try {
        started = (await pick()).length;
      } catch (err) {
        opts.log?.error({ err: (err as Error).message }, 'sync scheduler sweep failed');
      }
      if (stopped) break;
      // Slots left and work found: look again at once. Otherwise wait for the idle interval (or, alone, the next
      // deadline), a finished run or a wake-up.
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, started > 0 && running.size < opts.concurrency ? 0 : idleWait());
        if (running.size > 0) void Promise.race(running.values()).then(resolve);
      });
      if (timer) clearTimeout(timer);
      wake = null;
    }
  };

  const onLocalSignal = () => {
    dirty = true;
    wake?.();
  };
  localLoops.add(onLocalSignal);
  const presence = announceProcess(owner, 'worker', (err) => opts.log?.error({ err: err.message }, 'sync presence heartbeat failed'));
  const done = opts.autoStart === false ? Promise.resolve() : loop();

  return {
    owner,
    async markDue(mailboxId, hints) {
      await recordDue(mailboxId, now(), hints);
      const key = String(mailboxId);
      if (!stopped && opts.autoStart !== false) {
        // Running here: that run goes round again for it, or is followed at once by another (dueAgain, settle).
        if (running.has(key)) return void dueAgain.add(key);
        // A free slot: the run starts now, without a look for due mailboxes first (the run still takes the lease and
        // respects halts and backoff), and no other worker need be told.
        if (running.size < opts.concurrency && !busy(now()).has(key)) return void runOne(mailboxId);
      }
      // No slot here: every worker is told, and one with a free slot takes it.
      dirty = true;
      wake?.();
      await signalDue();
    },
    async tick() {
      const runs = await pick(true);
      await Promise.all(runs);
      return runs.length;
    },
    async stop() {
      stopped = true;
      localLoops.delete(onLocalSignal);
      wake?.();
      await done;
      await Promise.allSettled(running.values());
      await presence.stop();
    },
  };
}
