/**
 * Scale-out: one API process (`--role api`) and two worker processes (`--role worker`) on one
 * database share a set of Gmail mailboxes without double work or double sends, and a worker killed with kill -9
 * mid-import has its mailboxes taken over by the other once its lease expires (a real expiry: the engine's lease is
 * DEFAULT_LEASE_SECONDS = 60 s, not configurable from the environment).
 *
 * "No double work" is checked three ways: the emulator fetched each message exactly once per mailbox (two workers
 * importing one mailbox at once would fetch its messages twice), every lease generation was seen with one owner only,
 * and every message is stored exactly once.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mongoose';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createNodeFetch } from '../emulators/common/fetch';
import { generateMailbox } from '../emulators/common/generate';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import {
  api,
  caughtUpWith,
  copyFigures,
  gmailExpectedIds,
  killHard,
  mailboxRow,
  openDatabase,
  ownerPrefixOf,
  signInAndConnect,
  until,
  type Connected,
} from '../helpers/sync-wait';

const SECRETS = { JWT_SECRET: randomBytes(36).toString('base64url'), TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
const DOMAIN = 'scale-robotics.com';

let emu: RunningEmulators;
let browser: typeof fetch;
let dbUri: string;
let db: Connection;
let apiProc: ServerProcess;
const workers: ServerProcess[] = [];
const figures: Record<string, unknown> = {};

const context = () => [apiProc, ...workers].map((p, i) => `--- ${i === 0 ? 'api' : `worker ${i}`} (tail) ---\n${p?.output().slice(-1500) ?? ''}`).join('\n');
const wait = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) => until(what, probe, { timeoutMs, context });

/** Lease samples: who held which mailbox, generation by generation, and when each holder was first seen. */
interface LeaseSighting {
  owner: string;
  gen: number;
  firstSeen: number;
  until: number;
}
const sightings = new Map<string, LeaseSighting[]>();
let sampling = true;
let sampler: Promise<void>;

async function sampleLeases(): Promise<void> {
  while (sampling) {
    const rows = await db
      .collection('mailboxes')
      .find({}, { projection: { lease: 1 } })
      .toArray()
      .catch(() => []);
    const now = Date.now();
    for (const r of rows) {
      const lease = r.lease as { owner: string | null; until: Date | null; gen?: number } | undefined;
      if (!lease?.owner) continue;
      const list = sightings.get(String(r._id)) ?? [];
      if (!list.some((s) => s.gen === lease.gen && s.owner === lease.owner))
        list.push({ owner: lease.owner, gen: lease.gen ?? 0, firstSeen: now, until: lease.until?.getTime() ?? 0 });
      else list.find((s) => s.gen === lease.gen && s.owner === lease.owner)!.until = lease.until?.getTime() ?? 0;
      sightings.set(String(r._id), list);
    }
    await new Promise((r) => setTimeout(r, 40));
  }
}

const workerOf = (owner: string) => workers.findIndex((w) => owner.startsWith(ownerPrefixOf(w.child.pid!)));

async function seed(email: string, count: number, seedNo: number): Promise<void> {
  const now = Date.now();
  const mail = await generateMailbox({
    owner: { email, name: email.split('@')[0] },
    count,
    seed: seedNo,
    startDate: new Date(now - 30 * 86_400_000),
    endDate: new Date(now - 60_000),
  });
  emu.google.control.seed(
    email,
    mail.map((m) => ({ raw: m.raw, labelIds: m.labelIds, date: m.date })),
  );
}

const exact = (box: Connected, timeoutMs: number) => caughtUpWith(db, box, () => gmailExpectedIds(emu, box.address), { timeoutMs, context });

/** messages.get calls per mailbox against the messages it holds (1.0: each fetched once). */
function fetchesPerMessage(address: string): number {
  const gets = emu.google.control.requests({ name: 'gmail.users.messages.get' }).filter((r) => r.group === address && r.status === 200).length;
  return gets / Math.max(1, gmailExpectedIds(emu, address).length);
}

