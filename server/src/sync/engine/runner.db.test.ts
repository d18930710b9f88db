import pino from 'pino';
import mongoose, { trusted } from 'mongoose';
import { useTestDatabase } from '../../../../test/helpers/db';
import { CountingOAuth, createMailbox, createOrg, vault, type Fixture } from '../../../../test/fakes/engine-fixture';
import { FakeMailbox, fakeAdapterFactory } from '../../../../test/fakes/fake-provider';
import { generateMailbox } from '../../../../test/emulators/common/generate';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { Mailbox, MailboxMessage, Message, Org, SyncEvent } from '../../models';
import type { MailboxDoc } from '../../models/mailbox';
import { ingestMessages } from '../ingest/store';
import { loadIngestContext } from '../ingest/context';
import { ProviderError } from '../providers/port';
import { acquireLease } from './lease';
import { MAX_RETRIES_IN_RUN } from './policy';
import { runMailboxOnce, type RunnerDeps } from './runner';
import { findDue, markDue, recordDue, signalDue, startWorkers } from './scheduler';
import { notePushHint, takePushHints } from './push-hints';
import { MAX_HINTED_MESSAGES } from '../providers/port';
import { createTokenSource } from './tokens';

useTestDatabase();

const boxes = new Map<string, FakeMailbox>();
const oauth = new CountingOAuth();
const deps = (over: Partial<RunnerDeps> = {}): RunnerDeps => ({
  owner: 'worker-a',
  adapterFor: fakeAdapterFactory(boxes),
  tokens: { vault, oauth: { google: oauth } },
  pollSeconds: 60,
  pageSize: 20,
  sleep: async () => {},
  random: () => 0.5,
  ...over,
});
const mailbox = (f: Fixture) => runAsSystem('test', () => Mailbox.findById(f.mailboxId).lean<MailboxDoc>());
const copies = (f: Fixture) => runInOrg(f.orgId, () => MailboxMessage.find({ mailboxId: f.mailboxId }).lean());

/** A fake mailbox of `count` generated messages from the last 30 days, its ids `m0…`. */
async function seeded(f: Fixture, count: number, seed = 1): Promise<FakeMailbox> {
  const box = new FakeMailbox();
  const now = Date.now();
  const mails = await generateMailbox({
    owner: { email: f.address, name: 'Owner' },
    count,
    seed,
    startDate: new Date(now - 30 * 86_400_000),
    endDate: new Date(now - 3_600_000),
  });
  mails.forEach((m, i) => box.add({ id: `m${i}`, threadId: m.threadKey, raw: m.raw, receivedAt: m.date, flags: { read: m.isRead }, labels: m.labelIds }));
  boxes.set(String(f.mailboxId), box);
  return box;
}

async function runUntilIdle(f: Fixture, d = deps(), max = 20): Promise<void> {
  for (let i = 0; i < max; i++) {
    const out = await runMailboxOnce(f.mailboxId, d);
    if (!out.moreWork) return;
  }
}

async function expectExactCopies(f: Fixture, box: FakeMailbox): Promise<void> {
  const stored = await copies(f);
  const ids = stored.map((c) => c.providerMessageId).sort();
  expect(ids).toEqual([...box.messages.keys()].sort());
  expect(new Set(ids).size).toBe(ids.length);
  const msgCount = await runInOrg(f.orgId, () => Message.countDocuments({}));
  expect(msgCount).toBe(new Set(stored.map((c) => String(c.messageId))).size);
}

