/**
 * The rep's journey through the sidebar routes, on the real embedded database: an email from an unknown sender →
 * a suggested contact → POST /api/contacts → the context shows the contact, the company and past mail, with the
 * sharing levels of docs/SYNC.md "Dedup and visibility" applied and nothing from another organisation.
 */
import { byInternetMessageId } from '../models/ids';
import { Types } from 'mongoose';
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import type { AddonContextResponse, AddonMessageInput } from '@threadline/shared/src/api/addon-view';
import { CARD_LIMITS, type Card, type Widget } from '@threadline/shared/src/card';
import { indexCopies } from '../store/activity';
import { runInOrg } from '../db/tenant';
import { Deal } from '../models/crm';
import { Mailbox } from '../models/mailbox';
import { MailboxMessage } from '../models/mailbox-message';
import { Message } from '../models/message';
import { User } from '../models/user';

useTestDatabase();

interface Rep {
  token: string;
  userId: Types.ObjectId;
  orgId: Types.ObjectId;
  email: string;
}

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let ada: Rep; // admin of acme.test, full sharing
let bob: Rep; // shares metadata only
let cy: Rep; // shares nothing
let eve: Rep; // another organisation

async function signIn(email: string, hd: string, name: string): Promise<Rep> {
  const token = await idp.googleToken({ sub: `sub-${email}`, email, hd, name });
  const res = await request(svc.app).post('/api/session').send({ provider: 'google', token });
  expect(res.status).toBe(200);
  return { token: res.body.token, userId: new Types.ObjectId(String(res.body.user.id)), orgId: new Types.ObjectId(String(res.body.org.id)), email };
}

let n = 0;
/** One message as ingest stores it, with a copy in each holder's mailbox. */
async function mail(holders: Rep[], m: { mid?: string; subject: string; from: [string, string]; to: string[]; date: string; text?: string }) {
  const orgId = holders[0].orgId;
  const mid = m.mid ?? `m${(n += 1)}@mail.test`;
  return runInOrg(orgId, async () => {
    const doc = await Message.create({
      ...byInternetMessageId(orgId, mid),
      internetMessageId: mid,
      subject: m.subject,
      from: { email: m.from[0], name: m.from[1] },
      to: m.to.map((email) => ({ email, name: '' })),
      date: new Date(m.date),
      direction: 'inbound',
      snippet: m.text ?? 'the body',
      text: m.text ?? 'the body',
      participants: [m.from[0], ...m.to],
      syncedBy: holders.map((h) => h.userId),
      threadId: new Types.ObjectId(),
    });
    for (const h of holders) {
      const mailbox = await Mailbox.findOne({ userId: h.userId }).lean<{ _id: Types.ObjectId }>();
      const copy = await MailboxMessage.create({
        mailboxId: mailbox!._id,
        userId: h.userId,
        messageId: doc._id,
        providerMessageId: `p-${mid}`,
        labels: ['Deals'],
      });
      await indexCopies([{ copyId: copy._id, messageId: doc._id, date: doc.date, participants: doc.participants, threadId: doc.threadId }]);
    }
    return doc;
  });
}

const get = (who: Rep, query: string) => request(svc.app).get(`/api/context${query}`).set('Authorization', `Bearer ${who.token}`);
const addon = (who: Rep, provider: 'gmail' | 'outlook', message: Partial<AddonMessageInput>) =>
  request(svc.app)
    .post('/api/addon/context')
    .set('Authorization', `Bearer ${who.token}`)
    .send({ provider, message: { to: [], cc: [], ...message } });

