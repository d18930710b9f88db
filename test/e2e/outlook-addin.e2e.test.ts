/**
 * The Outlook task pane end to end: the pane built by outlook-addin/build.mjs and served by the real
 * server at /addin/, in headless Debian Chromium through playwright-core, with office.js routed to our stub Office
 * host (test/fakes/office). The host reports no NestedAppAuth, so the pane takes the Office dialog fallback; the
 * test plays the sign-in page the dialog would show and answers with an add-in access token minted by the Microsoft
 * identity emulator, which the server checks against the emulator's JWKS as docs/SECURITY.md "Sessions" says.
 * MSAL itself (NAA, the dialog page's redirect) is not exercised here: the emulator issues opaque access tokens
 * from its token endpoint, so it cannot stand behind MSAL for our API scope.
 * Screenshots go to test-results/outlook-addin/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import mongoose, { Types } from 'mongoose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { connectDatabase } from '../../server/src/db/connection';
import { runInOrg } from '../../server/src/db/tenant';
import { indexCopies } from '../../server/src/store/activity';
import { Mailbox, MailboxMessage, Message } from '../../server/src/models';
import { byInternetMessageId } from '../../server/src/models/ids';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { installOfficeStub, officeHost, type ItemFixture } from '../fakes/office/host';
import { saveReadmeShot, STABLE_CONTEXT, STABLE_SHOT } from '../helpers/readme-shots';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

const root = path.resolve(__dirname, '../..');
const shots = path.join(root, 'test-results/outlook-addin');
const CHROMIUM = '/usr/bin/chromium';
/** The deployment the pane and manifest are built for; the server under test serves them from 127.0.0.1. */
const PUBLIC_HOST = 'threadline.example.test';
const TENANT = '7c1e5a2b-3d4f-4a6b-8c9d-0e1f2a3b4c5d';
const REP = { email: 'rita@contoso-labs.test', oid: 'a1b2c3d4-0000-4000-8000-00000000r1ta', name: 'Rita Rep' };

const NORA: [string, string] = ['nora@northwind-traders.com', 'Nora Lind'];
const PAST_MID = '<past-1@northwind-traders.com>';
const OPEN_MID = '<open-1@northwind-traders.com>';

const noraEmail: ItemFixture = { from: NORA, to: [[REP.email, REP.name]], subject: 'Re: pilot pricing', internetMessageId: OPEN_MID };
const slowItem: ItemFixture = {
  from: ['sam@slowpoke-industries.test', 'Sam Slow'],
  to: [[REP.email, REP.name]],
  subject: 'Slow one',
  internetMessageId: '<slow@slowpoke-industries.test>',
};
const fastItem: ItemFixture = {
  from: ['fay@fastlane-logistics.test', 'Fay Fast'],
  to: [[REP.email, REP.name]],
  subject: 'Fast one',
  internetMessageId: '<fast@fastlane-logistics.test>',
};

let emu: RunningEmulators;
let server: ServerProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let clientId: string;
let audience: string;
let repOrgId: Types.ObjectId;
/** Script errors in the pane: any is a failure, reported with the test that saw it. */
const pageErrors: string[] = [];

const mintRepToken = () => emu.microsoft.control.mintAddinToken({ aud: audience, tid: TENANT, oid: REP.oid, preferred_username: REP.email, name: REP.name });

