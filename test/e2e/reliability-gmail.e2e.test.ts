/**
 * Reliability of Gmail sync (docs/PERFORMANCE.md "Reliability checks"), through the real server process (API + workers)
 * against the Gmail emulator over https, each scenario one a user would recognise, each printing its figures:
 *
 *   1. 20% 5xx + connection resets + a quota below ours during the import → live, 0 lost, 0 duplicated, Retry-After kept.
 *   2. kill -9 of the server at three random moments of an import, restarted on the same database → 0 lost, 0 duplicated.
 *   3. kill -9 during a send (at once after the 202; and the moment Gmail accepted it) → sent once, one CRM message.
 *   4. duplicate, stale, reordered and dropped pushes while mail arrives → no duplicates, all present, cursor never back.
 *   5. history expired while mail arrives and is deleted → recovered to live, 0 lost, 0 duplicated, deletions applied.
 *   6. a revoked grant → reauth_required after one failed refresh, no further calls, a teammate's mailbox unaffected.
 *
 * Counts are read from the server's database (tests/helpers/sync-wait.ts), which works between a kill and a restart.
 * A dead process's leases are expired in the database right after its kill -9 (expireLeasesOf: only leases held by
 * that pid), to skip the lease wait of up to a minute; test/e2e/scale-out.e2e.test.ts waits for a real expiry.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Types, type Connection } from 'mongoose';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createRng } from '../emulators/common/faults';
import { createNodeFetch } from '../emulators/common/fetch';
import { generateMailbox, generateMessage } from '../emulators/common/generate';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import {
  api,
  caughtUpWith,
  countsOf,
  copyFigures,
  cursorOf,
  gmailExpectedIds,
  isLive,
  mailboxRow,
  openDatabase,
  restartAfterKill,
  signIn,
  signInAndConnect,
  until,
  type Connected,
} from '../helpers/sync-wait';

const POLL_SECONDS = 2;
/** The same secrets for every start: a restarted server must open the tokens and sessions of the one before. */
const SECRETS = { JWT_SECRET: randomBytes(36).toString('base64url'), TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64') };

let emu: RunningEmulators;
let browser: typeof fetch;
let server: ServerProcess;
let dbUri: string;
let db: Connection;
const figures: Record<string, unknown> = {};

const context = () => `--- server output (tail) ---\n${server?.output().slice(-3000) ?? ''}`;
const wait = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) => until(what, probe, { timeoutMs, context });

async function startServer(): Promise<void> {
  server = await startServerProcess({ ...emu.env, ...SECRETS, SYNC_POLL_SECONDS: String(POLL_SECONDS) }, [], { mongodbUri: dbUri });
  emu.google.control.configurePush({
    url: `${server.url}/webhooks/gmail`,
    audience: emu.env.GOOGLE_PUSH_AUDIENCE,
    serviceAccountEmail: emu.env.GOOGLE_PUSH_SERVICE_ACCOUNT,
  });
}

/** kill -9, then a restart with the same environment and database. */
const crashAndRestart = () => restartAfterKill(server, db, startServer);

async function seedMailbox(owner: { email: string; name: string }, count: number, seed: number): Promise<string[]> {
  const now = Date.now();
  const mail = await generateMailbox({ owner, count, seed, startDate: new Date(now - 30 * 86_400_000), endDate: new Date(now - 60_000) });
  emu.google.control.seed(
    owner.email,
    mail.map((m) => ({ raw: m.raw, labelIds: m.labelIds, date: m.date })),
  );
  return mail.map((m) => m.messageId);
}

const connect = (who: { email: string }) => signInAndConnect(emu, server.url, browser, who);

/** Live, and holding exactly what Gmail holds: returns the figures. */
const caughtUp = (box: Connected, timeoutMs = 60_000) => caughtUpWith(db, box, () => gmailExpectedIds(emu, box.address), { timeoutMs, context });

beforeAll(async () => {
  emu = await startEmulators({ https: true, quiet: true });
  browser = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });
  const uri = new URL(process.env.MONGODB_URI!);
  uri.pathname = `/reliability_${randomBytes(4).toString('hex')}`;
  dbUri = uri.toString();
  await startServer();
  db = await openDatabase(dbUri);
}, 120_000);

