/**
 * Ingest throughput of the storing end (parse → privacy → link → dedup → write), on the embedded database:
 *   npx tsx bench/ingest-store.ts [messages=3000] [pageSize=250] [--replay] [--ops]
 * Prints messages/s for a fresh backfill of generated mail and, with --replay, for storing the same pages again
 * (the crash-replay path: slower by design, it reads each existing copy to refresh its state); the CPU seconds of
 * this process and of the database; with --ops, the database operations per collection and kind, per message.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose, { Types } from 'mongoose';
import { connectDatabase, disconnectDatabase } from '../server/src/db/connection';
import { ensureIndexes } from '../server/src/models';
import { startEmbeddedDatabase } from '../server/src/db/embedded';
import { runInOrg } from '../server/src/db/tenant';
import { Org, User } from '../server/src/models';
import { loadIngestContext } from '../server/src/sync/ingest/context';
import { ingestMessages } from '../server/src/sync/ingest/store';
import type { RemoteMessage } from '../server/src/sync/providers/port';
import { generateMailbox } from '../test/emulators/common/generate';
import { descendants } from './procstat';

/** CPU seconds of this process and of the embedded database (a child of this process). */
function cpuNow(): { self: number; db: number } {
  const u = process.cpuUsage();
  return { self: (u.user + u.system) / 1e6, db: descendants(process.pid).reduce((a, s) => a + s.cpuSeconds, 0) };
}

async function main(): Promise<void> {
  const [countArg, pageArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const count = Number(countArg ?? 3000);
  const pageSize = Number(pageArg ?? 250);
  const db = await startEmbeddedDatabase(mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-')));
  try {
    await connectDatabase(db.uri, { dbName: 'bench' });
    await ensureIndexes();
    const org = await Org.create({ key: 'bench', name: 'Bench', domains: ['acme-corp.com'] });
    const user = await runInOrg(org._id, () => User.create({ email: 'owner@acme-corp.com', role: 'admin', identityKey: 'bench' }));
    const mailbox = { _id: new Types.ObjectId(), orgId: org._id, userId: user._id, address: 'owner@acme-corp.com' };
    const now = Date.now();
    const mails = await generateMailbox({
      owner: { email: mailbox.address, name: 'Owner' },
      count,
      startDate: new Date(now - 60 * 86_400_000),
      endDate: new Date(now),
    });
    const remote: RemoteMessage[] = mails.map((m, i) => ({
      providerMessageId: `m${i}`,
      providerThreadId: m.threadKey,
      labels: m.labelIds,
      folderId: null,
      flags: { read: m.isRead, starred: false, archived: false, deleted: false },
      receivedAt: m.date,
      content: { kind: 'raw', raw: m.raw },
    }));
    const ops = new Map<string, number>();
    if (process.argv.includes('--ops')) {
      mongoose.set('debug', (collection: string, method: string, ...args: unknown[]) => {
        const docs = method === 'insertMany' && Array.isArray(args[0]) ? ` (${(args[0] as unknown[]).length} docs)` : '';
        const key = `${collection}.${method}`;
        ops.set(key, (ops.get(key) ?? 0) + 1);
        if (docs) ops.set(`${key} documents`, (ops.get(`${key} documents`) ?? 0) + (args[0] as unknown[]).length);
      });
    }
    const ctx = await loadIngestContext(mailbox);
    for (const label of process.argv.includes('--replay') ? ['fresh', 'replay'] : ['fresh']) {
      const t0 = process.hrtime.bigint();
      const cpu0 = cpuNow();
      ops.clear();
      let stored = 0;
      for (let i = 0; i < remote.length; i += pageSize) stored += (await ingestMessages(ctx, remote.slice(i, i + pageSize))).stored;
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(
        `${db.kind} ${label}: ${remote.length} messages in ${s.toFixed(2)} s = ${(remote.length / s).toFixed(0)} messages/s (stored ${stored}, page ${pageSize}, rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB)`,
      );
      const cpu1 = cpuNow();
      const perMessage = (seconds: number) => `${((seconds * 1000) / remote.length).toFixed(2)} ms`;
      console.log(`  CPU per message: this process ${perMessage(cpu1.self - cpu0.self)}, database ${perMessage(cpu1.db - cpu0.db)}`);
      for (const [key, n] of [...ops].sort((a, b) => b[1] - a[1]))
        console.log(`  ${key.padEnd(40)} ${String(n).padStart(7)}  ${(n / remote.length).toFixed(3)} per message`);
    }
  } finally {
    await disconnectDatabase();
    await db.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
