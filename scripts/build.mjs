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

/** `@threadline/shared/<path>` → the file in shared/, resolved (and so bundled) before `packages: 'external'` applies. */
const bundleWorkspace = {
  name: 'bundle-workspace',
  setup(b) {
    b.onResolve({ filter: /^@threadline\/shared\// }, async (args) => {
      const resolved = await b.resolve(`./${args.path.slice('@threadline/shared/'.length)}`, { kind: args.kind, resolveDir: path.join(root, 'shared') });
      return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path };
    });
  },
};

async function buildServer() {
  await build({
    // The server, and the script of its parse threads (server/src/sync/ingest/parse-pool.ts), side by side.
    entryPoints: { main: path.join(root, 'server/src/main.ts'), 'parse-worker': path.join(root, 'server/src/sync/ingest/parse-worker.ts') },
    outdir: path.join(root, 'server/dist'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Dependencies stay in node_modules; the workspace package @threadline/shared is TypeScript source, so it is
    // bundled like the server's own files.
    packages: 'external',
    plugins: [bundleWorkspace],
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