describe('backfill', () => {
  it('imports newest first with progress persisted page by page, and resumes after a crash with 0 lost, 0 duplicated', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const box = await seeded(f, 120);
    // First worker: two pages, then the run ends (maxPagesPerRun) with the position persisted.
    const first = await runMailboxOnce(f.mailboxId, deps({ maxPagesPerRun: 2 }));
    expect(first).toMatchObject({ ran: true, moreWork: true, pages: 2 });
    let mb = await mailbox(f);
    expect(mb!.backfill).toMatchObject({ imported: 40, total: 120 });
    const stored = await copies(f);
    const newest = [...box.messages.values()]
      .sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime())
      .slice(0, 40)
      .map((m) => m.id);
    expect(stored.map((c) => c.providerMessageId).sort()).toEqual(newest.sort());

    // "Crash": the third page is stored, the worker dies before persisting its position and while holding the lease.
    const third = await box.adapter().changeSource.backfillPage({ since: new Date(0), position: mb!.backfill.position, pageSize: 20 });
    await ingestMessages(await loadIngestContext(mb!), third.upserts);
    await runAsSystem('test', () =>
      Mailbox.updateOne({ _id: f.mailboxId }, { $set: { 'lease.owner': 'dead-worker', 'lease.until': new Date(Date.now() + 60_000) } }),
    );
    expect(await runMailboxOnce(f.mailboxId, deps({ owner: 'worker-b' }))).toMatchObject({ ran: false, reason: 'leased' });
    await runAsSystem('test', () => Mailbox.updateOne({ _id: f.mailboxId }, { $set: { 'lease.until': new Date(Date.now() - 1) } }));

    await runUntilIdle(f, deps({ owner: 'worker-b' }));
    mb = await mailbox(f);
    expect(mb).toMatchObject({ stage: 'incremental', state: 'live', backfill: { imported: 120, total: 120 } });
    await expectExactCopies(f, box);
  });

  it('asks for the next page while it stores the current one, and still persists only what it stored', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const box = await seeded(f, 60, 5);
    // What the database says when each page is asked for: with read-ahead, page 2 is requested before page 1's
    // position is persisted (the provider works while we write), and page 3 before page 2's.
    const persistedAtCall: unknown[] = [];
    box.onCall = async (op) => {
      if (op === 'backfillPage') persistedAtCall.push((await mailbox(f))!.backfill.imported ?? 0);
    };
    const out = await runMailboxOnce(f.mailboxId, deps({ maxPagesPerRun: 2 }));
    box.onCall = null;
    expect(out).toMatchObject({ ran: true, moreWork: true, pages: 2 });
    // Two pages stored and two asked for: no third request beyond the run's page budget.
    expect(persistedAtCall).toEqual([0, 0]);
    const mb = await mailbox(f);
    expect(mb!.backfill).toMatchObject({ imported: 40 });
    expect(await copies(f)).toHaveLength(40);
    await runUntilIdle(f);
    await expectExactCopies(f, box);
  });

  it('finishes the import, progress included, when the cursor expires half-way through the backfill', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const box = await seeded(f, 50, 8);
    await runMailboxOnce(f.mailboxId, deps({ maxPagesPerRun: 1 }));
    expect((await mailbox(f))!.backfill).toMatchObject({ imported: 20, completedAt: null });
    box.failNext('backfillPage', new ProviderError('cursor_expired', 'sync state not found'));
    expect((await runMailboxOnce(f.mailboxId, deps())).action).toBe('resync');
    await runUntilIdle(f);
    expect(await mailbox(f)).toMatchObject({ stage: 'incremental', state: 'live', backfill: { imported: 50, total: 50, completedAt: expect.any(Date) } });
    await expectExactCopies(f, box);
  });

  it('misses nothing that changes during the backfill (cursor taken before listing, replayed after)', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const box = await seeded(f, 60, 2);
    let pages = 0;
    const lateRaw = Buffer.from(
      box.messages
        .get('m1')!
        .raw.toString()
        .replace(/Message-ID:\s*<[^>]+>/i, 'Message-ID: <late@x.com>'),
    );
    box.onCall = async (op) => {
      if (op !== 'backfillPage' || ++pages !== 2) return;
      box.add({ id: 'late', threadId: null, raw: lateRaw, receivedAt: new Date() });
      box.setState('m59', { flags: { starred: true } });
      box.delete('m58');
      box.delete('m0');
    };
    await runUntilIdle(f);
    box.onCall = null;
    await runUntilIdle(f);
    await expectExactCopies(f, box);
    const m59 = (await copies(f)).find((c) => c.providerMessageId === 'm59');
    expect(m59!.state.starred).toBe(true);
  });
});

