/**
 * The process entry: configuration, the database (embedded when MONGODB_URI is unset), the HTTP API and
 * the sync workers (`--role api|worker|all`), and a graceful shutdown that leaves no child behind.
 * `--rebuild-read-models` instead rebuilds every organisation's read models from the stored mail and exits
 * (`npm run rebuild-read-models`; docs/ARCHITECTURE.md, "Storage"); `reparse …` reads flagged stored mail again with
 * the current MIME reading and exits (`npm run reparse`; docs/MIME.md).
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, withDevelopmentSecrets } from './config';
import { connectDatabase, disconnectDatabase } from './db/connection';
import { ensureIndexes } from './models';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './db/embedded';
import { createLogger } from './logger';
import type { Types } from 'mongoose';
import { Org } from './models/org';
import { reparseArgs, runReparse } from './reparse-command';
import { buildService } from './server';
import { foldAllCopyRefs } from './store/activity';
import { rebuildReadModels } from './store/rebuild';
import type { Workers } from './sync/engine/scheduler';
import { announceProcess, type Presence } from './sync/engine/presence';
import { startParseThreads, stopParseThreads } from './sync/ingest/parse-pool';

const KEEP_ALIVE_MS = 65_000;
const OUTBOX_SWEEP_MS = 5_000;

function roleFromArgs(argv: string[]): string | undefined {
  const i = argv.indexOf('--role');
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
}

async function main(): Promise<void> {
  // `main.js reparse …` (npm run reparse): a one-off command over the same configuration and database.
  const reparse = process.argv[2] === 'reparse' ? reparseArgs(process.argv.slice(3)) : null;
  if (reparse && 'error' in reparse) {
    console.error(reparse.error);
    process.exit(2);
  }
  const role = reparse ? 'api' : roleFromArgs(process.argv.slice(2));
  let config;
  try {
    config = await withDevelopmentSecrets(loadConfig({ ...process.env, ...(role ? { ROLE: role } : {}) }));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL);

  let embedded: EmbeddedDatabase | undefined;
  let uri = config.MONGODB_URI;
  if (!uri) {
    embedded = await startEmbeddedDatabase(path.resolve(config.DATA_DIR), (line) => log.info(line));
    uri = embedded.uri;
    log.info({ kind: embedded.kind }, 'embedded database started');
  }

  let server: http.Server | undefined;
  let workers: Workers | undefined;
  let outboxTimer: NodeJS.Timeout | undefined;
  let presence: Presence | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    if (outboxTimer) clearInterval(outboxTimer);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    // Runs in flight finish their page or lose their lease; another worker resumes from the stored cursor.
    await workers?.stop();
    await stopParseThreads();
    await presence?.stop();
    await disconnectDatabase().catch(() => {});
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  await connectDatabase(uri);
  await ensureIndexes();
  if (process.argv.includes('--rebuild-read-models')) {
    const orgs = await Org.find({}).select({ _id: 1, name: 1 }).lean<{ _id: Types.ObjectId; name?: string }[]>();
    for (const org of orgs) {
      const started = Date.now();
      const outcome = await rebuildReadModels(org._id);
      console.log(
        `read models of ${String(org._id)} (${org.name ?? ''}): ${outcome.copies} copies indexed, ${outcome.foldedCopyRefs} copy refs folded, ${outcome.staleActivity + outcome.staleCopyIds} stale entries dropped in ${Date.now() - started} ms`,
      );
    }
    await disconnectDatabase();
    await embedded?.stop();
    return;
  }
  // Organisations that stored mail before copy ids lived on the messages have their copy refs folded in, in the
  // background (store/activity.ts foldCopyRefs); until that is done their read paths read the refs as well.
  void foldAllCopyRefs().then(
    (folded) => folded.length > 0 && log.info({ orgs: folded }, 'copy refs folded into the messages'),
    (err: Error) => log.error({ err: err.message }, 'folding copy refs failed; the next start tries again'),
  );
  const service = buildService(config, log);

  if (reparse) {
    const code = await runReparse(service, reparse, log);
    await disconnectDatabase().catch(() => {});
    await embedded?.stop();
    process.exit(code);
  }

  if (config.ROLE !== 'api') {
    const parseThreads = startParseThreads(config.SYNC_PARSE_THREADS) ? config.SYNC_PARSE_THREADS : 0;
    workers = service.host.startWorkers({ concurrency: config.SYNC_WORKER_CONCURRENCY });
    service.sync.onDue((mailboxId, hints) => workers!.markDue(mailboxId, hints));
    // Sends that were queued while no process could send them, or left `sending` by a process that died.
    outboxTimer = setInterval(() => {
      service.processDueOutbox().catch((err: Error) => log.error({ err: err.message }, 'outbox sweep failed'));
    }, OUTBOX_SWEEP_MS);
    log.info({ owner: workers.owner, parseThreads }, 'sync workers started');
  }

  if (config.ROLE === 'api') {
    // Its webhooks mark mailboxes due for worker processes: they read the due signal often while it is alive.
    presence = announceProcess(`${os.hostname()}:${process.pid}:api`, 'api', (err) => log.error({ err: err.message }, 'presence heartbeat failed'));
  }

  if (config.ROLE !== 'worker') {
    server = http.createServer(service.app);
    // Idle keep-alive connections stay open longer than the clients' and load balancers' own idle timeouts (60 s
    // is the common one), so a connection is always closed by the client side: a server closing first races a
    // request sent on it at that moment, which the client sees as "socket closed" (Node's default is 5 s).
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    server.headersTimeout = KEEP_ALIVE_MS + 1000;
    await new Promise<void>((resolve) => server!.listen(config.PORT, resolve));
    const { port } = server.address() as { port: number };
    log.info({ port, role: config.ROLE }, 'listening');
    console.log(`Threadline listening on http://127.0.0.1:${port} (public URL ${config.PUBLIC_URL})`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
