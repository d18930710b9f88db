/**
 * The pieces the benchmarks share (Gmail and Graph): the emulators in this process, the real server in a child process
 * (the production bundle `node server/dist/main.js`, API + workers, its own database on the bench's embedded database server),
 * a mailbox connected through the real OAuth flow, waits on what the API says, and the server's memory from /proc.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEmulators, type RunningEmulators } from '../test/emulators/common';
import { createNodeFetch } from '../test/emulators/common/fetch';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process';
import { microsoftAddinToken } from '../test/helpers/sync-wait';

export interface Stack {
  emu: RunningEmulators;
  server: ServerProcess;
  /** A fetch that trusts the emulators' test CA (the user's browser on the consent page). */
  browser: typeof fetch;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Per-user Gmail quota, set alike in the emulator and the server; null: emulator unlimited, server pacer wide open. */
  quota: number | null;
  quotaStatus?: 429 | 403;
  pollSeconds?: number;
  https: boolean;
  /** Pub/Sub push from the emulator to the server's webhook. */
  push?: boolean;
  /** Graph's per-mailbox throttling in the emulator (default: Graph's own, 10,000 requests per 10 minutes, 4 concurrent). */
  graphThrottle?: { requestsPerWindow?: number; windowSeconds?: number; maxConcurrent?: number };
  env?: Record<string, string>;
}

/** What the server is told when the emulator has no quota: high enough that its pacer never waits. */
export const UNLIMITED_SERVER_QUOTA = 1_000_000;

/**
 * The server runs as production runs it: the bundle `npm start` builds (node server/dist/main.js), built here once
 * per bench run from the current sources, so its memory and CPU are the product's, not a TypeScript loader's.
 */
let built: Promise<void> | null = null;
const buildServer = () => (built ??= promisify(execFile)(process.execPath, [path.join(__dirname, '../scripts/build.mjs'), '--server']).then(() => undefined));

/**
 * BENCH_SERVER_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops (`--cpu-prof`; open it in
 * Chrome DevTools, or `npx tsx bench/profile-summary.ts <file>`). BENCH_SERVER_HEAP_SNAPSHOT_AT=<n,n,…>: the
 * backfill and ingest benches have the server write a heap snapshot (SIGUSR2, `--heapsnapshot-signal`) into
 * BENCH_SERVER_HEAP_DIR (default: the working directory) as the import passes each of those message counts; compare
 * them with `npx tsx bench/heap-summary.ts <a.heapsnapshot> [<b.heapsnapshot>]`.
 */
