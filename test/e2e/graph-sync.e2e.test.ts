/**
 * A user's journey for Outlook / Microsoft 365 through the real server process (API + workers) against the
 * Graph emulator over https (the server trusts the test CA through NODE_EXTRA_CA_CERTS from the emulators' env):
 * connect → import to `live` with exact counts (junk and drafts left out) → a move between folders stays one
 * message with one copy → flag / read in Outlook show in the CRM → a category added in the CRM lands in Outlook →
 * a reply from the CRM threads in Outlook's conversation and its Sent copy is the same CRM message → push hygiene
 * (wrong clientState ignored, `missed` catches up, an invalidated delta token recovers with nothing lost or
 * doubled) → two users of one tenant share one message; one user's Gmail and Outlook mailboxes share one thread →
 * an import under a forced request budget keeps to 4 in flight and never violates Retry-After.
 *
 * Organisations: a Google sign-in lands in its Workspace domain's organisation and a Microsoft one in its tenant's,
 * unless an admin attached the tenant to an existing organisation (server/src/auth/realms.ts); a Gmail user and an
 * Outlook user of one organisation are in test/e2e/mixed-org.e2e.test.ts. The cross-provider case here is one
 * signed-in user who connects a Gmail and an Outlook mailbox.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mongoose, { Types } from 'mongoose';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createNodeFetch } from '../emulators/common/fetch';
import { generateMailbox, generateMessage, type GeneratedMessage } from '../emulators/common/generate';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { api as apiAt, connectAs, signInMicrosoft as signInAtMicrosoft, until as untilDone } from '../helpers/sync-wait';

const GRACE = { email: 'grace@contoso-labs.com', name: 'Grace Hopper' };
const HENRY = { email: 'henry@contoso-labs.com', name: 'Henry Ford' };
const BILL = { email: 'bill@initech.com', name: 'Bill Lumbergh' };
const CUSTOMER = { domain: 'initech.com', people: [BILL] };
const SEEDED = 40;
const HENRY_SEEDED = 30;
const JUNK = 3;
const DRAFTS = 2;

let emu: RunningEmulators;
let server: ServerProcess;
let browser: typeof fetch;
let db: mongoose.Connection;
let tenantId: string;
let mail: GeneratedMessage[];

const graph = () => emu.microsoft.control;
const col = (name: string) => db.db!.collection(name);

beforeAll(async () => {
  emu = await startEmulators({ https: true, quiet: true });
  browser = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });
  tenantId = graph().tenantId;
  const now = Date.now();
  mail = await generateMailbox({
    owner: GRACE,
    count: SEEDED,
    seed: 11,
    colleagues: [HENRY],
    customers: [CUSTOMER],
    startDate: new Date(now - 20 * 86_400_000),
    endDate: new Date(now - 3_600_000),
  });
  // A user folder with a child folder: some inbox mail is filed there.
  const projects = graph().createFolder(GRACE.email, 'Projects');
  const initech = graph().createFolder(GRACE.email, 'Initech', projects);
  let inboxSeen = 0;
  const folderOf = (m: GeneratedMessage): string => {
    if (m.folder !== 'inbox') return m.folder;
    // Keep mail from Bill in the inbox: the scenarios below act on it.
    if (m.from === BILL.email) return 'inbox';
    inboxSeen += 1;
    return inboxSeen % 4 === 1 ? projects : inboxSeen % 4 === 2 ? initech : 'inbox';
  };
  await graph().seedMailbox(
    GRACE.email,
    mail.map((m) => ({ raw: m.raw, folder: folderOf(m), isRead: m.isRead, receivedDateTime: m.date.toISOString() })),
  );
  const extra = async (folder: string, n: number, subject: string, from: { email: string; name: string }) =>
    graph().seedMailbox(
      GRACE.email,
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const date = new Date(now - (i + 2) * 86_400_000);
          const m = await generateMessage({
            owner: GRACE,
            from,
            to: [BILL],
            subject: `${subject} ${i}`,
            seed: 500 + i,
            date: new Date(Math.floor(date.getTime() / 1000) * 1000),
          });
          return { raw: m.raw, folder, receivedDateTime: date.toISOString() };
        }),
      ),
    );
  await extra('junkemail', JUNK, 'Junk offer', { email: 'winner@prizes.example', name: 'Prize Desk' });
  await extra('drafts', DRAFTS, 'Unsent draft', GRACE);
  server = await startServerProcess({ ...emu.env, SYNC_POLL_SECONDS: '2' });
  db = await mongoose.createConnection(server.mongodbUri).asPromise();
}, 120_000);

afterAll(async () => {
  await db?.close();
  await server?.stop();
  await emu?.stop();
});

// The shared helpers (test/helpers/sync-wait.ts), bound to this suite's server.
const api = (token: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  apiAt(server.url, token, method, path, body, headers);
const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> =>
  untilDone(what, probe, { timeoutMs, context: () => server.output().slice(-3000) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Session {
  token: string;
}
const signInMicrosoft = async (who: { email: string }): Promise<Session> => ({ token: await signInAtMicrosoft(emu, server.url, who.email, tenantId) });

/** The connect flow as the user's browser runs it: consent at the provider, then the callback. */
const connect = async (session: Session, provider: 'google' | 'microsoft', address: string): Promise<string> =>
  (await connectAs(server.url, browser, session.token, { email: address }, provider)).mailboxId;

