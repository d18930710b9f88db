/**
 * Builds web/dist: the console bundle (esbuild), its page and stylesheet. Called by scripts/build.mjs
 * (`npm run build`) as `default({ root })`; the server serves the result at /app/ (web/serve.ts). The page needs no
 * build-time settings: what only the server knows is put into it when served.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

export default async function buildConsole({ root, quiet = false }) {
  const src = path.join(root, 'web/src');
  const dist = path.join(root, 'web/dist');
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  await build({
    entryPoints: { console: path.join(src, 'main.ts') },
    outdir: dist,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome100', 'edge100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  copyFileSync(path.join(src, 'index.html'), path.join(dist, 'index.html'));
  copyFileSync(path.join(src, 'console.css'), path.join(dist, 'console.css'));
  if (!quiet) console.log('web: built dist/ (served at /app/)');
  return { dist };
}
