/**
 * The real server in a child process (`node --import tsx server/src/main.ts`, or the bundle `npm start` runs), on
 * the test run's database server with a database of its own, and a fixed free port so PUBLIC_URL is known.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../server/src/db/embedded';
import { serverNodeFlags } from '../../scripts/server-node-flags';

export interface ServerProcessOptions {
  /** Use this database instead of a fresh one: a restart after a crash, or several processes sharing one database. */
  mongodbUri?: string;
  /**
   * Run server/dist/main.js, the bundle `npm start` builds and runs in production, instead of the sources through
   * tsx (whose compiler would count in the process's memory), with the Node flags `npm start` gives it. The
   * caller builds it first (scripts/build.mjs).
   */
  bundled?: boolean;
  /** Node flags for the server process, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export interface ServerProcess {
  url: string;
  child: ChildProcess /** The database the server uses (tests may seed it). */;
  mongodbUri: string;
  output(): string;
  stop(): Promise<void>;
}

const root = path.resolve(__dirname, '../..');

export async function startServerProcess(env: Record<string, string>, args: string[] = [], opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const base = opts.mongodbUri ?? process.env.MONGODB_URI;
  if (!base) throw new Error('MONGODB_URI is not set (jest globalSetup starts the embedded database)');
  const uri = new URL(base);
  if (!opts.mongodbUri) uri.pathname = `/srv_${randomBytes(5).toString('hex')}`;
  // A worker-only process serves no HTTP: it is ready once it logs that its workers started (an info line).
  const workerOnly = args.join(' ').replace('--role=', '--role ').includes('--role worker');
  const ready = workerOnly ? 'sync workers started' : 'listening on';
  const port = await freePort();
  const entry = opts.bundled ? [...serverNodeFlags(), path.join(root, 'server/dist/main.js')] : ['--import', 'tsx', path.join(root, 'server/src/main.ts')];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...entry, ...args], {
    cwd: root,
    env: {
      ...process.env,
      LOG_LEVEL: workerOnly ? 'info' : 'warn',
      NODE_ENV: 'test',
      ...env,
      MONGODB_URI: uri.toString(),
      PORT: String(port),
      // A worker-only process serves no HTTP: it is given the API process's URL, which its push channels name.
      PUBLIC_URL: env.PUBLIC_URL ?? `http://127.0.0.1:${port}`,
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'threadline-srv-')),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const check = () => {
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    mongodbUri: uri.toString(),
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(); // already exited (or killed)
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
