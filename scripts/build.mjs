#!/usr/bin/env node
/**
 * `npm run build`: the server bundle, and the add-ons as their issues land.
 * `--server`: only the server. `npm start` builds everything (the server serves the console and the Outlook pane);
 * esbuild takes well under a second per part, so parts are always rebuilt rather than compared with their sources.
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.includes('--server') ? 'server' : 'all';

async function buildServer() {
  await build({
    entryPoints: [path.join(root, 'server/src/main.ts')],
    outfile: path.join(root, 'server/dist/main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
}

const addOns = [
  ['gmail-addon', 'gmail-addon/build.mjs'],
  ['outlook-addin', 'outlook-addin/build.mjs'],
  ['web', 'web/build.mjs'],
];

await buildServer();
if (only === 'all') {
  for (const [name, script] of addOns) {
    const file = path.join(root, script);
    if (existsSync(file)) await (await import(file)).default({ root });
    else console.log(`${name}: not built yet (its issue has not landed)`);
  }
}
