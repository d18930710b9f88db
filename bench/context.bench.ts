/**
 * Sidebar, timeline and why latency (docs/PERFORMANCE.md: p99 ≤ 50 ms at 200 req/s for the sidebar, ≤ 100 ms for a
 * contact's timeline and why, with 10,000 contacts and 200,000 messages).
 * Seeds one organisation through the models, serves the real app on a loopback port and fires
 * `GET /api/context` and `POST /api/addon/context` at it with a fixed concurrency, then prints p50/p95/p99.
 * Uses MONGODB_URI when set (say, a real MongoDB), else the embedded database (FerretDB) in a temporary directory.
 *
 *   npx tsx bench/context.bench.ts --contacts 10000 --messages 20000 --requests 400 --concurrency 4 [--ops]
 * `--ops` prints each route's database operations per request, by collection, method and filter keys.
 */
import { byInternetMessageId } from '../server/src/models/ids';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mongoose, { Types } from 'mongoose';
import { loadConfig } from '../server/src/config';
import { connectDatabase } from '../server/src/db/connection';
import { ensureIndexes } from '../server/src/models';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../server/src/db/embedded';
import { runInOrg } from '../server/src/db/tenant';
import { createLogger } from '../server/src/logger';
import { Company, Contact, Deal } from '../server/src/models/crm';
import { Mailbox } from '../server/src/models/mailbox';
import { MailboxMessage } from '../server/src/models/mailbox-message';
import { Message } from '../server/src/models/message';
import { Org } from '../server/src/models/org';
import { User } from '../server/src/models/user';
import { buildService } from '../server/src/server';
import { runLoad, type LoadRequest } from './load-client';
import { cpuSnapshot } from './procstat';
import { indexMessages } from '../server/src/store/activity';

export interface ContextBenchOptions {
  contacts: number;
  messages: number;
  requests: number;
  concurrency: number;
  print?: (line: string) => void;
  /** Count the database operations of each route (by collection, method and filter shape) and print them per request. */
  ops?: boolean;
}
export interface RouteFigures {
  route: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  perSecond: number;
  /** CPU milliseconds per request of this process (the server and the bench's client) and of the database: what
   * limits the rate on a busy machine, where wall-clock figures say more about the other processes. */
  nodeCpuMs: number;
  databaseCpuMs: number;
}

const CHUNK = 1000;
const PEOPLE_PER_COMPANY = 10;