beforeAll(async () => {
  emu = await startEmulators({ https: true, quiet: true });
  browser = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });
  const uri = new URL(process.env.MONGODB_URI!);
  uri.pathname = `/scaleout_${randomBytes(4).toString('hex')}`;
  dbUri = uri.toString();
  // 50 units/s per mailbox: an import of 150 messages takes ~15 s, long enough to kill a worker in the middle.
  const env = {
    ...emu.env,
    ...SECRETS,
    SYNC_POLL_SECONDS: '2',
    GMAIL_QUOTA_UNITS_PER_SECOND: '50',
    // Three mailboxes at a time each: one worker alone cannot take all six, so the test shows both sharing the work.
    SYNC_WORKER_CONCURRENCY: '3',
  };
  [apiProc] = await Promise.all([startServerProcess(env, ['--role', 'api'], { mongodbUri: dbUri })]);
  workers.push(...(await Promise.all([1, 2].map(() => startServerProcess(env, ['--role', 'worker'], { mongodbUri: dbUri })))));
  emu.google.control.configurePush({
    url: `${apiProc.url}/webhooks/gmail`,
    audience: emu.env.GOOGLE_PUSH_AUDIENCE,
    serviceAccountEmail: emu.env.GOOGLE_PUSH_SERVICE_ACCOUNT,
  });
  db = await openDatabase(dbUri);
  sampler = sampleLeases();
}, 120_000);

afterAll(async () => {
  sampling = false;
  await sampler;
  await Promise.all([apiProc, ...workers].map((p) => p?.stop()));
  await db?.close();
  await emu?.stop();
  process.stdout.write(`\nScale-out figures (1 API + 2 workers):\n${JSON.stringify(figures, null, 2)}\n`);
});

