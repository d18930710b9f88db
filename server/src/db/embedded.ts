/**
 * The embedded database used when MONGODB_URI is unset: FerretDB with its SQLite backend as a child
 * process, its files under DATA_DIR. Falls back to mongodb-memory-server where Go is missing.
 *
 * The child must never outlive us, even after `kill -9` of this process: it is started under a small
 * shell guard that holds a pipe from us on stdin and kills FerretDB when that pipe closes (the kernel
 * closes it whatever way we die).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import mongoose from 'mongoose';
import { ensureFerretdbBinary, goAvailable } from './ferretdb-binary';

export interface EmbeddedDatabase {
  uri: string;
  kind: 'ferretdb' | 'mongodb-memory-server';
  stop(): Promise<void>;
}

type Log = (msg: string) => void;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// A non-interactive shell gives background jobs /dev/null as stdin, so our pipe is kept on fd 3 for `cat`.
const GUARD = 'exec 3<&0; "$@" </dev/null & child=$!; (cat <&3 >/dev/null; kill $child 2>/dev/null) & trap \'kill $child 2>/dev/null\' TERM INT; wait $child';

async function waitUntilAnswering(uri: string, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  for (;;) {
    if (exited !== null) throw new Error(`FerretDB exited (code ${exited}) before answering: ${stderr().trim()}`);
    const client = new mongoose.mongo.MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`FerretDB did not answer within ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      await client.close().catch(() => {});
    }
  }
}

/**
 * The database files hold every stored mail and sealed token: owner-only, a 0700 folder whose files FerretDB
 * creates 0600 (its umask while it starts). A folder made earlier with looser rights is tightened.
 */
async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

function spawnPrivate(command: string, args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  const previous = process.umask(0o077);
  try {
    return spawn(command, args, options);
  } finally {
    process.umask(previous);
  }
}

/** A Unix socket path longer than this (sun_path holds 108 bytes) makes FerretDB listen on loopback TCP instead. */
const MAX_SOCKET_PATH = 100;

/**
 * The Go collector's target for FerretDB: 400 % heap growth between collections instead of 100 %. Its heap is a
 * few tens of megabytes, and collecting four times less often took about a tenth off every query's CPU (measured
 * with one-document finds by `_id`: docs/PERFORMANCE.md). An operator's own GOGC is kept.
 */
const FERRETDB_GOGC = '400';

async function startFerretdb(bin: string, dataDir: string): Promise<EmbeddedDatabase> {
  const dbDir = path.join(dataDir, 'ferretdb');
  await privateDir(dataDir);
  await privateDir(dbDir);
  // A Unix socket in the owner-only folder rather than a loopback port: no other local user can connect to the
  // database (FerretDB asks no password), and a query skips the TCP stack on both sides.
  const socket = path.join(dbDir, 'ferretdb.sock');
  const viaSocket = Buffer.byteLength(socket) <= MAX_SOCKET_PATH;
  const port = viaSocket ? 0 : await freePort();
  // A socket left by a FerretDB that was killed outright would refuse the listen ("address already in use").
  if (viaSocket) await rm(socket, { force: true });
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${dbDir}/`,
    `--state-dir=${dbDir}`,
    ...(viaSocket ? [`--listen-unix=${socket}`, '--listen-addr='] : [`--listen-addr=127.0.0.1:${port}`]),
    `--debug-addr=${process.env.FERRETDB_DEBUG_ADDR ?? '-'}`,
    '--telemetry=disable',
    '--log-level=warn',
    '--log-format=json',
  ];
  const env = { ...process.env, GOGC: process.env.GOGC ?? FERRETDB_GOGC };
  const child = spawnPrivate('sh', ['-c', GUARD, 'ferretdb-guard', bin, ...args], { stdio: ['pipe', 'ignore', 'pipe'], env });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-4000);
  });
  const uri = viaSocket ? `mongodb://${encodeURIComponent(socket)}/threadline` : `mongodb://127.0.0.1:${port}/threadline`;
  try {
    await waitUntilAnswering(uri, child, () => err, 30_000);
  } catch (e) {
    child.kill('SIGTERM');
    throw e;
  }
  return {
    uri,
    kind: 'ferretdb',
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        child.stdin!.end();
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

async function startMemoryServer(dataDir: string, log: Log): Promise<EmbeddedDatabase> {
  log('Go is not available to build FerretDB: starting mongodb-memory-server (a real mongod, downloaded on first use).');
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  const dbPath = path.join(dataDir, 'mongod');
  await privateDir(dataDir);
  await privateDir(dbPath);
  const server = await MongoMemoryServer.create({ instance: { dbPath, storageEngine: 'wiredTiger' } });
  return {
    uri: server.getUri('threadline'),
    kind: 'mongodb-memory-server',
    stop: async () => {
      await server.stop();
    },
  };
}

export async function startEmbeddedDatabase(dataDir: string, log: Log = () => {}): Promise<EmbeddedDatabase> {
  let ferretError: Error | undefined;
  if (process.env.FERRETDB_BIN || (await goAvailable())) {
    try {
      return await startFerretdb(await ensureFerretdbBinary(log), dataDir);
    } catch (err) {
      ferretError = err as Error;
      log(`embedded FerretDB failed: ${ferretError.message}`);
    }
  }
  try {
    return await startMemoryServer(dataDir, log);
  } catch (err) {
    throw new Error(
      'No embedded database could be started. ' +
        (ferretError ? `FerretDB: ${ferretError.message}. ` : 'FerretDB: Go is not installed. ') +
        `mongodb-memory-server: ${(err as Error).message}. Set MONGODB_URI to a MongoDB 6+ server instead.`,
    );
  }
}
