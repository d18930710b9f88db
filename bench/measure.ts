/**
 * Measuring pieces every provider's benchmark shares (bench/gmail.bench.ts, bench/graph.bench.ts): figures with
 * their command, number formatting, request-log arithmetic over an emulator's recorder, and the end-to-end probes
 * (an import watched to `live`, M live mailboxes, one message delivered and waited for through the API).
 * Provider specifics come in as small hooks, so the logic exists once.
 */
import mongoose from 'mongoose';
import { createRng } from '../test/emulators/common/faults';
import type { RecordedRequest } from '../test/emulators/common/recorder';
import { cpuSnapshot, describeCpu } from './procstat';
import { percentile, type Figure } from './report';
import { api, heapSnapshotDir, heapSnapshotsAt, isLiveComplete, memoryOf, sleep, waitMailboxes, type Connected, type MailboxView, type Stack } from './stack';

export type Print = (line: string) => void;
/** A figure with the command that produced it. */
export type BenchFigure = Figure & { command: string };
export const withCommand = (command: string, figures: Figure[]): BenchFigure[] => figures.map((f) => ({ ...f, command }));

export const fmt = (n: number) => n.toLocaleString('en-US');
export const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** Counters that grew between two snapshots (by name), with their growth. */
/** How many of the items fall under each key. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

export function counterDiff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

/** "name 12, other 3", largest first, with `strip` removed from the names. */
export const shortNames = (counts: Record<string, number>, strip?: RegExp) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${strip ? k.replace(strip, '') : k} ${fmt(v)}`)
    .join(', ');

/** Share of a time span during which at least one of `entries` was in flight (the rest: the server not fetching). */
export function busyShare(entries: RecordedRequest[], fromMs: number, toMs: number): { busyPct: number; calls: number } {
  const spans = entries
    .filter((e) => e.endedAt !== undefined && e.startedAt >= fromMs && e.startedAt <= toMs)
    .map((e) => [e.startedAt, e.endedAt!] as const)
    .sort((a, b) => a[0] - b[0]);
  if (spans.length === 0) return { busyPct: NaN, calls: 0 };
  let busy = 0;
  let [curStart, curEnd] = spans[0];
  for (const [a, b] of spans.slice(1)) {
    if (a > curEnd) {
      busy += curEnd - curStart;
      [curStart, curEnd] = [a, b];
    } else curEnd = Math.max(curEnd, b);
  }
  busy += curEnd - curStart;
  // A recorder keeps its last 20,000 entries: measure over the span it still covers.
  const span = Math.min(toMs, spans[spans.length - 1][1]) - Math.max(fromMs, spans[0][0]);
  return { busyPct: (busy / Math.max(1, span)) * 100, calls: spans.length };
}

/** Waits until an emulator has seen no new request for `quietMs` (`counters` is its recorder's). */
export async function quiesce(counters: () => { total: number; inFlight: number }, quietMs: number, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = counters().total;
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const c = counters();
    if (c.total !== last || c.inFlight > 0) {
      last = c.total;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

export interface WatchedImport {
  box: MailboxView;
  elapsedMs: number;
  /** Wall-clock ms (Date.now) when the OAuth callback was called. */
  connectedWall: number;
  samples: Array<{ imported: number; rssMb: number }>;
  cpu: string;
}

/** After a connect: GET /api/mailboxes until live with imported === total === n, sampling progress and server memory. */
export async function watchImport(
  stack: Stack,
  connected: Connected,
  n: number,
  print: Print,
  timeoutMs: number,
  cpu0 = cpuSnapshot(stack.server.child.pid!),
): Promise<WatchedImport> {
  let lastReport = performance.now();
  const samples: Array<{ imported: number; rssMb: number }> = [];
  const snapshotsAt = heapSnapshotsAt();
  const boxes = await waitMailboxes(stack, connected.token, (b) => b.some((m) => m.id === connected.mailboxId && isLiveComplete(m, n)), {
    timeoutMs,
    everyMs: 200,
    what: `${connected.email} live with ${n} messages`,
    onPoll: (b) => {
      const m = b.find((x) => x.id === connected.mailboxId);
      const mem = memoryOf(stack.server.child.pid!);
      if (mem && m) samples.push({ imported: m.progress.imported, rssMb: mem.rssMb });
      while (m && snapshotsAt.length > 0 && m.progress.imported >= snapshotsAt[0]) {
        const at = snapshotsAt.shift()!;
        process.kill(stack.server.child.pid!, 'SIGUSR2');
        print(`  heap snapshot asked of the server at ${fmt(m.progress.imported)} messages (for ${fmt(at)}), into ${heapSnapshotDir()}`);
      }
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        print(
          `  … ${seconds(performance.now() - connected.connectedAt)} s: ${m?.state} ${fmt(m?.progress.imported ?? 0)}/${fmt(m?.progress.total ?? 0)}${mem ? `, server RSS ${mem.rssMb.toFixed(0)} MB` : ''}`,
        );
      }
    },
  });
  const elapsedMs = performance.now() - connected.connectedAt;
  const cpu1 = cpuSnapshot(stack.server.child.pid!);
  return {
    box: boxes.find((m) => m.id === connected.mailboxId)!,
    elapsedMs,
    connectedWall: Date.now() - elapsedMs,
    samples,
    cpu: describeCpu(cpu0, cpu1, elapsedMs / 1000),
  };
}

export interface LiveMailboxesHooks {
  /** Seeds the owner's mailbox at the provider with `perMailbox` messages. */
  seed(owner: { email: string; name: string }, index: number): Promise<void>;
  signIn(email: string): Promise<string>;
  connect(email: string, token?: string): Promise<Connected>;
  /** The provider's push channel for the address exists (a Gmail watch, a Graph subscription). */
  pushReady(email: string): boolean;
  /** The stored sync fields of mailboxes that are not live, to say why. */
  describeStuck(): Promise<string>;
}

/** M live mailboxes with push set up: each seeded, connected through OAuth (4 at a time), live, and watched. */
export async function liveMailboxes(
  stack: Stack,
  m: number,
  perMailbox: number,
  domain: string,
  print: Print,
  hooks: LiveMailboxesHooks,
): Promise<{ boxes: Connected[]; admin: string; stuck: number }> {
  const owners = Array.from({ length: m }, (_, i) => ({ email: `rep${i}@${domain}`, name: `Rep ${i}` }));
  for (const [i, owner] of owners.entries()) await hooks.seed(owner, i);
  const started = performance.now();
  // The first to sign in is the organisation's admin, who sees every mailbox in GET /api/mailboxes.
  const admin = await hooks.signIn(owners[0].email);
  let boxes: Connected[] = [await hooks.connect(owners[0].email, admin)];
  let next = 1;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < owners.length) boxes.push(await hooks.connect(owners[next++].email));
    }),
  );
  print(`  connected ${m} mailboxes through OAuth in ${seconds(performance.now() - started)} s`);
  // All live, or no more going live for 30 s: a mailbox that never starts is reported, and the rest are measured.
  let liveCount = 0;
  let changedAt = Date.now();
  const final = await waitMailboxes(
    stack,
    admin,
    (b) => {
      const live = b.filter((x) => isLiveComplete(x, perMailbox)).length;
      if (live !== liveCount) [liveCount, changedAt] = [live, Date.now()];
      return (b.length === m && live === m) || Date.now() - changedAt > 30_000;
    },
    { timeoutMs: 120_000 + m * 3_000, everyMs: 500, what: `${m} mailboxes live` },
  );
  const liveAddresses = new Set(final.filter((x) => isLiveComplete(x, perMailbox)).map((x) => x.address));
  const stuck = m - liveAddresses.size;
  if (stuck > 0) {
    const seen = final.filter((x) => !isLiveComplete(x, perMailbox)).map((x) => `${x.address} ${x.state} ${x.progress.imported}/${x.progress.total}`);
    print(
      `  ENGINE: ${stuck} of ${m} mailboxes never went live (no change for 30 s); the API lists ${final.length}${seen.length ? `, not live: ${seen.join('; ')}` : ''}; as stored: ${await hooks.describeStuck()}`,
    );
  }
  boxes = boxes.filter((b) => liveAddresses.has(b.email));
  const pushDeadline = Date.now() + 60_000 + m * 1_000;
  while (!boxes.every((o) => hooks.pushReady(o.email))) {
    if (Date.now() > pushDeadline) throw new Error(`push channels missing: ${boxes.filter((o) => !hooks.pushReady(o.email)).length}`);
    await sleep(200);
  }
  print(`  ${m} mailboxes live (${perMailbox} messages each) with push ${seconds(performance.now() - started)} s after the first connect`);
  return { boxes, admin, stuck };
}

/** Polls `GET /api/why?messageId=` until the message is synced for the mailbox's user; ms from `t0`, or null on timeout. */
export async function seenThroughApi(stack: Stack, box: Connected, messageId: string, t0: number, timeoutMs: number): Promise<number | null> {
  const probe = `/api/why?messageId=${encodeURIComponent(messageId)}`;
  for (;;) {
    const { status, body } = await api<{ verdict: string }>(stack, box.token, 'GET', probe);
    if (status === 200 && body.verdict === 'synced') return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) return null;
    await sleep(20);
  }
}

/** The stored sync fields of mailboxes that are not live, to show why they do not progress. */
export async function stuckMailboxes(stack: Stack): Promise<string> {
  const client = new mongoose.mongo.MongoClient(stack.server.mongodbUri);
  try {
    await client.connect();
    const docs = await client
      .db()
      .collection('mailboxes')
      .find(
        { state: { $ne: 'live' } },
        {
          projection: {
            address: 1,
            state: 1,
            stage: 1,
            nextRunAt: 1,
            lease: 1,
            backoffUntil: 1,
            failures: 1,
            lastError: 1,
            createdAt: 1,
            updatedAt: 1,
            backfill: 1,
            'cursor.v': 1,
          },
        },
      )
      .toArray();
    const locks = await client
      .db()
      .collection('synclocks')
      .find({ key: { $in: docs.flatMap((d) => [1, 2, 3].map((g) => `lease:${String(d._id)}:${g}`)) } }, { projection: { key: 1, owner: 1, at: 1 } })
      .toArray()
      .catch(() => []);
    return `now ${new Date().toISOString()}; ${JSON.stringify(docs)}; lease locks ${JSON.stringify(locks)}`;
  } finally {
    await client.close();
  }
}

/** One delivery seen through the API: its latency, and its four phases (the provider's own split) when known. */
export interface Seen {
  ms: number;
  phases: [number, number, number, number] | null;
}

export interface Deliveries {
  latencies: number[];
  phases: number[][];
  lost: number;
  cpu: string;
}

/**
 * `n` new messages, one at a time, each to a mailbox picked by a seeded generator and waited for until the API shows
 * it (`deliverAndSee`, the provider's part); latencies and phases come back sorted, with the server's CPU meanwhile.
 */
export async function deliverOneByOne<B>(stack: Stack, boxes: B[], n: number, deliverAndSee: (box: B, i: number) => Promise<Seen | null>): Promise<Deliveries> {
  const random = createRng(4);
  return collectDeliveries(stack, n, (i) => deliverAndSee(boxes[Math.floor(random() * boxes.length)]!, i));
}

/**
 * "A push right after a run": `n` times, one message to a mailbox and, the moment the API shows it (its run has just
 * ended, or is ending), a second one to the same mailbox. The second's latency is counted from its push reaching
 * the server (phase 0 of `deliverAndSee` is the provider's own push delay, e.g. Gmail's one per second per user), so
 * what is measured is the server's: a push that lands as the previous run finishes must start a round at once.
 */
export async function deliverRightAfterRuns<B>(
  stack: Stack,
  boxes: B[],
  n: number,
  deliverAndSee: (box: B, i: number) => Promise<Seen | null>,
): Promise<Deliveries> {
  const random = createRng(7);
  return collectDeliveries(stack, n, async (i) => {
    const box = boxes[Math.floor(random() * boxes.length)]!;
    if (!(await deliverAndSee(box, 100_000 + 2 * i))) return null;
    const second = await deliverAndSee(box, 100_001 + 2 * i);
    return second?.phases ? { ms: second.ms - second.phases[0]!, phases: second.phases } : null;
  });
}

/** Runs `n` measured steps one after another; latencies and phases come back sorted, with the server's CPU meanwhile. */
async function collectDeliveries(stack: Stack, n: number, step: (i: number) => Promise<Seen | null>): Promise<Deliveries> {
  const latencies: number[] = [];
  const phases: number[][] = [[], [], [], []];
  let lost = 0;
  const cpu0 = cpuSnapshot(stack.server.child.pid!);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const seen = await step(i);
    if (!seen) lost += 1;
    else {
      latencies.push(seen.ms);
      seen.phases?.forEach((v, k) => phases[k]!.push(v));
    }
    await sleep(50);
  }
  const cpu = describeCpu(cpu0, cpuSnapshot(stack.server.child.pid!), (performance.now() - t0) / 1000);
  latencies.sort((a, b) => a - b);
  phases.forEach((p) => p.sort((a, b) => a - b));
  return { latencies, phases, lost, cpu };
}

/** The deliveries' counts, latency percentiles and phases (`labels`, one per phase), as both push benches print them. */
export function printDeliveries(print: Print, d: Deliveries, of: { deliveries: number; mailboxes: number }, labels: [string, string, string, string]): void {
  const { latencies, phases, lost } = d;
  const phase = (k: number) => `${labels[k]} p50 ${percentile(phases[k]!, 50).toFixed(0)} / p99 ${percentile(phases[k]!, 99).toFixed(0)}`;
  print(`  ${of.deliveries} deliveries, one at a time to random mailboxes of ${of.mailboxes}: seen ${latencies.length}, not seen within 10 s ${lost}`);
  print(
    `  latency ms: min ${latencies[0]?.toFixed(0)} p50 ${percentile(latencies, 50).toFixed(0)} p90 ${percentile(latencies, 90).toFixed(0)} p99 ${percentile(latencies, 99).toFixed(0)} max ${latencies[latencies.length - 1]?.toFixed(0)}`,
  );
  print(`  phases (ms, n=${phases[0]!.length}): ${[0, 1, 2, 3].map(phase).join('; ')}`);
}

/** The p50 and p99 figures of a push bench (targets of docs/PERFORMANCE.md: 200 ms and 1 s). */
export function latencyFigures(name: string, d: Deliveries, note = ''): Figure[] {
  const { latencies, lost } = d;
  return [
    {
      name: `${name}, p50${note}`,
      value: Math.round(percentile(latencies, 50)),
      unit: 'ms',
      target: { op: '<=', value: 200 },
      detail: `n=${latencies.length}, probe GET /api/why?messageId= every ~20 ms`,
    },
    {
      name: `${name}, p99${note}`,
      value: Math.round(percentile(latencies, 99)),
      unit: 'ms',
      target: { op: '<=', value: 1000 },
      detail: `max ${latencies[latencies.length - 1]?.toFixed(0)} ms, ${lost} not seen within 10 s`,
    },
  ];
}
