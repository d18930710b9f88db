/**
 * A closed-loop HTTP load client in a worker thread, for benches that serve the app in their own process
 * (bench/context.bench.ts): the sidebars it stands for run on the reps' machines, so their requests must not take
 * the server's event loop. Each of `concurrency` loops sends its next request as soon as the last one answered,
 * over keep-alive connections (node:http, lighter than fetch), and times it from send to the last byte.
 */
import { Worker } from 'node:worker_threads';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}
export interface LoadResult {
  /** Milliseconds per request, in the order they finished. */
  latencies: number[];
  /** Requests answered with another status than 200, or that failed. */
  errors: number;
  seconds: number;
}

// Plain JavaScript, so the worker needs no TypeScript loader.
const WORKER = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { base, headers, requests, concurrency } = workerData;
const url = new URL(base);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const send = (r) => new Promise((resolve) => {
  const req = http.request({ host: url.hostname, port: url.port, path: r.path, method: r.method, agent,
    headers: r.body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(r.body) } }, (res) => {
    res.on('data', () => {});
    res.on('end', () => resolve(res.statusCode === 200));
    res.on('error', () => resolve(false));
  });
  req.on('error', () => resolve(false));
  req.end(r.body);
});
(async () => {
  const latencies = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const r = requests[next++];
      const t = performance.now();
      const ok = await send(r);
      latencies.push(performance.now() - t);
      if (!ok) errors += 1;
    }
  }));
  agent.destroy();
  parentPort.postMessage({ latencies, errors, seconds: (performance.now() - started) / 1000 });
})();
`;

/** Sends `requests` to `base` from `concurrency` closed loops in a worker thread; resolves when all have answered. */
export function runLoad(o: { base: string; headers: Record<string, string>; requests: LoadRequest[]; concurrency: number }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: o });
    worker.once('message', (result: LoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`load client exited with ${code}`)));
  });
}
