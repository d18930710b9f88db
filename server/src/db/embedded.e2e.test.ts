/**
 * `npm start` without MONGODB_URI: the server starts the embedded database, answers /readyz, and leaves no
 * database process behind after Ctrl-C (SIGINT) or after being killed outright (SIGKILL).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');

function processesUsing(dir: string): number {
  try {
    return execFileSync('pgrep', ['-f', dir]).toString().trim().split('\n').filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', NODE_ENV: 'development' };
  delete env.MONGODB_URI;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/src/main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
  return { child, url };
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('embedded database lifecycle', () => {
  it.each(['SIGINT', 'SIGKILL'] as const)(
    'answers /readyz and leaves no database process after %s',
    async (signal) => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), `threadline-start-${signal}-`));
      const { child, url } = await startServer(dataDir);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect(processesUsing(dataDir)).toBeGreaterThan(0);
      // Owner-only: the folders 0700, every database file 0600.
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const dbDir = path.join(dataDir, 'ferretdb');
      expect(statSync(dbDir).mode & 0o777).toBe(0o700);
      const files = readdirSync(dbDir).filter((f) => statSync(path.join(dbDir, f)).isFile());
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect([f, statSync(path.join(dbDir, f)).mode & 0o777]).toEqual([f, 0o600]);
      child.kill(signal);
      expect(await waitFor(() => processesUsing(dataDir) === 0, 10_000)).toBe(true);
    },
    90_000,
  );
});