/** A small deterministic generator, so two runs seed the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

const personEmail = (i: number) => `p${i}@c${Math.floor(i / PEOPLE_PER_COMPANY)}.example.com`;

export async function seed(orgId: Types.ObjectId, o: ContextBenchOptions, print: (line: string) => void) {
  const started = Date.now();
  await Org.create({ _id: orgId, key: `bench:${orgId}`, name: 'bench', domains: ['acme.test'] });
  return runInOrg(orgId, async () => {
    const users = await User.insertMany(
      ['full', 'metadata', 'private'].map((visibility, i) => ({
        email: `rep${i}@acme.test`,
        name: `Rep ${i}`,
        role: i === 0 ? 'admin' : 'member',
        identityKey: `bench:${i}`,
        settings: { visibility },
      })),
    );
    const [caller] = users;
    const mailboxes = await Mailbox.insertMany(users.map((u) => ({ userId: u._id, provider: 'google', address: u.email, state: 'live' })));
    const mailboxOf = new Map(mailboxes.map((m) => [String(m.userId), m._id]));
    const companies = Math.ceil(o.contacts / PEOPLE_PER_COMPANY);
    for (let at = 0; at < companies; at += CHUNK) {
      await Company.insertMany(
        Array.from({ length: Math.min(CHUNK, companies - at) }, (_, k) => ({ name: `Company ${at + k}`, domains: [`c${at + k}.example.com`] })),
      );
    }
    for (let at = 0; at < o.contacts; at += CHUNK) {
      await Contact.insertMany(
        Array.from({ length: Math.min(CHUNK, o.contacts - at) }, (_, k) => ({ emails: [personEmail(at + k)], name: `Person ${at + k}` })),
      );
    }
    const someContacts = await Contact.find({})
      .select({ _id: 1 })
      .limit(Math.ceil(o.contacts / 20))
      .lean<{ _id: Types.ObjectId }[]>();
    await Deal.insertMany(someContacts.map((c, i) => ({ name: `Deal ${i}`, contactIds: [c._id], status: i % 3 === 0 ? 'won' : 'open' })));
    print(`seeded ${o.contacts} contacts, ${companies} companies, ${someContacts.length} deals in ${Date.now() - started} ms`);

    const random = rng(42);
    const t0 = Date.UTC(2024, 0, 1);
    for (let at = 0; at < o.messages; at += CHUNK) {
      const batch = Array.from({ length: Math.min(CHUNK, o.messages - at) }, (_, k) => {
        const person = personEmail(Math.floor(random() * o.contacts));
        const holder = users[Math.floor(random() * users.length)];
        const copyId = new Types.ObjectId();
        return {
          ...byInternetMessageId(orgId, `${at + k}@bench`),
          internetMessageId: `${at + k}@bench`,
          subject: `Subject ${at + k}`,
          from: { email: person, name: 'Someone' },
          to: [{ email: holder.email, name: '' }],
          date: new Date(t0 + (at + k) * 60_000),
          direction: 'inbound',
          snippet: 'A short snippet of the body',
          text: 'body '.repeat(200),
          participants: [person, holder.email],
          syncedBy: [holder._id],
          copyIds: [copyId],
        };
      });
      // Each message listing its holder's copy, that copy, and the read model, as the ingest writes them
      // (server/src/sync/ingest/store.ts, store/activity.ts).
      await Message.insertMany(batch, { lean: true });
      const copies = batch.map((m) => ({
        _id: m.copyIds[0],
        mailboxId: mailboxOf.get(String(m.syncedBy[0])),
        userId: m.syncedBy[0],
        messageId: m._id,
        providerMessageId: `p${m.dedupKey}`,
      }));
      await MailboxMessage.insertMany(copies, { lean: true });
      await indexMessages(batch.map((m) => ({ messageId: m._id, date: m.date, participants: m.participants })));
      if ((at / CHUNK) % 20 === 19) print(`  … ${at + CHUNK} messages (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    print(`seeded ${o.messages} messages in ${Date.now() - started} ms total`);
    return { callerId: caller._id as Types.ObjectId };
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Database operations by "collection.method {filter keys}", while `--ops` counts them. */
const ops = new Map<string, number>();
function countOps(): void {
  mongoose.set('debug', (collection: string, method: string, filter?: unknown) => {
    const shape = filter && typeof filter === 'object' ? JSON.stringify(Object.keys(filter)) : '';
    const key = `${collection}.${method} ${shape}`;
    ops.set(key, (ops.get(key) ?? 0) + 1);
  });
}

/**
 * Sends `count` requests made by `make` from `concurrency` closed loops in a worker thread (load-client.ts), so the
 * client takes none of the server's event loop; CPU per request is still this process's (server and client).
 */
async function fire(
  route: string,
  target: { base: string; headers: Record<string, string> },
  count: number,
  concurrency: number,
  make: () => LoadRequest,
): Promise<RouteFigures> {
  ops.clear();
  const requests = Array.from({ length: count }, make);
  const cpuBefore = cpuSnapshot(process.pid);
  const { latencies, errors, seconds } = await runLoad({ ...target, requests, concurrency });
  const cpuAfter = cpuSnapshot(process.pid);
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    route,
    requests: count,
    errors,
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1]),
    perSecond: round(count / seconds),
    nodeCpuMs: round(((cpuAfter.bench - cpuBefore.bench) * 1000) / count),
    databaseCpuMs: round(((cpuAfter.database - cpuBefore.database) * 1000) / count),
  };
}