describe('incremental', () => {
  let f: Fixture;
  let box: FakeMailbox;
  beforeAll(async () => {
    f = await createMailbox(await createOrg({ sync: { deletionPolicy: 'mirror' } }), 'owner@acme-corp.com');
    box = await seeded(f, 30, 3);
    await runUntilIdle(f);
  });

  it('applies new mail, deletions and state changes, and moves the cursor only forward', async () => {
    const before = (await mailbox(f))!.cursor as { state: { seq: number } };
    const raw = Buffer.from(
      box.messages
        .get('m3')!
        .raw.toString()
        .replace(/Message-ID:\s*<[^>]+>/i, 'Message-ID: <new-1@x.com>'),
    );
    box.add({ id: 'n1', threadId: 'tn', raw, receivedAt: new Date() });
    box.delete('m4');
    box.setState('m5', { flags: { read: true }, labelsAdded: ['Label_7'] });
    await markDue(f.mailboxId);
    await runMailboxOnce(f.mailboxId, deps());
    await expectExactCopies(f, box);
    const m5 = (await copies(f)).find((c) => c.providerMessageId === 'm5')!;
    expect(m5.state.read).toBe(true);
    expect(m5.labels).toContain('Label_7');
    const after = (await mailbox(f))!.cursor as { state: { seq: number } };
    expect(after.state.seq).toBeGreaterThan(before.state.seq);
    // A second run with nothing new leaves everything as it is.
    await runMailboxOnce(f.mailboxId, deps());
    expect(((await mailbox(f))!.cursor as { state: { seq: number } }).state.seq).toBe(after.state.seq);
  });

  it('recovers from an expired cursor by re-listing, with exact counts and no duplicates', async () => {
    for (let i = 0; i < 3; i++) {
      const raw = Buffer.from(
        box.messages
          .get('m6')!
          .raw.toString()
          .replace(/Message-ID:\s*<[^>]+>/i, `Message-ID: <gap-${i}@x.com>`),
      );
      box.add({ id: `gap${i}`, threadId: null, raw, receivedAt: new Date() });
    }
    box.delete('m7');
    box.delete('m8');
    box.expireCursors();
    const failed = await runMailboxOnce(f.mailboxId, deps());
    expect(failed.action).toBe('resync');
    expect((await mailbox(f))!.stage).toBe('resync');
    await runMailboxOnce(f.mailboxId, deps());
    expect(await mailbox(f)).toMatchObject({ stage: 'incremental', state: 'live' });
    await expectExactCopies(f, box);
    // And it continues from the fresh cursor.
    const raw = Buffer.from(
      box.messages
        .get('m9')!
        .raw.toString()
        .replace(/Message-ID:\s*<[^>]+>/i, 'Message-ID: <after@x.com>'),
    );
    box.add({ id: 'after', threadId: null, raw, receivedAt: new Date() });
    await runMailboxOnce(f.mailboxId, deps());
    await expectExactCopies(f, box);
  });

  it('records a poison message and skips it after a few tries without pinning the cursor', async () => {
    const raw = Buffer.from(
      box.messages
        .get('m10')!
        .raw.toString()
        .replace(/Message-ID:\s*<[^>]+>/i, 'Message-ID: <poison@x.com>'),
    );
    box.poisonIds.add('bad');
    box.add({ id: 'bad', threadId: null, raw, receivedAt: new Date() });
    const raw2 = Buffer.from(
      box.messages
        .get('m11')!
        .raw.toString()
        .replace(/Message-ID:\s*<[^>]+>/i, 'Message-ID: <fine-after-poison@x.com>'),
    );
    box.add({ id: 'fine', threadId: null, raw: raw2, receivedAt: new Date() });
    await runMailboxOnce(f.mailboxId, deps());
    expect((await copies(f)).some((c) => c.providerMessageId === 'fine')).toBe(true);
    expect((await mailbox(f))!.poison).toEqual([expect.objectContaining({ providerMessageId: 'bad', attempts: 1, skipped: false })]);
    await runMailboxOnce(f.mailboxId, deps());
    await runMailboxOnce(f.mailboxId, deps());
    expect((await mailbox(f))!.poison).toEqual([expect.objectContaining({ providerMessageId: 'bad', attempts: 3, skipped: true })]);
    const fetchesBefore = box.calls.filter((c) => c === 'fetchMessage').length;
    await runMailboxOnce(f.mailboxId, deps());
    expect(box.calls.filter((c) => c === 'fetchMessage').length).toBe(fetchesBefore); // skipped for good
    expect(await runAsSystem('t', () => SyncEvent.countDocuments({ mailboxId: f.mailboxId, kind: 'poison_skipped' }))).toBe(1);
    expect((await mailbox(f))!.state).toBe('live');
  });
});

