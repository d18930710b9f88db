/**
 * `npm run demo`: Threadline with no Google or Microsoft account and no network.
 *
 * Starts the Gmail/Google identity and Graph/Microsoft identity emulators (https, with the test CA), seeds
 * generated mailboxes for Acme Robotics (Ada and Bob on Gmail, sharing customers and some messages) and for Olivia
 * (Outlook, at Kite Resellers, Acme's reseller on Microsoft 365 — her own organisation, see scripts/demo/cast.ts),
 * starts the real server (`node server/dist/main.js`, embedded database under data/demo), signs the users in with
 * emulator-minted identity tokens, connects their mailboxes through the OAuth flows (the emulators consent on
 * their own), creates contacts, companies and deals, waits for the imports to be live, and prints where to look.
 * Then it keeps a little mail arriving until Ctrl-C, which stops everything it started.
 *
 * Options: --small (a few dozen messages each, mail every few seconds: the e2e test), --port=N (server port;
 * default 3000, or a free one when 3000 is taken), --data-dir=PATH (default data/demo; wiped at start).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startEmulators, type RunningEmulators } from '../test/emulators/common/index';
import { createNodeFetch } from '../test/emulators/common/fetch';
import { generateMailbox, generateMessage, type GeneratedMessage, type Identity } from '../test/emulators/common/generate';
import {
  ACME_CONTACTS,
  ACME_DEALS,
  ADA,
  BOB,
  CUSTOMER_PEOPLE,
  CUSTOMERS,
  KITE_CONTACTS,
  KITE_DEALS,
  KITE_TENANT,
  nameOf,
  OLIVIA,
  OLIVIA_OID,
  USERS,
  type DemoUser,
} from './demo/cast';
import { startDemoHost, type DemoHost, type PaneItem } from './demo/host';
import { serverNodeFlags } from './server-node-flags';

const root = path.resolve(__dirname, '..');
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// Options and small helpers

interface Options {
  small: boolean;
  port: number | null;
  dataDir: string;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { small: false, port: null, dataDir: path.join(root, 'data/demo') };
  for (const arg of argv) {
    const [key, value] = arg.split('=', 2);
    if (key === '--small') opts.small = true;
    else if (key === '--port' && value !== undefined && /^\d+$/.test(value)) opts.port = Number(value);
    else if (key === '--data-dir' && value) opts.dataDir = path.resolve(value);
    else {
      console.error(`npm run demo: unknown option ${arg}\nOptions: --small, --port=N, --data-dir=PATH`);
      process.exit(2);
    }
  }
  return opts;
}

/** The preferred port when it is free on 127.0.0.1, else any free one (0 asks for any). */
function portFrom(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => (preferred === 0 ? resolve(0) : portFrom(0).then(resolve)));
    srv.listen(preferred, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const stamp = (): string => new Date().toTimeString().slice(0, 8);
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const display = (who: Identity): string => (who.name ? `${who.name} <${who.email}>` : who.email);
/** A path as the user would type it from the repository, when it is inside it. */
const shown = (file: string): string => (file.startsWith(`${root}${path.sep}`) ? path.relative(root, file) : file);

// ---------------------------------------------------------------------------------------------------------------
// State the demo keeps while it runs

let emu: RunningEmulators | undefined;
let server: ChildProcess | undefined;
let serverLog: WriteStream | undefined;
let host: DemoHost | undefined;
let liveTimer: NodeJS.Timeout | undefined;
let stopping = false;

/** The threads a live reply can go into, per user: the newest customer message of each. */
const replyable = new Map<DemoUser['key'], GeneratedMessage[]>();
/** Olivia's mail as the pretend Outlook lists it, newest first. */
const outlookItems: PaneItem[] = [];

function paneItem(m: GeneratedMessage): PaneItem {
  const pair = (email: string): [string, string] => [email, nameOf(email)];
  return { from: pair(m.from), to: m.to.map(pair), cc: m.cc.map(pair), subject: m.subject, internetMessageId: m.messageId, date: m.date.toISOString() };
}

// ---------------------------------------------------------------------------------------------------------------
// The server process

function serverOutputTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '';
  }
}