const janeEmail: AddonMessageInput = {
  internetMessageId: '<Latest@Globex.com>',
  subject: 'Renewal',
  from: { email: 'Jane.Doe@Globex.com', name: 'Doe, Jane' },
  to: [{ email: 'ada@acme.test', name: 'Ada' }],
  cc: [
    { email: 'pat.smith@gmail.com', name: '' },
    { email: 'bob@acme.test', name: 'Bob' },
  ],
};

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  ada = await signIn('ada@acme.test', 'acme.test', 'Ada Lovelace');
  bob = await signIn('bob@acme.test', 'acme.test', 'Bob Builder');
  cy = await signIn('cy@acme.test', 'acme.test', 'Cy Private');
  eve = await signIn('eve@other.test', 'other.test', 'Eve');
  for (const [who, visibility] of [
    [bob, 'metadata'],
    [cy, 'private'],
  ] as const) {
    await runInOrg(who.orgId, () => User.updateOne({ _id: who.userId }, { $set: { 'settings.visibility': visibility } }));
  }
  for (const who of [ada, bob, cy, eve]) {
    await runInOrg(who.orgId, () => Mailbox.create({ userId: who.userId, provider: 'google', address: who.email, state: 'live' }));
  }
  await runInOrg(ada.orgId, () =>
    Mailbox.updateOne(
      { userId: ada.userId },
      {
        $set: { state: 'reauth_required', lastError: { code: 'auth_revoked', message: 'Google says the grant was revoked.', at: new Date() } },
      },
    ),
  );

  await mail([ada], {
    mid: 'Latest@globex.com',
    subject: 'Renewal',
    from: ['jane.doe@globex.com', 'Jane Doe'],
    to: ['ada@acme.test'],
    date: '2025-03-01',
    text: 'Ada, about the renewal',
  });
  await mail([bob], {
    subject: 'Pricing (Bob)',
    from: ['jane.doe@globex.com', 'Jane Doe'],
    to: ['bob@acme.test'],
    date: '2025-02-01',
    text: 'secret pricing body',
  });
  await mail([cy], { mid: 'private@globex.com', subject: 'Private (Cy)', from: ['jane.doe@globex.com', 'Jane Doe'], to: ['cy@acme.test'], date: '2025-02-15' });
  await mail([eve], { subject: 'Other org', from: ['jane.doe@globex.com', 'Jane Doe'], to: ['eve@other.test'], date: '2025-02-20' });
});
afterAll(() => idp.close());

