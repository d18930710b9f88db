/**
 * The code's dependencies point one way (docs/ARCHITECTURE.md, "Layers"), read from the sources with TypeScript's
 * own import scanner (ts.preProcessFile: imports, re-exports, `import type`, `require` and `import()`), so an import
 * that breaks the order fails here, naming the files.
 *
 * - server/src: each top-level folder and loose file has a layer (SERVER_LAYERS); a module imports only from its own
 *   folder and from lower layers, so nothing below http/ imports it.
 * - Every folder of server/src, shared/src and the add-ons' and console's sources: its sub-folders and files import
 *   each other without a cycle.
 *
 * Tests (`*.test.ts`) are left out: nothing imports a test, so a test takes part in no cycle, and a test may drive
 * its module together with the layers above it (the read model with the ingest that writes it).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as ts from 'typescript';

const repo = path.resolve(__dirname, '../..');

/**
 * server/src from the bottom up. Entries of one layer do not import each other: siblings stay independent. A new
 * top-level folder or loose file must be given a place here, which is the point: where it sits is a decision.
 */
const SERVER_LAYERS: readonly (readonly string[])[] = [
  ['config.ts'],
  ['logger.ts', 'metrics.ts', 'repo-root.ts', 'async'],
  ['mail'],
  ['db'],
  ['models'],
  ['store'],
  ['auth', 'crm'],
  ['sync'],
  ['views'],
  ['http'],
  ['app.ts'],
  ['server.ts'],
  ['reparse-command.ts'],
  ['main.ts'],
];

/** The source trees whose folders must be free of import cycles. */
const ACYCLIC_ROOTS = ['server/src', 'shared/src', 'gmail-addon/src', 'outlook-addin/src', 'web/src'];

interface Import {
  /** Importing and imported file, relative to the root they were read from. */
  from: string;
  to: string;
  specifier: string;
}

const isTest = (file: string): boolean => /\.test\.tsx?$/.test(file);

function sourcesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === '__snapshots__') continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) sourcesUnder(full, out);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** The imports between production files of one root; imports leaving the root are not its graph's business. */
function importsOf(root: string): Import[] {
  const base = path.join(repo, root);
  const files = sourcesUnder(base).filter((f) => !isTest(f));
  const known = new Set(files);
  const found: Import[] = [];
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier);
      const resolved = [target, `${target}.ts`, `${target}.tsx`, path.join(target, 'index.ts')].find((c) => known.has(c));
      if (resolved) found.push({ from: path.relative(base, file), to: path.relative(base, resolved), specifier });
    }
  }
  return found;
}

/**
 * For each folder, the graph of its children (sub-folders and files): an import from a file under child X to a
 * file under child Y of their nearest common folder is an edge X → Y. Answers one cycle per folder that has one.
 */
function cyclesIn(root: string, imports: readonly Import[]): string[] {
  const graphs = new Map<string, Map<string, Map<string, Import>>>();
  for (const imp of imports) {
    const a = imp.from.split('/');
    const b = imp.to.split('/');
    let k = 0;
    while (k < a.length - 1 && k < b.length - 1 && a[k] === b[k]) k++;
    const folder = a.slice(0, k).join('/');
    const edges = graphs.get(folder) ?? new Map<string, Map<string, Import>>();
    graphs.set(folder, edges);
    const out = edges.get(a[k]) ?? new Map<string, Import>();
    edges.set(a[k], out);
    if (!out.has(b[k])) out.set(b[k], imp);
  }

  const cycles: string[] = [];
  for (const [folder, edges] of graphs) {
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (node: string): string[] | null => {
      state.set(node, 'open');
      stack.push(node);
      for (const next of edges.get(node)?.keys() ?? []) {
        if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
        if (!state.has(next)) {
          const cycle = visit(next);
          if (cycle) return cycle;
        }
      }
      stack.pop();
      state.set(node, 'done');
      return null;
    };
    for (const node of edges.keys()) {
      const cycle = state.has(node) ? null : visit(node);
      if (!cycle) continue;
      const where = path.posix.join(root, folder);
      const steps = cycle.slice(1).map((to, i) => {
        const imp = edges.get(cycle[i])!.get(to)!;
        return `${imp.from} imports '${imp.specifier}'`;
      });
      cycles.push(`${where}: ${cycle.join(' -> ')} (${steps.join('; ')})`);
      break;
    }
  }
  return cycles;
}

const layerOf = new Map(SERVER_LAYERS.flatMap((entries, layer) => entries.map((entry) => [entry, layer] as const)));
const topOf = (file: string): string => file.split('/')[0];
const serverImports = importsOf('server/src');

describe('dependencies point one way', () => {
  it('the scanner reads the imports it checks', () => {
    // Guards the checks below against passing because nothing was read.
    const pairs = new Set(serverImports.map((i) => `${i.from} -> ${i.to}`));
    expect(pairs).toContain('main.ts -> server.ts');
    expect(pairs).toContain('models/index.ts -> models/message.ts');
    expect(serverImports.some((i) => i.from.startsWith('sync/') && i.to.startsWith('mail/'))).toBe(true);
  });

  it('every top-level folder and loose file of server/src has a layer, and every layer entry exists', () => {
    const onDisk = readdirSync(path.join(repo, 'server/src')).filter((name) => !isTest(name));
    expect(onDisk.filter((name) => !layerOf.has(name))).toEqual([]);
    expect([...layerOf.keys()].filter((name) => !existsSync(path.join(repo, 'server/src', name)))).toEqual([]);
  });

  it('server/src modules import only from their own folder and from layers below theirs', () => {
    const wrong = serverImports
      .filter((i) => topOf(i.from) !== topOf(i.to))
      .filter((i) => (layerOf.get(topOf(i.from)) ?? -1) <= (layerOf.get(topOf(i.to)) ?? Infinity))
      .map((i) => `${i.from} imports '${i.specifier}': ${topOf(i.from)} is not above ${topOf(i.to)}`);
    expect(wrong).toEqual([]);
  });

  it('nothing below http/ imports it: only the entry files assemble the routes', () => {
    const entries = new Set(SERVER_LAYERS.slice(layerOf.get('http')! + 1).flat());
    const importers = serverImports.filter((i) => topOf(i.to) === 'http' && topOf(i.from) !== 'http' && !entries.has(topOf(i.from)));
    expect(importers.map((i) => `${i.from} imports '${i.specifier}'`)).toEqual([]);
  });

  it('the sync/ root holds folders only', () => {
    const sync = path.join(repo, 'server/src/sync');
    expect(readdirSync(sync).filter((name) => !statSync(path.join(sync, name)).isDirectory())).toEqual([]);
  });

  it.each(ACYCLIC_ROOTS)('no import cycle between the folders (or the files of one folder) of %s', (root) => {
    if (!existsSync(path.join(repo, root))) return;
    expect(cyclesIn(root, root === 'server/src' ? serverImports : importsOf(root))).toEqual([]);
  });
});