describe('one API process and two workers on one database', () => {
  const boxes: Connected[] = [];

  it('imports six mailboxes to live with exact counts, each mailbox worked by one worker at a time', async () => {
    const emails = [1, 2, 3, 4, 5, 6].map((i) => `rep${i}@${DOMAIN}`);
    for (const [i, e] of emails.entries()) await seed(e, 60 + 5 * i, 900 + i);
    for (const e of emails) boxes.push(await signInAndConnect(emu, apiProc.url, browser, { email: e }));
    const counts = [];
    for (const b of boxes) counts.push({ mailbox: b.address, ...(await exact(b, 90_000)), fetchesPerMessage: fetchesPerMessage(b.address) });
    const byWorker = [0, 0];
    let generationsWithTwoOwners = 0;
    for (const b of boxes) {
      const seen = sightings.get(b.mailboxId) ?? [];
      for (const s of seen) if (workerOf(s.owner) >= 0) byWorker[workerOf(s.owner)]++;
      const gens = new Map<number, Set<string>>();
      for (const s of seen) gens.set(s.gen, (gens.get(s.gen) ?? new Set()).add(s.owner));
      generationsWithTwoOwners += [...gens.values()].filter((o) => o.size > 1).length;
    }
    figures.import = {
      mailboxes: counts.map((c) => ({
        mailbox: c.mailbox,
        expected: c.expected,
        copies: c.copies,
        lost: c.lost,
        duplicated: c.duplicated,
        fetchesPerMessage: c.fetchesPerMessage,
      })),
      leaseRunsSeenByWorker: { worker1: byWorker[0], worker2: byWorker[1] },
      generationsWithTwoOwners,
    };
    for (const c of counts) {
      expect(c).toMatchObject({ lost: 0, duplicated: 0, extra: 0 });
      expect(c.copies).toBe(c.expected);
      expect(c.fetchesPerMessage).toBe(1);
    }
    expect(generationsWithTwoOwners).toBe(0);
    // Both workers took part.
    expect(byWorker[0]).toBeGreaterThan(0);
    expect(byWorker[1]).toBeGreaterThan(0);
  }, 150_000);

  it('sends each message queued through the API exactly once', async () => {
    const control = emu.google.control;
    const posted = await Promise.all(
      boxes.slice(0, 4).map((b, i) =>
        api(
          apiProc.url,
          b.token,
          'POST',
          '/api/messages',
          {
            mailboxId: b.mailboxId,
            to: [{ email: 'buyer@initech.com', name: 'Buyer' }],
            subject: `Quote ${i}`,
            text: `Quote number ${i}.`,
          },
          { 'Idempotency-Key': `scale-${i}-${randomBytes(4).toString('hex')}` },
        ),
      ),
    );
    expect(posted.map((p) => p.status)).toEqual([202, 202, 202, 202]);
    const { Types } = await import('mongoose');
    const entries = await wait(
      'all four sends to be sent',
      async () => {
        const es = await db
          .collection('outboxes')
          .find({ messageId: { $in: posted.map((p) => new Types.ObjectId(p.body.id as string)) } })
          .toArray();
        return es.length === 4 && es.every((e) => e.status === 'sent') ? es : null;
      },
      45_000,
    );
    // Each sent copy comes back through sync and is matched to the CRM message: one message, one copy.
    const midOf = (raw: Buffer) => /^Message-ID:\s*(\S+)/im.exec(raw.toString('latin1'))?.[1] ?? '';
    const rows = [];
    for (const e of entries) {
      const box = boxes.find((b) => b.mailboxId === String(e.mailboxId))!;
      const held = await wait(
        'the Sent copy to be matched',
        async () => {
          const f = await copyFigures(db, box.mailboxId, [String(e.internetMessageId)]);
          return f.lost === 0 ? f : null;
        },
        30_000,
      );
      const copiesOfOurs = (await db.collection('mailboxmessages').find({ mailboxId: e.mailboxId, messageId: e.messageId }).toArray()).length;
      rows.push({
        mailbox: box.address,
        providerSends: control.sends().filter((s) => midOf(s.raw) === e.internetMessageId).length,
        attempts: e.attempts,
        crmCopies: copiesOfOurs,
        duplicated: held.duplicated,
      });
    }
    figures.sends = rows;
    for (const r of rows) expect(r).toMatchObject({ providerSends: 1, crmCopies: 1, duplicated: 0 });
  }, 90_000);

  it('hands a killed worker’s mailboxes to the other worker once its lease expires, and they finish', async () => {
    const fresh = [7, 8].map((i) => `rep${i}@${DOMAIN}`);
    for (const [i, e] of fresh.entries()) await seed(e, 150, 970 + i);
    for (const e of fresh) boxes.push(await signInAndConnect(emu, apiProc.url, browser, { email: e }));
    const importing = boxes.slice(-2);
    // A worker in the middle of one of the new imports: some messages stored, the mailbox leased, not live yet.
    const target = await wait(
      'a worker mid-import',
      async () => {
        for (const b of importing) {
          const m = await mailboxRow(db, b.mailboxId);
          const stored = await db.collection('mailboxmessages').countDocuments({ mailboxId: m!._id });
          const w = m?.lease?.owner ? workerOf(m.lease.owner) : -1;
          if (m && m.state === 'backfilling' && w >= 0 && m.lease!.until!.getTime() > Date.now() && stored > 0) return { box: b, worker: w, stored };
        }
        return null;
      },
      30_000,
    );
    const victim = workers[target.worker];
    const survivor = workers[1 - target.worker];
    const killedAt = Date.now();
    await killHard(victim.child);
    const prefix = ownerPrefixOf(victim.child.pid!);
    const held = (
      await db
        .collection('mailboxes')
        .find({ 'lease.owner': { $regex: `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` } })
        .toArray()
    ).map((m) => ({ mailboxId: String(m._id), until: (m.lease.until as Date).getTime() }));

    const finished = [];
    for (const b of boxes) finished.push({ mailbox: b.address, ...(await exact(b, 150_000)) });
    // A live mailbox the dead worker was polling is taken over at the survivor's next look with a free slot, which
    // can come only after the imports it took over first have finished: wait for every one to be seen run again.
    const takenOver = (h: { mailboxId: string }) => (sightings.get(h.mailboxId) ?? []).some((s) => s.firstSeen >= killedAt && !s.owner.startsWith(prefix));
    await wait('every mailbox of the killed worker run again', async () => held.every(takenOver), 30_000).catch(() => undefined);
    // Taken over by the survivor, and never before the dead worker's lease ran out.
    const takeovers = held.map((h) => {
      const next = (sightings.get(h.mailboxId) ?? []).filter((s) => s.firstSeen >= killedAt && !s.owner.startsWith(prefix));
      const first = next[0];
      return {
        mailbox: boxes.find((b) => b.mailboxId === h.mailboxId)?.address,
        leaseExpiredAfterKillMs: h.until - killedAt,
        takenOverAfterKillMs: first ? first.firstSeen - killedAt : null,
        by: first ? (first.owner.startsWith(ownerPrefixOf(survivor.child.pid!)) ? 'survivor' : first.owner) : null,
        takenBeforeExpiry: first ? first.firstSeen < h.until : null,
      };
    });
    figures.takeover = {
      killedWorker: target.worker + 1,
      killedWhileStored: target.stored,
      mailboxesLeasedByTheDeadWorker: held.length,
      takeovers,
      finished: finished.map((f) => ({ mailbox: f.mailbox, expected: f.expected, copies: f.copies, lost: f.lost, duplicated: f.duplicated })),
    };
    expect(held.map((h) => h.mailboxId)).toContain(target.box.mailboxId);
    for (const t of takeovers) expect(t).toMatchObject({ by: 'survivor', takenBeforeExpiry: false });
    for (const f of finished) {
      expect(f).toMatchObject({ lost: 0, duplicated: 0, extra: 0 });
      expect(f.copies).toBe(f.expected);
    }
  }, 200_000);
});