async function mailboxView(session: Session, id: string) {
  const { body } = await api(session.token, 'GET', '/api/mailboxes');
  return body.mailboxes.find((m: { id: string }) => m.id === id);
}

async function waitLive(session: Session, id: string, timeoutMs = 60_000) {
  return until(
    'the import to finish',
    async () => {
      const m = await mailboxView(session, id);
      return m?.state === 'live' && m.progress.imported === m.progress.total ? m : null;
    },
    timeoutMs,
  );
}

interface Copy {
  _id: Types.ObjectId;
  messageId: Types.ObjectId;
  mailboxId: Types.ObjectId;
  providerMessageId: string;
  labels: string[];
  state: Record<string, boolean>;
}
const copiesIn = (mailboxId: string) =>
  col('mailboxmessages')
    .find({ mailboxId: new Types.ObjectId(mailboxId) })
    .toArray() as unknown as Promise<Copy[]>;
const copyOf = (mailboxId: string, providerMessageId: string) =>
  col('mailboxmessages').findOne({ mailboxId: new Types.ObjectId(mailboxId), providerMessageId }) as unknown as Promise<Copy | null>;
const messagesWithId = (internetMessageId: string) =>
  col('messages')
    .find({ internetMessageId: { $in: [internetMessageId, internetMessageId.replace(/^<|>$/g, '')] } })
    .toArray();
const mailboxDoc = (id: string) => col('mailboxes').findOne({ _id: new Types.ObjectId(id) });

/** Graph's synced view of a mailbox: every message outside Junk Email and Drafts. */
function syncedInGraph(address: string) {
  return graph()
    .messages(address)
    .filter((m) => m.folder !== 'junkemail' && m.folder !== 'drafts');
}

/**
 * No run can start or be in flight: the mailbox is made due only in an hour, after any current run let go of its
 * lease. Only a push (or a test) can make it due sooner.
 */
async function park(mailboxId: string): Promise<void> {
  const leased = (m: Awaited<ReturnType<typeof mailboxDoc>>) => Boolean(m?.lease?.owner && m.lease.until && new Date(m.lease.until).getTime() > Date.now());
  await until(
    'no run in flight',
    async () => {
      await graph().notificationsIdle();
      if (leased(await mailboxDoc(mailboxId))) return false;
      const parkedUntil = new Date(Date.now() + 3_600_000);
      await col('mailboxes').updateOne({ _id: new Types.ObjectId(mailboxId) }, { $set: { nextRunAt: parkedUntil } });
      // A worker that picked the mailbox just before may still take the lease and reschedule it: look again.
      await sleep(700);
      const again = await mailboxDoc(mailboxId);
      return !leased(again) && again?.nextRunAt?.getTime() === parkedUntil.getTime();
    },
    20_000,
  );
}