/** Rita's organisation with a connected mailbox and past mail with Nora, as ingest would have stored it. */
async function seed(): Promise<void> {
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'microsoft', token: await mintRepToken() }),
  });
  if (res.status !== 200) throw new Error(`sign-in answered ${res.status}: ${await res.text()}\n${server.output().slice(-2000)}`);
  const session = (await res.json()) as { user: { id: string }; org: { id: string } };
  const userId = new Types.ObjectId(session.user.id);
  const orgId = new Types.ObjectId(session.org.id);
  repOrgId = orgId;
  await connectDatabase(server.mongodbUri);
  await runInOrg(orgId, async () => {
    const mailbox = await Mailbox.create({ userId, provider: 'microsoft', address: REP.email, state: 'live', lastSyncedAt: new Date() });
    const mails = [
      { mid: PAST_MID, subject: 'Pilot pricing for Northwind', date: '2025-03-02T09:30:00Z', text: 'Here are the numbers we discussed for the pilot.' },
      { mid: OPEN_MID, subject: 'Re: pilot pricing', date: '2025-03-04T14:00:00Z', text: 'Thanks, we would like to start in April.' },
    ];
    for (const m of mails) {
      const doc = await Message.create({
        ...byInternetMessageId(orgId, m.mid.slice(1, -1)),
        internetMessageId: m.mid.slice(1, -1),
        subject: m.subject,
        from: { email: NORA[0], name: NORA[1] },
        to: [{ email: REP.email, name: REP.name }],
        date: new Date(m.date),
        direction: 'inbound',
        snippet: m.text,
        text: m.text,
        participants: [NORA[0], REP.email],
        syncedBy: [userId],
        threadId: new Types.ObjectId(),
      });
      const copy = await MailboxMessage.create({ mailboxId: mailbox._id, userId, messageId: doc._id, providerMessageId: `AAMk-${m.mid}`, labels: ['Inbox'] });
      await indexCopies([{ copyId: copy._id, messageId: doc._id, date: doc.date, participants: doc.participants }]);
    }
  });
  await mongoose.disconnect();
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pane = () => page.locator('#main');
const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  mkdirSync(shots, { recursive: true });
  emu = await startEmulators({ quiet: true });
  clientId = emu.microsoft.clientId;
  // Built as `npm run build` builds it (outlook-addin/build.mjs is ESM, so in a child process), for an https
  // deployment as the manifest checks below need; the pane itself calls the API by relative URLs.
  execFileSync(process.execPath, ['--input-type=module', '-e', "import b from './outlook-addin/build.mjs'; await b({ root: process.cwd(), quiet: true });"], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PUBLIC_URL: `https://${PUBLIC_HOST}`, MICROSOFT_CLIENT_ID: clientId, MICROSOFT_AUTHORITY: emu.env.MICROSOFT_AUTHORITY },
  });
  // Entra v2 access tokens for our own API carry the client id as `aud` (requestedAccessTokenVersion 2, see
  // docs/deploy-microsoft-365.md); the application ID URI is accepted too, as a v1-configured tenant would send it.
  audience = clientId;
  // API only: the test seeds its mailbox straight into the database, without tokens a worker could sync with.
  server = await startServerProcess({ ...emu.env, ROLE: 'api', MICROSOFT_ID_TOKEN_AUDIENCES: `${clientId},api://${PUBLIC_HOST}/${clientId}` });
  await seed();
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
  // An Outlook task pane is narrow: 320 px is its usual width on the web.
  context = await browser.newContext({ ...STABLE_CONTEXT, viewport: { width: 320, height: 900 } });
  await installOfficeStub(context, {
    item: noraEmail,
    dialogAnswer: async () => JSON.stringify({ status: 'ok', accessToken: await mintRepToken() }),
  });
  page = await context.newPage();
  // The stub host refuses alert/confirm/prompt as Office does; a dialog that got through anyway would hang the test.
  page.on('dialog', (d) => void d.dismiss());
  page.on('pageerror', (err) => {
    pageErrors.push(err.message);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
}, 120_000);

afterEach(() => {
  const errors = pageErrors.splice(0);
  // A request the pane aborted on purpose is logged by Chromium as a failed resource; it is not an error.
  expect(errors.filter((e) => !/ERR_ABORTED|Failed to load resource/.test(e))).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await emu?.stop();
});