function serverNodeArgs(): string[] {
  const dir = process.env.BENCH_SERVER_CPU_PROF;
  const cpu = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  return [...cpu, ...(heapSnapshotsAt().length > 0 ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapSnapshotDir()}`] : [])];
}

/** The message counts BENCH_SERVER_HEAP_SNAPSHOT_AT names (the ingest bench signals the server at each). */
export function heapSnapshotsAt(): number[] {
  const raw = process.env.BENCH_SERVER_HEAP_SNAPSHOT_AT ?? '';
  const counts = raw
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`BENCH_SERVER_HEAP_SNAPSHOT_AT must list positive message counts: ${raw}`);
  return counts.sort((a, b) => a - b);
}

/** Where the server writes its heap snapshots: BENCH_SERVER_HEAP_DIR, else the working directory. */
export const heapSnapshotDir = (): string => process.env.BENCH_SERVER_HEAP_DIR ?? process.cwd();

export async function startStack(o: StackOptions): Promise<Stack> {
  await buildServer();
  const emu = await startEmulators({ https: o.https, quiet: true });
  try {
    emu.google.control.setQuota({ unitsPerSecond: o.quota, status: o.quotaStatus ?? 429 });
    if (o.graphThrottle) emu.microsoft.control.setThrottling(o.graphThrottle);
    const server = await startServerProcess(
      {
        ...emu.env,
        GMAIL_QUOTA_UNITS_PER_SECOND: String(o.quota ?? UNLIMITED_SERVER_QUOTA),
        SYNC_POLL_SECONDS: String(o.pollSeconds ?? 300),
        LOG_LEVEL: 'warn',
        // A few bench users stand for many: the sync is measured, not the per-user and per-address limits.
        RATE_LIMIT_USER_PER_MINUTE: '100000000',
        RATE_LIMIT_ADDRESS_PER_MINUTE: '100000000',
        ...o.env,
      },
      [],
      { bundled: true, nodeArgs: serverNodeArgs() },
    );
    emu.google.control.configurePush(
      o.push
        ? {
            url: `${server.url}/webhooks/gmail`,
            audience: emu.env.GOOGLE_PUSH_AUDIENCE,
            serviceAccountEmail: emu.env.GOOGLE_PUSH_SERVICE_ACCOUNT,
            rateLimit: 'coalesce',
          }
        : { url: undefined },
    );
    const browser = o.https ? createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') }) : fetch;
    return {
      emu,
      server,
      browser,
      async stop() {
        await server.stop();
        await emu.stop();
      },
    };
  } catch (err) {
    await emu.stop();
    throw err;
  }
}

export async function api<T = any>(stack: Stack, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export type Provider = 'google' | 'microsoft';

/** A session from the provider's add-on token: a Google ID token, or a Microsoft add-in token of the emulator's tenant. */
export async function signIn(stack: Stack, email: string, provider: Provider = 'google'): Promise<string> {
  const token = provider === 'google' ? await stack.emu.google.control.mintIdToken({ email }) : await microsoftAddinToken(stack.emu, email);
  const res = await fetch(`${stack.server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider, token }),
  });
  if (res.status !== 200) throw new Error(`sign-in of ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export interface Connected {
  email: string;
  token: string;
  mailboxId: string /** performance.now() when the OAuth callback was called. */;
  connectedAt: number;
}

/** The real flow: connect → the provider's consent (emulator) → the server's OAuth callback, which creates the mailbox. */
export async function connectMailbox(stack: Stack, email: string, token?: string, provider: Provider = 'google'): Promise<Connected> {
  const session = token ?? (await signIn(stack, email, provider));
  const started = await api<{ authorizationUrl: string }>(stack, session, 'POST', '/api/mailboxes/connect', { provider });
  if (started.status !== 200) throw new Error(`connect ${email}: ${started.status} ${JSON.stringify(started.body)}`);
  const consent = await stack.browser(started.body.authorizationUrl, { redirect: 'manual' });
  const callback = consent.headers.get('location');
  if (!callback) throw new Error(`consent for ${email} gave no redirect (${consent.status})`);
  const connectedAt = performance.now();
  const done = await fetch(callback, { redirect: 'manual' });
  await done.arrayBuffer();
  if (done.status >= 400) throw new Error(`OAuth callback for ${email}: ${done.status}`);
  const list = await api<{ mailboxes: MailboxView[] }>(stack, session, 'GET', '/api/mailboxes');
  const mine = list.body.mailboxes.find((m) => m.address === email && (m.provider === undefined || m.provider === provider));
  if (!mine) throw new Error(`no mailbox for ${email} after the callback`);
  return { email, token: session, mailboxId: mine.id, connectedAt };
}

export interface MailboxView {
  id: string;
  provider?: Provider;
  address: string;
  state: string;
  progress: { imported: number; total: number };
  lastError: { code: string; message: string } | null;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until neither provider emulator has had a request for `quietMs` — the server's post-live upkeep (watches,
 * subscriptions, the first rounds after going live) is over — or `maxMs` has passed; returns the seconds it waited.
 * An idle figure measured before that would be the tail of the import, not the cost of staying live.
 */
export async function providersQuiet(stack: Stack, quietMs = 2_000, maxMs = 60_000): Promise<number> {
  const started = Date.now();
  const seen = () => {
    const g = stack.emu.google.control.requestCounters();
    const m = stack.emu.microsoft.control.requestCounters();
    return { total: g.total + m.total, inFlight: g.inFlight + m.inFlight };
  };
  let last = seen();
  let quietSince = Date.now();
  while (Date.now() - started < maxMs) {
    await sleep(100);
    const now = seen();
    if (now.total !== last.total || now.inFlight > 0) quietSince = Date.now();
    last = now;
    if (Date.now() - quietSince >= quietMs) break;
  }
  return (Date.now() - started) / 1000;
}

/** Polls GET /api/mailboxes until `done` holds; `onPoll` sees every answer (progress, memory samples). */
export async function waitMailboxes(
  stack: Stack,
  token: string,
  done: (boxes: MailboxView[]) => boolean,
  opts: { timeoutMs: number; everyMs?: number; what: string; onPoll?: (boxes: MailboxView[]) => void },
): Promise<MailboxView[]> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const { status, body } = await api<{ mailboxes: MailboxView[] }>(stack, token, 'GET', '/api/mailboxes').catch(() => ({
      status: 0,
      body: { mailboxes: [] },
    }));
    if (status === 200) {
      opts.onPoll?.(body.mailboxes);
      if (done(body.mailboxes)) return body.mailboxes;
    }
    if (Date.now() > deadline) {
      const states = body.mailboxes.map(
        (m) => `${m.address} ${m.state} ${m.progress.imported}/${m.progress.total}${m.lastError ? ` ${m.lastError.code}: ${m.lastError.message}` : ''}`,
      );
      throw new Error(
        `timed out after ${opts.timeoutMs} ms waiting for ${opts.what}: ${body.mailboxes.length} mailboxes: ${states.slice(0, 10).join('; ')}\n${stack.server.output().slice(-3000)}`,
      );
    }
    await sleep(opts.everyMs ?? 200);
  }
}

export const isLiveComplete = (m: MailboxView, expected: number) => m.state === 'live' && m.progress.imported === expected && m.progress.total === expected;

/** VmHWM (peak resident) and VmRSS of a process, in MB, from /proc. */
export function memoryOf(pid: number): { peakMb: number; rssMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return null;
  }
}
