/**
 * The web console end to end: web/dist built by web/build.mjs and served by the real server (API and sync
 * workers, as `npm start` runs it) at /app/, in headless Debian Chromium through playwright-core, against the
 * Google and Microsoft emulators. The user signs in through a one-time link (made with a session from an
 * emulator-minted ID token, as an add-on would), connects Gmail through Google's consent page and Outlook through
 * Microsoft's, watches the Outlook import's progress bar move until the mailbox is live, opens a contact whose past
 * mail the Gmail import brought in, reads a message (sandboxed, remote images held back until asked), replies (it
 * lands in the emulator's Sent folder, in the original thread, and once in the contact's timeline), and as admin
 * previews what excluding a domain would remove, saves it, and sees that mail leave the timeline.
 * Screenshots go to test-results/console/, and the README's pictures to docs/screenshots/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import mongoose, { type Types } from 'mongoose';
import MailComposer from 'nodemailer/lib/mail-composer';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { connectDatabase } from '../../server/src/db/connection';
import { runInOrg } from '../../server/src/db/tenant';
import { Outbox } from '../../server/src/models';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { generateMailbox } from '../emulators/common/generate';
import { saveReadmeShot, STABLE_CONTEXT, STABLE_SHOT } from '../helpers/readme-shots';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

const root = path.resolve(__dirname, '../..');
const shots = path.join(root, 'test-results/console');
const CHROMIUM = '/usr/bin/chromium';
const ADA = { email: 'ada@acme-robotics.com', name: 'Ada Admin' };
const NORA = { email: 'nora@northwind-traders.com', name: 'Nora Lind' };
const COUNSEL = 'legal@lawfirm.test';
const REMOTE_IMAGE = 'https://images.example.test/logo.png';
/** Enough Outlook mail for an import of several pages (the engine asks for 100 per page). */
const OUTLOOK_MESSAGES = 240;
/** Added to every Graph emulator request while Outlook imports, so the import lasts long enough to be watched. */
const GRAPH_DELAY_MS = 1000;
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

let emu: RunningEmulators;
let server: ServerProcess;
let browser: Browser;
let page: Page;
let contactId: string;
let gmailMailboxId: string;
let session: { token: string; user: { id: string }; org: { id: string } };
const pageErrors: string[] = [];
const imageRequests: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

const inOrg = <T>(fn: () => Promise<T>) => runInOrg(session.org.id, fn);

/** Past mail with Nora in Ada's Gmail (at the emulator): the Gmail import brings it in as it would any mail. */
const PAST_MAIL = [
  {
    mid: 'pilot-1@northwind-traders.com',
    subject: 'Pilot pricing for Northwind',
    date: '2025-03-02T09:30:00Z',
    cc: [] as string[],
    text: 'Here are the numbers we discussed for the pilot.',
    html: `<p>Here are the numbers we discussed for the pilot.</p><p><img src="${REMOTE_IMAGE}" alt="Northwind logo" width="120" height="40"></p>`,
  },
  {
    mid: 'counsel-1@northwind-traders.com',
    subject: 'Contract review with counsel',
    date: '2025-03-05T11:00:00Z',
    cc: [COUNSEL],
    text: 'Our lawyers have comments on clause 7.',
    html: '<p>Our lawyers have comments on clause 7.</p>',
  },
];

async function seedMailboxes(): Promise<void> {
  const gmail = await Promise.all(
    PAST_MAIL.map(async (m) => ({
      raw: await new MailComposer({
        from: { name: NORA.name, address: NORA.email },
        to: { name: ADA.name, address: ADA.email },
        cc: m.cc,
        subject: m.subject,
        date: new Date(m.date),
        messageId: `<${m.mid}>`,
        text: m.text,
        html: m.html,
      })
        .compile()
        .build(),
      labelIds: ['INBOX'],
      date: new Date(m.date),
    })),
  );
  emu.google.control.seed(ADA.email, gmail);
  // Ada's Outlook mailbox (the address she signs in with, which the consent page is asked for): other customers.
  const now = Date.now();
  const outlook = await generateMailbox({
    owner: ADA,
    count: OUTLOOK_MESSAGES,
    seed: 9,
    startDate: new Date(now - 30 * 86_400_000),
    endDate: new Date(now - 3_600_000),
  });
  await emu.microsoft.control.seedMailbox(
    ADA.email,
    outlook.map((m) => ({ raw: m.raw, folder: m.folder, isRead: m.isRead, receivedDateTime: m.date.toISOString() })),
  );
}

