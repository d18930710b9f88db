/**
 * The Gmail add-on as Apps Script would run it: the bundle gmail-addon/build.mjs produces (as `npm run build`
 * does, here into a temporary folder with this run's server URL compiled in), evaluated in node:vm with the
 * recording Apps Script fakes (test/fakes/apps-script), talking real HTTP to the real server (child process,
 * embedded database, Google identity emulator minting the add-on's ID tokens).
 *
 * Open an email from an unknown sender → the server's card with "Create contact <name>" beside each unknown person → the
 * action callback → the contact exists on the server and the refreshed card shows it with its past mail.
 * Plus: snapshots of the rendered cards, card limits, silent re-sign-in, sign-out, and the manifest checks.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose, { Types } from 'mongoose';
import { chromium } from 'playwright-core';
import { CARD_LIMITS } from '@threadline/shared/src/card';
import { connectDatabase } from '../../server/src/db/connection';
import { runInOrg } from '../../server/src/db/tenant';
import { seedMessage, type SignedIn } from '../helpers/seed';
import { Mailbox } from '../../server/src/models/mailbox';
import { Message } from '../../server/src/models/message';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createAppsScriptSandbox, type AppsScriptSandbox, type MessageFixture, type Recorded } from '../fakes/apps-script';
import { cardToHtml } from '../fakes/apps-script/card-html';
import { saveReadmeShot, STABLE_CONTEXT, STABLE_SHOT } from '../helpers/readme-shots';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

const root = path.resolve(__dirname, '../..');
/** The audience Apps Script's identity tokens carry: the script's own OAuth client, accepted by the server through GOOGLE_ID_TOKEN_AUDIENCES. */
const ADDON_AUDIENCE = 'threadline-gmail-addon.apps.googleusercontent.com';
const REP = 'rita@northwind-traders.test';
const SENDER = { email: 'jane.roe@acme-robotics.test', name: 'Jane Roe' };
const APPROVED_SCOPES = [
  'https://www.googleapis.com/auth/gmail.addons.execute',
  'https://www.googleapis.com/auth/gmail.addons.current.message.metadata',
  'https://www.googleapis.com/auth/script.external_request',
  'openid',
  'https://www.googleapis.com/auth/userinfo.email',
];

const openEmail: MessageFixture = {
  id: '18e1f0c2a9b3d4e5',
  accessToken: 'per-message-token-1',
  from: `"${SENDER.name}" <${SENDER.email}>`,
  to: `Rita Rep <${REP}>`,
  cc: 'Ops Team <ops@acme-robotics.test>',
  subject: 'Re: Robot arm pricing',
  headers: { 'Message-ID': '<pricing-2@acme-robotics.test>' },
};
const gmailEvent = { gmail: { messageId: openEmail.id, accessToken: openEmail.accessToken, threadId: 't-1' } };
const contextual = (parameters: Record<string, string> = {}) => ({
  commonEventObject: { hostApp: 'GMAIL', platform: 'WEB', parameters },
  parameters,
  ...gmailEvent,
});

interface Built {
  dir: string;
  output: string;
  manifest: Record<string, any>;
  code: string;
}

/** Runs gmail-addon/build.mjs in its own process (jest's CommonJS runtime cannot import an .mjs). */
function buildAddon(publicUrl: string, googleAuthUrl: string): Built {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'threadline-gmail-'));
  const script = `import(${JSON.stringify(path.join(root, 'gmail-addon/build.mjs'))}).then((m) => m.default(${JSON.stringify({ root, publicUrl, outDir: dir, googleAuthUrl })}))`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  return { dir, output, manifest: JSON.parse(readFileSync(path.join(dir, 'appsscript.json'), 'utf8')), code: readFileSync(path.join(dir, 'Code.js'), 'utf8') };
}

let emu: RunningEmulators;
let server: ServerProcess;
let built: Built;
let idToken: string;
let session: { token: string; user: { id: string }; org: { id: string } };
let rep: SignedIn;
const seedOpenEmail = () =>
  seedMessage({
    holders: [{ who: rep }],
    internetMessageId: 'pricing-2@acme-robotics.test',
    from: SENDER.email,
    to: [REP],
    subject: openEmail.subject,
    text: 'Can we talk about the arms?',
    date: new Date('2026-02-12T09:00:00Z'),
  });