describe('failures', () => {
  it('backs off on throttling, honours Retry-After, and persists it', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const box = await seeded(f, 10, 4);
    box.failNext('backfillPage', new ProviderError('throttled', 'slow down', { retryAfterMs: 120_000 }));
    const t0 = Date.now();
    const out = await runMailboxOnce(f.mailboxId, deps());
    expect(out.action).toBe('backoff');
    const mb = (await mailbox(f))!;
    expect(mb.state).toBe('throttled');
    expect(mb.backoffUntil!.getTime()).toBeGreaterThanOrEqual(t0 + 120_000);
    expect(mb.nextRunAt.getTime()).toBe(mb.backoffUntil!.getTime());
    expect(mb.lastError).toMatchObject({ code: 'throttled' });
    const calls = box.calls.length;
    expect(await runMailboxOnce(f.mailboxId, deps())).toMatchObject({ ran: false, reason: 'backing_off' });
    await markDue(f.mailboxId);
    expect((await findDue(new Date(), 10, new Set())).map(String)).not.toContain(String(f.mailboxId));
    expect(box.calls.length).toBe(calls);
  });

  it('a throttle without Retry-After backs off for about a second, an outage for longer, both growing while they last', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const box = await seeded(f, 10, 7);
    const waitOf = async (err: ProviderError, times = 1) => {
      box.failNext('backfillPage', err, times);
      const t0 = Date.now();
      await runMailboxOnce(f.mailboxId, deps({ random: () => 1 }));
      const until = (await mailbox(f))!.backoffUntil!.getTime();
      await runAsSystem('t', () => Mailbox.updateOne({ _id: f.mailboxId }, { $set: { backoffUntil: null, nextRunAt: new Date() } }));
      return { min: until - Date.now(), max: until - t0 };
    };
    // With the jitter at its top the wait is the exponential step itself: it lies between the two bounds.
    const within = (wait: { min: number; max: number }, ms: number) => {
      expect(wait.min).toBeLessThanOrEqual(ms);
      expect(wait.max).toBeGreaterThanOrEqual(ms);
    };
    within(await waitOf(new ProviderError('throttled', 'slow down')), 1_000);
    within(await waitOf(new ProviderError('throttled', 'slow down')), 2_000); // twice the step once it is told again
    // A provider outage that outlasts the in-run retries: its step is five times longer.
    within(await waitOf(new ProviderError('transient', '503'), 1 + MAX_RETRIES_IN_RUN), 5_000 * 4);
  });

  it('fails, backs off and says so when the adapter cannot be built, instead of crashing the run', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    await seeded(f, 3, 6);
    const refusing = deps({
      adapterFor: () => {
        throw new Error('GRAPH_API_URL must be https');
      },
    });
    const out = await runMailboxOnce(f.mailboxId, refusing);
    expect(out).toMatchObject({ ran: true, action: 'backoff' });
    const mb = (await mailbox(f))!;
    expect(mb.backoffUntil!.getTime()).toBeGreaterThan(Date.now());
    expect(mb.lastError).toMatchObject({ code: 'internal' });
    expect(await runMailboxOnce(f.mailboxId, refusing)).toMatchObject({ ran: false, reason: 'backing_off' });
  });

  it('retries transient errors within the run', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const box = await seeded(f, 10, 5);
    box.failNext('backfillPage', new ProviderError('transient', '503'), 2);
    await runUntilIdle(f);
    await expectExactCopies(f, box);
  });

  it('goes to reauth_required after one failed refresh and makes no further provider calls; other mailboxes go on', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'owner@acme-corp.com', { accessExpiresAt: new Date(Date.now() - 1000) });
    const other = await createMailbox(orgId, 'other@acme-corp.com');
    const box = await seeded(f, 5, 6);
    const otherBox = await seeded(other, 5, 7);
    const refreshes = oauth.refreshCalls;
    oauth.next = async () => {
      throw new ProviderError('auth_revoked', 'invalid_grant');
    };
    await runMailboxOnce(f.mailboxId, deps());
    oauth.next = null;
    expect(oauth.refreshCalls).toBe(refreshes + 1);
    const mb = (await mailbox(f))!;
    expect(mb.state).toBe('reauth_required');
    expect(mb.lastError!.message).toMatch(/withdrawn or expired/);
    expect(box.calls).toEqual([]);
    expect(await runMailboxOnce(f.mailboxId, deps())).toMatchObject({ ran: false, reason: 'halted' });
    expect(oauth.refreshCalls).toBe(refreshes + 1);
    expect((await findDue(new Date(), 50, new Set())).map(String)).not.toContain(String(f.mailboxId));
    await runUntilIdle(other);
    await expectExactCopies(other, otherBox);
  });

  it('refreshes an expired token once even when two runs ask at the same time', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com', { accessExpiresAt: new Date(Date.now() - 1000) });
    await seeded(f, 5, 8);
    const refreshes = oauth.refreshCalls;
    const a = createTokenSource({ _id: f.mailboxId, orgId: f.orgId, provider: 'google' }, { vault, oauth: { google: oauth }, owner: 'a' });
    const b = createTokenSource({ _id: f.mailboxId, orgId: f.orgId, provider: 'google' }, { vault, oauth: { google: oauth }, owner: 'b' });
    const tokens = await Promise.all([a.accessToken(), b.accessToken(), a.accessToken()]);
    expect(oauth.refreshCalls).toBe(refreshes + 1);
    expect(new Set(tokens).size).toBe(1);
  });
});

