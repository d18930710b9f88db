/** The emulators' request log keeps the newest entries in order, however many requests pass through it. */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { requestRecorder } from './recorder';

test('keeps the newest maxEntries entries, oldest dropped first, and counts every request', async () => {
  const log = requestRecorder({ maxEntries: 3 });
  const app = express();
  app.use(log);
  app.get('/n/:i', (_req, res) => void res.send('ok'));
  const server = app.listen(0);
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (let i = 1; i <= 10; i++) await (await fetch(`${base}/n/${i}`)).text();
    expect(log.entries().map((e) => e.path)).toEqual(['/n/8', '/n/9', '/n/10']);
    expect(log.entries({ sinceSeq: 9 }).map((e) => e.seq)).toEqual([10]);
    expect(log.counters().total).toBe(10);
    log.clear();
    await (await fetch(`${base}/n/11`)).text();
    expect(log.entries().map((e) => [e.seq, e.path])).toEqual([[1, '/n/11']]);
  } finally {
    server.close();
  }
});