describe('the rep opens an email from an unknown sender', () => {
  let first: AddonContextResponse;

  beforeAll(async () => {
    const res = await addon(ada, 'gmail', janeEmail);
    expect(res.status).toBe(200);
    first = res.body;
  });

  it('suggests a contact: name from the display name, company from the domain, none for gmail.com', () => {
    const people = first.view.participants;
    expect(people.map((p) => p.email)).toEqual(['jane.doe@globex.com', 'pat.smith@gmail.com', 'bob@acme.test']);
    expect(people[0]).toMatchObject({
      role: 'from',
      contact: null,
      company: null,
      teammate: false,
      suggestion: { email: 'jane.doe@globex.com', name: 'Jane Doe', companyName: 'Globex', companyDomain: 'globex.com' },
    });
    expect(people[1].suggestion).toEqual({ email: 'pat.smith@gmail.com', name: 'Pat Smith', companyName: null, companyDomain: null, roleAddress: false });
    // A teammate is never offered as a contact; the caller's own address is not listed at all.
    expect(people[2]).toMatchObject({ teammate: true, suggestion: null });
  });

  it('puts a named "Create contact" beside each unknown person', () => {
    expect(first.card?.fixedFooter).toBeUndefined();
    const all = first.card!.sections.flatMap((s) => s.widgets).flatMap((w) => ('buttonList' in w ? w.buttonList.buttons : []));
    expect(all.slice(0, 2)).toEqual([
      {
        text: 'Create contact Jane Doe',
        onClick: { action: { function: 'createContact', parameters: { email: 'jane.doe@globex.com', name: 'Jane Doe', companyName: 'Globex' } } },
      },
      {
        text: 'Create contact Pat Smith',
        onClick: { action: { function: 'createContact', parameters: { email: 'pat.smith@gmail.com', name: 'Pat Smith', companyName: '' } } },
      },
    ]);
    const buttons = all.slice(2);
    expect(buttons.map((b) => b.text)).toEqual([
      'Open in CRM',
      'Why is this email here?',
      'Never log this sender',
      // "Your choice for this email": Ada holds it and shares in full, so the other two levels are offered.
      "Don't log this email",
      "Don't log this thread",
      'Make private',
      'Share headers only',
    ]);
    expect(buttons[0].onClick).toEqual({ openLink: { url: `http://127.0.0.1:3999/app/messages/${first.view.thisMessage.messageId}` } });
    expect(buttons[2].onClick).toEqual({ action: { function: 'neverLogSender', parameters: { email: 'jane.doe@globex.com' } } });
  });

  it('says the open email is synced, and by whom', () => {
    expect(first.view.thisMessage).toMatchObject({
      internetMessageId: 'Latest@globex.com',
      status: 'synced',
      syncedBy: [{ name: 'Ada Lovelace', email: 'ada@acme.test', isYou: true }],
    });
  });

  it("shows the caller's mailbox health with the fix in words", () => {
    expect(first.view.sync.status).toBe('attention');
    expect(first.view.sync.mailboxes[0]).toMatchObject({
      state: 'reauth_required',
      problem: { code: 'auth_revoked', fix: expect.stringMatching(/Reconnect/) },
    });
  });

  it('already shows past mail: full for her own, headers only for a metadata teammate, nothing private', () => {
    const messages = first.view.recentMessages;
    expect(messages.map((m) => m.subject)).toEqual(['Renewal', 'Pricing (Bob)']);
    expect(messages[0]).toMatchObject({ access: 'full', snippet: 'Ada, about the renewal' });
    expect(messages[1]).toMatchObject({ access: 'metadata', snippet: '', date: '2025-02-01T00:00:00.000Z' });
    expect(JSON.stringify(first)).not.toContain('secret pricing');
    expect(JSON.stringify(first)).not.toContain('Private (Cy)');
    expect(first.view.threads).toHaveLength(2);
  });

  it('creates the contact, after which the context shows the contact, the company and the deal', async () => {
    const created = await request(svc.app)
      .post('/api/contacts')
      .set('Authorization', `Bearer ${ada.token}`)
      .send({ email: 'jane.doe@globex.com', name: 'Jane Doe', companyName: 'Globex' });
    expect(created.status).toBe(201);
    const contactId = created.body.id as string;
    await runInOrg(ada.orgId, () => Deal.create({ name: 'Globex renewal', stage: 'proposal', amount: 12000, contactIds: [new Types.ObjectId(contactId)] }));
    await runInOrg(ada.orgId, () => Deal.create({ name: 'Globex lost', status: 'lost', contactIds: [new Types.ObjectId(contactId)] }));

    const res = await addon(ada, 'gmail', janeEmail);
    const jane = res.body.view.participants[0];
    expect(jane.contact).toMatchObject({ id: contactId, name: 'Jane Doe', openUrl: `http://127.0.0.1:3999/app/contacts/${contactId}` });
    expect(jane.company).toMatchObject({ name: 'Globex', domains: ['globex.com'] });
    expect(jane.suggestion).toBeNull();
    expect(res.body.view.deals.map((d: { name: string }) => d.name)).toEqual(['Globex renewal']);
    // Pat (gmail.com) is still unknown, so only Pat is offered now.
    const offered = JSON.stringify(res.body.card).match(/"Create contact [^"]*"/g);
    expect(offered).toEqual(['"Create contact Pat Smith"']);

    const ctx = await get(ada, '?email=JANE.DOE@globex.com&email=nobody@initech.com');
    expect(ctx.status).toBe(200);
    expect(ctx.body.participants).toEqual([
      {
        email: 'jane.doe@globex.com',
        contact: expect.objectContaining({ id: contactId, name: 'Jane Doe' }),
        company: expect.objectContaining({ name: 'Globex' }),
      },
      { email: 'nobody@initech.com', contact: null, company: null },
    ]);
    expect(ctx.body.deals.map((d: { name: string; status: string }) => `${d.name}:${d.status}`).sort()).toEqual(['Globex lost:lost', 'Globex renewal:open']);
    expect(ctx.body.recentMessages.map((m: { subject: string }) => m.subject)).toEqual(['Renewal', 'Pricing (Bob)']);
    expect(ctx.body.recentMessages[0]).toMatchObject({ snippet: 'Ada, about the renewal', labels: ['Deals'], syncedBy: [String(ada.userId)] });
    expect(ctx.body.recentMessages[1]).toMatchObject({ snippet: '', labels: [], hasAttachments: false });
  });

  it('has no footer once everyone on the email is known', async () => {
    const res = await addon(ada, 'gmail', { ...janeEmail, cc: [] });
    expect(res.body.view.participants.every((p: { contact: unknown }) => p.contact !== null)).toBe(true);
    expect(res.body.card.fixedFooter).toBeUndefined();
  });
});