async function api(method: string, p: string, body?: unknown) {
  const res = await fetch(`${server.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

function sandbox(token = () => idToken): AppsScriptSandbox {
  const s = createAppsScriptSandbox({
    userEmail: REP,
    messages: [openEmail],
    identityToken: token,
    urlFetchWhitelist: built.manifest.urlFetchWhitelist,
    // GmailApp allows exactly what the manifest's scopes allow: the open message's metadata, never its content.
    oauthScopes: built.manifest.oauthScopes,
  });
  s.load(path.join(built.dir, 'Code.js'));
  return s;
}

/** Run-specific values out of a card, so its snapshot is stable: the server URL, ids, dates. */
function stable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value)
      .split(server.url)
      .join('https://threadline.example')
      .replace(/\b[0-9a-f]{24}\b/g, '<id>')
      .replace(/\d{4}-\d{2}-\d{2}/g, '<date>'),
  );
}

function walk(node: unknown, visit: (r: Recorded) => void): void {
  if (Array.isArray(node)) return node.forEach((n) => walk(n, visit));
  if (!node || typeof node !== 'object') return;
  if (typeof (node as Recorded).type === 'string') visit(node as Recorded);
  for (const v of Object.values(node)) walk(v, visit);
}

/** Google's documented card limits, and the text caps the server's cards keep (shared/src/card.ts). */
function expectWithinLimits(card: Recorded): void {
  const sections = card.sections as Recorded[];
  expect(sections.length).toBeLessThanOrEqual(CARD_LIMITS.sections);
  expect(sections.reduce((n, s) => n + (s.widgets as unknown[]).length, 0)).toBeLessThanOrEqual(CARD_LIMITS.widgetsPerCard);
  walk(card, (r) => {
    const len = (s: unknown) => Array.from(String(s ?? '')).length;
    if (r.type === 'CardHeader') expect(len(r.title)).toBeLessThanOrEqual(CARD_LIMITS.headerText);
    if (r.type === 'DecoratedText') {
      expect(len(r.text)).toBeLessThanOrEqual(CARD_LIMITS.text);
      expect(len(r.topLabel)).toBeLessThanOrEqual(CARD_LIMITS.label);
      expect(len(r.bottomLabel)).toBeLessThanOrEqual(CARD_LIMITS.label);
    }
    if (r.type === 'TextParagraph') expect(len(r.text)).toBeLessThanOrEqual(CARD_LIMITS.paragraph);
    if (r.type === 'TextButton') expect(len(r.text)).toBeLessThanOrEqual(CARD_LIMITS.buttonText);
    if (r.type === 'ButtonSet') expect((r.buttons as unknown[]).length).toBeLessThanOrEqual(CARD_LIMITS.buttonsPerList);
  });
}

const actionNames = (node: unknown): string[] => {
  const names: string[] = [];
  walk(node, (r) => {
    if (r.type === 'Action') names.push(String(r.functionName));
  });
  return names;
};

/**
 * The README's picture of the add-on: the card drawn by test/fakes/apps-script/card-html.ts in Chromium (Gmail's
 * own look is approximated). Without Chromium there is no picture, and nothing else here needs one.
 */
async function pictureForReadme(card: Recorded): Promise<void> {
  const executablePath = '/usr/bin/chromium';
  if (!existsSync(executablePath)) return void process.stderr.write('no Chromium: the Gmail add-on picture is not refreshed\n');
  const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ ...STABLE_CONTEXT, viewport: { width: 320, height: 600 } });
    await page.setContent(cardToHtml(card));
    saveReadmeShot('gmail-addon-card', await page.locator('.panel').screenshot(STABLE_SHOT));
  } finally {
    await browser.close();
  }
}

interface CreateButton {
  text: string;
  onClickAction: { functionName: string; parameters: Record<string, string> };
}
const createButtons = (card: Recorded): CreateButton[] => {
  const out: CreateButton[] = [];
  walk(card, (r) => {
    if (r.type === 'TextButton' && (r.onClickAction as Recorded | undefined)?.functionName === 'createContact') out.push(r as unknown as CreateButton);
  });
  return out;
};

const texts = (card: Recorded): string => {
  const out: string[] = [];
  walk(card, (r) => {
    for (const k of ['title', 'text', 'topLabel', 'bottomLabel', 'header']) if (typeof r[k] === 'string') out.push(r[k] as string);
  });
  return out.join('\n');
};

beforeAll(async () => {
  emu = await startEmulators({ quiet: true });
  // API only: the test seeds its mailbox straight into the database, without tokens a worker could sync with.
  server = await startServerProcess({ ...emu.env, ROLE: 'api', GOOGLE_ID_TOKEN_AUDIENCES: `${emu.google.clientId},${ADDON_AUDIENCE}` });
  built = buildAddon(server.url, emu.env.GOOGLE_AUTH_URL);
  idToken = await emu.google.control.mintIdToken({ email: REP, aud: ADDON_AUDIENCE, name: 'Rita Rep' });

  // The rep signs in (as the add-on will, same identity) and has a mailbox that already holds mail with the sender.
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'google', token: idToken }),
  });
  expect(res.status).toBe(200);
  session = await res.json();
  await connectDatabase(server.mongodbUri);
  const orgId = new Types.ObjectId(session.org.id);
  const userId = new Types.ObjectId(session.user.id);
  const mailbox = await runInOrg(orgId, () => Mailbox.create({ userId, provider: 'google', address: REP, state: 'live' }));
  rep = { token: session.token, userId, orgId, email: REP, mailboxId: mailbox._id as Types.ObjectId };
  await seedMessage({
    holders: [{ who: rep }],
    from: SENDER.email,
    to: [REP],
    subject: 'Robot arm pricing',
    text: 'Here are the prices for the arms.',
    date: new Date('2026-02-10T09:00:00Z'),
  });
  // The open email itself is in the CRM, from the rep's mailbox: the card says so and offers "your choice" for it.
  await seedOpenEmail();
}, 90_000);

afterAll(async () => {
  await mongoose.disconnect();
  await server?.stop();
  await emu?.stop();
});

describe('the Gmail add-on against the real server', () => {
  it('offers "Create contact" to the unknown sender by name (the group Cc only "anyway"); the click creates it and the refreshed card shows it with its past mail', async () => {
    const s = sandbox();
    const [card] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    expect(card.type).toBe('Card');
    expect(stable(card)).toMatchSnapshot('unknown sender');
    expectWithinLimits(card);
    expect(card.fixedFooter).toBeUndefined();
    const creates = createButtons(card);
    expect(creates.map((b) => [b.text, b.onClickAction.parameters.email])).toEqual([
      [`Create contact ${SENDER.name}`, SENDER.email],
      ['Add as a contact anyway', 'ops@acme-robotics.test'],
    ]);
    const create = creates[0];
    expect(create.onClickAction).toEqual({
      type: 'Action',
      functionName: 'createContact',
      parameters: { email: SENDER.email, name: SENDER.name, companyName: expect.any(String) },
    });
    expect(texts(card)).toContain('Shared address, not a person');
    expect((await api('GET', `/api/contacts?q=${encodeURIComponent(SENDER.email)}`)).body.contacts).toEqual([]);

    // Reopening the same email within the TTL is answered from the user's cache: no new server call.
    const before = s.fetchCalls.length;
    s.call('onGmailMessageOpen', contextual());
    expect(s.fetchCalls.length).toBe(before);

    const response = s.call<Recorded>('createContact', contextual(create.onClickAction.parameters));
    expect(response.type).toBe('ActionResponse');
    expect(response.notification).toEqual({ type: 'Notification', text: `Contact created for ${SENDER.email}.` });
    expect(response.stateChanged).toBe(true);
    const refreshed = (response.navigation as { steps: { updateCard: Recorded }[] }).steps[0].updateCard;

    const found = await api('GET', `/api/contacts?q=${encodeURIComponent(SENDER.email)}`);
    expect(found.body.contacts).toEqual([expect.objectContaining({ email: SENDER.email, name: SENDER.name })]);
    const shown = texts(refreshed);
    expect(shown).toContain('Contact');
    expect(shown).toContain('Robot arm pricing');
    // The new contact is offered no more; the group Cc still only "anyway".
    expect(createButtons(refreshed).map((b) => b.text)).toEqual(['Add as a contact anyway']);
    expect(stable(refreshed)).toMatchSnapshot('after create contact');
    expectWithinLimits(refreshed);
    // The cache holds the fresh card now, not the one offering the new contact.
    const [again] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    expect(again).toEqual(refreshed);
  });

  it('creates a deal with the contacts on the email from the card, named from the subject', async () => {
    const s = sandbox();
    const [card] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    let newDeal: { parameters: Record<string, string> } | undefined;
    walk(card, (r) => {
      if (r.type === 'Action' && r.functionName === 'newDeal') newDeal = r as unknown as { parameters: Record<string, string> };
    });
    expect(newDeal).toBeDefined();
    const asked = s.call<Recorded>('newDeal', contextual(newDeal!.parameters));
    const form = (asked.navigation as { steps: { pushCard: Recorded }[] }).steps[0].pushCard;
    expect(JSON.stringify(form)).toContain('"value":"Re: Robot arm pricing"');
    const create = {
      ...contextual(newDeal!.parameters),
      commonEventObject: { hostApp: 'GMAIL', parameters: newDeal!.parameters, formInputs: { dealName: { stringInputs: { value: ['Robot arms 2026'] } } } },
    };
    const done = s.call<Recorded>('createDeal', create);
    expect(done.notification).toEqual({ type: 'Notification', text: 'Deal “Robot arms 2026” created.' });
    const root = (done.navigation as { steps: { updateCard?: Recorded }[] }).steps.find((st) => st.updateCard)!.updateCard!;
    expect(texts(root)).toContain('Robot arms 2026');
    const jane = (await api('GET', `/api/contacts?q=${encodeURIComponent(SENDER.email)}`)).body.contacts[0];
    const deals = (await api('GET', `/api/deals?contactId=${jane.id}`)).body.deals;
    expect(deals).toEqual([expect.objectContaining({ name: 'Robot arms 2026', contactIds: [jane.id] })]);
    expectWithinLimits(root);
  });

  it('shows the open deals of the people on the email; "Attach this thread" puts the thread on one, and a note goes on the deal', async () => {
    const jane = (await api('GET', `/api/contacts?q=${encodeURIComponent(SENDER.email)}`)).body.contacts[0];
    const deal = (await api('POST', '/api/deals', { name: 'Arm service contract', contactIds: [jane.id] })).body as { id: string };
    const s = sandbox();
    const [card] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    const dealSection = (card.sections as Recorded[]).find((sec) => sec.header === 'Open deals')!;
    expect(texts(dealSection)).toContain('Arm service contract');
    const params: Record<string, Record<string, string>> = {};
    walk(dealSection, (r) => {
      const p = r.parameters as Record<string, string> | undefined;
      if (r.type === 'Action' && p && (p.dealId === deal.id || p.id === deal.id)) params[String(r.functionName)] = p;
    });
    expect(Object.keys(params).sort()).toEqual(['addNote', 'addTask', 'attachToDeal']);
    const attached = s.call<Recorded>('attachToDeal', contextual(params.attachToDeal));
    expect(attached.notification).toEqual({ type: 'Notification', text: 'This thread is now on Arm service contract.' });
    // Attached by hand, the thread stays on the deal when its people change (their own mail leaves with them).
    expect((await api('PATCH', `/api/deals/${deal.id}`, { contactIds: [] })).status).toBe(200);
    const mail = (await api('GET', `/api/deals/${deal.id}/messages`)).body.messages as { subject: string }[];
    expect(mail.map((m) => m.subject)).toEqual([openEmail.subject]);

    const note = {
      ...contextual(params.addNote),
      commonEventObject: {
        hostApp: 'GMAIL',
        parameters: params.addNote,
        formInputs: { noteBody: { stringInputs: { value: ['Service renewal due in June.'] } } },
      },
    };
    expect(s.call<Recorded>('saveNote', note).notification).toEqual({ type: 'Notification', text: 'Note added to Arm service contract.' });
    expect((await api('GET', `/api/notes?kind=deal&id=${deal.id}`)).body.notes.map((n: { body: string }) => n.body)).toEqual(['Service renewal due in June.']);
  });

  it('adds a note and a task to the contact from the card', async () => {
    const s = sandbox();
    const [card] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    const params: Record<string, Record<string, string>> = {};
    walk(card, (r) => {
      if (r.type === 'Action' && ['addNote', 'addTask'].includes(String(r.functionName)) && !params[String(r.functionName)])
        params[String(r.functionName)] = r.parameters as Record<string, string>;
    });
    expect(params.addNote).toMatchObject({ kind: 'contact', name: SENDER.name });
    const form = (_name: string, values: Record<string, string>) => ({
      ...contextual(params.addNote),
      commonEventObject: {
        hostApp: 'GMAIL',
        parameters: params.addNote,
        formInputs: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { stringInputs: { value: [v] } }])),
      },
    });
    const asked = s.call<Recorded>('addNote', contextual(params.addNote));
    expect(actionNames((asked.navigation as { steps: { pushCard: Recorded }[] }).steps[0].pushCard)).toEqual(['saveNote', 'goBack']);
    expect(s.call<Recorded>('saveNote', form('saveNote', { noteBody: 'Prefers calls in the morning.' })).notification).toEqual({
      type: 'Notification',
      text: `Note added to ${SENDER.name}.`,
    });
    expect(s.call<Recorded>('saveTask', form('saveTask', { taskTitle: 'Send the arm quote', taskDue: '2026-04-01', taskAssignee: REP })).notification).toEqual({
      type: 'Notification',
      text: `Task added to ${SENDER.name}, due 2026-04-01.`,
    });
    const notes = (await api('GET', `/api/notes?kind=contact&id=${params.addNote.id}`)).body.notes;
    expect(notes.map((n: { body: string }) => n.body)).toEqual(['Prefers calls in the morning.']);
    const tasks = (await api('GET', '/api/tasks?assignee=me')).body.tasks;
    expect(tasks).toEqual([
      expect.objectContaining({
        title: 'Send the arm quote',
        dueDate: '2026-04-01T23:59:59.999Z',
        assigneeId: session.user.id,
        record: { kind: 'contact', id: params.addNote.id },
      }),
    ]);
    // An assignee outside the organisation is refused, in the server's words, and nothing is stored.
    const refused = s.call<Recorded>('saveTask', form('saveTask', { taskTitle: 'Hand over', taskAssignee: 'someone@elsewhere.test' }));
    expect(texts((refused.navigation as { steps: { updateCard: Recorded }[] }).steps[0].updateCard)).toMatch(/assignee/i);
    expect((await api('GET', `/api/tasks?kind=contact&id=${params.addNote.id}`)).body.tasks).toHaveLength(1);
  });

  it('adds a note and a task to the company of a person on the email, once per company', async () => {
    // Jane's company, set in the CRM (her .test domain is no registrable domain, so none was made from it).
    const other = await api('POST', '/api/contacts', { email: 'sales@acme-robotics.test', companyName: 'Acme Robotics' });
    const jane = (await api('GET', `/api/contacts?q=${encodeURIComponent(SENDER.email)}`)).body.contacts[0];
    expect((await api('PATCH', `/api/contacts/${jane.id}`, { companyId: other.body.companyId })).status).toBe(200);
    const s = sandbox();
    const [card] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    const companyActions: Record<string, string>[] = [];
    walk(card, (r) => {
      if (r.type === 'Action' && (r.parameters as Record<string, string> | undefined)?.kind === 'company')
        companyActions.push(r.parameters as Record<string, string>);
    });
    expect(companyActions).toEqual([
      { kind: 'company', id: other.body.companyId, name: 'Acme Robotics' },
      { kind: 'company', id: other.body.companyId, name: 'Acme Robotics' },
    ]);
    const buttons: string[] = [];
    walk(card, (r) => {
      if (r.type === 'TextButton') buttons.push(String(r.text));
    });
    expect(buttons).toEqual(expect.arrayContaining(['Add company note', 'Add company task', 'Attach this thread', 'New deal with these people']));
    expectWithinLimits(card);
    // The README's picture: the sender a contact with their company, their open deal, and every control beside the email.
    await pictureForReadme(card);
    const params = companyActions[0];
    const form = (values: Record<string, string>) => ({
      ...contextual(params),
      commonEventObject: {
        hostApp: 'GMAIL',
        parameters: params,
        formInputs: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { stringInputs: { value: [v] } }])),
      },
    });
    expect(s.call<Recorded>('saveNote', form({ noteBody: 'Three plants in Ohio.' })).notification).toEqual({
      type: 'Notification',
      text: 'Note added to Acme Robotics.',
    });
    expect(s.call<Recorded>('saveTask', form({ taskTitle: 'Map their buying committee' })).notification).toEqual({
      type: 'Notification',
      text: 'Task added to Acme Robotics.',
    });
    expect((await api('GET', `/api/notes?kind=company&id=${params.id}`)).body.notes.map((n: { body: string }) => n.body)).toEqual(['Three plants in Ohio.']);
    expect((await api('GET', `/api/tasks?kind=company&id=${params.id}`)).body.tasks).toEqual([
      expect.objectContaining({ title: 'Map their buying committee', assigneeId: session.user.id }),
    ]);
  });

  it('signs in again silently when the cached session is refused, and sends the session on every call', () => {
    const s = sandbox();
    s.userCache.put('tl.session.v1', 'not-a-valid-session', 600);
    const [card] = s.call<Recorded[]>('onHomepage', {});
    expect(card.header).toMatchObject({ title: 'Threadline', subtitle: `Signed in as ${REP}` });
    expect(s.fetchCalls.map((c) => `${c.method} ${c.url.slice(server.url.length)} ${c.status}`)).toEqual([
      'GET /api/mailboxes 401',
      'POST /api/session 200',
      'GET /api/mailboxes 200',
    ]);
    expect(stable(card)).toMatchSnapshot('homepage');
    expectWithinLimits(card);
  });

  it('a refused identity becomes a sign-in card, never a stack trace; sign-out waits for "Sign in"', async () => {
    const foreign = await emu.google.control.mintIdToken({ email: REP, aud: 'someone-else.apps.googleusercontent.com' });
    const refused = sandbox(() => foreign);
    const [card] = refused.call<Recorded[]>('onGmailMessageOpen', contextual());
    expect(texts(card)).toContain('Sign in');
    expect(texts(card)).not.toMatch(/at .*\(|Error:/);
    expect(actionNames(card)).toEqual(['signIn']);

    const s = sandbox();
    s.call('onGmailMessageOpen', contextual());
    const out = s.call<Recorded>('onSignOut', contextual());
    expect(out.type).toBe('UniversalActionResponse');
    expect(s.userCache.keys()).toEqual([]);
    const calls = s.fetchCalls.length;
    const [signedOut] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    expect(actionNames(signedOut)).toEqual(['signIn']);
    expect(s.fetchCalls.length).toBe(calls); // no silent sign-in after an explicit sign-out
    const back = s.call<Recorded>('signIn', contextual());
    expect(texts((back.navigation as { steps: { updateCard: Recorded }[] }).steps[0].updateCard)).toContain(SENDER.name);
  });

  it('"Connect mailbox" opens the consent page so that the card reloads when it closes', () => {
    const s = sandbox();
    const res = s.call<Recorded>('connectMailbox', {});
    expect(res.type).toBe('ActionResponse');
    const link = res.openLink as Recorded;
    expect(link).toMatchObject({ type: 'OpenLink', openAs: 'OVERLAY', onClose: 'RELOAD' });
    expect(String(link.url)).toContain(emu.env.GOOGLE_AUTH_URL);
  });

  it('"Never log this sender" asks first, answers at once with "Undo", and the undo works; Settings lists the exclusion', async () => {
    const s = sandbox();
    const asked = s.call<Recorded>('neverLogSender', contextual({ email: SENDER.email }));
    const question = (asked.navigation as { steps: { pushCard: Recorded }[] }).steps[0].pushCard;
    expect(texts(question)).toContain('Never log this sender?');
    expect(actionNames(question)).toEqual(['excludeSender', 'goBack']);
    expect((await api('GET', '/api/me/settings')).body.excludedAddresses).toEqual([]);
    expect(s.call<Recorded>('goBack', contextual()).navigation).toEqual({ type: 'Navigation', steps: [{ popCard: [] }] });

    const done = s.call<Recorded>('excludeSender', contextual({ email: SENDER.email }));
    expect(done.notification).toEqual({ type: 'Notification', text: `Mail from ${SENDER.email} will no longer be logged for you.` });
    expect((await api('GET', '/api/me/settings')).body.excludedAddresses).toEqual([SENDER.email]);
    const doneCard = (done.navigation as { steps: { updateCard: Recorded }[] }).steps[0].updateCard;
    expect(actionNames(doneCard)).toEqual(['undoExcludeSender', 'backToEmail']);
    const undoParams = JSON.parse(JSON.stringify(doneCard)).sections[0].widgets[1].buttons[0].onClickAction.parameters;
    const undone = s.call<Recorded>('undoExcludeSender', contextual(undoParams));
    expect(undone.notification).toEqual({ type: 'Notification', text: `Mail from ${SENDER.email} is logged again.` });
    expect((undone.navigation as { steps: Record<string, unknown>[] }).steps.map((st) => Object.keys(st)[0])).toEqual(['popToRoot', 'updateCard']);
    expect((await api('GET', '/api/me/settings')).body.excludedAddresses).toEqual([]);

    s.call<Recorded>('excludeSender', contextual({ email: SENDER.email }));
    expect((await api('GET', '/api/me/settings')).body.excludedAddresses).toEqual([SENDER.email]);
    const settings = s.call<Recorded>('onSettings', {});
    const [card] = settings.cards as Recorded[];
    expect(texts(card)).toContain(SENDER.email);
    expect(stable(card)).toMatchSnapshot('settings');
  });
});

describe('this email, my choice', () => {
  const choiceSection = (card: Recorded): Recorded => (card.sections as Recorded[]).find((sec) => sec.header === 'Your choice for this email')!;
  const actionOf = (card: Recorded, text: string): Record<string, string> => {
    let found: Record<string, string> | undefined;
    walk(choiceSection(card), (r) => {
      if (r.type === 'TextButton' && r.text === text) found = (r.onClickAction as Recorded).parameters as Record<string, string>;
    });
    if (!found) throw new Error(`no button "${text}" in ${texts(choiceSection(card))}`);
    return found;
  };
  const updated = (res: Recorded) => (res.navigation as { steps: { updateCard: Recorded }[] }).steps[0].updateCard;

  // The tests above end with the sender never logged, which took the open email out of the CRM: log them again and
  // put the email back, as the next sync would.
  beforeAll(async () => {
    expect((await api('DELETE', `/api/me/excluded-senders/${encodeURIComponent(SENDER.email)}`)).status).toBe(200);
    const orgId = new Types.ObjectId(session.org.id);
    const stored = () => runInOrg(orgId, () => Message.exists({ dedupKey: 'mid:pricing-2@acme-robotics.test' }));
    for (let i = 0; i < 100 && (await stored()); i++) await new Promise((r) => setTimeout(r, 50));
    if (!(await stored())) await seedOpenEmail();
  });

  it('makes the open email private for the rep alone, then back to their default, answering with the card afresh', async () => {
    const s = sandbox();
    const [card] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    expect(texts(choiceSection(card))).toContain('Shared with your team in full (your default)');
    expect(actionNames(choiceSection(card))).toEqual(['dontLog', 'dontLog', 'setSharing', 'setSharing']);
    const made = s.call<Recorded>('setSharing', contextual(actionOf(card, 'Make private')));
    expect(made.notification).toEqual({ type: 'Notification', text: 'This email is private now: only you see it.' });
    const after = updated(made);
    expect(texts(choiceSection(after))).toContain('Private: only you see it (for this email only)');
    const open = (await api('GET', `/api/messages/${JSON.parse(JSON.stringify(actionOf(card, 'Make private'))).messageId}/choices`)).body;
    expect(open.sharing).toEqual({ level: 'private', override: 'private', defaultLevel: 'full' });
    const headers = s.call<Recorded>('setSharing', contextual(actionOf(after, 'Share headers only')));
    expect(headers.notification).toEqual({ type: 'Notification', text: 'Your team sees this email’s headers only now.' });
    expect(texts(choiceSection(updated(headers)))).toContain('Shared with your team as headers only (who and when, no body) (for this email only)');
    expect((await api('GET', `/api/messages/${actionOf(card, 'Make private').messageId}/choices`)).body.sharing.override).toBe('metadata');
    const back = s.call<Recorded>('setSharing', contextual(actionOf(updated(headers), 'Use my default')));
    expect(texts(choiceSection(updated(back)))).toContain('(your default)');
    expectWithinLimits(updated(back));
  });

  it('"Don\'t log this email" takes it out of the CRM at once; the card then offers "Log this email again", which brings it back', async () => {
    const s = sandbox();
    const [card] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    const messageId = actionOf(card, 'Make private').messageId;
    const started = Date.now();
    const done = s.call<Recorded>('dontLog', contextual(actionOf(card, "Don't log this email")));
    // Gmail gives a card action about 30 s; this one is a removal of one email.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(done.notification).toEqual({ type: 'Notification', text: 'This email is no longer logged for you.' });
    expect((await api('GET', `/api/messages/${messageId}`)).status).toBe(404);
    const gone = updated(done);
    expect(texts(gone)).toContain('You chose not to log this email');
    expect(stable(choiceSection(gone))).toMatchSnapshot('not logged');
    const { exclusions } = (await api('GET', '/api/me/excluded-messages')).body;
    expect(exclusions).toEqual([expect.objectContaining({ scope: 'message', copies: 1 })]);

    const again = s.call<Recorded>('logAgain', contextual(actionOf(gone, 'Log this email again')));
    expect(again.notification).toEqual({ type: 'Notification', text: 'This email is logged again: it is back in the CRM within a minute or so.' });
    expect((await api('GET', '/api/me/excluded-messages')).body.exclusions).toEqual([]);
    // The API-only server has no workers here: the copy waits on the mailbox's refetch list for the next run.
    const mailbox = await runInOrg(new Types.ObjectId(session.org.id), () => Mailbox.findOne({ address: REP }).lean());
    expect(mailbox!.refetchIds).toHaveLength(1);
  });

  it('"Don\'t log this thread" keeps the whole thread out, said on the card; "Log this thread again" lifts it', async () => {
    // The copy the last test asked back, as the mailbox's next run would store it.
    await seedOpenEmail();
    const s = sandbox();
    const [card] = s.call<Recorded[]>('onGmailMessageOpen', contextual());
    const messageId = actionOf(card, 'Make private').messageId;
    const done = s.call<Recorded>('dontLog', contextual(actionOf(card, "Don't log this thread")));
    expect(done.notification).toEqual({ type: 'Notification', text: 'This thread is no longer logged for you.' });
    expect((await api('GET', `/api/messages/${messageId}`)).status).toBe(404);
    const gone = updated(done);
    expect(texts(choiceSection(gone))).toContain('You chose not to log this thread: none of its mail in your mailbox goes to the CRM.');
    expect((await api('GET', '/api/me/excluded-messages')).body.exclusions).toEqual([expect.objectContaining({ scope: 'thread', copies: 1 })]);

    const again = s.call<Recorded>('logAgain', contextual(actionOf(gone, 'Log this thread again')));
    expect(again.notification).toEqual({ type: 'Notification', text: 'This thread is logged again: it is back in the CRM within a minute or so.' });
    expect((await api('GET', '/api/me/excluded-messages')).body.exclusions).toEqual([]);
  });
});

describe('the metadata scope', () => {
  it('the add-on reads only what gmail.addons.current.message.metadata allows; content is refused as Apps Script refuses it', () => {
    const s = sandbox();
    s.call('onGmailMessageOpen', contextual());
    s.call('whyNotHere', contextual({ internetMessageId: '<pricing-2@acme-robotics.test>', email: SENDER.email }));
    s.call('refresh', contextual());
    const used = [...new Set(s.gmailCalls)].sort();
    expect(used.length).toBeGreaterThan(3);
    expect(
      used.filter(
        (c) =>
          !/^GmailApp\.(setCurrentMessageAccessToken|getMessageById)$|^GmailMessage\.(getId|getFrom|getTo|getCc|getBcc|getReplyTo|getSubject|getDate|getHeader)$/.test(
            c,
          ),
      ),
    ).toEqual([]);
    // The fake is not lenient: with this manifest a body, the thread or a search is refused.
    const probe = createAppsScriptSandbox({
      userEmail: REP,
      messages: [{ ...openEmail, body: 'secret' }],
      identityToken: () => idToken,
      oauthScopes: built.manifest.oauthScopes,
    });
    probe.load(path.join(built.dir, 'Code.js'));
    const gmail = probe.globals.GmailApp as unknown as {
      setCurrentMessageAccessToken(t: string): void;
      getMessageById(id: string): Record<string, () => unknown>;
      search: unknown;
    };
    gmail.setCurrentMessageAccessToken(openEmail.accessToken);
    const m = gmail.getMessageById(openEmail.id);
    expect(m.getSubject()).toBe(openEmail.subject);
    for (const method of ['getPlainBody', 'getBody', 'getThread']) expect(() => m[method]()).toThrow(/You do not have permission to call GmailMessage\./);
    expect(() => gmail.search).toThrow(/You do not have permission to call GmailApp\.search/);
  });
});

describe('the built artefacts', () => {
  it('every function the manifest or a card names exists at the top level of the bundle', () => {
    const s = sandbox();
    const top = s.topLevelFunctions();
    const common = built.manifest.addOns.common;
    const named = [
      common.homepageTrigger.runFunction,
      ...common.universalActions.map((a: { runFunction: string }) => a.runFunction),
      ...built.manifest.addOns.gmail.contextualTriggers.map((t: { onTriggerFunction: string }) => t.onTriggerFunction),
      // Every action any card can call: the server's card (all of its buttons) and the add-on's own views.
      ...actionNames(s.call('onGmailMessageOpen', contextual())),
      ...actionNames(s.call('onHomepage', {})),
      ...actionNames(s.call('onSettings', {})),
      'createContact',
      'whyNotHere',
      'neverLogSender',
    ];
    expect(named.length).toBeGreaterThan(8);
    for (const name of new Set(named)) expect(top).toContain(name);
    // Generated as plain top-level declarations, which is what Apps Script lists and calls.
    for (const name of top)
      if (name !== 'Threadline') expect(built.code).toMatch(new RegExp(`^function ${name}\\(e\\) \\{ return Threadline\\.${name}\\(e\\); \\}$`, 'm'));
  });

  it('an https PUBLIC_URL gives a deployable manifest: exactly the approved scopes, https URLs with a path', () => {
    const prod = buildAddon('https://crm.example.com', 'https://accounts.google.com/o/oauth2/v2/auth');
    expect(prod.output).not.toContain('WARNING');
    expect(prod.manifest.runtimeVersion).toBe('V8');
    expect([...prod.manifest.oauthScopes].sort()).toEqual([...APPROVED_SCOPES].sort());
    expect(prod.manifest.oauthScopes).toHaveLength(APPROVED_SCOPES.length);
    expect(prod.manifest.urlFetchWhitelist).toEqual(['https://crm.example.com/']);
    expect(prod.manifest.addOns.common.openLinkUrlPrefixes).toEqual(['https://crm.example.com/', 'https://accounts.google.com/']);
    const urls = [...prod.manifest.urlFetchWhitelist, ...prod.manifest.addOns.common.openLinkUrlPrefixes, prod.manifest.addOns.common.logoUrl];
    for (const url of urls) {
      const u = new URL(url);
      expect(u.protocol).toBe('https:');
      expect(u.pathname.length).toBeGreaterThanOrEqual(1);
      expect(url).toMatch(/^https:\/\/[^/]+\/.*/);
    }
    expect(prod.code).toContain('"https://crm.example.com"');
  });

  it('a local http PUBLIC_URL still builds, with a clear warning', () => {
    expect(built.output).toContain('WARNING');
    expect(built.output).toContain('Apps Script accepts only https');
    expect(built.manifest.urlFetchWhitelist).toEqual([`${server.url}/`]);
  });
});