async function startServer(env: Record<string, string>, logFile: string): Promise<void> {
  serverLog = createWriteStream(logFile);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // Always the embedded database under the demo's DATA_DIR: the demo wipes its data at start, so it must never
  // point at a MongoDB of the user's (or a test run's).
  delete childEnv.MONGODB_URI;
  const child = spawn(process.execPath, [...serverNodeFlags(), path.join(root, 'server/dist/main.js')], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  child.stdout!.pipe(serverLog, { end: false });
  child.stderr!.pipe(serverLog, { end: false });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start within 120 s; see ${logFile}`)), 120_000);
    child.stdout!.on('data', (b: Buffer) => {
      seen = (seen + b.toString()).slice(-4000);
      if (seen.includes('Threadline listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${signal ?? code}) while starting:\n${serverOutputTail(logFile)}`));
    });
  });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`\nThe Threadline server stopped unexpectedly (${signal ?? code}). Its last lines (${logFile}):\n${serverOutputTail(logFile)}`);
    void shutdown(1);
  });
}

function stopServer(): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // The server stops its workers and the embedded database on SIGTERM; past 15 s it is killed (its database
    // guard then stops FerretDB when the server's pipe closes).
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('\nStopping the demo…');
  if (liveTimer) clearTimeout(liveTimer);
  await host?.close().catch(() => {});
  await stopServer();
  await emu?.stop().catch(() => {});
  serverLog?.end();
  say('Stopped: server, embedded database and emulators.');
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------------------------
// The API, as a user's browser would call it

interface Session {
  token: string;
  user: { id: string; email: string; role: string };
  org: { id: string; name: string };
}
interface MailboxView {
  id: string;
  provider: string;
  address: string;
  state: string;
  progress: { imported: number; total: number };
  lastError: { message: string; fix: string } | null;
}

async function api<T>(serverUrl: string, token: string | null, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${serverUrl}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : null) as T;
}

async function identityToken(user: DemoUser): Promise<string> {
  if (user.provider === 'google') return emu!.google.control.mintIdToken({ email: user.email, name: user.name });
  return emu!.microsoft.control.mintAddinToken({
    aud: emu!.microsoft.clientId,
    tid: KITE_TENANT,
    oid: OLIVIA_OID,
    preferred_username: user.email,
    name: user.name,
  });
}

async function signIn(serverUrl: string, user: DemoUser): Promise<Session> {
  return api<Session>(serverUrl, null, 'POST', '/api/session', { provider: user.provider, token: await identityToken(user) });
}

/** Connect as the console does, with the emulator's consent page answering on its own (it trusts the test CA). */
async function connectMailbox(serverUrl: string, session: Session, user: DemoUser, browser: typeof fetch): Promise<void> {
  const { authorizationUrl } = await api<{ authorizationUrl: string }>(serverUrl, session.token, 'POST', '/api/mailboxes/connect', { provider: user.provider });
  const consent = await browser(authorizationUrl, { redirect: 'manual' });
  const callback = consent.headers.get('location');
  if (consent.status !== 302 || !callback) throw new Error(`the ${user.provider} consent page answered ${consent.status} for ${user.email}`);
  const done = await fetch(callback);
  if (done.status !== 200) throw new Error(`connecting ${user.email} failed (${done.status}): ${(await done.text()).slice(0, 500)}`);
}