describe('scheduler', () => {
  it('runs due mailboxes, skips halted ones, and a markDue makes a mailbox due again at once', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'sched@acme-corp.com');
    const halted = await createMailbox(orgId, 'halted@acme-corp.com');
    const box = await seeded(f, 15, 11);
    await seeded(halted, 3, 12);
    await runAsSystem('t', () => Mailbox.updateOne({ _id: halted.mailboxId }, { $set: { state: 'paused' } }));
    const ran: string[] = [];
    const workers = startWorkers({ ...deps(), concurrency: 2, autoStart: false, onRun: (id) => ran.push(String(id)) });
    try {
      while (await workers.tick()) {
        /* until nothing is due */
      }
      expect(ran).toContain(String(f.mailboxId));
      expect(ran).not.toContain(String(halted.mailboxId));
      await expectExactCopies(f, box);
      const before = ran.length;
      await workers.markDue(f.mailboxId);
      await workers.tick();
      expect(ran.length).toBe(before + 1);
    } finally {
      await workers.stop();
    }
  });

  it('does not pick a mailbox again at once after its run crashed', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'owner@acme-corp.com');
    await seeded(f, 3, 7);
    // The run cannot even load its organisation: it throws out of runMailboxOnce.
    await runAsSystem('test', () => Org.deleteOne({ _id: orgId }));
    const errors: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    const workers = startWorkers({ ...deps(), concurrency: 1, autoStart: false, log });
    expect(await workers.tick()).toBe(1);
    expect(errors).toHaveLength(1);
    expect(await workers.tick()).toBe(0); // cooling down, though still due in the database
    expect((await findDue(new Date(), 10, new Set())).map(String)).toContain(String(f.mailboxId));
    await workers.stop();
  });

  it('idles without reading the mailboxes each look, and a due-mark from another process still starts a run at once', async () => {
    const orgId = await createOrg();
    const fs = await Promise.all([0, 1, 2].map((i) => createMailbox(orgId, `idle${i}@acme-corp.com`)));
    for (const [i, f] of fs.entries()) await seeded(f, 3, 30 + i);
    const ran: string[] = [];
    const looks: boolean[] = [];
    const until = async (ok: () => boolean) => {
      while (!ok()) await new Promise((r) => setImmediate(r));
    };
    // An api process beside it: the loop looks at the due signal every idleMs (alone it would sleep; next test).
    const processes = mongoose.connection.collection<{ _id: string; role: string; seenAt: Date }>('syncprocesses');
    await processes.updateOne({ _id: 'api-idle' }, { $set: { role: 'api', seenAt: new Date() } }, { upsert: true });
    const workers = startWorkers({
      ...deps(),
      concurrency: 2,
      idleMs: 2,
      rescanEveryMs: 60_000,
      onRun: (id) => ran.push(String(id)),
      onLook: (scanned) => looks.push(scanned),
    });
    try {
      await until(() => fs.every((f) => ran.includes(String(f.mailboxId))));
      // Runs are counted as they start: wait for each to have ended (its lease let go, its next run scheduled).
      for (const f of fs) {
        while ((await mailbox(f))?.lease?.owner || ((await mailbox(f))?.nextRunAt?.getTime() ?? 0) <= Date.now()) {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      // All live, next runs a minute away. Each run's end may cost a read or two (its end here, the due signal it
      // moved), whenever the looks fall; after that a hundred looks read nothing. A loop that read the mailboxes every
      // look (what this guards against) reads on every one of them.
      const from = looks.length;
      await until(() => looks.length >= from + 150);
      expect(looks.slice(from).filter(Boolean).length).toBeLessThanOrEqual(2 * fs.length);
      expect(looks.slice(from + 50).filter(Boolean)).toEqual([]);
      // An api process marks a mailbox due (the module's markDue, not these workers'): picked up on the next look.
      const before = ran.length;
      await markDue(fs[1].mailboxId);
      await until(() => ran.length > before);
      expect(ran[before]).toBe(String(fs[1].mailboxId));
    } finally {
      await workers.stop();
      await processes.deleteOne({ _id: 'api-idle' });
    }
  });

  it('reads the due signal on every look only while another process that can raise it is alive, and alone sleeps until its next deadline', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'alone@acme-corp.com');
    await seeded(f, 2, 51);
    const processes = mongoose.connection.collection<{ _id: string; role: string; seenAt: Date }>('syncprocesses');
    await processes.deleteMany({});
    // Earlier tests' mailboxes of this database are not to run meanwhile.
    await runAsSystem('test', () =>
      Mailbox.updateMany({ _id: trusted({ $ne: f.mailboxId }) }, { $set: { nextRunAt: new Date(Date.now() + 86_400_000), backoffUntil: null } }),
    );
    const ran: string[] = [];
    const looks: { scanned: boolean; at: number }[] = [];
    const scans = () => looks.filter((l) => l.scanned).length;
    const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
      const deadline = Date.now() + 20_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const rescanEveryMs = 800;
    const workers = startWorkers({
      ...deps(),
      concurrency: 1,
      idleMs: 2,
      rescanEveryMs,
      onRun: (id) => ran.push(String(id)),
      onLook: (scanned) => looks.push({ scanned, at: Date.now() }),
    });
    /** Another process's due-mark: written and signalled in the database only, as a process elsewhere does. */
    const markedElsewhere = async () => {
      await recordDue(f.mailboxId, new Date());
      await mongoose.connection.collection<{ _id: string; seq: number }>('syncsignals').updateOne({ _id: 'due' }, { $inc: { seq: 1 } }, { upsert: true });
    };
    try {
      await until('the first run', () => ran.length > 0);
      await until('live', async () => (await mailbox(f))?.state === 'live' && !(await mailbox(f))?.lease?.owner);
      expect(await processes.countDocuments({ _id: 'worker-a' })).toBe(1);

      // Alone, idle: the loop sleeps until its next deadline. Over two rescan intervals it wakes for its rescans and
      // its checks for other processes, a few times; looking every idleMs would be hundreds of looks.
      let from = looks.length;
      await sleep(2 * rescanEveryMs);
      expect(looks.length - from).toBeLessThanOrEqual(6);
      expect(looks.length - from).toBeGreaterThanOrEqual(1);

      // A signal from elsewhere is seen only with the next rescan.
      let before = ran.length;
      const scanned = scans();
      await until('a rescan', () => scans() > scanned);
      await sleep(50);
      from = looks.length;
      await markedElsewhere();
      await until('the run the rescan finds', () => ran.length > before);
      expect(looks.length - from).toBeLessThanOrEqual(2);

      // An api process beside it: from its next check for other processes on, a signal is seen on the very next look.
      await processes.updateOne({ _id: 'api-b' }, { $set: { role: 'api', seenAt: new Date() } }, { upsert: true });
      const scansThen = scans();
      await until('a rescan', () => scans() > scansThen + 1);
      await until('a quiet look', () => !looks[looks.length - 1].scanned);
      before = ran.length;
      from = looks.length;
      await markedElsewhere();
      await until('the run the signal starts', () => ran.length > before);
      expect(looks.slice(from).filter((l) => !l.scanned).length).toBeLessThan(20);

      // Alone again, a signal raised in this process wakes its sleeping loop at once, without waiting for a rescan.
      await processes.deleteMany({ _id: 'api-b' });
      const scansNow = scans();
      await until('two rescans', () => scans() > scansNow + 1);
      await sleep(50);
      before = ran.length;
      from = looks.length;
      const lastLook = looks[looks.length - 1].at;
      await recordDue(f.mailboxId, new Date());
      await signalDue();
      await until('the run a local signal starts', () => ran.length > before);
      expect(looks.length - from).toBeGreaterThanOrEqual(1);
      expect(looks[from].at - lastLook).toBeLessThan(rescanEveryMs / 2);
    } finally {
      await workers.stop();
    }
    expect(await processes.countDocuments({ _id: 'worker-a' })).toBe(0);
  });

  it('runs a mailbox again at once for a push that lands right after its run, without a look through every mailbox', async () => {
    // A look for due mailboxes reads every mailbox document on the embedded FerretDB: with a hundred mailboxes it is
    // what a push waited for, behind the run before it. A push must start its run without one, however it falls.
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'after@acme-corp.com');
    const other = await createMailbox(orgId, 'other@acme-corp.com');
    const box = await seeded(f, 3, 41);
    await seeded(other, 3, 42);
    const raw = [...box.messages.values()][0].raw;
    // Earlier tests' mailboxes of this database are not to run meanwhile: their runs would be looks of their own.
    await runAsSystem('test', () =>
      Mailbox.updateMany(
        { _id: trusted({ $nin: [f.mailboxId, other.mailboxId] }) },
        { $set: { nextRunAt: new Date(Date.now() + 86_400_000), backoffUntil: null } },
      ),
    );
    const outcomes: { id: string; ingested: number }[] = [];
    const looks: boolean[] = [];
    let onRun: ((id: string) => void) | null = null;
    const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
      const deadline = Date.now() + 20_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setImmediate(r));
      }
    };
    const workers = startWorkers({
      ...deps(),
      concurrency: 2,
      idleMs: 2,
      rescanEveryMs: 3_600_000,
      onLook: (scanned) => looks.push(scanned),
      onRun: (id, out) => {
        outcomes.push({ id: String(id), ingested: out.ingested });
        onRun?.(String(id));
      },
    });
    try {
      // Both live and settled: alone, the loop now sleeps until a poll is due (an hour away), or a push wakes it.
      await until('both mailboxes live', async () => (await Promise.all([f, other].map(mailbox))).every((m) => m?.state === 'live' && !m.lease?.owner));
      await new Promise((r) => setTimeout(r, 50));
      const quiet = looks.length;
      const runsOf = () => outcomes.filter((o) => o.id === String(f.mailboxId));

      // A push, whose run ends; the moment it has, the next message arrives and its push lands.
      const before = runsOf().length;
      onRun = (id) => {
        if (id !== String(f.mailboxId) || box.messages.has('after')) return;
        box.add({ id: 'after', threadId: null, raw, receivedAt: new Date() });
        void workers.markDue(f.mailboxId);
      };
      await workers.markDue(f.mailboxId);
      await until('the run after the run', () => runsOf().length >= before + 2);
      expect((await copies(f)).map((c) => c.providerMessageId)).toContain('after');

      // Pushes landing in every round of a run: it stops at its cap, due, and the next run starts as it ends.
      onRun = null;
      let pushes = 0;
      box.onCall = async (op) => {
        if (op !== 'changesSince' || pushes >= 5) return;
        pushes += 1;
        if (pushes === 5) box.add({ id: 'capped', threadId: null, raw, receivedAt: new Date() });
        await workers.markDue(f.mailboxId);
      };
      const mid = runsOf().length;
      await workers.markDue(f.mailboxId);
      await until('the message of the capped run', async () => (await copies(f)).some((c) => c.providerMessageId === 'capped'));
      await until('the run after the capped one', () => runsOf().length >= mid + 2);
      box.onCall = null;
      expect(looks.slice(quiet).filter(Boolean)).toEqual([]);
    } finally {
      await workers.stop();
    }
  });

  it('starts and stops its loop cleanly', async () => {
    const workers = startWorkers({ ...deps(), concurrency: 1, idleMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    await workers.stop();
  });
});

