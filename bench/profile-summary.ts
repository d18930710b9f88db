/**
 * A V8 CPU profile (`node --cpu-prof`, see BENCH_SERVER_CPU_PROF in bench/stack.ts) summarised as text: self time by
 * function and by package or source folder, and the share of the profile spent idle or in GC.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** node_modules/<pkg> (or @scope/pkg), server source folder, node: internals, or the special V8 entries. */
export function bucketOf(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'anonymous'})`;
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (mod) return mod[1];
  if (url.startsWith('node:')) return url.split('/')[0];
  const src = /server\/(?:src|dist)\/(.*)/.exec(url);
  if (src) return `server/${src[1].split('/').slice(0, -1).join('/') || src[1]}`;
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

export function summarise(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = profile.endTime - profile.startTime;
  const fn = new Map<string, number>();
  const bucket = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const file = f.url.split('/').slice(-1)[0];
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    const b = bucketOf(f.url, f.functionName);
    bucket.set(b, (bucket.get(b) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / totalUs) * 100).toFixed(1).padStart(5)}%`;
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  return [
    `profile ${(totalUs / 1e6).toFixed(1)} s, ${profile.samples.length} samples`,
    'self time by package / source folder:',
    ...rows(bucket),
    'self time by function:',
    ...rows(fn),
  ].join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top N]');
    process.exit(2);
  }
  const t = process.argv.indexOf('--top');
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, t > 0 ? Number(process.argv[t + 1]) : 25));
}