afterAll(async () => {
  emu?.google.control.clearFaults();
  await server?.stop();
  await db?.close();
  await emu?.stop();
  process.stdout.write(`\nReliability figures (Gmail):\n${JSON.stringify(figures, null, 2)}\n`);
});

describe('Gmail sync under faults, crashes and hostile pushes', () => {
  it('imports through 20% server errors, connection resets and a tight quota with exact counts', async () => {
    const owner = { email: 'ada@faults-robotics.com', name: 'Ada Faults' };
    await seedMailbox(owner, 120, 101);
    const box = await connect(owner);
    // From here on (the OAuth dance is done): one request in five answered 500/503 (Retry-After: 1 on the 503s),
    // a few connections reset, and Gmail's quota below the 100 units/s the server paces itself to.
    const control = emu.google.control;
    control.resetLogs();
    control.setFaults({ errorRate: 0.2, resetRate: 0.05, retryAfterSeconds: 1, seed: 4242 });
    control.setQuota({ unitsPerSecond: 70 });
    const started = Date.now();
    let f;
    let faults;
    try {
      f = await caughtUp(box, 120_000);
    } finally {
      faults = control.faultCounters(); // clearFaults() resets them
      control.clearFaults();
      control.setQuota({ unitsPerSecond: 250 });
    }
    const log = control.requests().filter((r) => r.group === box.address);
    // Retry-After: after a 503 carrying "Retry-After: 1", the same request must not come back within that second,
    // counted from the 503's arrival: an injected 503 is answered at once, and the recorder's endedAt comes from the
    // emulator's 'finish' event, which a busy test process may run after the client already has the answer.
    let sameRequestViolations = 0;
    const violations: Array<{ answered503: (typeof log)[number]; resent: (typeof log)[number] }> = [];
    let mailboxWideEarly = 0;
    for (const e of log.filter((r) => r.status === 503)) {
      const notBefore = e.startedAt + 1000;
      const key = `${e.method} ${e.path} ${JSON.stringify(e.query)}`;
      for (const later of log) {
        if (later.seq <= e.seq || later.startedAt >= notBefore) continue;
        if (later.startedAt < (e.endedAt ?? e.startedAt)) continue; // dispatched before the answer arrived
        if (`${later.method} ${later.path} ${JSON.stringify(later.query)}` === key) {
          sameRequestViolations++;
          if (violations.length < 3) violations.push({ answered503: e, resent: later });
        } else mailboxWideEarly++;
      }
    }
    const quota = control.quota().usage[box.address];
    figures.faults = {
      seeded: 120,
      ...countsOf(f),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      requests: log.length,
      injected: faults,
      quotaRejected: quota?.rejected ?? 0,
      quotaPeakUnitsPerSecond: quota?.peakUnitsPerSecond ?? 0,
      retryAfterViolations: sameRequestViolations,
      ...(violations.length > 0 ? { retryAfterViolationsSeen: violations } : {}),
      otherRequestsOfTheMailboxWithinRetryAfter: mailboxWideEarly,
    };
    expect(faults.errors500 + faults.errors503).toBeGreaterThan(0);
    expect(faults.resets).toBeGreaterThan(0);
    expect(quota?.rejected ?? 0).toBeGreaterThan(0);
    expect(f).toMatchObject({ expected: 120, copies: 120, messages: 120, lost: 0, duplicated: 0, extra: 0 });
    // Retry-After never violated (docs/PERFORMANCE.md "Reliability checks"). A 503's Retry-After pauses the whole
    // mailbox (gmail/client.ts); the other requests counted above were dispatched by the client before it could have
    // read that answer.
    expect(sameRequestViolations).toBe(0);
  }, 150_000);

  it('survives kill -9 at three random moments of an import: 0 lost, 0 duplicated', async () => {
    const owner = { email: 'ada@crash-robotics.com', name: 'Ada Crash' };
    // Three backfill pages of 250 (gmail/change-source.ts), so the kills fall between pages as well as within them.
    await seedMailbox(owner, 600, 202);
    // Requests a little slow, so that the import spans the kills.
    emu.google.control.setFaults({ delayMs: 40 });
    const box = await connect(owner);
    const rng = createRng(2024);
    const kills: { afterMs: number; state: string; imported: number; copies: number }[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        // Kill 1 while the first page is fetched, kill 2 once it is stored (fetching or storing the second), kill 3
        // while the restarted server replays; each at a random moment after that point.
        const seqAtStart = emu.google.control.requestCounters().total;
        await wait('the import to be running', async () =>
          emu.google.control.requests({ sinceSeq: seqAtStart }).some((r) => r.group === box.address && r.name.endsWith('messages.get')),
        );
        if (i === 1)
          await wait(
            'the first page to be stored',
            async () => (await db.collection('mailboxmessages').countDocuments({ mailboxId: new Types.ObjectId(box.mailboxId) })) > 0,
          );
        const afterMs = Math.floor(rng() * (i === 1 ? 300 : 1500));
        await new Promise((r) => setTimeout(r, afterMs)); // the random moment (not a wait for a condition)
        const m = await mailboxRow(db, box.mailboxId);
        const copies = await db.collection('mailboxmessages').countDocuments({ mailboxId: m!._id });
        kills.push({ afterMs, state: m!.state, imported: m!.backfill?.imported ?? 0, copies });
        await crashAndRestart();
      }
    } finally {
      emu.google.control.clearFaults();
    }
    const f = await caughtUp(box, 90_000);
    const mb = await api(server.url, await signIn(emu, server.url, owner.email), 'GET', '/api/mailboxes');
    const view = mb.body.mailboxes.find((x: { id: string }) => x.id === box.mailboxId);
    figures.killDuringImport = { seeded: 600, kills, ...countsOf(f), progress: view.progress };
    expect(kills.filter((k) => k.state !== 'live')).toHaveLength(3);
    expect(f).toMatchObject({ expected: 600, copies: 600, messages: 600, lost: 0, duplicated: 0, extra: 0 });
    expect(view).toMatchObject({ state: 'live', progress: { imported: 600, total: 600 } });
  }, 180_000);

  it('sends exactly once when the server is killed during a send', async () => {
    const owner = { email: 'ada@crash-robotics.com' };
    const session = () => signIn(emu, server.url, owner.email); // sessions name the server's URL: one per (re)start
    const token = await session();
    const list = await api(server.url, token, 'GET', '/api/mailboxes');
    const mailboxId = list.body.mailboxes.find((m: { address: string }) => m.address === owner.email).id as string;
    const control = emu.google.control;
    const midOf = (raw: Buffer) => /^Message-ID:\s*(\S+)/im.exec(raw.toString('latin1'))?.[1] ?? '';
    const results: Record<string, unknown>[] = [];

    for (const when of ['at once after the 202', 'the moment Gmail accepted it'] as const) {
      const sendsBefore = control.sends().length;
      const post = await api(
        server.url,
        await session(),
        'POST',
        '/api/messages',
        {
          mailboxId,
          to: [{ email: 'bill@initech.com', name: 'Bill' }],
          subject: `Order confirmation (${when})`,
          text: 'Confirmed.',
        },
        { 'Idempotency-Key': randomBytes(8).toString('hex') },
      );
      expect(post.status).toBe(202);
      if (when === 'the moment Gmail accepted it') {
        await until('Gmail to accept the send', async () => control.sends().length > sendsBefore, { timeoutMs: 15_000, everyMs: 1 });
      }
      const crmId = post.body.id as string;
      const entry = await db.collection('outboxes').findOne({ messageId: new Types.ObjectId(crmId) });
      const statusAtKill = entry?.status;
      await crashAndRestart();
      // The dead process's outbox lease (2 minutes) is skipped like its mailbox leases: it can no longer send.
      await db.collection('outboxes').updateMany({ _id: entry!._id, status: { $in: ['queued', 'sending'] } }, { $set: { 'lease.until': new Date() } });
      const internetMessageId = String(entry!.internetMessageId);
      const done = await wait(
        'the outbox entry to be sent',
        async () => {
          const e = await db.collection('outboxes').findOne({ _id: entry!._id });
          return e?.status === 'sent' ? e : null;
        },
        40_000,
      );
      // The Sent copy comes back through sync and is matched: one message, one copy in the mailbox.
      const held = await wait(
        'the synced-back Sent copy to be matched',
        async () => {
          const copies = await db
            .collection('mailboxmessages')
            .find({ mailboxId: new Types.ObjectId(mailboxId), providerMessageId: done.providerMessageId })
            .toArray();
          const messages = await db
            .collection('messages')
            .find({ internetMessageId: { $in: [internetMessageId, internetMessageId.replace(/^<|>$/g, '')] } })
            .toArray();
          return copies.length >= 1 && (await isLive(db, mailboxId))
            ? { copies: copies.length, messages: messages.length, copyPointsAt: String(copies[0].messageId) }
            : null;
        },
        30_000,
      );
      const sentCopies = control.sends().filter((s) => midOf(s.raw) === internetMessageId);
      results.push({
        killed: when,
        outboxStatusAtKill: statusAtKill,
        providerSends: sentCopies.length,
        crmMessages: held.messages,
        mailboxCopies: held.copies,
        sameCrmMessage: held.copyPointsAt === crmId,
      });
      expect(sentCopies).toHaveLength(1);
      expect(held).toEqual({ copies: 1, messages: 1, copyPointsAt: crmId });
    }
    figures.killDuringSend = results;
  }, 150_000);

  it('takes duplicate, stale, reordered and dropped pushes: every new message once, cursor never back', async () => {
    const owner = { email: 'ada@push-robotics.com', name: 'Ada Push' };
    await seedMailbox(owner, 60, 303);
    const box = await connect(owner);
    await caughtUp(box);
    const control = emu.google.control;
    const staleHistoryId = cursorOf(await mailboxRow(db, box.mailboxId));
    const pushesBefore = control.pushes().length;
    control.configurePush({ rateLimit: 'off', dropRate: 0.3, duplicateRate: 0.5, reorderWindowMs: 1500, seed: 77 });

    // Sample the stored cursor all along: it must never go down.
    let sampling = true;
    let samples = 0;
    let backwards = 0;
    let highest = 0;
    const sampler = (async () => {
      while (sampling) {
        const c = cursorOf(await mailboxRow(db, box.mailboxId));
        if (Number.isFinite(c)) {
          samples++;
          if (c < highest) backwards++;
          highest = Math.max(highest, c);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    const fresh: string[] = [];
    let staleSent = 0;
    const stalePush = async () => {
      const tokenFor = await control.mintPushToken(emu.env.GOOGLE_PUSH_AUDIENCE, emu.env.GOOGLE_PUSH_SERVICE_ACCOUNT);
      const data = Buffer.from(JSON.stringify({ emailAddress: owner.email, historyId: staleHistoryId })).toString('base64');
      const res = await fetch(`${server.url}/webhooks/gmail`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor}` },
        body: JSON.stringify({
          message: { data, messageId: `stale-${staleSent}`, publishTime: new Date().toISOString() },
          subscription: 'projects/threadline-test/subscriptions/gmail-push',
        }),
      });
      staleSent++;
      return res.status;
    };
    const staleStatuses: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const m = await generateMessage({ owner, from: { email: `buyer${i}@initech.com`, name: `Buyer ${i}` }, subject: `Order ${i}`, seed: 5000 + i });
        fresh.push(m.messageId);
        control.deliver(owner.email, m.raw);
        if (i % 4 === 0) staleStatuses.push(await stalePush());
        await new Promise((r) => setTimeout(r, 100)); // mail arriving over a couple of seconds (pacing, not a wait)
      }
      const f = await caughtUp(box, 45_000);
      // Caught up: the cursor reaches Gmail's current historyId (the poll makes up for the dropped pushes).
      await wait('the cursor to catch up', async () => cursorOf(await mailboxRow(db, box.mailboxId)) >= control.historyId(owner.email));
      const present = await copyFigures(db, box.mailboxId, fresh);
      const pushes = control
        .pushes()
        .slice(pushesBefore)
        .filter((p) => p.emailAddress === owner.email);
      figures.pushes = {
        newMessages: fresh.length,
        newPresent: fresh.length - present.lost,
        ...countsOf(f),
        pushesDelivered: pushes.filter((p) => p.outcome === 'delivered').length,
        duplicatesDelivered: pushes.filter((p) => p.duplicate).length,
        droppedBySwitch: pushes.filter((p) => p.outcome === 'dropped-switch').length,
        stalePushesSent: staleSent,
        staleStatuses,
        cursorSamples: samples,
        cursorWentBackwards: backwards,
        cursorStart: staleHistoryId,
        cursorEnd: highest,
      };
      expect(pushes.some((p) => p.duplicate)).toBe(true);
      expect(pushes.some((p) => p.outcome === 'dropped-switch')).toBe(true);
      expect(present.lost).toBe(0);
      expect(f).toMatchObject({ lost: 0, duplicated: 0, extra: 0 });
      expect(staleStatuses.every((s) => s >= 200 && s < 300)).toBe(true);
    } finally {
      sampling = false;
      await sampler;
      control.configurePush({ rateLimit: 'drop', dropRate: 0, duplicateRate: 0, reorderWindowMs: 0 });
    }
    expect(samples).toBeGreaterThan(10);
    expect(backwards).toBe(0);
  }, 90_000);

  it('recovers from expired history with deletions applied: 0 lost, 0 duplicated', async () => {
    const owner = { email: 'ada@expiry-robotics.com', name: 'Ada Expiry' };
    await seedMailbox(owner, 80, 404);
    const box = await connect(owner);
    await caughtUp(box);
    const control = emu.google.control;
    const cursorBefore = cursorOf(await mailboxRow(db, box.mailboxId));
    const eventsBefore = await db.collection('syncevents').countDocuments({ mailboxId: (await mailboxRow(db, box.mailboxId))!._id, kind: 'resynced' });
    // In one go (the server cannot look in between): new mail, deletions in Gmail, then history forgotten.
    const listed = control.messages(owner.email).filter((m) => !m.labelIds.includes('SENT'));
    const deleted = listed.slice(0, 3);
    const trashed = listed.slice(3, 5);
    for (const m of deleted) control.act(owner.email, m.id, 'delete');
    for (const m of trashed) control.act(owner.email, m.id, 'trash');
    const arrivals: string[] = [];
    for (let i = 0; i < 8; i++) {
      const m = await generateMessage({ owner, from: { email: `ops${i}@initech.com`, name: `Ops ${i}` }, subject: `Ticket ${i}`, seed: 7000 + i });
      arrivals.push(m.messageId);
      control.deliver(owner.email, m.raw);
    }
    control.expireHistory(owner.email);

    const f = await caughtUp(box, 60_000);
    const mailboxOid = (await mailboxRow(db, box.mailboxId))!._id;
    const resynced = await wait('the resync to be recorded', async () => {
      const n = await db.collection('syncevents').countDocuments({ mailboxId: mailboxOid, kind: 'resynced' });
      return n > eventsBefore
        ? db
            .collection('syncevents')
            .find({ mailboxId: mailboxOid, kind: { $in: ['cursor_expired', 'resynced'] } })
            .toArray()
        : null;
    });
    const goneIds = [...deleted, ...trashed].map((m) => m.messageIdHeader);
    const stillHeld = await copyFigures(db, box.mailboxId, goneIds);
    const arrived = await copyFigures(db, box.mailboxId, arrivals);
    figures.historyExpired = {
      ...countsOf(f),
      newArrived: arrivals.length - arrived.lost,
      deletedInGmail: goneIds.length,
      deletedStillHeld: goneIds.length - stillHeld.lost,
      events: resynced.map((e) => ({ kind: e.kind, ...e.detail })),
      cursorBefore,
      cursorAfter: cursorOf(await mailboxRow(db, box.mailboxId)),
    };
    expect(resynced.some((e) => e.kind === 'cursor_expired')).toBe(true);
    expect(f).toMatchObject({ expected: 80 - 5 + 8, copies: 83, lost: 0, duplicated: 0, extra: 0 });
    expect(arrived.lost).toBe(0);
    expect(stillHeld.lost).toBe(goneIds.length);
  }, 90_000);

  it('stops calling Gmail for a revoked grant after one failed refresh; a teammate keeps syncing', async () => {
    const ada = { email: 'ada@revoke-robotics.com', name: 'Ada Revoked' };
    const bob = { email: 'bob@revoke-robotics.com', name: 'Bob Stays' };
    await seedMailbox(ada, 60, 505);
    await seedMailbox(bob, 60, 606);
    const adaBox = await connect(ada);
    const bobBox = await connect(bob);
    await caughtUp(adaBox);
    await caughtUp(bobBox);
    const control = emu.google.control;
    const idBefore = control.identityCounters();
    control.revokeUser(ada.email);

    const halted = await wait(
      'ada to need reauthorisation',
      async () => {
        const m = await mailboxRow(db, adaBox.mailboxId);
        return m?.state === 'reauth_required' ? m : null;
      },
      30_000,
    );
    const idAtHalt = control.identityCounters();
    const seq = control.requestCounters().total;
    const haltedAt = Date.now();

    // Mail keeps arriving for both; bob's has to show up, and bob's mailbox has to run a few more poll rounds.
    const forBob = await generateMessage({ owner: bob, from: { email: 'carol@initech.com', name: 'Carol' }, subject: 'Still here', seed: 8001 });
    const forAda = await generateMessage({ owner: ada, from: { email: 'carol@initech.com', name: 'Carol' }, subject: 'Unseen', seed: 8002 });
    control.deliver(bob.email, forBob.raw);
    control.deliver(ada.email, forAda.raw);
    await wait('bob to receive his new mail', async () => (await copyFigures(db, bobBox.mailboxId, [forBob.messageId])).lost === 0, 30_000);
    await wait(
      'three more poll intervals of bob syncing',
      async () => {
        const m = await db.collection('mailboxes').findOne({ _id: (await mailboxRow(db, bobBox.mailboxId))!._id });
        return m?.lastSyncedAt && m.lastSyncedAt.getTime() > haltedAt + 3 * POLL_SECONDS * 1000;
      },
      30_000,
    );

    const after = control.requests({ sinceSeq: seq });
    // A revoked token no longer names its user (the emulator forgot it): count those as ada's too.
    const gmailCallsForAda = after.filter((r) => r.path.startsWith('/gmail/') && (r.group === ada.email || r.group === undefined)).length;
    const tokenCalls = after.filter((r) => r.path === '/token').length;
    const bobCalls = after.filter((r) => r.group === bob.email).length;
    const view = (await api(server.url, await signIn(emu, server.url, ada.email), 'GET', '/api/mailboxes')).body.mailboxes.find(
      (m: { id: string }) => m.id === adaBox.mailboxId,
    );
    figures.revoked = {
      failedRefreshes: idAtHalt.invalidGrants - idBefore.invalidGrants,
      refreshesBeforeHalt: idAtHalt.refreshes - idBefore.refreshes,
      callsAfterHalt: { gmailForRevokedMailbox: gmailCallsForAda, tokenEndpoint: tokenCalls, teammateMailbox: bobCalls },
      failedRefreshesAfterHalt: control.identityCounters().invalidGrants - idAtHalt.invalidGrants,
      shown: { state: view.state, lastError: view.lastError?.message },
      revokedMailboxNewMailStored: 1 - (await copyFigures(db, adaBox.mailboxId, [forAda.messageId])).lost,
    };
    expect(halted.lastError?.code).toBe('auth_revoked');
    expect(idAtHalt.invalidGrants - idBefore.invalidGrants).toBe(1);
    expect(gmailCallsForAda).toBe(0);
    expect(tokenCalls).toBe(0);
    expect(bobCalls).toBeGreaterThan(0);
    expect(view.state).toBe('reauth_required');
    expect(view.lastError.fix).toMatch(/Reconnect/);
  }, 90_000);
});