async function createNora(): Promise<void> {
  // Created through the API: a new contact is linked at once to the mail already synced with its address.
  const created = await api('POST', '/api/contacts', { email: NORA.email, name: NORA.name });
  expect(created.status).toBe(201);
  contactId = created.body.id;
}

/** Follows an in-console link the way a user would reach it again (the menu, or a bookmark). */
const openHash = (hash: string) =>
  page.evaluate((h) => {
    location.hash = h;
  }, hash);

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls an async probe until it gives something truthy. */
async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${server.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The card of one mailbox on the Mailboxes page. */
const mailboxCard = (provider: 'Gmail' | 'Outlook') => page.locator('li.mailbox').filter({ hasText: `${ADA.email} · ${provider}` });

/** The timeline's subjects, once it has finished loading. */
async function timelineSubjects(): Promise<string[]> {
  await page.locator('ul.timeline li.message-item').first().waitFor();
  return page.locator('ul.timeline .message-subject').allInnerTexts();
}

/** Waits until the element's text contains `text` (pages render after their fetches answer). */
async function seeText(locator: Locator, text: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await locator.innerText().catch(() => '');
    if (last.includes(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected text containing ${JSON.stringify(text)}, saw ${JSON.stringify(last.slice(0, 500))}`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  mkdirSync(shots, { recursive: true });
  // https, as the real providers are (the Graph client sends tokens over https only); the server trusts the test CA
  // through NODE_EXTRA_CA_CERTS from emu.env, and the browser is told to accept it for the consent pages.
  emu = await startEmulators({ https: true, quiet: true });
  await seedMailboxes();
  // Built as `npm run build` builds it (web/build.mjs is ESM, so in a child process).
  execFileSync(process.execPath, ['--input-type=module', '-e', "import b from './web/build.mjs'; await b({ root: process.cwd(), quiet: true });"], {
    cwd: root,
    stdio: 'inherit',
  });
  // Polling every 2 s stands in for push (no Pub/Sub here): a reply's Sent copy comes back within seconds.
  server = await startServerProcess({ ...emu.env, SYNC_POLL_SECONDS: '2' });
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'google', token: await emu.google.control.mintIdToken({ email: ADA.email, name: ADA.name }) }),
  });
  if (res.status !== 200) throw new Error(`sign-in answered ${res.status}: ${await res.text()}`);
  session = await res.json();
  // The seeded mail is from 2025: the organisation imports ten years back (set before any mailbox is connected).
  const settings = await api('GET', '/api/settings');
  expect((await api('PUT', '/api/settings', { ...settings.body, sync: { ...settings.body.sync, historyDays: 3650 } })).status).toBe(200);
  await connectDatabase(server.mongodbUri);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ ...STABLE_CONTEXT, viewport: { width: 1100, height: 800 }, ignoreHTTPSErrors: true });
  // The remote image host of the seeded email: answered here, and every request to it recorded.
  await context.route('https://images.example.test/**', (route) => {
    imageRequests.push(route.request().url());
    return route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL });
  });
  page = await context.newPage();
  // Fail a step with its own message well before jest's test timeout would hide which one hung.
  page.setDefaultTimeout(8000);
  page.on('dialog', (d) => void d.dismiss());
  page.on('pageerror', (err) => {
    pageErrors.push(err.message);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
}, 120_000);

afterEach(() => {
  expect(pageErrors.splice(0).filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
});

afterAll(async () => {
  emu?.microsoft.control.clearFaults();
  await mongoose.disconnect();
  await browser?.close();
  await server?.stop();
  await emu?.stop();
});

describe('the web console', () => {
  it('signs in through a one-time link, which then cannot be used again', async () => {
    const link = await api('POST', '/api/session/link');
    expect(link.status).toBe(200);
    expect(link.body.url).toMatch(new RegExp(`^${server.url}/app/#login=[0-9a-f]{24}\\.[\\w-]{43}$`));
    await page.goto(link.body.url);
    // The console asks before it signs the tab in as the link's account (a link can come from someone else).
    await page.getByRole('heading', { name: 'Open Threadline with this sign-in link?' }).waitFor();
    await page.getByRole('button', { name: `Continue as ${ADA.email}` }).click();
    await page.getByRole('heading', { name: 'Mailboxes' }).waitFor();
    await seeText(page.locator('#who'), `${ADA.email} · admin`);
    // The code left the address bar at once; the session lives in this tab only.
    expect(page.url()).toBe(`${server.url}/app/#/mailboxes`);
    await seeText(page.locator('main'), 'No mailbox connected yet');
    await shot('1-signed-in');

    // A link someone else made, opened in this signed-in tab: it says so, and Cancel keeps Ada signed in.
    const stranger = await fetch(`${server.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'google', token: await emu.google.control.mintIdToken({ email: 'mallory@acme-robotics.com' }) }),
    });
    const mallory = (await stranger.json()) as { token: string };
    const trap = await fetch(`${server.url}/api/session/link`, { method: 'POST', headers: { authorization: `Bearer ${mallory.token}` } });
    await page.goto('about:blank'); // a link opens a fresh load of the console, not a hash change in it
    await page.goto(((await trap.json()) as { url: string }).url);
    await page.getByRole('heading', { name: 'Open Threadline with this sign-in link?' }).waitFor();
    await seeText(page.locator('main'), `This tab is signed in as ${ADA.email}`);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Mailboxes' }).waitFor();
    await seeText(page.locator('#who'), `${ADA.email} · admin`);

    const code = new URL(link.body.url).hash.slice('#login='.length);
    const again = await fetch(`${server.url}/api/session/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(again.status).toBe(401);
  });

  it('connects Gmail through the consent page; the mailbox imports and turns live', async () => {
    emu.google.control.setConsent('page');
    try {
      await page.getByRole('button', { name: 'Connect Gmail' }).click();
      await page.locator('#allow').waitFor();
      await expect(page.locator('#user').innerText()).resolves.toBe(ADA.email);
      await shot('2-consent');
      await page.locator('#allow').click();
      await page.getByRole('heading', { name: 'Mailbox connected' }).waitFor();
      await shot('3-connected');
      await page.getByRole('link', { name: 'Back to your mailboxes in Threadline' }).click();
    } finally {
      emu.google.control.setConsent('auto');
    }
    const card = mailboxCard('Gmail');
    await card.waitFor();
    await card.locator('.badge[data-state="live"]').waitFor({ timeout: 30_000 });
    await seeText(card, 'Live');
    gmailMailboxId = (await card.getAttribute('data-mailbox'))!;
    await shot('4-mailboxes');
  });

  it("connects Outlook through Microsoft's consent page, and the sync-health page shows the import progressing to live", async () => {
    const card = mailboxCard('Outlook');
    emu.microsoft.control.setConsentMode('page');
    // Every Graph call answers a second late from now on: the import takes several seconds, one page at a time.
    emu.microsoft.control.setFaults({ delayMs: GRAPH_DELAY_MS });
    try {
      await page.getByRole('button', { name: 'Connect Outlook' }).click();
      await page.locator('#accept').waitFor({ timeout: 15_000 });
      await expect(page.locator('#user').innerText()).resolves.toBe(ADA.email);
      await expect(page.locator('body').innerText()).resolves.toContain('Mail.ReadWrite');
      await shot('5-consent-microsoft');
      await page.locator('#accept').click();
      await page.getByRole('heading', { name: 'Mailbox connected' }).waitFor({ timeout: 15_000 });
      await page.getByRole('link', { name: 'Back to your mailboxes in Threadline' }).click();
      await page.getByRole('heading', { name: 'Mailboxes' }).waitFor();

      // Everything the Outlook card shows from now on, each distinct state once, recorded in the page itself.
      await page.evaluate(() => {
        const seen: { state: string; value: number; max: number; text: string; barShown: boolean }[] = [];
        (window as unknown as { __progress: typeof seen }).__progress = seen;
        const record = () => {
          const card = Array.from(document.querySelectorAll('li.mailbox')).find((li) => li.querySelector('.card-title')?.textContent?.endsWith('· Outlook'));
          if (!card) return;
          const bar = card.querySelector('progress')!;
          const entry = {
            state: (card.querySelector('.badge') as HTMLElement).dataset.state ?? '',
            value: bar.value,
            max: bar.max,
            text: card.querySelector('.progress .muted')?.textContent ?? '',
            barShown: !(card.querySelector('.progress') as HTMLElement).hidden,
          };
          const last = seen[seen.length - 1];
          if (!last || JSON.stringify(last) !== JSON.stringify(entry)) seen.push(entry);
        };
        record();
        new MutationObserver(record).observe(document.getElementById('main')!, { subtree: true, childList: true, characterData: true, attributes: true });
      });
      await card.waitFor();
      // Part-way: the bar is shown and partly filled, with the count in words beside it.
      await card.locator('.badge[data-state="backfilling"]').waitFor({ timeout: 30_000 });
      await eventually('a partly filled progress bar', async () => {
        const value = await card.locator('progress').evaluate((b: HTMLProgressElement) => (b.value > 0 && b.value < b.max ? b.value : 0));
        return value > 0;
      });
      await seeText(card, 'Importing');
      await shot('6-importing');
      await card.locator('.badge[data-state="live"]').waitFor({ timeout: 90_000 });
    } finally {
      emu.microsoft.control.clearFaults();
      emu.microsoft.control.setConsentMode('auto');
    }
    const seen = await page.evaluate(
      () => (window as unknown as { __progress: { state: string; value: number; max: number; text: string; barShown: boolean }[] }).__progress,
    );
    const importing = seen.filter((e) => e.state === 'backfilling');
    // The bar moved: it was seen at more than one fill level below full, never going back.
    const partial = [...new Set(importing.filter((e) => e.value > 0 && e.value < e.max).map((e) => e.value))];
    expect(partial.length).toBeGreaterThanOrEqual(1);
    expect(importing.filter((e) => e.barShown).map((e) => e.value)).toEqual([...importing.filter((e) => e.barShown).map((e) => e.value)].sort((a, b) => a - b));
    expect(new Set(importing.map((e) => e.value)).size).toBeGreaterThanOrEqual(2);
    for (const e of importing.filter((x) => x.max > 1)) expect(e.text).toBe(`${e.value} of ${e.max} messages`);
    // Live: the badge says so, the finished bar is put away, and every message is counted in.
    expect(seen[seen.length - 1]).toMatchObject({ state: 'live', barShown: false });
    await seeText(card, 'Live');
    const mailboxes = (await api('GET', '/api/mailboxes')).body.mailboxes as {
      provider: string;
      state: string;
      progress: { imported: number; total: number };
    }[];
    expect(mailboxes.find((m) => m.provider === 'microsoft')).toMatchObject({
      state: 'live',
      progress: { imported: OUTLOOK_MESSAGES, total: OUTLOOK_MESSAGES },
    });
    await shot('7-both-live');
  }, 150_000);

  it('says plainly what disconnecting each mailbox does (Microsoft has no refresh-token revoke), and a No keeps it', async () => {
    const questions: string[] = [];
    for (const provider of ['Outlook', 'Gmail'] as const) {
      const asked = page.waitForEvent('dialog');
      await mailboxCard(provider).getByRole('button', { name: 'Disconnect' }).click();
      questions.push((await asked).message()); // dismissed by the page-wide handler: nothing is disconnected
    }
    expect(questions[0]).toMatch(/Microsoft offers no way for an app to revoke its own sign-in/);
    expect(questions[0]).toContain('https://myapps.microsoft.com');
    expect(questions[1]).toMatch(/revokes its access at Google/);
    expect((await api('GET', '/api/mailboxes')).body.mailboxes).toHaveLength(2);
  });

  it('opens a contact record whose timeline shows the past mail', async () => {
    await createNora();
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.getByLabel('Search contacts').fill('Nora');
    await page.getByRole('link', { name: NORA.name }).click();
    await page.getByRole('heading', { name: NORA.name }).waitFor();
    expect(await timelineSubjects()).toEqual(['Contract review with counsel', 'Pilot pricing for Northwind']);
    await seeText(page.locator('ul.timeline'), 'Synced by you');
    await shot('8-contact');
    saveReadmeShot('console-contact', await page.screenshot({ ...STABLE_SHOT, fullPage: true }));
  });

  it("shows the contact's notes and tasks, adds them, and marks a task done", async () => {
    // On its own feet: the contact may come from the test before, or be created here.
    if (!contactId) await createNora();
    await openHash(`#/contacts/${contactId}`);
    await page.getByLabel('Add a note').fill('Met Nora at the trade fair.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await seeText(page.locator('ul.notes'), 'Met Nora at the trade fair.');
    await page.getByLabel('Add a task').fill('Send the contract draft');
    await page.getByLabel('Due').fill('2026-05-04');
    await page.getByRole('button', { name: 'Add task' }).click();
    const task = page.getByLabel('Send the contract draft');
    await task.waitFor();
    const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/tasks/'));
    await task.check();
    expect((await patched).status()).toBe(200);
    const mine = (await api('GET', '/api/tasks?assignee=me')).body.tasks as { title: string; done: boolean }[];
    expect(mine).toEqual([expect.objectContaining({ title: 'Send the contract draft', done: true })]);
  });

  it('shows a message sandboxed, with remote images held back until asked', async () => {
    await page.getByRole('link', { name: /Pilot pricing for Northwind/ }).click();
    const frame = page.locator('iframe.email-frame');
    await frame.waitFor();
    expect(await frame.getAttribute('sandbox')).toBe('allow-popups allow-popups-to-escape-sandbox');
    const srcdoc = (await frame.getAttribute('srcdoc')) ?? '';
    expect(srcdoc).toContain("content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:;");
    const body = page.frameLocator('iframe.email-frame');
    await expect(body.locator('p').first().innerText()).resolves.toBe('Here are the numbers we discussed for the pilot.');
    await expect(body.locator('img').getAttribute('src')).resolves.toBeNull();
    await page.waitForTimeout(300);
    expect(imageRequests).toEqual([]);
    await seeText(page.locator('main'), `Synced\nSynced by you (${ADA.email})`);
    await shot('9-message');

    await page.getByRole('button', { name: 'Show images' }).click();
    await expect(body.locator('img').getAttribute('src')).resolves.toBe(REMOTE_IMAGE);
    await until(() => imageRequests.length > 0);
    expect(imageRequests).toEqual([REMOTE_IMAGE]);
  });

  it("replies from the contact's message: sent from Ada's Gmail, in its Sent folder and thread, and once in the timeline", async () => {
    await page.getByRole('button', { name: 'Reply' }).click();
    const form = page.getByRole('form', { name: 'Reply' });
    // Only the caller's own mailboxes (one sends from one's own, even as an admin who sees the org's); the one
    // holding the original is chosen, told apart from the same address's Outlook mailbox by its provider.
    const fromSelect = form.getByLabel('From');
    await fromSelect.locator('option', { hasText: ADA.email }).first().waitFor({ state: 'attached' });
    await expect(fromSelect.locator('option').allInnerTexts()).resolves.toEqual(expect.arrayContaining([`${ADA.email} · Gmail`, `${ADA.email} · Outlook`]));
    await expect(fromSelect.locator('option').count()).resolves.toBe(2);
    await expect(fromSelect.inputValue()).resolves.toBe(gmailMailboxId);
    await expect(form.getByLabel('Subject').inputValue()).resolves.toBe('Re: Pilot pricing for Northwind');
    await form.getByLabel('Message').fill('Thanks Nora, April works for us.');
    await shot('10-reply');
    const answered = page.waitForResponse((r) => r.url() === `${server.url}/api/messages` && r.request().method() === 'POST');
    await form.getByRole('button', { name: 'Send' }).click();
    const res = await answered;
    expect(res.status()).toBe(202);
    const key = res.request().headers()['idempotency-key'];
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    const { id } = (await res.json()) as { id: string };
    await page.waitForURL(`**/app/#/messages/${id}`);
    await page.getByRole('heading', { name: 'Re: Pilot pricing for Northwind' }).waitFor();

    const entries = await inOrg(() => Outbox.find({}).lean<{ _id: Types.ObjectId; idempotencyKey: string; status: string; messageId: Types.ObjectId }[]>());
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ idempotencyKey: key });
    expect(String(entries[0].messageId)).toBe(id);
    await eventually('the send to be done', () => inOrg(() => Outbox.exists({ _id: entries[0]._id, status: 'sent' })));

    // At the provider: once in Ada's Sent folder, in the thread of the message it answers.
    const inGmail = emu.google.control.messages(ADA.email);
    const sent = inGmail.filter((m) => m.labelIds.includes('SENT'));
    expect(sent.map((m) => m.subject)).toEqual(['Re: Pilot pricing for Northwind']);
    expect(sent[0].threadId).toBe(inGmail.find((m) => m.subject === 'Pilot pricing for Northwind')!.threadId);
    expect(emu.microsoft.control.messages(ADA.email, 'sentitems').filter((m) => m.subject.includes('Pilot pricing'))).toEqual([]);

    // In the CRM: the synced-back Sent copy is the same message, which joins Nora's timeline, once.
    await eventually("the reply on Nora's timeline", async () => {
      await openHash(`#/contacts/${contactId}`);
      await page.getByRole('heading', { name: NORA.name }).waitFor();
      const subjects = await timelineSubjects();
      await openHash('#/contacts');
      return subjects.includes('Re: Pilot pricing for Northwind');
    });
    // A few more sync rounds later it is still there exactly once, as the message the console answered with.
    await page.waitForTimeout(4500);
    await openHash(`#/contacts/${contactId}`);
    await page.getByRole('heading', { name: NORA.name }).waitFor();
    expect((await timelineSubjects()).filter((s) => s === 'Re: Pilot pricing for Northwind')).toHaveLength(1);
    await expect(page.locator(`ul.timeline li[data-message="${id}"]`).count()).resolves.toBe(1);
    await shot('11-replied');
  }, 90_000);

  it('as admin, previews what excluding a domain removes, saves it, and that mail leaves the timeline', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Organisation policy' }).waitFor();
    const preview = page.locator('section.preview');
    expect(await preview.isHidden()).toBe(true);
    await page.getByLabel('Excluded domains').first().fill('lawfirm.test');
    // Before saving: what the server says the save would remove, with an example.
    await seeText(preview, 'Saving would remove 1 stored message, e.g.:');
    await seeText(preview, `Contract review with counsel · ${NORA.email} · Mar 5, 2025`);
    await seeText(preview, 'domain lawfirm.test');
    await shot('12-policy-preview');
    saveReadmeShot('console-policy-preview', await page.locator('form[aria-labelledby="org-title"]').screenshot(STABLE_SHOT));
    // A typo is not previewed as if it were a rule: the server's validation message is shown instead.
    await page.getByLabel('Excluded domains').first().fill('lawfirm.test\nnot a domain');
    await seeText(preview, 'Cannot preview yet: sync.excludedDomains.1: not a valid domain');
    await page.getByLabel('Excluded domains').first().fill('lawfirm.test');
    await seeText(preview, 'Saving would remove 1 stored message');
    await expect(api('GET', '/api/settings').then((r) => r.body.sync.excludedDomains)).resolves.toEqual([]);

    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()).resolves.toBeUndefined();
    // Put away with the save, and it stays away: the form now equals what is stored (the textarea's late change
    // event from the click must not bring back a preview of a save that already happened).
    expect(await preview.isHidden()).toBe(true);
    await page.waitForTimeout(800);
    expect(await preview.isHidden()).toBe(true);
    await shot('13-policy-saved');
    await expect(api('GET', '/api/settings').then((r) => r.body.sync.excludedDomains)).resolves.toEqual(['lawfirm.test']);

    await openHash(`#/contacts/${contactId}`);
    await page.getByRole('heading', { name: NORA.name }).waitFor();
    const subjects = await timelineSubjects();
    expect(subjects).toContain('Pilot pricing for Northwind');
    expect(subjects).not.toContain('Contract review with counsel');
    // Removed from the CRM only: the mail stays in Ada's mailbox.
    expect(emu.google.control.messages(ADA.email).map((m) => m.subject)).toContain('Contract review with counsel');
    await shot('14-after-policy');
    // A narrow window (a phone, or the console beside a mail client): one column, nothing cut off.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await shot('15-narrow');
    await page.setViewportSize({ width: 1100, height: 800 });
  });

  describe('this email, my choice', () => {
    const PILOT = 'Pilot pricing for Northwind';
    const REPLY = 'Re: Pilot pricing for Northwind';
    const choice = () => page.locator('section[aria-labelledby="choice-title"]');
    const said = (id: 'choice-logging' | 'choice-sharing') => choice().getByTestId(id).innerText();
    /** Nora's messages by subject, as the API lists them now. */
    const noraMail = async () =>
      new Map(
        ((await api('GET', `/api/contacts/${contactId}/messages?limit=50`)).body.messages as { id: string; subject: string }[]).map((m) => [m.subject, m.id]),
      );
    /** Opens the pilot email from Nora's timeline, as a user reaches it (its page may be the one showing already). */
    const openPilot = async () => {
      const id = await eventually(`${PILOT} in the CRM`, async () => (await noraMail()).get(PILOT));
      await openHash(`#/contacts/${contactId}`);
      await page.locator(`li.message-item[data-message="${id}"] a.message-link`).click();
      await page.getByRole('heading', { name: PILOT, exact: true }).waitFor();
      await choice().getByTestId('choice-logging').waitFor();
      return id;
    };

    it('sets one email private, then back to the default, as the server stores it; a failed call says why and changes nothing', async () => {
      const id = await openPilot();
      await expect(said('choice-logging')).resolves.toBe('Logged to the CRM from your mailbox.');
      await expect(said('choice-sharing')).resolves.toBe('Shared with your team in full (your default)');
      await choice().getByRole('button', { name: 'Make private' }).click();
      await seeText(choice(), 'This email is private now: only you see it.');
      await seeText(choice(), 'Private: only you see it (for this email only)');
      expect((await api('GET', `/api/messages/${id}/choices`)).body.sharing).toEqual({ level: 'private', override: 'private', defaultLevel: 'full' });
      await shot('16-choice-private');

      await page.route('**/api/messages/*/visibility', (route) =>
        route.fulfill({
          status: 403,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'forbidden', message: 'only a holder of this email can set its sharing' } }),
        }),
      );
      try {
        await choice().getByRole('button', { name: 'Share headers only' }).click();
        // Said beside the button that failed, not somewhere else on the page.
        const beside = choice().locator('.action', { has: page.getByRole('button', { name: 'Share headers only' }) });
        await beside.locator('.error-text').filter({ hasText: 'only a holder of this email can set its sharing' }).waitFor();
        await expect(choice().getByRole('status').innerText()).resolves.toBe('');
        await expect(choice().getByRole('button', { name: 'Share headers only' }).isEnabled()).resolves.toBe(true);
        await expect(said('choice-sharing')).resolves.toBe('Private: only you see it (for this email only)');
      } finally {
        await page.unroute('**/api/messages/*/visibility');
      }
      expect((await api('GET', `/api/messages/${id}/choices`)).body.sharing.override).toBe('private');

      await choice().getByRole('button', { name: 'Use my default' }).click();
      await seeText(choice(), 'This email follows your default sharing again.');
      await seeText(choice(), 'Shared with your team in full (your default)');
      expect((await api('GET', `/api/messages/${id}/choices`)).body.sharing).toEqual({ level: 'full', override: null, defaultLevel: 'full' });
    });

    it('"Don\'t log this email" takes it out of the CRM; "Log this email again" on the same page brings it back with the next sync', async () => {
      const id = await openPilot();
      await choice().getByRole('button', { name: "Don't log this email" }).click();
      await seeText(choice(), 'This email is no longer logged for you.');
      await seeText(page.locator('main'), 'This email is not in the CRM for you now.');
      await expect(said('choice-logging')).resolves.toBe('You chose not to log this email: your copy does not go to the CRM.');
      expect((await api('GET', `/api/messages/${id}`)).status).toBe(404);
      expect((await api('GET', '/api/me/excluded-messages')).body.exclusions).toEqual([expect.objectContaining({ scope: 'message', copies: 1 })]);
      expect((await noraMail()).has(PILOT)).toBe(false);
      await shot('17-choice-not-logged');

      await choice().getByRole('button', { name: 'Log this email again' }).click();
      await seeText(choice(), 'This email is logged again: it is back in the CRM within a minute or so.');
      // The choice is lifted: the page no longer offers to lift it (whether or not the email is back yet).
      await expect(choice().getByRole('button', { name: 'Log this email again' }).count()).resolves.toBe(0);
      expect((await api('GET', '/api/me/excluded-messages')).body.exclusions).toEqual([]);
      // The mailbox's next run fetches the copy back from Gmail, where it never left.
      const back = await eventually(`${PILOT} back in the CRM`, async () => (await noraMail()).get(PILOT));
      // Stored under the same id as before (ids are derived from the email: server/src/models/ids.ts), so a link to
      // it made before the choice opens it again.
      expect(back).toBe(id);
      expect((await api('GET', `/api/messages/${id}`)).status).toBe(200);
      await openPilot();
      await expect(said('choice-logging')).resolves.toBe('Logged to the CRM from your mailbox.');
      await choice().getByRole('button', { name: "Don't log this email" }).waitFor();
    }, 60_000);

    it('"Don\'t log this thread" takes the reply out too; Settings lists the choice, and its "Log again" brings both back', async () => {
      expect((await noraMail()).has(REPLY)).toBe(true);
      await openPilot();
      await choice().getByRole('button', { name: "Don't log this thread" }).click();
      await seeText(choice(), 'This thread is no longer logged for you.');
      await expect(said('choice-logging')).resolves.toBe('You chose not to log this thread: none of its mail in your mailbox goes to the CRM.');
      const mail = await noraMail();
      expect([mail.has(PILOT), mail.has(REPLY)]).toEqual([false, false]);

      await page.getByRole('link', { name: 'Settings' }).click();
      const panel = page.locator('section[aria-labelledby="not-logged-title"]');
      await seeText(panel, 'A thread, chosen');
      await seeText(panel, '(2 copies kept out)');
      await shot('18-settings-not-logged');
      await panel.getByRole('button', { name: 'Log again' }).click();
      await seeText(panel, 'This thread is logged again: it is back in the CRM within a minute or so.');
      await seeText(panel, 'None.');
      expect((await api('GET', '/api/me/excluded-messages')).body.exclusions).toEqual([]);
      await eventually('the thread back in the CRM', async () => {
        const now = await noraMail();
        return now.has(PILOT) && now.has(REPLY);
      });
    }, 60_000);
  });
});

describe('the served console', () => {
  it('answers console paths with the page (history fallback) and its own CSP, and real 404s for missing files', async () => {
    const res = await fetch(`${server.url}/app/contacts/${'a'.repeat(24)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("img-src 'self' data: https:");
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<script type="application/json" id="console-config">{"devSignIn":true}</script>');
    expect((await fetch(`${server.url}/app/missing.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/app`, { redirect: 'manual' })).headers.get('location')).toBe('/app/');
  });

  it('turns an add-on link to /app/contacts/<id> into the console route', async () => {
    const { body } = await api('GET', `/api/contacts?q=${encodeURIComponent(NORA.email)}`);
    await page.goto(`${server.url}/app/contacts/${body.contacts[0].id}`);
    await page.getByRole('heading', { name: NORA.name }).waitFor();
    expect(page.url()).toBe(`${server.url}/app/#/contacts/${body.contacts[0].id}`);
  });

  it('refuses a malformed or unknown one-time code alike', async () => {
    for (const code of ['nonsense', `${session.org.id}.${'x'.repeat(43)}`]) {
      const res = await fetch(`${server.url}/api/session/redeem`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
      expect(res.status).toBe(401);
    }
  });
});
