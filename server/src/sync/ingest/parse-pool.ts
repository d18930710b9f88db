/**
 * MIME parsing off the sync's event loop (docs/PERFORMANCE.md "Ingest"): parsing is about a quarter of the CPU the
 * server spends per imported message, and the rest of the ingest — provider calls, database writes — waits on the
 * one event loop meanwhile. With `SYNC_PARSE_THREADS` > 0 a worker process parses on that many threads, round robin;
 * the answer is the same object parseMessage gives (it is plain data: strings, arrays, dates).
 *
 * The threads run the bundle's parse-worker.js (scripts/build.mjs). Where there is none — the TypeScript sources
 * under a test runner or tsx, a CLI command that never started the pool — messages are parsed on the calling thread,
 * with the same result. A thread that dies takes its messages to the calling thread too and is replaced on next use,
 * so a message is always parsed (parseMessage never rejects).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ParsedMessage } from '../../mail/message';
import { type ParseOptions, parseMessage } from './parse';
import type { ParseRequest } from './parse-worker';

/** A parse thread's old-generation heap: a 50 MB message's text and HTML fit several times over. */
const THREAD_HEAP_MB = 96;

interface Pending {
  raw: Buffer;
  opts: ParseOptions;
  resolve: (parsed: ParsedMessage) => void;
}

class ParseThread {
  private readonly pending = new Map<number, Pending>();
  private worker: Worker | null = null;
  /** Messages this thread lost (it died with them) and the calling thread parsed instead. */
  fallbacks = 0;

  constructor(private readonly file: string) {}

  get load(): number {
    return this.pending.size;
  }

  parse(id: number, raw: Buffer, opts: ParseOptions): Promise<ParsedMessage> {
    return new Promise((resolve) => {
      this.pending.set(id, { raw, opts, resolve });
      const req: ParseRequest = { id, raw, fallbackDate: opts.fallbackDate };
      this.started().postMessage(req);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    // Its heap bounded as the server's is (package.json start): a message that would take more kills the thread,
    // and that message is parsed here instead.
    const worker = new Worker(this.file, { resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
    // Never what keeps the process alive: a server that stops stops its threads with it.
    worker.unref();
    worker.on('message', ({ id, parsed }: { id: number; parsed: ParsedMessage }) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      p?.resolve(parsed);
    });
    const lost = () => {
      if (this.worker !== worker) return;
      this.worker = null;
      // Whatever it held is parsed here instead; the next message starts a new thread.
      const held = [...this.pending.values()];
      this.pending.clear();
      this.fallbacks += held.length;
      for (const p of held) void parseMessage(p.raw, p.opts).then(p.resolve);
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}

export class ParsePool {
  private readonly threads: ParseThread[];
  private nextId = 0;

  /** `file`: the worker script (the bundle's parse-worker.js). */
  constructor(file: string, threads: number) {
    this.threads = Array.from({ length: threads }, () => new ParseThread(file));
  }

  /** Parses on the least busy thread. */
  parse(raw: Buffer, opts: ParseOptions = {}): Promise<ParsedMessage> {
    const thread = this.threads.reduce((a, b) => (b.load < a.load ? b : a));
    return thread.parse(this.nextId++, raw, opts);
  }

  /** Messages parsed on the calling thread because their thread died (a healthy pool keeps this at 0). */
  get fallbacks(): number {
    return this.threads.reduce((n, t) => n + t.fallbacks, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }
}

/** The bundle's worker script, beside the running bundle; absent when running from the TypeScript sources. */
const BUNDLED_WORKER = path.join(__dirname, 'parse-worker.js');

let pool: ParsePool | null = null;

/**
 * Starts the process's parse threads (a worker process, at start-up). Returns false, and parsing stays on the
 * calling thread, when `threads` is 0 or there is no worker script to run.
 */
export function startParseThreads(threads: number, file: string = BUNDLED_WORKER): boolean {
  if (threads <= 0 || !existsSync(file)) return false;
  void pool?.close();
  pool = new ParsePool(file, threads);
  return true;
}

export async function stopParseThreads(): Promise<void> {
  const p = pool;
  pool = null;
  await p?.close();
}

/** parseMessage, on the process's parse threads when they were started. */
export function parseRaw(raw: Buffer, opts: ParseOptions = {}): Promise<ParsedMessage> {
  return pool ? pool.parse(raw, opts) : parseMessage(raw, opts);
}
