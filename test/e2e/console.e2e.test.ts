/**
 * The web console end to end (issue 9): web/dist built by web/build.mjs and served by the real server at /app/, in
 * headless Debian Chromium through playwright-core, against the Google emulator. The user signs in through a
 * one-time link (made with a session from an emulator-minted ID token, as an add-on would), connects Gmail through
 * the emulator's consent page, opens a contact seeded with past mail, reads a message (sandboxed, remote images
 * held back until asked), replies (202 and an outbox entry; the send itself is the worker's), and as admin excludes
 * a domain and sees that mail leave the timeline. Screenshots go to test-results/console/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import mongoose, { Types } from 'mongoose';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { connectDatabase } from '../../server/src/db/connection';
import { runInOrg } from '../../server/src/db/tenant';
import { Mailbox, MailboxMessage, Message, Outbox } from '../../server/src/models';
import { sanitizeEmailHtml } from '../../server/src/sync/ingest/sanitize';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

const root = path.resolve(__dirname, '../..');
const shots = path.join(root, 'test-results/console');
const CHROMIUM = '/usr/bin/chromium';
const ADA = { email: 'ada@acme-robotics.com', name: 'Ada Admin' };
const NORA = { email: 'nora@northwind-traders.com', name: 'Nora Lind' };
const COUNSEL = 'legal@lawfirm.test';
const REMOTE_IMAGE = 'https://images.example.test/logo.png';
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

let emu: RunningEmulators;
let server: ServerProcess;
let browser: Browser;
let page: Page;
let contactId: string;
let session: { token: string; user: { id: string }; org: { id: string } };
const pageErrors: string[] = [];
const imageRequests: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`${server.url}${url}`, {
    method, headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

const inOrg = <T>(fn: () => Promise<T>) => runInOrg(session.org.id, fn);

/** Past mail with Nora in Ada's Gmail mailbox, stored as ingest stores it (html through the real sanitiser). */
async function seedPastMail(): Promise<void> {
  const userId = new Types.ObjectId(session.user.id);
  await inOrg(async () => {
    const mailbox = await Mailbox.findOne({ address: ADA.email }).lean<{ _id: Types.ObjectId }>();
    if (!mailbox) throw new Error('the connected mailbox is not stored');
    const mails = [
      {
        mid: 'pilot-1@northwind-traders.com', subject: 'Pilot pricing for Northwind', date: '2025-03-02T09:30:00Z', cc: [] as string[],
        text: 'Here are the numbers we discussed for the pilot.',
        html: `<p>Here are the numbers we discussed for the pilot.</p><p><img src="${REMOTE_IMAGE}" alt="Northwind logo" width="120" height="40"></p>`,
      },
      {
        mid: 'counsel-1@northwind-traders.com', subject: 'Contract review with counsel', date: '2025-03-05T11:00:00Z', cc: [COUNSEL],
        text: 'Our lawyers have comments on clause 7.', html: '<p>Our lawyers have comments on clause 7.</p>',
      },
    ];
    for (const [i, m] of mails.entries()) {
      const doc = await Message.create({
        dedupKey: `mid:${m.mid}`, internetMessageId: m.mid, subject: m.subject, from: NORA, to: [ADA], cc: m.cc.map((email) => ({ email, name: '' })),
        date: new Date(m.date), direction: 'inbound', snippet: m.text, text: m.text, html: sanitizeEmailHtml(m.html).html,
        participants: [NORA.email, ADA.email, ...m.cc], syncedBy: [userId], threadId: new Types.ObjectId(),
      });
      await MailboxMessage.create({ mailboxId: mailbox._id, userId, messageId: doc._id, providerMessageId: `gm-${i}`, providerThreadId: `gt-${i}`, labels: ['INBOX'] });
    }
  });
  // Created through the API: a new contact is linked at once to the mail already synced with its address.
  const created = await api('POST', '/api/contacts', { email: NORA.email, name: NORA.name });
  expect(created.status).toBe(201);
  contactId = created.body.id;
}

/** Follows an in-console link the way a user would reach it again (the menu, or a bookmark). */
const openHash = (hash: string) => page.evaluate((h) => { location.hash = h; }, hash);

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

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
  emu = await startEmulators({ quiet: true });
  // Built as `npm run build` builds it (web/build.mjs is ESM, so in a child process).
  execFileSync(process.execPath, ['--input-type=module', '-e', "import b from './web/build.mjs'; await b({ root: process.cwd(), quiet: true });"], { cwd: root, stdio: 'inherit' });
  server = await startServerProcess(emu.env);
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'google', token: await emu.google.control.mintIdToken({ email: ADA.email, name: ADA.name }) }),
  });
  if (res.status !== 200) throw new Error(`sign-in answered ${res.status}: ${await res.text()}`);
  session = await res.json();
  await connectDatabase(server.mongodbUri);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  // The remote image host of the seeded email: answered here, and every request to it recorded.
  await context.route('https://images.example.test/**', (route) => {
    imageRequests.push(route.request().url());
    return route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL });
  });
  page = await context.newPage();
  // Fail a step with its own message well before jest's test timeout would hide which one hung.
  page.setDefaultTimeout(8000);
  page.on('dialog', (d) => void d.dismiss());
  page.on('pageerror', (err) => { pageErrors.push(err.message); });
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
}, 120_000);

