/**
 * A V8 heap snapshot (see BENCH_SERVER_HEAP_SNAPSHOT_AT in bench/stack.ts) summarised as text: retained-by-self
 * bytes and object counts by kind (constructor name for objects; strings, arrays, code and the like by type), the
 * largest first. Given two snapshots, the growth from the first to the second, which is what grows per message when
 * they were taken at two points of one import.
 *
 *   npx tsx bench/heap-summary.ts <a.heapsnapshot> [<b.heapsnapshot>] [--top 30]
 */
import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  strings: string[];
}

export interface Kind {
  bytes: number;
  count: number;
}

/** Types whose node name is the object's content rather than its kind (a string's text, a number's value). */
const NAMED_BY_TYPE = new Set(['string', 'concatenated string', 'sliced string', 'number', 'bigint', 'symbol', 'hidden', 'array', 'code']);

/** Self size and count by kind: `object Foo` (constructor), `closure name`, or the type for strings, arrays, code… */
export function kindsOf(snapshot: HeapSnapshot): Map<string, Kind> {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const kinds = new Map<string, Kind>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]];
    const key = NAMED_BY_TYPE.has(type) ? `(${type})` : `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]]}`.slice(0, 100);
    const kind = kinds.get(key) ?? { bytes: 0, count: 0 };
    kind.bytes += snapshot.nodes[i + sizeAt];
    kind.count += 1;
    kinds.set(key, kind);
  }
  return kinds;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1).padStart(7)} MB`;

function total(kinds: Map<string, Kind>): Kind {
  let bytes = 0;
  let count = 0;
  for (const k of kinds.values()) {
    bytes += k.bytes;
    count += k.count;
  }
  return { bytes, count };
}

export function summarise(kinds: Map<string, Kind>, top = 30): string {
  const all = total(kinds);
  const rows = [...kinds].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
  return [
    `heap ${mb(all.bytes).trim()} in ${all.count.toLocaleString('en-US')} objects; largest kinds by self size:`,
    ...rows.map(([k, v]) => `  ${mb(v.bytes)}  ${v.count.toLocaleString('en-US').padStart(11)}  ${k}`),
  ].join('\n');
}

/** What grew from `before` to `after`, the most bytes first (kinds that shrank are left out). */
export function growth(before: Map<string, Kind>, after: Map<string, Kind>, top = 30): string {
  const a = total(before);
  const b = total(after);
  const rows = [...after]
    .map(([k, v]) => [k, { bytes: v.bytes - (before.get(k)?.bytes ?? 0), count: v.count - (before.get(k)?.count ?? 0) }] as const)
    .filter(([, d]) => d.bytes > 0)
    .sort((x, y) => y[1].bytes - x[1].bytes)
    .slice(0, top);
  return [
    `heap ${mb(a.bytes).trim()} -> ${mb(b.bytes).trim()} (${(b.count - a.count).toLocaleString('en-US')} more objects); grown the most:`,
    ...rows.map(([k, d]) => `  +${mb(d.bytes)}  ${`+${d.count.toLocaleString('en-US')}`.padStart(11)}  ${k}`),
  ].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const t = args.indexOf('--top');
  const top = t >= 0 ? Number(args[t + 1]) : 30;
  const files = args.filter((a, i) => a !== '--top' && (t < 0 || i !== t + 1));
  if (files.length < 1 || files.length > 2 || !Number.isInteger(top)) {
    console.error('usage: npx tsx bench/heap-summary.ts <a.heapsnapshot> [<b.heapsnapshot>] [--top N]');
    process.exit(2);
  }
  const kinds = files.map((f) => kindsOf(JSON.parse(readFileSync(f, 'utf8')) as HeapSnapshot));
  console.log(summarise(kinds[kinds.length - 1], top));
  if (kinds.length === 2) console.log(`\n${growth(kinds[0], kinds[1], top)}`);
}