describe('visibility and tenancy', () => {
  it('never says who holds a private email, nor that it is there: it answers as for an email nobody synced', async () => {
    const res = await addon(ada, 'outlook', { ...janeEmail, internetMessageId: '<private@globex.com>' });
    expect(res.body.view.thisMessage).toEqual({
      internetMessageId: 'private@globex.com',
      status: 'not_synced',
      messageId: null,
      syncedBy: [],
      openUrl: null,
      choices: { notLogged: null, sharing: null },
    });
    expect(res.body.card).toBeUndefined();
    const missing = await addon(ada, 'outlook', { ...janeEmail, internetMessageId: '<never@seen>' });
    expect(missing.body.view.thisMessage.status).toBe('not_synced');
  });

  it("shows the holder their own private mail, and a metadata holder's teammates only headers", async () => {
    const asCy = await get(cy, '?email=jane.doe@globex.com');
    expect(asCy.body.recentMessages.map((m: { subject: string }) => m.subject)).toEqual(['Renewal', 'Private (Cy)', 'Pricing (Bob)']);
    expect(asCy.body.recentMessages[2].snippet).toBe('');
  });

  it("another organisation sees none of the first one's contacts, companies, deals or mail", async () => {
    const res = await get(eve, '?email=jane.doe@globex.com');
    expect(res.body).toMatchObject({ participants: [{ email: 'jane.doe@globex.com', contact: null, company: null }], deals: [] });
    expect(res.body.recentMessages.map((m: { subject: string }) => m.subject)).toEqual(['Other org']);
    const view = await addon(eve, 'gmail', { ...janeEmail, internetMessageId: '<latest@globex.com>' });
    expect(view.body.view.thisMessage.status).toBe('not_synced');
    expect(view.body.view.sync.status).toBe('ok');
  });
});

describe('input', () => {
  it.each([
    ['no address', '', /at least one/],
    ['an invalid address, named', '?email=not-an-address', /'not-an-address' is not a valid address/],
    ['51 addresses', `?${Array.from({ length: 51 }, (_, i) => `email=p${i}@x.com`).join('&')}`, /at most 50/],
    ['an operator', '?email[$ne]=x', /at least one/],
  ])('GET /api/context with %s → 400', async (_name, query, message) => {
    const res = await get(ada, query);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
  });

  it('refuses operators and wrong shapes in the add-on body', async () => {
    for (const body of [
      { provider: 'thunderbird', message: janeEmail },
      { provider: 'gmail', message: { ...janeEmail, from: { email: { $ne: 'x' } } } },
      { provider: 'gmail', message: { ...janeEmail, internetMessageId: { $gt: '' } } },
    ]) {
      const res = await request(svc.app).post('/api/addon/context').set('Authorization', `Bearer ${ada.token}`).send(body);
      expect(res.status).toBe(400);
    }
  });

  it('needs a session', async () => {
    expect((await request(svc.app).get('/api/context?email=a@b.com')).status).toBe(401);
  });
});