describe('the task pane beside an email', () => {
  it('signs in through the Office dialog fallback and shows an unknown sender with a suggested contact', async () => {
    await page.goto(`${server.url}/addin/taskpane.html`);
    const signIn = page.getByRole('button', { name: 'Sign in' });
    await signIn.waitFor();
    await shot('1-sign-in');
    await signIn.click();

    const nora = page.locator(`li.person[data-email="${NORA[0]}"]`);
    await nora.waitFor();
    expect(await officeHost(page).dialogs()).toEqual([`${server.url}/addin/auth-dialog.html`]);
    await expect(nora.innerText()).resolves.toContain('Not in the CRM. Will be saved as Nora Lind · Northwind Traders');
    await expect(page.getByTestId('this-email-status').innerText()).resolves.toBe('Synced by you');
    await expect(pane().innerText()).resolves.toContain('Pilot pricing for Northwind');
    await shot('2-unknown-sender');
  });

  it('creates the contact from the keyboard and then shows the contact, company and past mail', async () => {
    const create = page.getByRole('button', { name: 'Create contact Nora Lind' });
    await create.focus();
    await page.keyboard.press('Enter');
    const nora = page.locator(`li.person[data-email="${NORA[0]}"]`);
    await nora.locator('.badge-ok').waitFor();
    const text = await nora.innerText();
    expect(text).toContain('Nora Lind');
    expect(text).toContain('Northwind Traders');
    expect(text).not.toContain('Create contact');
    await expect(nora.getByRole('link', { name: 'Nora Lind' }).getAttribute('href')).resolves.toMatch(/\/app\/contacts\/[0-9a-f]{24}$/);
    const recent = await page.locator('section[aria-labelledby="sec-recent"]').innerText();
    expect(recent).toContain('Pilot pricing for Northwind');
    expect(recent).toContain('Here are the numbers we discussed');
    await shot('3-contact-created');
  });

  it("asks the server why the email is here, and shows its reasons in the server's words", async () => {
    const why = page.locator('section[aria-labelledby="sec-this"] details.why');
    await why.locator('summary').click();
    const reasons = why.getByTestId('why-reasons');
    await reasons.locator('li[data-code="synced_by"]').waitFor();
    const server = await repApi<{ verdict: string; reasons: { code: string; message: string }[] }>(
      `/api/why?messageId=${encodeURIComponent(OPEN_MID)}&email=${encodeURIComponent(NORA[0])}`,
    );
    expect(server.verdict).toBe('synced');
    await expect(reasons.getAttribute('data-verdict')).resolves.toBe('synced');
    await expect(reasons.locator('li').allInnerTexts()).resolves.toEqual(server.reasons.map((r) => r.message));
    expect(server.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['synced_by', 'linked_contact']));
  });

  it('searches the CRM from the pane, as the Gmail homepage does', async () => {
    const search = page.getByRole('search');
    await search.getByLabel('Find a contact').fill('nora');
    await search.getByLabel('Find a contact').press('Enter');
    const found = page.getByRole('list', { name: 'Contacts found' }).getByRole('link', { name: 'Nora Lind' });
    await found.waitFor();
    await expect(found.getAttribute('href')).resolves.toMatch(new RegExp(`^${server.url}/app/contacts/[0-9a-f]{24}$`));
    await shot('3a-search');
    await search.getByLabel('Find a contact').fill('zebra-nobody');
    await search.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No contact matches “zebra-nobody”.').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect(page.locator('.search-results').innerText()).resolves.toBe('');
  });

  it('creates a deal with the people on the email, named from the subject, and attaches the thread to it', async () => {
    const deals = page.locator('section[aria-labelledby="sec-deals"]');
    await deals.getByText('New deal with these people').click();
    const name = deals.getByLabel('Deal name');
    await expect(name.inputValue()).resolves.toBe('Re: pilot pricing');
    await name.fill('Northwind pilot');
    await deals.getByRole('button', { name: 'Create deal' }).click();
    const row = deals.locator('li.row', { hasText: 'Northwind pilot' });
    await row.waitFor();
    const [deal] = (await repApi<{ deals: { id: string; name: string; contactIds: string[] }[] }>('/api/deals')).deals.filter(
      (d) => d.name === 'Northwind pilot',
    );
    expect(deal.contactIds).toHaveLength(1);
    const mail = await repApi<{ messages: { subject: string }[] }>(`/api/deals/${deal.id}/messages`);
    expect(mail.messages.map((m) => m.subject)).toContain('Re: pilot pricing');
    const attached = page.waitForResponse((r) => r.url().endsWith(`/api/deals/${deal.id}/mail`));
    await row.getByRole('button', { name: 'Attach this thread' }).click();
    const answer = await attached;
    expect(answer.status()).toBe(200);
    expect(answer.request().postDataJSON()).toEqual({ internetMessageId: OPEN_MID.slice(1, -1), scope: 'thread' });
    await expect((await answer.json()).attached).toEqual({ scope: 'thread', messages: 1 });
    await page.locator(`section[aria-labelledby="sec-deals"] li.row[data-deal="${deal.id}"]`).waitFor();
    await expect(deals.locator('.error-text').count()).resolves.toBe(0);
    await shot('3c-deals');
    // The README's picture of the pane, with the sender a contact and their open deal: down to its last line, not the
    // empty rest of a tall pane, past the 900 px viewport when need be (the whole page, clipped), so "Your choice for
    // this email" shows whole.
    const bottom = await page.evaluate(() =>
      Math.ceil(Math.max(...Array.from(document.body.querySelectorAll('*')).map((e) => e.getBoundingClientRect().bottom))),
    );
    saveReadmeShot(
      'outlook-taskpane',
      await page.screenshot({ ...STABLE_SHOT, fullPage: true, clip: { x: 0, y: 0, width: 320, height: Math.min(1800, bottom + 16) } }),
    );
  });

  it('adds a note and a task (due date, assignee) to the contact, its company and the deal', async () => {
    const nora = page.locator(`li.person[data-email="${NORA[0]}"]`);
    const onContact = nora.locator('.activities[data-record^="contact:"]');
    await onContact.getByText('Add note').click();
    await onContact.getByLabel('Note on Nora Lind').fill('Prefers a call on Tuesdays.');
    await onContact.getByRole('button', { name: 'Save' }).first().click();
    await onContact.getByText('Saved.').waitFor();
    await onContact.getByText('Add task').click();
    const taskForm = onContact.locator('details.activity').nth(1);
    await taskForm.getByLabel('Task').fill('Send the pilot contract');
    await taskForm.getByLabel('Due').fill('2026-04-15');
    // An assignee outside the organisation: the server's reason beside the button, and the form keeps what was typed.
    await taskForm.getByLabel('Assignee (email)').fill('someone@elsewhere.test');
    await taskForm.getByRole('button', { name: 'Save' }).click();
    await taskForm
      .locator('.error-text')
      .filter({ hasText: /assignee/i })
      .waitFor();
    await expect(taskForm.getByLabel('Task').inputValue()).resolves.toBe('Send the pilot contract');
    await taskForm.getByLabel('Assignee (email)').fill(REP.email);
    await taskForm.getByRole('button', { name: 'Save' }).click();
    await taskForm.getByText('Saved.').waitFor();
    await shot('3d-note-task');
    const contactId = (await nora.getByRole('link', { name: 'Nora Lind' }).getAttribute('href'))!.split('/').pop()!;
    const notes = await repApi<{ notes: { body: string }[] }>(`/api/notes?kind=contact&id=${contactId}`);
    expect(notes.notes.map((n) => n.body)).toEqual(['Prefers a call on Tuesdays.']);
    const tasks = await repApi<{ tasks: { title: string; dueDate: string; record: { kind: string } }[] }>('/api/tasks?assignee=me');
    expect(tasks.tasks).toEqual([
      expect.objectContaining({ title: 'Send the pilot contract', dueDate: '2026-04-15T23:59:59.999Z', record: { kind: 'contact', id: contactId } }),
    ]);

    // Nora's company, Northwind Traders, has forms of its own, named so.
    const onCompany = nora.locator('.activities[data-record^="company:"]');
    await onCompany.getByText('Add company note').click();
    await onCompany.getByLabel('Note on Northwind Traders').fill('Head office moves to Malmö in May.');
    await onCompany.getByRole('button', { name: 'Save' }).first().click();
    await onCompany.getByText('Saved.').waitFor();
    const companyId = (await onCompany.getAttribute('data-record'))!.split(':')[1];
    const companyNotes = await repApi<{ notes: { body: string }[] }>(`/api/notes?kind=company&id=${companyId}`);
    expect(companyNotes.notes.map((n) => n.body)).toEqual(['Head office moves to Malmö in May.']);

    // The deal: an empty note is refused in the pane, with a reason; a task is stored on the deal.
    const deal = page.locator('section[aria-labelledby="sec-deals"] li.row', { hasText: 'Northwind pilot' });
    await deal.getByText('Add note').click();
    await deal.getByRole('button', { name: 'Save' }).first().click();
    await deal.getByText('Write the note first.').waitFor();
    await deal.getByText('Add task').click();
    const dealTask = deal.locator('details.activity').nth(1);
    await dealTask.getByLabel('Task').fill('Book the pilot kick-off');
    await dealTask.getByLabel('Due').fill('2026-04-20');
    await dealTask.getByRole('button', { name: 'Save' }).click();
    await dealTask.getByText('Saved.').waitFor();
    const dealId = await deal.getAttribute('data-deal');
    const dealTasks = await repApi<{ tasks: { title: string }[] }>(`/api/tasks?kind=deal&id=${dealId}`);
    expect(dealTasks.tasks).toEqual([expect.objectContaining({ title: 'Book the pilot kick-off', dueDate: '2026-04-20T23:59:59.999Z' })]);
  });

  it('offers each unknown person by name, and a group address only when asked', async () => {
    await officeHost(page).selectItem({
      from: NORA,
      to: [
        [REP.email, REP.name],
        ['tom.berg@northwind-traders.com', 'Tom Berg'],
      ],
      cc: [
        ['ops@northwind-traders.com', 'Ops Team'],
        ['ida@fabrikam-foods.test', 'Ida Holm'],
      ],
      subject: 'Team call',
      internetMessageId: '<team-call@northwind-traders.com>',
    });
    await page.locator('li.person[data-email="ops@northwind-traders.com"]').waitFor();
    const named = await page
      .getByRole('button', { name: /^Create contact / })
      .evaluateAll((bs) => bs.filter((b) => (b as HTMLElement).offsetParent !== null).map((b) => b.getAttribute('aria-label')));
    expect(named).toEqual(['Create contact Tom Berg', 'Create contact Ida Holm']);
    const ops = page.locator('li.person[data-email="ops@northwind-traders.com"]');
    await expect(ops.innerText()).resolves.toContain('A shared address, not a person');
    await ops.getByText('Add as a contact anyway').click();
    await ops.getByRole('button', { name: 'Create contact Ops Team' }).waitFor();
    await shot('3b-several-unknown');
    await officeHost(page).selectItem(noraEmail);
    await page.locator(`li.person[data-email="${NORA[0]}"] .badge-ok`).waitFor();
  });

  it('follows ItemChanged: a slow answer for the previous email never reaches the screen', async () => {
    // The first email's context is held back until the second email is on screen.
    let releaseSlow!: () => void;
    const slowHeld = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    let slowSeen = false;
    await page.route('**/api/addon/context', async (route) => {
      const body = route.request().postDataJSON() as { message: { from: { email: string } } };
      if (body.message.from.email !== slowItem.from[0]) return route.continue();
      slowSeen = true;
      await slowHeld;
      await route.continue().catch(() => undefined); // the pane aborted it: nothing left to continue
    });
    const aborted = page.waitForEvent('requestfailed', (r) => r.url().endsWith('/api/addon/context'));
    // Record every text the pane ever shows from now on, to prove the slow email's data never appears.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __seen: string[] }).__seen = seen;
      new MutationObserver(() => seen.push(document.getElementById('main')!.innerText)).observe(document.getElementById('main')!, {
        childList: true,
        subtree: true,
        characterData: true,
      });
    });
    const host = officeHost(page);
    expect(await host.itemChangedHandlers()).toBe(1);

    await host.selectItem(slowItem);
    // The previous email's people leave the screen at once, before any answer.
    await page.locator('[data-state="loading"]').waitFor();
    await expect(pane().innerText()).resolves.not.toContain('Nora');
    await until(() => slowSeen);

    await host.selectItem(fastItem);
    await page.locator(`li.person[data-email="${fastItem.from[0]}"]`).waitFor();
    expect((await aborted).failure()?.errorText).toMatch(/ABORTED/i);
    releaseSlow();
    await page.waitForTimeout(300);

    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen.join('\n'));
    expect(seen).not.toContain(slowItem.from[0]);
    expect(seen).not.toContain('Sam Slow');
    const now = await pane().innerText();
    expect(now).toContain('Fay Fast');
    expect(now).toContain('Not in the CRM');
    expect(now).not.toContain('Nora');
    await shot('4-switched-item');
    await page.unroute('**/api/addon/context');
  });

  it('shows a readable empty state when no email is selected, and comes back when one is', async () => {
    const host = officeHost(page);
    await host.selectItem(null);
    await page.locator('[data-state="empty"]').waitFor();
    await expect(pane().innerText()).resolves.toContain('No email selected');
    await shot('5-no-item');
    await host.selectItem(noraEmail);
    await page.locator(`li.person[data-email="${NORA[0]}"] .badge-ok`).waitFor();
  });
});