async function createRecords(
  serverUrl: string,
  session: Session,
  contacts: readonly { email: string; name: string; companyName: string; title: string }[],
  deals: readonly { name: string; contact: string; stage: string; amount: number; currency: string }[],
): Promise<void> {
  const byEmail = new Map<string, { id: string; companyId: string | null }>();
  for (const c of contacts) byEmail.set(c.email, await api(serverUrl, session.token, 'POST', '/api/contacts', c));
  for (const d of deals) {
    const contact = byEmail.get(d.contact)!;
    await api(serverUrl, session.token, 'POST', '/api/deals', {
      name: d.name,
      stage: d.stage,
      status: 'open',
      amount: d.amount,
      currency: d.currency,
      closeDate: new Date(Date.now() + 30 * DAY_MS).toISOString(),
      ownerId: session.user.id,
      contactIds: [contact.id],
      companyId: contact.companyId,
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Mail

const SHARED_SUBJECTS = [
  'Pilot results and next phase',
  'Quote for the second site',
  'Service visit next week',
  'Renewal terms',
  'Training dates for the operators',
  'Spare parts order',
];

/** Seeds all three mailboxes; Ada and Bob also both hold a few customer threads written to the two of them. */
async function seedMail(small: boolean): Promise<Record<DemoUser['key'], number>> {
  const now = Date.now();
  const range = { startDate: new Date(now - 120 * DAY_MS), endDate: new Date(now - 2 * 3_600_000) };
  const acmeColleagues: Identity[] = [
    ADA,
    BOB,
    { email: 'grace@acme-robotics.com', name: 'Grace Hopper' },
    { email: 'linus@acme-robotics.com', name: 'Linus Field' },
  ];
  const count = (u: DemoUser): number => (small ? u.count.small : u.count.full);
  const [ada, bob, olivia] = await Promise.all([
    generateMailbox({ owner: ADA, count: count(ADA), seed: 11, colleagues: acmeColleagues, customers: CUSTOMERS, ...range }),
    generateMailbox({ owner: BOB, count: count(BOB), seed: 12, colleagues: acmeColleagues, customers: CUSTOMERS, ...range }),
    generateMailbox({ owner: OLIVIA, count: count(OLIVIA), seed: 13, customers: CUSTOMERS, ...range }),
  ]);

  // Threads the customer wrote to both Ada and Bob: one stored message each, synced by both.
  const sharedAda: GeneratedMessage[] = [];
  const sharedBob: GeneratedMessage[] = [];
  const sharedLabels = new Map<GeneratedMessage, { ada: string[]; bob: string[] }>();
  const threads = small ? 3 : 12;
  for (let i = 0; i < threads; i++) {
    const customer = CUSTOMER_PEOPLE[i % CUSTOMER_PEOPLE.length];
    const start = new Date(now - (3 + i * 7) * DAY_MS);
    const first = await generateMessage({
      owner: ADA,
      from: customer,
      to: [ADA, BOB],
      subject: SHARED_SUBJECTS[i % SHARED_SUBJECTS.length],
      date: start,
      seed: 1000 + i,
    });
    const answer = await generateMessage({
      owner: ADA,
      from: ADA,
      to: [customer],
      cc: [BOB],
      inReplyTo: first,
      date: new Date(start.getTime() + 3 * 3_600_000),
      seed: 2000 + i,
    });
    sharedLabels.set(first, { ada: ['INBOX', 'CATEGORY_PERSONAL', 'IMPORTANT'], bob: ['INBOX', 'CATEGORY_PERSONAL'] });
    sharedLabels.set(answer, { ada: ['SENT'], bob: ['INBOX', 'CATEGORY_PERSONAL'] });
    const thread = [first, answer];
    if (i % 2 === 0) {
      const thanks = await generateMessage({
        owner: ADA,
        from: customer,
        to: [ADA],
        cc: [BOB],
        inReplyTo: answer,
        date: new Date(start.getTime() + DAY_MS),
        seed: 3000 + i,
      });
      sharedLabels.set(thanks, { ada: ['INBOX', 'CATEGORY_PERSONAL'], bob: ['CATEGORY_PERSONAL'] });
      thread.push(thanks);
    }
    sharedAda.push(...thread);
    sharedBob.push(...thread);
  }

  const gmailItems = (list: GeneratedMessage[], shared: GeneratedMessage[], who: 'ada' | 'bob') => [
    ...list.map((m) => ({ raw: m.raw, labelIds: m.labelIds, date: m.date })),
    ...shared.map((m) => ({ raw: m.raw, labelIds: sharedLabels.get(m)![who], date: m.date })),
  ];
  emu!.google.control.seed(ADA.email, gmailItems(ada, sharedAda, 'ada'));
  emu!.google.control.seed(BOB.email, gmailItems(bob, sharedBob, 'bob'));
  emu!.microsoft.control.addUser(OLIVIA.email, { id: OLIVIA_OID, displayName: OLIVIA.name, tenantId: KITE_TENANT });
  await emu!.microsoft.control.seedMailbox(
    OLIVIA.email,
    olivia.map((m) => ({ raw: m.raw, folder: m.folder, isRead: m.isRead, receivedDateTime: m.date.toISOString() })),
  );

  const customers = new Set(CUSTOMER_PEOPLE.map((p) => p.email));
  const fromCustomer = (list: GeneratedMessage[]) => list.filter((m) => m.kind === 'customer' && customers.has(m.from)).slice(-40);
  replyable.set('ada', fromCustomer([...ada, ...sharedAda]));
  replyable.set('bob', fromCustomer([...bob, ...sharedBob]));
  replyable.set('olivia', fromCustomer(olivia));
  outlookItems.push(...olivia.slice(-60).reverse().map(paneItem));
  return { ada: ada.length + sharedAda.length, bob: bob.length + sharedBob.length, olivia: olivia.length };
}

let liveSeq = 0;
const LIVE_SUBJECTS = [
  'Question about the {C} quote',
  'Can we move our call?',
  'Delivery date for {C}',
  'Invoice question',
  'Feedback from the {C} team',
  'Purchase order attached',
  'Meeting notes',
  'One more thing about the pilot',
];
const companyOf = (email: string): string =>
  CUSTOMERS.find((c) => email.endsWith(`@${c.domain}`))
    ?.domain.split('.')[0]
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ') ?? 'our';

/** One new message for a random demo user: a customer writing, now and then a reply in one of their threads. */
async function deliverLiveMail(): Promise<void> {
  const seq = ++liveSeq;
  const user = USERS[Math.floor(Math.random() * USERS.length)];
  const threads = replyable.get(user.key) ?? [];
  const parent = threads.length > 0 && Math.random() < 0.4 ? threads[Math.floor(Math.random() * threads.length)] : undefined;
  const from = parent ? { email: parent.from, name: nameOf(parent.from) } : CUSTOMER_PEOPLE[Math.floor(Math.random() * CUSTOMER_PEOPLE.length)];
  // Now and then a customer writes to Ada and Bob at once: one message in the CRM, held by both.
  const both = !parent && user.key !== 'olivia' && Math.random() < 0.25;
  const to: Identity[] = both ? [ADA, BOB] : [user];
  const subject = parent ? undefined : LIVE_SUBJECTS[seq % LIVE_SUBJECTS.length].replace('{C}', companyOf(from.email));
  const message = await generateMessage({ owner: user, from, to, subject, inReplyTo: parent, seed: (Date.now() % 0x7fffffff) ^ seq });
  const recipients: DemoUser[] = both ? [ADA, BOB] : [user];
  for (const r of recipients) {
    if (r.provider === 'google') emu!.google.control.deliver(r.email, message.raw);
    else await emu!.microsoft.control.deliver(r.email, message.raw);
  }
  if (user.key === 'olivia') outlookItems.unshift(paneItem(message));
  threads.push(message);
  say(`[${stamp()}] new mail for ${recipients.map((r) => r.email).join(' and ')}: "${message.subject}" from ${display(from)} ${message.messageId}`);
}

function scheduleLiveMail(small: boolean): void {
  const next = small ? 2_000 + Math.random() * 1_000 : 15_000 + Math.random() * 10_000;
  liveTimer = setTimeout(() => {
    deliverLiveMail()
      .catch((err: Error) => console.error(`[${stamp()}] live mail failed: ${err.message}`))
      .finally(() => {
        if (!stopping) scheduleLiveMail(small);
      });
  }, next);
}

// ---------------------------------------------------------------------------------------------------------------

async function waitForLive(serverUrl: string, sessions: Session[], expected: number, small: boolean): Promise<MailboxView[]> {
  const deadline = Date.now() + (small ? 120_000 : 600_000);
  let last = '';
  for (;;) {
    const seen = new Map<string, MailboxView>();
    for (const s of sessions) {
      for (const m of (await api<{ mailboxes: MailboxView[] }>(serverUrl, s.token, 'GET', '/api/mailboxes')).mailboxes) seen.set(m.id, m);
    }
    const boxes = [...seen.values()];
    const line = boxes.map((m) => `${m.address} ${m.state} ${m.progress.imported}/${m.progress.total}`).join(' · ');
    if (line !== last) {
      say(`  import: ${line}`);
      last = line;
    }
    const failed = boxes.find((m) => m.lastError && m.state !== 'live');
    if (failed && /reauth|error|failed/.test(failed.state)) throw new Error(`${failed.address}: ${failed.lastError!.message} (${failed.lastError!.fix})`);
    if (boxes.length === expected && boxes.every((m) => m.state === 'live' && m.progress.total > 0 && m.progress.imported >= m.progress.total)) return boxes;
    if (Date.now() > deadline) throw new Error(`the imports did not finish in time: ${line}`);
    await sleep(1000);
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  for (const built of ['server/dist/main.js', 'web/dist/index.html', 'outlook-addin/dist/taskpane.html']) {
    if (!existsSync(path.join(root, built))) throw new Error(`${built} is missing: run \`npm run build\` first (\`npm run demo\` does).`);
  }
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0));

  // A fresh start every time: the emulators keep their mailboxes in memory, so yesterday's database would hold
  // mailboxes and tokens that no longer exist anywhere.
  rmSync(opts.dataDir, { recursive: true, force: true });
  mkdirSync(opts.dataDir, { recursive: true });
  const logFile = path.join(opts.dataDir, 'server.log');

  const port = await portFrom(opts.port ?? 3000);
  const serverUrl = `http://127.0.0.1:${port}`;
  say(`Threadline demo${opts.small ? ' (small)' : ''}: starting the Google and Microsoft emulators…`);
  emu = await startEmulators({ https: true, quiet: true, publicUrl: serverUrl });
  emu.google.control.configurePush({
    url: `${serverUrl}/webhooks/gmail`,
    audience: emu.env.GOOGLE_PUSH_AUDIENCE,
    serviceAccountEmail: emu.env.GOOGLE_PUSH_SERVICE_ACCOUNT,
    rateLimit: 'coalesce',
  });
  const browser = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });

  say('Generating mailboxes…');
  const counts = await seedMail(opts.small);
  say(`  ${USERS.map((u) => `${u.email} (${u.provider === 'google' ? 'Gmail' : 'Outlook'}): ${counts[u.key]} messages`).join(', ')}`);

  say(`Starting the server on ${serverUrl} (embedded database in ${shown(opts.dataDir)})…`);
  await startServer(
    {
      ...emu.env,
      PORT: String(port),
      PUBLIC_URL: serverUrl,
      DATA_DIR: opts.dataDir,
      SYNC_POLL_SECONDS: opts.small ? '2' : '10',
      LOG_LEVEL: 'info',
      NODE_ENV: 'development',
    },
    logFile,
  );

  say('Signing in and connecting the mailboxes through the OAuth flows…');
  const sessions = new Map<DemoUser['key'], Session>();
  for (const user of USERS) {
    const session = await signIn(serverUrl, user);
    sessions.set(user.key, session);
    await connectMailbox(serverUrl, session, user, browser);
    say(`  ${user.email}: signed in (${session.org.name}, ${session.user.role}), ${user.provider === 'google' ? 'Gmail' : 'Outlook'} connected`);
  }
  const ada = sessions.get('ada')!;
  const olivia = sessions.get('olivia')!;
  await createRecords(serverUrl, ada, ACME_CONTACTS, ACME_DEALS);
  await createRecords(serverUrl, olivia, KITE_CONTACTS, KITE_DEALS);
  say(
    `  CRM: ${ACME_CONTACTS.length} contacts and ${ACME_DEALS.length} deals at Acme Robotics, ${KITE_CONTACTS.length} contacts and ${KITE_DEALS.length} deal at Kite Resellers`,
  );

  const hostPort = await portFrom(port === 3000 ? 3001 : 0);
  host = await startDemoHost({
    root,
    port: hostPort,
    serverUrl,
    outlookUser: OLIVIA,
    items: () => outlookItems,
    addinToken: () => identityToken(OLIVIA),
    consoleLink: async (who) => {
      const user = USERS.find((u) => u.key === who);
      if (!user) return null;
      const session = await signIn(serverUrl, user);
      return (await api<{ url: string }>(serverUrl, session.token, 'POST', '/api/session/link')).url;
    },
    links: () => [
      ...USERS.map((u): [string, string] => [`Console as ${u.name}`, `${host!.url}/console?as=${u.key}`]),
      ['Outlook task pane (stub Office host)', `${host!.url}/outlook`],
      ['Google emulator control', `${emu!.google.httpUrl}/__control/state`],
      ['Microsoft emulator control', `${emu!.microsoft.httpUrl}/__control/`],
    ],
  });

  say('Waiting for the imports to be live…');
  // Ada is the first user at Acme, so an admin: she sees Bob's mailbox too.
  await waitForLive(serverUrl, [ada, olivia], USERS.length, opts.small);

  const link = (await api<{ url: string }>(serverUrl, ada.token, 'POST', '/api/session/link')).url;
  say(`
Threadline demo is running. Ctrl-C stops everything.

  Console, signed in as Ada (admin at Acme Robotics; Gmail):
    ${link}
    One-time link, valid 2 minutes. A fresh one any time: ${host.url}/console?as=ada (or ?as=bob, ?as=olivia)
  Outlook task pane with the stub Office host (Olivia at Kite Resellers; Outlook):
    ${host.url}/outlook
  Emulator control APIs (seed mail, act as the user, inject faults):
    Google (Gmail + identity):     ${emu.google.httpUrl}/__control/state
    Microsoft (Graph + identity):  ${emu.microsoft.httpUrl}/__control/
  Server: ${serverUrl} (log: ${shown(logFile)})
  Everything on one page: ${host.url}/

New mail arrives every ${opts.small ? 'few seconds' : '15–25 seconds'} for a random demo user:
`);
  scheduleLiveMail(opts.small);
}

main().catch(async (err: unknown) => {
  console.error(`\nnpm run demo failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
});