describe('leases', () => {
  it('gives a lease to exactly one of many concurrent claimants, and to another once it expired', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const now = new Date();
    const first = await Promise.all(Array.from({ length: 8 }, (_, i) => acquireLease(f.mailboxId, `w${i}`, 60, now)));
    expect(first.filter(Boolean)).toHaveLength(1);
    expect(await acquireLease(f.mailboxId, 'late', 60, new Date(now.getTime() + 30_000))).toBeNull();
    const later = await Promise.all(Array.from({ length: 8 }, (_, i) => acquireLease(f.mailboxId, `x${i}`, 60, new Date(now.getTime() + 61_000))));
    expect(later.filter(Boolean)).toHaveLength(1);
  });

  it('never lets two workers process one mailbox at once', async () => {
    const f = await createMailbox(await createOrg(), 'owner@acme-corp.com');
    const box = await seeded(f, 40, 9);
    const [a, b] = await Promise.all([runMailboxOnce(f.mailboxId, deps({ owner: 'a' })), runMailboxOnce(f.mailboxId, deps({ owner: 'b' }))]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
    expect(box.maxInFlight).toBe(1);
    await runUntilIdle(f);
    await expectExactCopies(f, box);
  });
});

describe('live only when push is up and caught up', () => {
  it('starts push before its last read from the cursor, and reports live only after both', async () => {
    const f = await createMailbox(await createOrg(), 'order@acme-corp.com');
    const box = await seeded(f, 30);
    box.pushEnabled = true;
    const statesAtPushStart: string[] = [];
    box.onCall = async (op) => {
      if (op === 'pushStart') statesAtPushStart.push((await mailbox(f))!.state);
    };
    await runUntilIdle(f);
    const mb = await mailbox(f);
    expect(mb).toMatchObject({ stage: 'incremental', state: 'live' });
    expect(statesAtPushStart).toEqual(['backfilling']);
    const pushAt = box.calls.indexOf('pushStart');
    expect(pushAt).toBeGreaterThan(box.calls.lastIndexOf('backfillPage'));
    expect(box.calls.lastIndexOf('changesSince')).toBeGreaterThan(pushAt);
    await expectExactCopies(f, box);
  });

  it('catches up what changed between the import and the watch in the same run, not at the next poll', async () => {
    const f = await createMailbox(await createOrg(), 'gap@acme-corp.com');
    const box = await seeded(f, 10);
    box.pushEnabled = true;
    const [first] = [...box.messages.keys()];
    // Mail read and a new message arriving while the last backfill page is listed: before any watch exists.
    box.onCall = (op) => {
      if (op !== 'backfillPage' || box.messages.has('late')) return;
      box.setState(first, { flags: { read: true } });
      box.add({ id: 'late', threadId: null, raw: [...box.messages.values()][0].raw, receivedAt: new Date() });
    };
    const out = await runMailboxOnce(f.mailboxId, deps());
    expect(out.moreWork).toBe(false);
    expect((await mailbox(f))!.state).toBe('live');
    const stored = await copies(f);
    expect(stored.map((c) => c.providerMessageId)).toContain('late');
    expect(stored.find((c) => c.providerMessageId === first)?.state?.read).toBe(true);
  });
});

