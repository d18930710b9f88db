/**
 * A Gmail user and an Outlook user in ONE organisation, through the real server process
 * against both emulators over https:
 *
 *   1. the Workspace admin (Google sign-in) adds the company's Microsoft 365 tenant: Threadline sends them to
 *      Microsoft, where an administrator of the tenant signs in; the verified ID token names the tenant and a
 *      directory role that may consent for it (`wids`) → the tenant is attached; a replayed callback, a tenant
 *      user without that role, and a tenant that already has its own organisation with users are all refused;
 *   2. an Outlook user of that tenant signs in (add-in token) → the same organisation, as a member;
 *   3. both connect their mailboxes, and a conversation reaches both → one CRM thread, one CRM message per email,
 *      both users in `syncedBy` of the emails both hold.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mongoose';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createNodeFetch } from '../emulators/common/fetch';
import { generateMessage, type GeneratedMessage } from '../emulators/common/generate';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { api, connectAs, isLive, microsoftAddinToken, openDatabase, until } from '../helpers/sync-wait';

const GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10';
const GRACE = { email: 'grace@contoso-labs.com', name: 'Grace Hopper' }; // Gmail (Workspace domain contoso-labs.com)
const HENRY = { email: 'henry@contoso-labs.com', name: 'Henry Ford' }; // Outlook, in the company's Microsoft 365 tenant
const IT_ADMIN = 'it-admin@contoso-labs.com'; // Global Administrator of that tenant
const BILL = { email: 'bill@initech.com', name: 'Bill Lumbergh' };

let emu: RunningEmulators;
let browser: typeof fetch;
let server: ServerProcess;
let db: Connection;
const figures: Record<string, unknown> = {};

const graph = () => emu.microsoft.control;
const context = () => `--- server output (tail) ---\n${server?.output().slice(-3000) ?? ''}`;
const wait = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000) => until(what, probe, { timeoutMs, context });

beforeAll(async () => {
  emu = await startEmulators({ https: true, quiet: true });
  browser = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });
  graph().addUser(IT_ADMIN, { directoryRoles: [GLOBAL_ADMINISTRATOR] });
  graph().addUser(HENRY.email, { displayName: HENRY.name });
  server = await startServerProcess({ ...emu.env, SYNC_POLL_SECONDS: '2' });
  emu.google.control.configurePush({
    url: `${server.url}/webhooks/gmail`,
    audience: emu.env.GOOGLE_PUSH_AUDIENCE,
    serviceAccountEmail: emu.env.GOOGLE_PUSH_SERVICE_ACCOUNT,
  });
  db = await openDatabase(server.mongodbUri);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await db?.close();
  await emu?.stop();
  process.stdout.write(`\nOne organisation, Gmail + Outlook:\n${JSON.stringify(figures, null, 2)}\n`);
});

/** "Add Microsoft 365 tenant": start in Threadline, sign in at Microsoft as `who`, land on the callback page. */
async function addTenant(adminSession: string, who: string): Promise<{ status: number; page: string; callback: string }> {
  const started = await api(server.url, adminSession, 'POST', '/api/org/realms/microsoft', { loginHint: who });
  expect(started.status).toBe(200);
  const url = new URL(started.body.authorizationUrl);
  expect(url.searchParams.get('scope')).toBe('openid profile email');
  expect(url.searchParams.get('redirect_uri')).toBe(`${server.url}/oauth/microsoft/admin-callback`);
  expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  expect(url.searchParams.get('nonce')).toBeTruthy();
  const atMicrosoft = await browser(url.toString(), { redirect: 'manual' });
  const callback = atMicrosoft.headers.get('location')!;
  const res = await fetch(callback);
  return { status: res.status, page: await res.text(), callback };
}

async function sessionInfo(provider: 'google' | 'microsoft', email: string, tid?: string) {
  const token = provider === 'google' ? await emu.google.control.mintIdToken({ email }) : await microsoftAddinToken(emu, email, tid);
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider, token }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { token: string; user: { id: string; role: string }; org: { id: string } };
}