describe('the card', () => {
  const widgetsOf = (card: Card): Widget[] => card.sections.flatMap((s) => s.widgets);

  it('stays within the limits on an email to a crowd, with garbage and long names', async () => {
    const crowd = Array.from({ length: 80 }, (_, i) => ({ email: `person${i}@crowd-${i}.com`, name: `${'Very long name '.repeat(20)}${i}` }));
    const res = await addon(ada, 'gmail', {
      ...janeEmail,
      subject: 'x'.repeat(3000).slice(0, 2000),
      to: [{ email: 'undisclosed-recipients:;', name: '' }, ...crowd],
    });
    expect(res.status).toBe(200);
    const { view, card } = res.body as AddonContextResponse;
    expect(view.participants).toHaveLength(50);
    expect(view.participantsOmitted).toBe(33); // 80 + jane + pat + bob = 83 people, 50 shown
    expect(card!.sections.length).toBeLessThanOrEqual(CARD_LIMITS.sections);
    expect(widgetsOf(card!).length).toBeLessThanOrEqual(CARD_LIMITS.widgetsPerCard);
    for (const w of widgetsOf(card!)) {
      if ('decoratedText' in w) {
        expect(Array.from(w.decoratedText.text).length).toBeLessThanOrEqual(CARD_LIMITS.text);
        expect(Array.from(w.decoratedText.bottomLabel ?? '').length).toBeLessThanOrEqual(CARD_LIMITS.label);
      }
    }
    expect(card!.sections.some((s) => s.widgets.some((w) => 'textParagraph' in w && /and 78 more people/.test(w.textParagraph.text)))).toBe(true);
  });
});

describe('this email, my choice', () => {
  it('the view says what the caller chose for the open email, from their own choices only', async () => {
    const open = { ...janeEmail, internetMessageId: '<Latest@Globex.com>' };
    const before = (await addon(ada, 'gmail', open)).body as AddonContextResponse;
    expect(before.view.thisMessage.choices).toEqual({ notLogged: null, sharing: { level: 'full', override: null, defaultLevel: 'full' } });
    const shared = await request(svc.app)
      .put(`/api/messages/${before.view.thisMessage.messageId}/visibility`)
      .set('Authorization', `Bearer ${ada.token}`)
      .send({ level: 'metadata' });
    expect(shared.status).toBe(200);
    const after = (await addon(ada, 'gmail', open)).body as AddonContextResponse;
    expect(after.view.thisMessage.choices?.sharing).toEqual({ level: 'metadata', override: 'metadata', defaultLevel: 'full' });
    const texts = JSON.stringify(after.card);
    expect(texts).toContain('Shared with your team as headers only');
    expect(texts).toContain('"level":"default"');

    // Not logged by Ada (the only holder): the email is gone for everyone, and Ada's sidebar offers to log it again.
    const chosen = await request(svc.app)
      .post('/api/me/excluded-messages')
      .set('Authorization', `Bearer ${ada.token}`)
      .send({ internetMessageId: open.internetMessageId, scope: 'thread' });
    expect(chosen.status).toBe(201);
    const gone = (await addon(ada, 'gmail', open)).body as AddonContextResponse;
    expect(gone.view.thisMessage).toMatchObject({ status: 'not_synced', choices: { notLogged: { id: chosen.body.id, scope: 'thread' }, sharing: null } });
    const again = gone.card!.sections.find((s) => s.header === 'Your choice for this email')!;
    expect(JSON.stringify(again)).toContain(`"function":"logAgain","parameters":{"exclusionId":"${chosen.body.id}","scope":"thread"}`);
    // Bob's view of the same email knows nothing of Ada's choice.
    expect(((await addon(bob, 'gmail', open)).body as AddonContextResponse).view.thisMessage.choices?.notLogged).toBeNull();
    expect((await request(svc.app).delete(`/api/me/excluded-messages/${chosen.body.id}`).set('Authorization', `Bearer ${ada.token}`)).status).toBe(200);
  });
});