afterEach(() => {
  expect(pageErrors.splice(0).filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
});

afterAll(async () => {
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
    await page.getByRole('heading', { name: 'Mailboxes' }).waitFor();
    await seeText(page.locator('#who'), `${ADA.email} · admin`);
    // The code left the address bar at once; the session lives in this tab only.
    expect(page.url()).toBe(`${server.url}/app/#/mailboxes`);
    await seeText(page.locator('main'), 'No mailbox connected yet');
    await shot('1-signed-in');

    const code = new URL(link.body.url).hash.slice('#login='.length);
    const again = await fetch(`${server.url}/api/session/redeem`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    expect(again.status).toBe(401);
  });

  it('connects Gmail through the consent page and lists the mailbox with its state', async () => {
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
    const card = page.locator('li.mailbox');
    await card.waitFor();
    await seeText(card, `${ADA.email} · Gmail`);
    // Which state depends on whether this process runs the sync workers yet; any contract state is shown in words.
    await expect(card.locator('.badge').getAttribute('data-state')).resolves.toMatch(/^(backfilling|live|throttled|error|paused)$/);
    await shot('4-mailboxes');
  });

  it('opens a contact record whose timeline shows the past mail', async () => {
    await seedPastMail();
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.getByLabel('Search contacts').fill('Nora');
    await page.getByRole('link', { name: NORA.name }).click();
    await page.getByRole('heading', { name: NORA.name }).waitFor();
    expect(await timelineSubjects()).toEqual(['Contract review with counsel', 'Pilot pricing for Northwind']);
    await seeText(page.locator('ul.timeline'), 'Synced by you');
    await shot('5-contact');
  });

  it('shows a message sandboxed, with remote images held back until asked', async () => {
    await page.getByRole('link', { name: /Pilot pricing for Northwind/ }).click();
    const frame = page.locator('iframe.email-frame');
    await frame.waitFor();
    expect(await frame.getAttribute('sandbox')).toBe('allow-popups allow-popups-to-escape-sandbox');
    const srcdoc = (await frame.getAttribute('srcdoc')) ?? '';
    expect(srcdoc).toContain('content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:;');
    const body = page.frameLocator('iframe.email-frame');
    await expect(body.locator('p').first().innerText()).resolves.toBe('Here are the numbers we discussed for the pilot.');
    await expect(body.locator('img').getAttribute('src')).resolves.toBeNull();
    await page.waitForTimeout(300);
    expect(imageRequests).toEqual([]);
    await seeText(page.locator('main'), `Synced\nSynced by you (${ADA.email})`);
    await shot('6-message');

    await page.getByRole('button', { name: 'Show images' }).click();
    await expect(body.locator('img').getAttribute('src')).resolves.toBe(REMOTE_IMAGE);
    await until(() => imageRequests.length > 0);
    expect(imageRequests).toEqual([REMOTE_IMAGE]);
  });

  it('replies from the message: 202, an outbox entry, and never twice in the timeline', async () => {
    await page.getByRole('button', { name: 'Reply' }).click();
    const form = page.getByRole('form', { name: 'Reply' });
    // Only the caller's own mailboxes: one sends from one's own, even as an admin who sees the org's.
    await form.getByLabel('From').locator('option', { hasText: ADA.email }).waitFor({ state: 'attached' });
    await expect(form.getByLabel('From').locator('option').allInnerTexts()).resolves.toEqual([ADA.email]);
    await expect(form.getByLabel('Subject').inputValue()).resolves.toBe('Re: Pilot pricing for Northwind');
    await form.getByLabel('Message').fill('Thanks Nora, April works for us.');
    await shot('7-reply');
    const answered = page.waitForResponse((r) => r.url() === `${server.url}/api/messages` && r.request().method() === 'POST');
    await form.getByRole('button', { name: 'Send' }).click();
    const res = await answered;
    expect(res.status()).toBe(202);
    const key = res.request().headers()['idempotency-key'];
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    const { id } = (await res.json()) as { id: string };
    await page.waitForURL(`**/app/#/messages/${id}`);
    await page.getByRole('heading', { name: 'Re: Pilot pricing for Northwind' }).waitFor();

    const entries = await inOrg(() => Outbox.find({}).lean<{ idempotencyKey: string; status: string; messageId: Types.ObjectId }[]>());
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ idempotencyKey: key });
    expect(String(entries[0].messageId)).toBe(id);
    // Sent at once only when this process runs the outbox; then it stands in the emulator's Sent folder.
    if (entries[0].status === 'sent') {
      expect(emu.google.control.messages(ADA.email).filter((m) => m.labelIds.includes('SENT')).map((m) => m.subject)).toEqual(['Re: Pilot pricing for Northwind']);
    }

    await openHash(`#/contacts/${contactId}`);
    await page.getByRole('heading', { name: NORA.name }).waitFor();
    const subjects = await timelineSubjects();
    // Never twice. The CRM message recorded at send time carries no contact links yet (sync/outbound/record.ts):
    // it joins Nora's timeline when ingest links the synced-back Sent copy, which needs the sync workers.
    expect(subjects.filter((s) => s === 'Re: Pilot pricing for Northwind').length).toBeLessThanOrEqual(1);
  });

  it('as admin, excluding a domain takes its mail off the timeline', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Organisation policy' }).waitFor();
    await page.getByLabel('Excluded domains').first().fill('lawfirm.test');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()).resolves.toBeUndefined();
    await shot('8-policy');
    await expect(api('GET', '/api/settings').then((r) => r.body.sync.excludedDomains)).resolves.toEqual(['lawfirm.test']);

    await openHash(`#/contacts/${contactId}`);
    await page.getByRole('heading', { name: NORA.name }).waitFor();
    const subjects = await timelineSubjects();
    expect(subjects).toContain('Pilot pricing for Northwind');
    expect(subjects).not.toContain('Contract review with counsel');
    await shot('9-after-policy');
    // A narrow window (a phone, or the console beside a mail client): one column, nothing cut off.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await shot('10-narrow');
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
      const res = await fetch(`${server.url}/api/session/redeem`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
      expect(res.status).toBe(401);
    }
  });
});