describe('an Outlook mailbox in two-way sync', () => {
  let grace: Session;
  let mailboxId: string;
  const fromBill = () => mail.filter((m) => m.from === BILL.email && m.folder === 'inbox');
  const graphOf = (m: GeneratedMessage) =>
    graph()
      .messages(GRACE.email)
      .find((s) => s.internetMessageId === m.messageId)!;
  const crmIdOf = async (m: GeneratedMessage): Promise<string> => String((await copyOf(mailboxId, graphOf(m).immutableId))!.messageId);

  it('imports inbox, sent items, archive and user folders to live with exact counts, and not junk or drafts', async () => {
    grace = await signInMicrosoft(GRACE);
    mailboxId = await connect(grace, 'microsoft', GRACE.email);
    const box = await waitLive(grace, mailboxId);
    expect(box.provider).toBe('microsoft');
    expect(box.progress).toEqual({ imported: SEEDED, total: SEEDED });
    expect(box.lastError).toBeNull();

    const copies = await copiesIn(mailboxId);
    expect(copies).toHaveLength(SEEDED);
    expect(new Set(copies.map((c) => String(c.messageId))).size).toBe(SEEDED);
    expect(new Set(copies.map((c) => c.providerMessageId))).toEqual(new Set(syncedInGraph(GRACE.email).map((m) => m.immutableId)));
    // Every folder kind took part, and nothing of Junk Email or Drafts was stored (not even a subject).
    const folders = new Set(syncedInGraph(GRACE.email).map((m) => m.folder));
    expect([...folders].sort()).toEqual(['Initech', 'Projects', 'archive', 'inbox', 'sentitems']);
    expect(await col('messages').countDocuments({ subject: { $regex: /^(Junk offer|Unsent draft)/ } })).toBe(0);
    expect(await col('messages').countDocuments({})).toBe(SEEDED);
    // Archived mail is archived in the CRM.
    for (const m of graph().messages(GRACE.email, 'archive')) expect((await copyOf(mailboxId, m.immutableId))!.state.archived).toBe(true);
  }, 90_000);

  it('keeps a message moved between folders in Outlook as one message with one copy', async () => {
    const target = fromBill()[0]!;
    const before = graphOf(target);
    const crmId = await crmIdOf(target);
    graph().move(GRACE.email, before.immutableId, 'archive');
    await until('the move to Archive', async () => (await api(grace.token, 'GET', `/api/messages/${crmId}`)).body.state.archived === true, 20_000);
    const projects = graph()
      .messages(GRACE.email)
      .find((m) => m.folder === 'Projects')!.folderId;
    graph().move(GRACE.email, before.immutableId, projects);
    await until('the move to Projects', async () => (await api(grace.token, 'GET', `/api/messages/${crmId}`)).body.state.archived === false, 20_000);
    await graph().notificationsIdle();
    await sleep(2500); // one more poll round: nothing else comes of the moves
    expect(await messagesWithId(target.messageId)).toHaveLength(1);
    const copies = await col('mailboxmessages')
      .find({ messageId: new Types.ObjectId(crmId) })
      .toArray();
    expect(copies).toHaveLength(1);
    expect(copies[0]!.providerMessageId).toBe(before.immutableId);
    expect(await col('mailboxmessages').countDocuments({ mailboxId: new Types.ObjectId(mailboxId) })).toBe(SEEDED);
  }, 60_000);

  it('shows a flag set in Outlook as starred, and a message read in Outlook as read', async () => {
    const target = fromBill().find((m) => !m.isRead) ?? fromBill()[1]!;
    const g = graphOf(target);
    if (g.isRead) graph().markRead(GRACE.email, g.immutableId, false);
    const crmId = await crmIdOf(target);
    await until('unread', async () => (await api(grace.token, 'GET', `/api/messages/${crmId}`)).body.state.read === false, 20_000);
    graph().flag(GRACE.email, g.immutableId, 'flagged');
    await until('the star', async () => (await api(grace.token, 'GET', `/api/messages/${crmId}`)).body.state.starred === true, 20_000);
    graph().markRead(GRACE.email, g.immutableId, true);
    const seen = await until(
      'read',
      async () => {
        const { body } = await api(grace.token, 'GET', `/api/messages/${crmId}`);
        return body.state.read === true ? body : null;
      },
      20_000,
    );
    expect(seen.state).toMatchObject({ read: true, starred: true });
  }, 60_000);

  it('writes a category added in the CRM to Outlook, and keeps it after the echo', async () => {
    const target = fromBill()[2]!;
    const crmId = await crmIdOf(target);
    const res = await api(grace.token, 'PATCH', `/api/messages/${crmId}`, { labels: { add: ['VIP'] } });
    expect(res.status).toBe(200);
    expect(graphOf(target).categories).toContain('VIP');
    await graph().notificationsIdle();
    await sleep(2500);
    const { body } = await api(grace.token, 'GET', `/api/messages/${crmId}`);
    expect(body.labels).toContain('VIP');
    expect(graphOf(target).categories).toEqual(['VIP']);
  }, 30_000);

  it('threads a reply sent from the CRM into Outlook’s conversation, and its Sent copy is the same CRM message', async () => {
    const original = fromBill()[3]!;
    const g = graphOf(original);
    const crmId = await crmIdOf(original);
    const startedAt = Date.now();
    const sentBefore = new Set(
      graph()
        .messages(GRACE.email, 'sentitems')
        .map((m) => m.immutableId),
    );
    const key = randomUUID();
    const body = {
      mailboxId,
      to: [{ email: BILL.email, name: BILL.name }],
      subject: `Re: ${original.subject}`,
      text: 'Thanks Bill — the revised quote is attached to our deal.',
      replyToMessageId: crmId,
    };
    const sent = await api(grace.token, 'POST', '/api/messages', body, { 'idempotency-key': key });
    expect(sent.status).toBe(202);
    const again = await api(grace.token, 'POST', '/api/messages', body, { 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(sent.body.id);

    const reply = await until(
      'the reply in Sent Items',
      async () =>
        graph()
          .messages(GRACE.email, 'sentitems')
          .find((m) => !sentBefore.has(m.immutableId) && !m.isDraft),
      20_000,
    );
    expect(reply.conversationId).toBe(g.conversationId);
    expect(reply.subject).toBe(body.subject.replace(/^(Re: )+/i, 'Re: '));
    // Sent once, although POSTed twice with the same Idempotency-Key; no draft left behind.
    await sleep(1000);
    expect(
      graph()
        .messages(GRACE.email)
        .filter((m) => !sentBefore.has(m.immutableId) && m.internetMessageId === reply.internetMessageId),
    ).toHaveLength(1);
    expect(
      graph()
        .messages(GRACE.email, 'drafts')
        .filter((m) => m.subject === reply.subject),
    ).toHaveLength(0);

    // The Sent copy that sync brings back is matched to the message the CRM sent.
    const copy = await until('the synced-back Sent copy', () => copyOf(mailboxId, reply.immutableId), 20_000);
    expect(String(copy.messageId)).toBe(sent.body.id);
    await sleep(2500);
    expect(await col('mailboxmessages').countDocuments({ messageId: new Types.ObjectId(sent.body.id) })).toBe(1);
    const crmReply = await col('messages').findOne({ _id: new Types.ObjectId(sent.body.id) });
    const crmOriginal = await col('messages').findOne({ _id: new Types.ObjectId(crmId) });
    expect(String(crmReply!.threadId)).toBe(String(crmOriginal!.threadId));
    // One message, not two: the reply went out under the CRM's Message-ID (set while it was a draft), which the CRM
    // message keeps, so the copy Outlook holds and the CRM's are the same message.
    expect((await messagesWithId(reply.internetMessageId)).map((m) => String(m._id))).toEqual([sent.body.id]);
    expect(
      await col('messages').countDocuments({ threadId: crmOriginal!.threadId, 'from.email': GRACE.email, date: { $gte: new Date(startedAt - 60_000) } }),
    ).toBe(1);
  }, 60_000);

  it('ignores a notification with a wrong clientState and acts on the right one', async () => {
    const stored = await until(
      'the subscription',
      async () => {
        const m = await mailboxDoc(mailboxId);
        return m?.push?.channelId ? m.push : null;
      },
      20_000,
    );
    const [sub] = graph().subscriptions(GRACE.email);
    expect(sub!.id).toBe(stored.channelId);
    expect(sub!.clientState).toBe(stored.clientState);
    expect(sub!.notificationUrl).toBe(`${server.url}/webhooks/graph`);
    expect(
      graph()
        .notificationDeliveries()
        .filter((d) => d.kind === 'validation')
        .every((d) => d.status === 200),
    ).toBe(true);

    const notify = (clientState: string) =>
      fetch(`${server.url}/webhooks/graph`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: [{ subscriptionId: sub!.id, clientState, changeType: 'created', resource: 'Users/x/Messages/y', tenantId }] }),
      });
    await park(mailboxId);
    const parked = (await mailboxDoc(mailboxId))!.nextRunAt as Date;
    const wrong = await notify(`${stored.clientState}x`);
    expect(wrong.status).toBe(202);
    await sleep(500);
    expect(((await mailboxDoc(mailboxId))!.nextRunAt as Date).getTime()).toBe(parked.getTime());

    const right = await notify(stored.clientState);
    expect(right.status).toBe(202);
    await until('the mailbox marked due', async () => ((await mailboxDoc(mailboxId))!.nextRunAt as Date).getTime() < parked.getTime(), 5_000);
  }, 40_000);

  it('catches up on a `missed` lifecycle event: mail whose notifications never came shows up', async () => {
    const [sub] = graph().subscriptions(GRACE.email);
    await park(mailboxId);
    // Graph dropped the notifications (the lifecycle docs' `missed` case): nothing tells the server about this mail.
    const changeTypes = sub!.changeTypes;
    sub!.changeTypes = [];
    let id: string;
    try {
      const fresh = await generateMessage({ owner: GRACE, from: BILL, subject: 'Missed while you were away', seed: 901 });
      id = await graph().deliver(GRACE.email, fresh.raw);
      await sleep(3000); // longer than the poll interval: the parked mailbox does not find it on its own
      expect(await copyOf(mailboxId, id)).toBeNull();
    } finally {
      sub!.changeTypes = changeTypes;
    }
    graph().fireLifecycle(sub!.id, 'missed');
    await until('the missed mail', () => copyOf(mailboxId, id), 20_000);
    const lifecycle = graph()
      .notificationDeliveries()
      .filter((d) => d.kind === 'lifecycle');
    expect(lifecycle.at(-1)?.status).toBe(202);
  }, 40_000);

  it('recovers from an invalidated delta token with nothing lost and nothing doubled', async () => {
    const before = await copiesIn(mailboxId);
    graph().invalidateDeltaTokens(GRACE.email);
    // Changes while the token is dead: new mail, a permanent delete, a read flag.
    const fresh = await generateMessage({ owner: GRACE, from: BILL, subject: 'After the token expired', seed: 902 });
    const newId = await graph().deliver(GRACE.email, fresh.raw);
    const victim = graphOf(fromBill()[4]!);
    graph().permanentlyDelete(GRACE.email, victim.immutableId);
    await until(
      'the recovery',
      async () => {
        const events = await col('syncevents')
          .find({ mailboxId: new Types.ObjectId(mailboxId), kind: { $in: ['cursor_expired', 'resynced'] } })
          .toArray();
        return (
          events.some((e) => e.kind === 'cursor_expired') &&
          events.some((e) => e.kind === 'resynced') &&
          (await copyOf(mailboxId, newId)) &&
          !(await copyOf(mailboxId, victim.immutableId))
        );
      },
      40_000,
    );
    await until('live again', async () => (await mailboxView(grace, mailboxId))?.state === 'live', 20_000);
    const after = await copiesIn(mailboxId);
    const expected = syncedInGraph(GRACE.email).map((m) => m.immutableId);
    expect(after.map((c) => c.providerMessageId).sort()).toEqual([...expected].sort());
    expect(after).toHaveLength(before.length); // one new, one deleted
    expect(new Set(after.map((c) => String(c.messageId))).size).toBe(after.length);
    const lost = before.filter((c) => c.providerMessageId !== victim.immutableId && !after.some((a) => a.providerMessageId === c.providerMessageId));
    expect(lost).toEqual([]);
    // The same CRM message ids as before: nothing was re-created.
    for (const c of before) {
      const a = after.find((x) => x.providerMessageId === c.providerMessageId);
      if (a) expect(String(a.messageId)).toBe(String(c.messageId));
    }
    expect((await mailboxView(grace, mailboxId)).lastError).toBeNull();
  }, 60_000);

  describe('several mailboxes', () => {
    let henry: Session;
    let henryMailbox: string;

    it('imports a second mailbox of the tenant under a forced request budget: at most 4 in flight, Retry-After never violated', async () => {
      const henryMail = await generateMailbox({
        owner: HENRY,
        count: HENRY_SEEDED,
        seed: 12,
        colleagues: [GRACE],
        customers: [CUSTOMER],
        startDate: new Date(Date.now() - 15 * 86_400_000),
        endDate: new Date(Date.now() - 3_600_000),
      });
      await graph().seedMailbox(
        HENRY.email,
        henryMail.map((m) => ({ raw: m.raw, folder: m.folder, isRead: m.isRead, receivedDateTime: m.date.toISOString() })),
      );
      // The mail both received: one CRM message held by both.
      const shared = await generateMessage({ owner: GRACE, from: BILL, to: [GRACE, HENRY], subject: 'To both of you', seed: 903 });
      await graph().deliver(GRACE.email, shared.raw);
      await graph().deliver(HENRY.email, shared.raw);

      graph().setThrottling({ maxConcurrent: 4, requestsPerWindow: 12, windowSeconds: 3 });
      try {
        henry = await signInMicrosoft(HENRY);
        henryMailbox = await connect(henry, 'microsoft', HENRY.email);
        const box = await waitLive(henry, henryMailbox, 60_000);
        expect(box.progress).toEqual({ imported: HENRY_SEEDED + 1, total: HENRY_SEEDED + 1 });
      } finally {
        graph().setThrottling({ requestsPerWindow: 10_000, windowSeconds: 600 });
      }
      const stats = graph().throttleStats(HENRY.email);
      const graceStats = graph().throttleStats(GRACE.email);
      process.stdout.write(`graph throttling: henry ${JSON.stringify(stats)}; grace ${JSON.stringify(graceStats)}\n`);
      expect(stats.throttled).toBeGreaterThan(0); // the budget was really hit
      expect(stats.maxInFlight).toBeLessThanOrEqual(4);
      expect(stats.retryAfterViolations).toBe(0);
      expect(graceStats.maxInFlight).toBeLessThanOrEqual(4);
      expect(graceStats.retryAfterViolations).toBe(0);
      expect(await copiesIn(henryMailbox)).toHaveLength(HENRY_SEEDED + 1);

      // Same tenant, same organisation: the shared message is one message with both users in syncedBy.
      const sharedDocs = await until(
        'both copies of the shared message',
        async () => {
          const docs = await messagesWithId(shared.messageId);
          return docs.length === 1 && docs[0]!.syncedBy.length === 2 ? docs : null;
        },
        20_000,
      );
      expect(await col('mailboxmessages').countDocuments({ messageId: sharedDocs[0]!._id })).toBe(2);
      const { body } = await api(henry.token, 'GET', `/api/messages/${String(sharedDocs[0]!._id)}`);
      expect(body.syncedBy).toHaveLength(2);
    }, 100_000);

    it('joins one user’s Gmail and Outlook mailboxes into one CRM thread, one message each', async () => {
      // Grace also has a Gmail mailbox (one user may connect mailboxes of both providers).
      const gmailId = await connect(grace, 'google', GRACE.email);
      await waitLive(grace, gmailId, 30_000);
      const first = await generateMessage({ owner: GRACE, from: BILL, subject: 'Pilot in Q3', seed: 904 });
      emu.google.control.deliver(GRACE.email, first.raw);
      const answer = await generateMessage({ owner: GRACE, from: BILL, subject: 'Pilot in Q3', seed: 905, inReplyTo: first });
      const outlookId = await graph().deliver(GRACE.email, answer.raw);
      const [a, b] = await until(
        'both messages in the CRM',
        async () => {
          const x = await messagesWithId(first.messageId);
          const y = await messagesWithId(answer.messageId);
          return x.length && y.length ? [x, y] : null;
        },
        30_000,
      );
      expect(a).toHaveLength(1);
      expect(b).toHaveLength(1);
      expect(String(a[0]!.threadId)).toBe(String(b[0]!.threadId));
      expect(await col('mailboxmessages').countDocuments({ messageId: a[0]!._id })).toBe(1);
      expect(
        await col('mailboxmessages').countDocuments({ messageId: b[0]!._id, mailboxId: new Types.ObjectId(mailboxId), providerMessageId: outlookId }),
      ).toBe(1);
      const thread = await api(grace.token, 'GET', `/api/threads/${String(a[0]!.threadId)}`);
      expect(thread.status).toBe(200);
      expect(thread.body.messages.map((m: { subject: string }) => m.subject)).toHaveLength(2);
    }, 60_000);
  });
});
