/**
 * CPU seconds of processes from /proc (Linux), to say where the time of a run went: the server child, this process
 * (which hosts the emulators) and the embedded database (FerretDB, a grandchild of this process).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  cpuSeconds: number;
}

function statOf(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime field 15.
    return { pid, ppid: Number(fields[1]), comm, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** Every process whose ancestry leads to `root` (not `root` itself). */
export function descendants(root: number): Stat[] {
  const all = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((n) => statOf(Number(n)))
    .filter((s): s is Stat => s !== null);
  const byParent = new Map<number, Stat[]>();
  for (const s of all) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const out: Stat[] = [];
  const walk = (pid: number) => {
    for (const child of byParent.get(pid) ?? []) {
      out.push(child);
      walk(child.pid);
    }
  };
  walk(root);
  return out;
}

export interface CpuSnapshot {
  server: number;
  bench: number;
  database: number;
  machineBusy: number;
  machineTotal: number;
}

function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3] + (cpu[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  const database = descendants(process.pid)
    .filter((s) => /ferretdb|mongod/.test(s.comm))
    .reduce((sum, s) => sum + s.cpuSeconds, 0);
  const u = process.cpuUsage();
  const m = machineTicks();
  return { server: statOf(serverPid)?.cpuSeconds ?? NaN, bench: (u.user + u.system) / 1e6, database, machineBusy: m.busy, machineTotal: m.total };
}

/** "server 41.2 s CPU, emulators+bench 12.0 s, database 30.1 s; machine 93% busy (other processes 5.1 s)" over a wall time. */
export function describeCpu(a: CpuSnapshot, b: CpuSnapshot, wallSeconds: number): string {
  const server = b.server - a.server;
  const bench = b.bench - a.bench;
  const database = b.database - a.database;
  const busy = b.machineBusy - a.machineBusy;
  const total = b.machineTotal - a.machineTotal;
  const others = Math.max(0, busy - server - bench - database);
  const pct = (x: number) => `${((x / wallSeconds) * 100).toFixed(0)}%`;
  return `CPU over ${wallSeconds.toFixed(1)} s: server ${server.toFixed(1)} s (${pct(server)} of a core), emulators+bench ${bench.toFixed(1)} s (${pct(bench)}), database ${database.toFixed(1)} s (${pct(database)}); machine ${((busy / total) * 100).toFixed(0)}% busy, other processes ${others.toFixed(1)} s`;
}