describe('a push that lands while a run works', () => {
  it('makes the run go round again at once, and leaves the mailbox due if it lands after the last round', async () => {
    const f = await createMailbox(await createOrg(), 'midrun@acme-corp.com');
    const box = await seeded(f, 5);
    await runUntilIdle(f);
    const raw = [...box.messages.values()][0].raw;
    // During the next run's read: a message arrives and its push is received (the mailbox is already due).
    let pushed = false;
    box.onCall = async (op) => {
      if (op !== 'changesSince' || pushed) return;
      pushed = true;
      box.add({ id: 'during', threadId: null, raw, receivedAt: new Date() });
      await markDue(f.mailboxId);
    };
    await runAsSystem('test', () => Mailbox.updateOne({ _id: f.mailboxId }, { $set: { nextRunAt: new Date(Date.now() - 1000) } }));
    const before = box.calls.filter((c) => c === 'changesSince').length;
    await runMailboxOnce(f.mailboxId, deps());
    expect(box.calls.filter((c) => c === 'changesSince').length - before).toBe(2);
    expect((await copies(f)).map((c) => c.providerMessageId)).toContain('during');
    // Not deferred by a poll: the next run time is the poll only because nothing came after the last round.
    expect((await mailbox(f))!.nextRunAt.getTime()).toBeGreaterThan(Date.now() + 30_000);

    // Pushes that keep landing in every round: the run stops after its cap and leaves the mailbox due.
    await runAsSystem('test', () => Mailbox.updateOne({ _id: f.mailboxId }, { $set: { nextRunAt: new Date(Date.now() - 1000) } }));
    box.onCall = async (op) => {
      if (op === 'changesSince') await markDue(f.mailboxId);
    };
    const rounds = box.calls.filter((c) => c === 'changesSince').length;
    await runMailboxOnce(f.mailboxId, deps());
    expect(box.calls.filter((c) => c === 'changesSince').length - rounds).toBe(5);
    expect((await mailbox(f))!.nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe('push hints travel with the due-mark in MongoDB', () => {
  it('notes hints from any process, hands them to one round, and falls back to a full round past the cap', async () => {
    const f = await createMailbox(await createOrg(), 'hints@acme-corp.com');
    expect(await takePushHints(String(f.mailboxId))).toBeNull();
    await notePushHint(f.mailboxId, ['msg-1']);
    await notePushHint(f.mailboxId, ['msg-2', 'msg-3', 'msg-2']);
    await notePushHint(f.mailboxId, ['msg-1']);
    expect((await takePushHints(String(f.mailboxId)))?.sort()).toEqual(['msg-1', 'msg-2', 'msg-3']);
    expect(await takePushHints(String(f.mailboxId))).toBeNull();
    for (let i = 0; i <= MAX_HINTED_MESSAGES; i++) await notePushHint(f.mailboxId, [`m-${i}`]);
    expect(await takePushHints(String(f.mailboxId))).toBeNull();
    // One webhook's worth at once: past the cap in a single note is a full round too.
    await notePushHint(f.mailboxId, ['first']);
    await notePushHint(
      f.mailboxId,
      Array.from({ length: MAX_HINTED_MESSAGES }, (_, i) => `n-${i}`),
    );
    expect(await takePushHints(String(f.mailboxId))).toBeNull();
    const mb = await mailbox(f);
    expect(mb!.pushHints).toMatchObject({ ids: [], count: 0, overflow: false });
  });
});

describe('progress that adds up', () => {
  it('counts a message the import could not fetch at first once it is in: imported equals what is stored', async () => {
    const f = await createMailbox(await createOrg(), 'count@acme-corp.com');
    const box = await seeded(f, 45);
    box.poisonIds.add('m7');
    await runUntilIdle(f);
    expect((await mailbox(f))!.backfill).toMatchObject({ imported: 44, total: 44 });
    box.poisonIds.delete('m7');
    await runAsSystem('test', () => Mailbox.updateOne({ _id: f.mailboxId }, { $set: { nextRunAt: new Date(Date.now() - 1000) } }));
    await runMailboxOnce(f.mailboxId, deps());
    await runMailboxOnce(f.mailboxId, deps());
    expect((await mailbox(f))!.backfill).toMatchObject({ imported: 45, total: 45 });
    expect(await copies(f)).toHaveLength(45);
  });
});