export async function runContextBench(o: ContextBenchOptions): Promise<RouteFigures[]> {
  const print = o.print ?? ((line: string) => console.log(line));
  let embedded: EmbeddedDatabase | undefined;
  let dir: string | undefined;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'threadline-bench-'));
    embedded = await startEmbeddedDatabase(dir);
    uri = embedded.uri;
  }
  await connectDatabase(uri, { dbName: `bench_${randomBytes(4).toString('hex')}` });
  const server = { close: () => {} } as { close: () => void };
  try {
    await ensureIndexes();
    const orgId = new Types.ObjectId();
    const { callerId } = await seed(orgId, o, print);
    const config = loadConfig({
      NODE_ENV: 'test',
      PUBLIC_URL: 'http://127.0.0.1:3999',
      LOG_LEVEL: 'silent',
      JWT_SECRET: randomBytes(32).toString('hex'),
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      // One bench user stands for a whole team of sidebars: the read path is measured, not the per-user limit.
      RATE_LIMIT_USER_PER_MINUTE: '100000000',
    });
    const svc = buildService(config, createLogger('silent'));
    const { token } = svc.sessions.sign({ userId: String(callerId), orgId: String(orgId), role: 'admin' });
    const listening = svc.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => listening.once('listening', () => resolve()));
    server.close = () => listening.close();
    const base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const random = rng(7);
    const someone = () => personEmail(Math.floor(random() * o.contacts));

    const target = { base, headers };
    const getContext = (): LoadRequest => ({ method: 'GET', path: `/api/context?email=${someone()}&email=${someone()}` });
    const postAddon = (): LoadRequest => ({
      method: 'POST',
      path: '/api/addon/context',
      body: JSON.stringify({
        provider: 'gmail',
        message: {
          internetMessageId: `<${Math.floor(random() * o.messages)}@bench>`,
          from: { email: someone(), name: 'Someone' },
          to: [{ email: 'rep0@acme.test', name: '' }],
          cc: [{ email: someone(), name: '' }],
        },
      }),
    });
    const contactIds = (await runInOrg(orgId, () => Contact.find({}).select({ _id: 1 }).limit(2000).lean<{ _id: Types.ObjectId }[]>())).map((c) =>
      String(c._id),
    );
    const getTimeline = (): LoadRequest => ({ method: 'GET', path: `/api/contacts/${contactIds[Math.floor(random() * contactIds.length)]}/messages` });
    const getWhy = (): LoadRequest => ({ method: 'GET', path: `/api/why?email=${encodeURIComponent(someone())}` });
    await fire('warm-up', target, 20, 2, getContext);
    if (o.ops) countOps();
    const figures: RouteFigures[] = [];
    for (const [route, send] of [
      ['GET /api/context', getContext],
      ['POST /api/addon/context', postAddon],
      ['GET /api/contacts/:id/messages', getTimeline],
      ['GET /api/why?email=', getWhy],
    ] as const) {
      figures.push(await fire(route, target, o.requests, o.concurrency, send));
      if (o.ops) {
        const total = [...ops.values()].reduce((a, b) => a + b, 0);
        print(`${route}: ${(total / o.requests).toFixed(1)} database operations per request`);
        for (const [key, n] of [...ops].sort((a, b) => b[1] - a[1])) print(`  ${(n / o.requests).toFixed(2).padStart(6)}  ${key}`);
      }
    }
    print(`db=${embedded?.kind ?? 'MONGODB_URI'} contacts=${o.contacts} messages=${o.messages} concurrency=${o.concurrency}`);
    for (const f of figures)
      print(
        `${f.route.padEnd(32)} n=${f.requests} errors=${f.errors} p50=${f.p50Ms}ms p95=${f.p95Ms}ms p99=${f.p99Ms}ms max=${f.maxMs}ms ${f.perSecond} req/s; CPU per request: server+client ${f.nodeCpuMs} ms, database ${f.databaseCpuMs} ms`,
      );
    return figures;
  } finally {
    server.close();
    await mongoose.connection.db?.dropDatabase().catch(() => {});
    await mongoose.disconnect();
    await embedded?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

if (require.main === module) {
  runContextBench({
    contacts: arg('contacts', 10_000),
    messages: arg('messages', 20_000),
    requests: arg('requests', 400),
    concurrency: arg('concurrency', 4),
    ops: process.argv.includes('--ops'),
  }).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