describe('a Gmail user and an Outlook user in one organisation', () => {
  let grace: Awaited<ReturnType<typeof sessionInfo>>;
  let henry: Awaited<ReturnType<typeof sessionInfo>>;

  it('lets the Workspace admin add the Microsoft 365 tenant after a tenant administrator signs in at Microsoft', async () => {
    grace = await sessionInfo('google', GRACE.email);
    expect(grace.user.role).toBe('admin');
    const tid = graph().tenantId;

    // A user of the tenant without an admin role: refused, nothing attached.
    graph().addUser('intern@contoso-labs.com');
    const notAdmin = await addTenant(grace.token, 'intern@contoso-labs.com');
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.page).toMatch(/not an administrator of the Microsoft 365 tenant/);

    const added = await addTenant(grace.token, IT_ADMIN);
    expect(added.status).toBe(200);
    expect(added.page).toMatch(/Microsoft 365 tenant added/);
    // The callback is single use.
    expect((await fetch(added.callback)).status).toBe(400);

    const realms = await api(server.url, grace.token, 'GET', '/api/org/realms');
    expect(realms.status).toBe(200);
    expect(realms.body.realms).toEqual([
      expect.objectContaining({ key: 'google:contoso-labs.com', provider: 'google', via: 'sign-in' }),
      expect.objectContaining({ key: `microsoft:${tid}`, provider: 'microsoft', via: 'admin', verifiedAs: IT_ADMIN }),
    ]);
    figures.attached = realms.body.realms;

    // Henry, an Outlook user of the tenant, signs in from the add-in: Grace's organisation, as a member.
    henry = await sessionInfo('microsoft', HENRY.email);
    expect(henry.org.id).toBe(grace.org.id);
    expect(henry.user.role).toBe('member');
    // Only admins manage realms.
    expect((await api(server.url, henry.token, 'POST', '/api/org/realms/microsoft', {})).status).toBe(403);
    expect((await api(server.url, henry.token, 'GET', '/api/org/realms')).status).toBe(403);
  }, 60_000);

  it("refuses a link opened by another company's tenant administrator: their tenant does not join (403)", async () => {
    const globex = randomTenant();
    graph().addUser('admin@globex-corp.com', { tenantId: globex, directoryRoles: [GLOBAL_ADMINISTRATOR] });
    const before = (await api(server.url, grace.token, 'GET', '/api/org/realms')).body.realms;
    const refused = await addTenant(grace.token, 'admin@globex-corp.com');
    expect(refused.status).toBe(403);
    expect(refused.page).toMatch(/not a domain of this organisation/);
    expect((await api(server.url, grace.token, 'GET', '/api/org/realms')).body.realms).toEqual(before);
  }, 60_000);

  it('refuses a tenant that already has its own organisation with users (409), and changes nothing', async () => {
    const fabrikam = randomTenant();
    graph().addUser('zed@fabrikam.com', { tenantId: fabrikam });
    graph().addUser('admin@fabrikam.com', { tenantId: fabrikam, directoryRoles: [GLOBAL_ADMINISTRATOR] });
    const zed = await sessionInfo('microsoft', 'zed@fabrikam.com', fabrikam);
    expect(zed.org.id).not.toBe(grace.org.id);
    const before = (await api(server.url, grace.token, 'GET', '/api/org/realms')).body.realms;
    const refused = await addTenant(grace.token, 'admin@fabrikam.com');
    expect(refused.status).toBe(409);
    expect(refused.page).toMatch(/already has its own Threadline organisation with 1 user/);
    expect((await api(server.url, grace.token, 'GET', '/api/org/realms')).body.realms).toEqual(before);
    expect((await sessionInfo('microsoft', 'zed@fabrikam.com', fabrikam)).org.id).toBe(zed.org.id);
    figures.refused = { status: refused.status, page: /<p>([^<]*)<\/p>/.exec(refused.page)?.[1] };
  }, 60_000);

  it('joins a conversation held in Gmail and in Outlook into one CRM thread, one message each, both in syncedBy', async () => {
    const graceBox = await connectAs(server.url, browser, grace.token, GRACE, 'google');
    const henryBox = await connectAs(server.url, browser, henry.token, HENRY, 'microsoft');
    await wait('both mailboxes live', async () => (await isLive(db, graceBox.mailboxId)) && (await isLive(db, henryBox.mailboxId)), 60_000);

    // Bill writes to both; Henry answers from Outlook (cc Grace); Bill answers Henry's mail to Grace alone.
    const ask = await generateMessage({ owner: GRACE, from: BILL, to: [GRACE, HENRY], subject: 'Pilot in Q3', seed: 901 });
    emu.google.control.deliver(GRACE.email, ask.raw);
    await graph().deliver(HENRY.email, ask.raw);
    const answer = await generateMessage({ owner: HENRY, from: HENRY, to: [BILL], cc: [GRACE], subject: 'Pilot in Q3', seed: 902, inReplyTo: ask });
    await graph().deliver(HENRY.email, answer.raw, { folder: 'sentitems', isRead: true });
    emu.google.control.deliver(GRACE.email, answer.raw);
    const followUp = await generateMessage({ owner: GRACE, from: BILL, to: [GRACE], subject: 'Pilot in Q3', seed: 903, inReplyTo: answer });
    emu.google.control.deliver(GRACE.email, followUp.raw);

    const bare = (m: GeneratedMessage) => m.messageId.replace(/^<|>$/g, '');
    const ids = [ask, answer, followUp].map(bare);
    const holders = { [bare(ask)]: 2, [bare(answer)]: 2, [bare(followUp)]: 1 };
    const docs = await wait(
      'the three messages, each with all its holders',
      async () => {
        const found = await db
          .collection('messages')
          .find({ internetMessageId: { $in: ids.flatMap((id) => [id, `<${id}>`]) } })
          .toArray();
        const complete = ids.every((id) => found.some((d) => String(d.internetMessageId).replace(/^<|>$/g, '') === id && d.syncedBy.length === holders[id]));
        return complete ? found : null;
      },
      60_000,
    );
    expect(docs).toHaveLength(3); // one CRM message per email
    const threadIds = new Set(docs.map((d) => String(d.threadId)));
    expect(threadIds.size).toBe(1); // one CRM thread
    const byId = (m: GeneratedMessage) => docs.find((d) => String(d.internetMessageId).replace(/^<|>$/g, '') === bare(m))!;
    const users = (m: GeneratedMessage) => byId(m).syncedBy.map(String).sort();
    expect(users(ask)).toEqual([grace.user.id, henry.user.id].sort());
    expect(users(answer)).toEqual([grace.user.id, henry.user.id].sort());
    expect(users(followUp)).toEqual([grace.user.id]);
    // One copy per holding mailbox, from each provider.
    const copies = await db
      .collection('mailboxmessages')
      .find({ messageId: { $in: docs.map((d) => d._id) } })
      .toArray();
    expect(copies).toHaveLength(5);

    // Through the API: the thread as either user sees it.
    const threadId = [...threadIds][0]!;
    const asGrace = await api(server.url, grace.token, 'GET', `/api/threads/${threadId}`);
    const asHenry = await api(server.url, henry.token, 'GET', `/api/threads/${threadId}`);
    expect(asGrace.status).toBe(200);
    expect(asGrace.body.messages).toHaveLength(3);
    expect(asHenry.status).toBe(200);
    const answerView = asGrace.body.messages.find((m: { id: string }) => m.id === String(byId(answer)._id));
    expect([...answerView.syncedBy].sort()).toEqual([grace.user.id, henry.user.id].sort());
    figures.thread = {
      threadId,
      crmMessages: docs.length,
      mailboxCopies: copies.length,
      syncedBy: Object.fromEntries(
        (
          [
            ['Bill → Grace + Henry', ask],
            ['Henry (Outlook) → Bill, cc Grace', answer],
            ['Bill → Grace', followUp],
          ] as const
        ).map(([label, m]) => [label, users(m).map((u: string) => (u === grace.user.id ? 'grace (Gmail)' : 'henry (Outlook)'))]),
      ),
      henrySees: asHenry.body.messages.length,
    };
    console.log(`one org, Gmail + Outlook: ${JSON.stringify(figures.thread)}`);
  }, 120_000);
});

function randomTenant(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
