/**
 * Which processes run against this database (docs/SYNC.md "Push, polling and reconciliation"). Every process that
 * can mark a mailbox due for another one — a worker process, and a `--role api` process taking webhooks — keeps one
 * small document fresh. A worker that finds itself alone needs no cross-process due signal: every due-mark comes
 * from its own process and wakes its loop directly, so it reads the signal only at its rescans instead of several
 * times a second (what an idle server costs). Losing this document, or a process that never wrote one (a CLI
 * command), only delays a signal to the next rescan.
 */
import mongoose from 'mongoose';

/** How often a process says it is alive; another process counts as alive for three times as long. */
export const PRESENCE_EVERY_MS = 30_000;
const ALIVE_FOR_MS = 3 * PRESENCE_EVERY_MS;
/** A document this much older than its last heartbeat is a process that died without saying so: it is removed. */
const FORGET_AFTER_MS = 24 * 3_600_000;

const PROCESSES = 'syncprocesses';
type ProcessDoc = { _id: string; role: string; seenAt: Date };
const processes = () => mongoose.connection.collection<ProcessDoc>(PROCESSES);

export interface Presence {
  stop(): Promise<void>;
}

/** Writes this process's document now and every PRESENCE_EVERY_MS until `stop()`, which removes it. */
export function announceProcess(owner: string, role: string, onError: (err: Error) => void = () => {}): Presence {
  // By `_id`: the process's own document, upserted.
  const beat = () =>
    processes()
      .updateOne({ _id: owner }, { $set: { role, seenAt: new Date() } }, { upsert: true })
      .catch(onError);
  const first = beat();
  const timer = setInterval(() => void beat(), PRESENCE_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await first;
      await processes()
        .deleteOne({ _id: owner })
        .catch(() => {});
    },
  };
}

/**
 * Whether a process other than `owner` has said within the last 90 s that it is alive. The collection holds one
 * document per process, so it is read whole (a handful of documents; no index needed on MongoDB either); documents
 * of processes that died a day ago are dropped on the way.
 */
export async function othersAlive(owner: string): Promise<boolean> {
  // The wall clock, as the heartbeats are written with: a run's injected clock (tests) says nothing about processes.
  const now = new Date();
  const docs = await processes()
    .find({}, { projection: { seenAt: 1 } })
    .toArray();
  const dead = docs.filter((d) => now.getTime() - d.seenAt.getTime() > FORGET_AFTER_MS).map((d) => d._id);
  if (dead.length > 0) await processes().deleteMany({ _id: { $in: dead } });
  return docs.some((d) => d._id !== owner && now.getTime() - d.seenAt.getTime() <= ALIVE_FOR_MS);
}
