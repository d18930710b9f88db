/**
 * The Node flags the server runs with in production, read from `npm start` in package.json so the tests, the
 * demo and the benchmarks start the bundle exactly as production does (one source of truth).
 *
 * `--max-old-space-size` bounds V8's heap: left to itself V8 keeps committing heap while an import runs (about
 * 230 MB committed for 70 MB in use at 30,000 messages) and gives little of it back; with the bound it collects
 * sooner and the process stays well inside its memory target (docs/PERFORMANCE.md, "Memory").
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

export function serverNodeFlags(): string[] {
  const start = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts?.start as string | undefined;
  const run = start?.match(/(?:^|&&\s*)node((?:\s+--[\w-]+(?:=\S+)?)*)\s+server\/dist\/main\.js/);
  if (!run) throw new Error(`package.json's start script does not run "node [flags] server/dist/main.js": ${start}`);
  return run[1].trim().split(/\s+/).filter(Boolean);
}