/** Rita's session straight from the API, to check what the pane changed. */
async function repApi<T>(p: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'microsoft', token: await mintRepToken() }),
  });
  const { token } = (await res.json()) as { token: string };
  const answer = await fetch(`${server.url}${p}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  if (!answer.ok) throw new Error(`${p} answered ${answer.status}: ${await answer.text()}`);
  return (answer.status === 204 ? null : answer.json()) as Promise<T>;
}

/** Only the status of Rita's call, for answers that are errors on purpose. */
async function fetchStatus(p: string): Promise<number> {
  return repApi(p).then(
    () => 200,
    (err: Error) => Number(/answered (\d+)/.exec(err.message)?.[1] ?? 0),
  );
}

describe('never log this sender', () => {
  it('asks inside the pane (no window.confirm, which Office refuses), and Cancel changes nothing', async () => {
    await officeHost(page).selectItem(fastItem);
    await page.locator(`li.person[data-email="${fastItem.from[0]}"]`).waitFor();
    await page.getByRole('button', { name: 'Never log this sender' }).click();
    const question = page.getByRole('group', { name: /Never log email from fay@fastlane-logistics\.test/ });
    await question.waitFor();
    await shot('6-never-log-confirm');
    await question.getByRole('button', { name: 'Cancel' }).click();
    await expect(question.count()).resolves.toBe(0);
    expect((await repApi<{ excludedAddresses: string[] }>('/api/me/settings')).excludedAddresses).not.toContain(fastItem.from[0]);
    expect(await officeHost(page).refusedModals()).toEqual([]);
  });

  it('excludes the sender once confirmed, and offers Undo', async () => {
    await page.getByRole('button', { name: 'Never log this sender' }).click();
    await page.getByRole('button', { name: 'Never log', exact: true }).click();
    const end = Date.now() + 10_000;
    while (!(await repApi<{ excludedAddresses: string[] }>('/api/me/settings')).excludedAddresses.includes(fastItem.from[0])) {
      if (Date.now() > end) throw new Error('the sender was not excluded');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await officeHost(page).refusedModals()).toEqual([]);
    const notice = page.getByRole('status').filter({ hasText: 'is no longer logged' });
    await notice.waitFor();
    await shot('7-never-log-undo');
    await notice.getByRole('button', { name: 'Undo' }).click();
    await notice.waitFor({ state: 'hidden' });
    expect((await repApi<{ excludedAddresses: string[] }>('/api/me/settings')).excludedAddresses).not.toContain(fastItem.from[0]);
  });
});

describe('this email, my choice', () => {
  const choice = () => page.locator('section[aria-labelledby="sec-choice"]');
  const said = (id: 'choice-logging' | 'choice-sharing') => choice().getByTestId(id).innerText();
  const notice = (text: string) => page.getByRole('status').filter({ hasText: text });
  let messageId: string;
  let choicesNow: () => Promise<{
    notLogged: { id: string; scope: string } | null;
    sharing: { level: string; override: string | null; defaultLevel: string } | null;
  }>;

  beforeAll(async () => {
    await officeHost(page).selectItem(noraEmail);
    await choice().waitFor();
    // The open email's CRM id, from the pane's own "Open in CRM" link.
    const open = await page.locator('section[aria-labelledby="sec-this"]').getByRole('link', { name: 'Open in CRM' }).getAttribute('href');
    messageId = open!.split('/').pop()!;
    choicesNow = () => repApi(`/api/messages/${messageId}/choices`);
  });

  it('makes the open email private, headers only, then back to the default: stored by the server and redrawn from it', async () => {
    await expect(said('choice-logging')).resolves.toBe('Logged to the CRM from your mailbox.');
    await expect(said('choice-sharing')).resolves.toBe('Shared with your team in full (your default)');
    await expect(choice().getByRole('button').allInnerTexts()).resolves.toEqual([
      "Don't log this email",
      "Don't log this thread",
      'Make private',
      'Share headers only',
    ]);

    await choice().getByRole('button', { name: 'Make private' }).click();
    await notice('This email is private now: only you see it.').waitFor();
    await choice().getByText('Private: only you see it (for this email only)').waitFor();
    await expect(choicesNow()).resolves.toMatchObject({ sharing: { level: 'private', override: 'private', defaultLevel: 'full' } });
    await expect(choice().getByRole('button').allInnerTexts()).resolves.toEqual([
      "Don't log this email",
      "Don't log this thread",
      'Share headers only',
      'Share in full',
      'Use my default',
    ]);
    await shot('8-choice-private');

    await choice().getByRole('button', { name: 'Share headers only' }).click();
    await choice().getByText('Shared with your team as headers only (who and when, no body) (for this email only)').waitFor();
    await expect(choicesNow()).resolves.toMatchObject({ sharing: { level: 'metadata', override: 'metadata' } });

    await choice().getByRole('button', { name: 'Share in full' }).click();
    await choice().getByText('Shared with your team in full (for this email only)').waitFor();
    await expect(choicesNow()).resolves.toMatchObject({ sharing: { level: 'full', override: 'full' } });

    await choice().getByRole('button', { name: 'Use my default' }).click();
    await notice('This email follows your default sharing again.').waitFor();
    await choice().getByText('Shared with your team in full (your default)').waitFor();
    await expect(choicesNow()).resolves.toMatchObject({ sharing: { level: 'full', override: null } });
  });

  it('says beside the button why a call failed, and changes nothing', async () => {
    await page.route('**/api/messages/*/visibility', (route) =>
      route.fulfill({
        status: 429,
        headers: { 'retry-after': '30' },
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'rate_limited', message: 'Too many requests' } }),
      }),
    );
    try {
      await choice().getByRole('button', { name: 'Make private' }).click();
      await choice().locator('.error-text').filter({ hasText: 'Threadline is busy. Try again in a moment.' }).waitFor();
      await expect(choice().getByRole('button', { name: 'Make private' }).isEnabled()).resolves.toBe(true);
      // The success said before it is gone: only the failure stands.
      await expect(page.locator('.notice').isHidden()).resolves.toBe(true);
      await expect(said('choice-sharing')).resolves.toBe('Shared with your team in full (your default)');
      await shot('8a-choice-failed');
    } finally {
      await page.unroute('**/api/messages/*/visibility');
    }
    await expect(choicesNow()).resolves.toMatchObject({ sharing: { level: 'full', override: null } });
  });

  it('"Don\'t log this thread" takes the email out of the CRM; "Log this thread again" lifts it and queues the copy for the next sync', async () => {
    await choice().getByRole('button', { name: "Don't log this thread" }).click();
    await notice('This thread is no longer logged for you.').waitFor();
    await choice().getByText('You chose not to log this thread: none of its mail in your mailbox goes to the CRM.').waitFor();
    await expect(page.getByTestId('this-email-status').innerText()).resolves.toBe('Not in the CRM');
    await expect(choice().getByRole('button').allInnerTexts()).resolves.toEqual(['Log this thread again']);
    const { exclusions } = await repApi<{ exclusions: { id: string; scope: string; copies: number }[] }>('/api/me/excluded-messages');
    expect(exclusions).toEqual([expect.objectContaining({ scope: 'thread', copies: 1 })]);
    await expect(fetchStatus(`/api/messages/${messageId}`)).resolves.toBe(404);
    await shot('8b-choice-not-logged');

    await choice().getByRole('button', { name: 'Log this thread again' }).click();
    await notice('This thread is logged again: it is back in the CRM within a minute or so.').waitFor();
    await choice().getByRole('button', { name: "Don't log this email" }).waitFor();
    await expect(repApi('/api/me/excluded-messages')).resolves.toEqual({ exclusions: [] });
    // An API-only server has no workers: the copy waits on the mailbox's refetch list for its next run.
    await connectDatabase(server.mongodbUri);
    try {
      const mailbox = await runInOrg(repOrgId, () => Mailbox.findOne({ address: REP.email }).lean<{ refetchIds: string[] }>());
      expect(mailbox!.refetchIds).toEqual([`AAMk-${OPEN_MID}`]);
    } finally {
      await mongoose.disconnect();
    }
  });

  it('"Don\'t log this email" holds for an email not in the CRM (by its Message-ID), and "Log this email again" lifts it', async () => {
    await expect(said('choice-logging')).resolves.toBe('Your sync rules decide whether your copy is logged; you made no choice for this email.');
    await choice().getByRole('button', { name: "Don't log this email" }).click();
    await choice().getByText('You chose not to log this email: your copy does not go to the CRM.').waitFor();
    expect((await repApi<{ exclusions: { scope: string; copies: number }[] }>('/api/me/excluded-messages')).exclusions).toEqual([
      expect.objectContaining({ scope: 'message', copies: 0 }),
    ]);
    await choice().getByRole('button', { name: 'Log this email again' }).click();
    await notice('This email is logged again').waitFor();
    await choice().getByRole('button', { name: "Don't log this thread" }).waitFor();
    await expect(repApi('/api/me/excluded-messages')).resolves.toEqual({ exclusions: [] });
    expect(await officeHost(page).refusedModals()).toEqual([]);
  });
});

describe('sign-in where nested app authentication fails', () => {
  it('falls back to the Office dialog when the host advertises NAA but cannot give a token', async () => {
    const naaContext = await browser.newContext({ ...STABLE_CONTEXT, viewport: { width: 320, height: 900 } });
    try {
      await installOfficeStub(naaContext, {
        item: noraEmail,
        sets: { Mailbox: '1.5', NestedAppAuth: '1.1' },
        naa: 'fails',
        dialogAnswer: async () => JSON.stringify({ status: 'ok', accessToken: await mintRepToken() }),
      });
      const naaPage = await naaContext.newPage();
      const errors: string[] = [];
      naaPage.on('pageerror', (err) => errors.push(err.message));
      await naaPage.goto(`${server.url}/addin/taskpane.html`);
      const signIn = naaPage.getByRole('button', { name: 'Sign in' });
      await signIn.waitFor();
      await signIn.click();
      await naaPage.locator(`li.person[data-email="${NORA[0]}"]`).waitFor();
      const host = officeHost(naaPage);
      expect(await host.naaRequests()).toContain('GetTokenPopup');
      expect(await host.dialogs()).toEqual([`${server.url}/addin/auth-dialog.html`]);
      expect(errors).toEqual([]);
    } finally {
      await naaContext.close();
    }
  });
});

describe('the served add-in files', () => {
  it('serves the pane with headers Outlook can frame and office.js can load under', async () => {
    const res = await fetch(`${server.url}/addin/taskpane.html`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self' https://appsforoffice.microsoft.com");
    expect(csp).toContain('frame-ancestors');
    expect(res.headers.get('x-frame-options')).toBeNull();
    const html = await res.text();
    expect(html).toContain('<script src="https://appsforoffice.microsoft.com/lib/1/hosted/office.js"></script>');
    // office.js is never bundled into the pane.
    expect(readFileSync(path.join(root, 'outlook-addin/dist/taskpane.js'), 'utf8')).not.toContain('appsforoffice.microsoft.com/lib');
    const icon = await fetch(`${server.url}/addin/assets/icon-80.png`);
    expect(icon.headers.get('content-type')).toBe('image/png');
    expect(icon.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });
});

describe('the manifest', () => {
  let xml: string;
  let parsed: Awaited<ReturnType<typeof inspect>>;

  /** Parsed by the browser's XML parser (a real, strict one), then read with DOM queries. */
  async function inspect(source: string) {
    return page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      const error = doc.getElementsByTagName('parsererror')[0]?.textContent ?? null;
      const all = Array.from(doc.getElementsByTagName('*'));
      const local = (name: string) => all.filter((e) => e.localName === name);
      const resourceIds = all
        .filter((e) => e.parentElement && ['Images', 'Urls', 'ShortStrings', 'LongStrings'].includes(e.parentElement.localName))
        .map((e) => e.getAttribute('id'));
      const urls = [
        ...all.flatMap((e) => {
          const v = e.getAttribute('DefaultValue') ?? '';
          return /^[a-z]+:\/\//i.test(v) ? [v] : [];
        }),
        ...local('AppDomain').map((e) => e.textContent ?? ''),
      ];
      const text1 = (name: string) => local(name)[0]?.textContent?.trim() ?? null;
      return {
        error,
        root: doc.documentElement.localName,
        type: doc.documentElement.getAttributeNS('http://www.w3.org/2001/XMLSchema-instance', 'type'),
        resids: all.flatMap((e) => (e.hasAttribute('resid') ? [e.getAttribute('resid')!] : [])),
        resourceIds,
        urls,
        version: text1('Version'),
        permissions: text1('Permissions'),
        pinning: local('SupportsPinning').map((e) => e.textContent?.trim()),
        mailboxSets: local('Sets').map(
          (e) =>
            `${e.getAttribute('DefaultMinVersion') ?? ''}:${Array.from(e.children)
              .map((c) => `${c.getAttribute('Name')}@${c.getAttribute('MinVersion') ?? ''}`)
              .join(',')}`,
        ),
        extensionPoints: local('ExtensionPoint').map((e) => e.getAttributeNS('http://www.w3.org/2001/XMLSchema-instance', 'type')),
        mobileControls: local('MobileFormFactor').flatMap((m) =>
          Array.from(m.getElementsByTagName('*'))
            .filter((e) => e.localName === 'Control')
            .map((c) => c.getAttributeNS('http://www.w3.org/2001/XMLSchema-instance', 'type')),
        ),
        actions: local('Action').map((e) => e.getAttributeNS('http://www.w3.org/2001/XMLSchema-instance', 'type')),
        webApp: { id: text1('Id') && local('WebApplicationInfo')[0]?.getElementsByTagName('Id')[0]?.textContent, resource: text1('Resource') },
        supportUrl: local('SupportUrl')[0]?.getAttribute('DefaultValue') ?? null,
      };
    }, source);
  }

  beforeAll(async () => {
    const res = await fetch(`${server.url}/addin/manifest.xml`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/xml');
    xml = await res.text();
    expect(xml).toBe(readFileSync(path.join(root, 'outlook-addin/dist/manifest.xml'), 'utf8'));
    parsed = await inspect(xml);
  });

  it('is well-formed XML for a mail add-in', () => {
    expect(parsed.error).toBeNull();
    expect(parsed.root).toBe('OfficeApp');
    expect(parsed.type).toBe('MailApp');
    expect(parsed.permissions).toBe('ReadItem');
    expect(xml).not.toMatch(/\{\{[A-Z_]+\}\}/);
  });

  it('resolves every resid to a resource', () => {
    expect(parsed.resids.length).toBeGreaterThan(5);
    const missing = parsed.resids.filter((r) => !parsed.resourceIds.includes(r));
    expect(missing).toEqual([]);
    // Ids of 32 characters or fewer: longer ones are rejected by the store validator.
    expect(parsed.resourceIds.every((id) => id !== null && id.length <= 32)).toBe(true);
  });

  it('uses https for every URL, on the configured backend', () => {
    expect(parsed.urls.length).toBeGreaterThan(5);
    expect(parsed.urls.filter((u) => !u.startsWith(`https://${PUBLIC_HOST}/`) && u !== `https://${PUBLIC_HOST}`)).toEqual([]);
    expect(parsed.supportUrl).toBe(`https://${PUBLIC_HOST}/addin/support.html`);
  });

  it('has a unified JSON twin, generated from the same source: same id, names, permission, requirements, API and URLs', async () => {
    const res = await fetch(`${server.url}/addin/manifest.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const json = (await res.json()) as Record<string, any>;
    const source = JSON.parse(readFileSync(path.join(root, 'manifests/outlook/addin.json'), 'utf8'));
    expect(json.manifestVersion).toMatch(/^1\.\d+$/);
    expect(json.$schema).toContain(`/v${json.manifestVersion}/MicrosoftTeams.schema.json`);
    expect(json.id).toBe(xml.match(/<Id>([^<]+)<\/Id>/)![1]);
    expect(json.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(parsed.version!.split('.').slice(0, 2)).toEqual(json.version.split('.').slice(0, 2));
    // The texts of both come from manifests/outlook/addin.json.
    expect(json.name).toEqual({ short: source.name, full: source.fullName });
    expect(json.description.full).toBe(source.description);
    expect(xml).toContain(`<DisplayName DefaultValue="${source.name}"/>`);
    expect(xml).toContain(`<Permissions>${source.permission}</Permissions>`);
    expect(json.authorization.permissions.resourceSpecific).toEqual([{ name: 'MailboxItem.Read.User', type: 'Delegated' }]);
    expect(json.webApplicationInfo).toEqual(parsed.webApp);
    const ext = json.extensions[0];
    expect(ext.requirements).toEqual({ scopes: ['mail'], capabilities: [{ name: 'Mailbox', minVersion: '1.5' }] });
    expect(ext.runtimes[0].code.page).toBe(`https://${PUBLIC_HOST}/addin/taskpane.html`);
    expect(ext.runtimes[0].actions).toEqual([{ id: 'openThreadlinePane', type: 'openPage', pinnable: true }]);
    const control = ext.ribbons[0].tabs[0].groups[0].controls[0];
    expect(ext.ribbons[0].contexts).toEqual(['mailRead']);
    expect(control).toMatchObject({ type: 'button', label: source.buttonLabel, actionId: 'openThreadlinePane' });
    expect(json.validDomains).toEqual([PUBLIC_HOST]);
    const urls = JSON.stringify(json)
      .match(/https?:\/\/[^"]+/g)!
      .filter((u) => !u.startsWith('https://developer.microsoft.com/'));
    expect(urls.filter((u) => !u.startsWith(`https://${PUBLIC_HOST}/`) && u !== `https://${PUBLIC_HOST}`)).toEqual([]);
    for (const [file, size] of [
      ['color.png', 192],
      ['outline.png', 32],
    ] as const) {
      const png = Buffer.from(await (await fetch(`${server.url}/addin/${file}`)).arrayBuffer());
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size, size]);
    }
  });

  it('is pinnable, needs Mailbox 1.5, has a mobile button, a version and the API for NAA', () => {
    expect(parsed.pinning).toEqual(['true']);
    expect(parsed.actions).toEqual(['ShowTaskpane', 'ShowTaskpane']);
    expect(parsed.mailboxSets).toContain('1.5:Mailbox@');
    expect(parsed.extensionPoints).toEqual(['MessageReadCommandSurface', 'MobileMessageReadCommandSurface']);
    expect(parsed.mobileControls).toEqual(['MobileButton']);
    expect(parsed.version).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(parsed.webApp).toEqual({ id: clientId, resource: `api://${PUBLIC_HOST}/${clientId}` });
  });
});
