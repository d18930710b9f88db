/**
 * The parse threads give what parsing on the calling thread gives, for every message of the seed corpus and for
 * messages that take the fallbacks (a Date from the provider, no Date at all), and a thread that dies loses nothing.
 * The worker script is bundled from the TypeScript source here, as scripts/build.mjs bundles it for the server.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { parseMessage } from './parse';
import { ParsePool, parseRaw, startParseThreads, stopParseThreads } from './parse-pool';

const MAIL_DIR = path.join(__dirname, '../../../../test/fixtures/mail');
const corpus = readdirSync(MAIL_DIR)
  .filter((name) => name.endsWith('.eml'))
  .sort()
  .map((name) => ({ name, raw: readFileSync(path.join(MAIL_DIR, name)) }));

let dir: string;
let workerFile: string;

beforeAll(() => {
  // Under node_modules/.cache, so the bundle's packages resolve from the repository's node_modules as the server's do.
  const cache = path.join(__dirname, '../../../../node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  dir = mkdtempSync(path.join(cache, 'parse-pool-'));
  workerFile = path.join(dir, 'parse-worker.js');
  buildSync({
    entryPoints: [path.join(__dirname, 'parse-worker.ts')],
    outfile: workerFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parse threads', () => {
  it('parse every corpus message as the calling thread does', async () => {
    const pool = new ParsePool(workerFile, 2);
    try {
      const fallbackDate = new Date('2024-03-01T10:00:00Z');
      const [threaded, here] = await Promise.all([
        Promise.all(corpus.map((m) => pool.parse(m.raw, { fallbackDate }))),
        Promise.all(corpus.map((m) => parseMessage(m.raw, { fallbackDate }))),
      ]);
      expect(corpus.length).toBeGreaterThan(20);
      threaded.forEach((parsed, i) => expect({ name: corpus[i].name, parsed }).toEqual({ name: corpus[i].name, parsed: here[i] }));
      // Dates come back as dates, not strings; and the threads did the work (none fell back to this thread).
      // (Checked by tag: a worker's answer is built in the main realm, not in the test runner's sandbox.)
      expect(threaded.every((p) => p.date === null || Object.prototype.toString.call(p.date) === '[object Date]')).toBe(true);
      expect(pool.fallbacks).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('take the messages of a thread that dies to the calling thread', async () => {
    const pool = new ParsePool(workerFile, 1);
    try {
      const first = await pool.parse(corpus[0].raw);
      const thread = (pool as unknown as { threads: { worker: { terminate(): Promise<number> } | null }[] }).threads[0];
      const many = corpus.map((m) => pool.parse(m.raw));
      await thread.worker!.terminate();
      const parsed = await Promise.all(many);
      expect(parsed.map((p) => p.subject)).toEqual((await Promise.all(corpus.map((m) => parseMessage(m.raw)))).map((p) => p.subject));
      // Once the thread's end is known, a new one is started for the next message.
      await new Promise((r) => setTimeout(r, 50));
      const lostBefore = pool.fallbacks;
      expect(lostBefore).toBeGreaterThan(0);
      expect(await pool.parse(corpus[0].raw)).toEqual(first);
      expect(pool.fallbacks).toBe(lostBefore);
      expect(thread.worker).not.toBeNull();
    } finally {
      await pool.close();
    }
  });

  it('are used by parseRaw once started, and parsing stays on the calling thread without a worker script', async () => {
    expect(startParseThreads(1, path.join(dir, 'missing.js'))).toBe(false);
    expect(startParseThreads(0, workerFile)).toBe(false);
    expect(startParseThreads(1, workerFile)).toBe(true);
    try {
      expect(await parseRaw(corpus[1].raw)).toEqual(await parseMessage(corpus[1].raw));
    } finally {
      await stopParseThreads();
    }
    expect(await parseRaw(corpus[1].raw)).toEqual(await parseMessage(corpus[1].raw));
  });
});
