/**
 * A parse thread (parse-pool.ts): raw messages in, parsed messages out, each answer tagged with its request's id.
 * Bundled as server/dist/parse-worker.js (scripts/build.mjs); parseMessage never rejects, so every request is answered.
 */
import { parentPort } from 'node:worker_threads';
import { parseMessage } from './parse';

export interface ParseRequest {
  id: number;
  raw: Uint8Array;
  fallbackDate?: Date;
}

parentPort?.on('message', (req: ParseRequest) => {
  // A Buffer crosses the thread boundary as a plain Uint8Array: the same bytes, viewed as a Buffer again.
  const raw = Buffer.from(req.raw.buffer, req.raw.byteOffset, req.raw.byteLength);
  void parseMessage(raw, { fallbackDate: req.fallbackDate }).then((parsed) => parentPort!.postMessage({ id: req.id, parsed }));
});
