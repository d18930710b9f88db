import mongoose, { type Types } from 'mongoose';
import { request } from '../../../test/helpers/contract';
import { unindexedQueries } from '../../../test/helpers/index-check';
import { recordQueries } from '../../../test/helpers/query-log';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import { runInOrg } from '../db/tenant';
import { Company, Contact, Deal } from '../models/crm';
import { Mailbox, type MailboxDoc } from '../models/mailbox';
import { User } from '../models/user';
import { bearer, seedMessage, signIn, type SeedMessage, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let ada: SignedIn; // admin
let bob: SignedIn; // member, shares fully
let cat: SignedIn; // member who keeps her mail private
let eve: SignedIn; // member whose mailbox state the not-yet-synced tests change

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  ada = await signIn(svc.app, idp, 'ada@acme.test', 'acme.test');
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
  cat = await signIn(svc.app, idp, 'cat@acme.test', 'acme.test');
  eve = await signIn(svc.app, idp, 'eve@acme.test', 'acme.test');
  await runInOrg(ada.orgId, async () => {
    await User.updateOne({ _id: cat.userId }, { $set: { name: 'Cat Secret', 'settings.visibility': 'private' } });
    await User.updateOne({ _id: bob.userId }, { $set: { name: 'Bob Builder' } });
  });
});
afterAll(() => idp.close());

const why = (who: SignedIn, query: Record<string, string | string[]>) => request(svc.app).get('/api/why').query(query).set(bearer(who));

/** A message stored as ingest stores it, and its Message-ID without brackets. */
async function seedWithId(m: SeedMessage): Promise<{ id: Types.ObjectId; messageId: string }> {
  const doc = await seedMessage(m);
  return { id: doc._id, messageId: doc.internetMessageId!.replace(/^<|>$/g, '') };
}

const codes = (body: { reasons: { code: string }[] }) => body.reasons.map((r) => r.code);

async function setMailbox(who: SignedIn, set: Partial<MailboxDoc>): Promise<void> {
  await runInOrg(who.orgId, () => Mailbox.updateOne({ _id: who.mailboxId }, { $set: set }));
}

describe('GET /api/why: validation', () => {
  it.each([
    ['nothing to look up', {}, 'messageId:'],
    ['an invalid address', { email: 'not-an-address' }, 'email:'],
    ['an empty Message-ID', { messageId: '<>' }, 'messageId:'],
    ['a repeated parameter', { email: ['a@x.com', 'b@x.com'] }, 'email:'],
    ['an operator in the query', { 'email[$ne]': 'x' }, 'messageId:'],
    ['a date that is not one', { email: 'a@x.com', date: 'yesterday-ish' }, 'date:'],
  ])('refuses %s with a 400 naming the field', async (_name, query, field) => {
    const res = await why(ada, query as Record<string, string>);
    expect(res.status).toBe(400);
    expect(res.body.error.message.startsWith(field)).toBe(true);
  });

  it('needs a session', async () => {
    expect((await request(svc.app).get('/api/why?email=a@x.com')).status).toBe(401);
  });
});

describe('GET /api/why: synced', () => {
  it('says by whose mailboxes and what it is linked to; the Message-ID is normalised', async () => {
    const { contact, company, deal } = await runInOrg(ada.orgId, async () => {
      const company = await Company.create({ name: 'Globex', domains: ['globex.com'] });
      const contact = await Contact.create({ emails: ['hank@globex.com'], name: 'Hank Scorpio', companyId: company._id });
      const deal = await Deal.create({ name: 'Globex renewal', stage: 'proposal', contactIds: [contact._id] });
      return { contact, company, deal };
    });
    const { messageId } = await seedWithId({
      holders: [{ who: ada }, { who: bob }],
      from: 'hank@globex.com',
      contactIds: [contact._id as Types.ObjectId],
      companyIds: [company._id as Types.ObjectId],
    });
    const [local, domain] = messageId.split('@');
    const res = await why(ada, { messageId: ` <${local}@${domain.toUpperCase()}> ` });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('private, no-store');
    expect(res.body.verdict).toBe('synced');
    expect(res.body.reasons[0]).toMatchObject({ code: 'synced_by', message: 'In the CRM from the mailboxes of you and Bob Builder (bob@acme.test).' });
    expect(res.body.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'linked_contact', message: expect.stringContaining('Hank Scorpio'), detail: { contactId: String(contact._id) } }),
        expect.objectContaining({ code: 'linked_company', message: 'Linked to the company Globex.' }),
        expect.objectContaining({ code: 'linked_deal', message: 'Linked to the deal Globex renewal (proposal).', detail: { dealId: String(deal._id) } }),
      ]),
    );
  });

  it('reads the organisation and its users a fixed number of times, each by key, and asks for no empty list', async () => {
    const { messageId } = await seedWithId({ holders: [{ who: ada }, { who: bob }], from: 'nobody@initrode.test' });
    let res: Awaited<ReturnType<typeof why>> | undefined;
    await why(ada, { messageId }); // the process's first request in the organisation reads its users
    // Past the 100 ms within which requests share an organisation read (store/org-snapshot.ts), so this one reads it.
    await new Promise((resolve) => setTimeout(resolve, 120));
    const reads = await recordQueries(async () => {
      res = await why(ada, { messageId });
    });
    expect(res!.status).toBe(200);
    expect(codes(res!.body)).toContain('synced_by');
    const of = (collection: string) => reads.filter((q) => q.collection === collection && ['find', 'findOne'].includes(q.method));
    // The organisation once, by `_id` (store/org-snapshot.ts): its settings, domains, directory version, and the
    // version of its people, which have not changed since the request before, so neither they nor the signed-out
    // sessions are read again (the session check, the caller's settings, the policy, holders and colleagues).
    expect(of('orgs').map((q) => Object.keys(q.filter).join(','))).toEqual(['_id']);
    expect(of('users')).toEqual([]);
    expect(of('sessionrevocations')).toEqual([]);
    const emptyLists = reads.filter((q) => JSON.stringify(q.filter).includes('"$in":[]'));
    expect(emptyLists.map((q) => q.collection)).toEqual([]);
    // Each of its queries is served by an index on MongoDB (test/helpers/index-check.ts).
    expect(unindexedQueries(reads)).toEqual([]);
  });

  it('says why it is linked to nothing: no contact, free-mail domain, no company yet', async () => {
    const free = await seedWithId({ holders: [{ who: ada }], from: 'pat@gmail.com' });
    const res = await why(ada, { messageId: free.messageId });
    expect(codes(res.body)).toEqual(['synced_by', 'not_linked', 'no_contact', 'free_mail_domain']);
    expect(res.body.reasons[3].message).toBe('gmail.com is a free-mail domain, so it never makes a company.');
    const business = await seedWithId({ holders: [{ who: ada }], from: 'pat@initech.com' });
    expect(codes((await why(ada, { messageId: business.messageId })).body)).toEqual(['synced_by', 'not_linked', 'no_contact', 'no_company']);
  });

  it('answers for an address alone: how many emails the caller sees, and the links', async () => {
    const res = await why(bob, { email: 'Hank@Globex.com' });
    expect(res.body.verdict).toBe('synced');
    expect(res.body.reasons[0]).toMatchObject({ code: 'stored', message: '1 email with hank@globex.com is in the CRM for you.' });
    expect(codes(res.body)).toEqual(['stored', 'linked_contact', 'linked_company', 'linked_deal']);
  });
});

describe('GET /api/why: not visible', () => {
  it('is no oracle: a private message is answered for exactly as an email nobody synced; its holder sees it', async () => {
    const secret = await seedWithId({ holders: [{ who: cat }], from: 'mole@initech.com', subject: 'Secret merger terms' });
    const queries: Record<string, string>[] = [{ messageId: secret.messageId }, { email: 'mole@initech.com' }];
    const absent: Record<string, string>[] = [{ messageId: 'never-synced-1@initech.com' }, { email: 'nobody@initech.com' }];
    for (const [i, query] of queries.entries()) {
      const res = await why(ada, query);
      const control = await why(ada, absent[i]);
      expect(res.body.verdict).toBe('not_yet_synced');
      expect(codes(res.body)).toEqual(codes(control.body));
      expect(JSON.stringify(res.body).replaceAll('mole@initech.com', 'X')).toEqual(JSON.stringify(control.body).replaceAll('nobody@initech.com', 'X'));
      const text = JSON.stringify(res.body);
      for (const leak of ['Secret merger', 'cat@acme.test', 'Cat Secret', String(cat.userId), String(secret.id)]) expect(text).not.toContain(leak);
    }
    const own = await why(cat, { messageId: secret.messageId });
    expect(own.body.verdict).toBe('synced');
    expect(own.body.reasons[0].message).toBe('In the CRM from the mailbox of you.');
  });

  it('names only the holders who share when a private holder and a sharing one hold the same email', async () => {
    const both = await seedWithId({ holders: [{ who: cat }, { who: bob }], from: 'pat@initech.com' });
    const res = await why(ada, { messageId: both.messageId });
    expect(res.body.verdict).toBe('synced');
    expect(res.body.reasons[0].detail.holders).toEqual([{ userId: String(bob.userId), name: 'Bob Builder', email: 'bob@acme.test', isYou: false }]);
    expect(JSON.stringify(res.body)).not.toContain('cat@acme.test');
  });
});

describe('GET /api/why: excluded', () => {
  const DEFAULTS = {
    sync: {
      historyDays: 90,
      deletionPolicy: 'mirror',
      onlyKnownContacts: false,
      autoCreateContacts: 'none',
      excludedDomains: [] as string[],
      excludedAddresses: [] as string[],
      excludedLabels: [],
      excludeInternal: false,
    },
    sharing: { defaultVisibility: 'full' },
  };
  afterEach(async () => {
    await request(svc.app).put('/api/settings').set(bearer(ada)).send(DEFAULTS);
    await request(svc.app).put('/api/me/settings').set(bearer(bob)).send({ excludedDomains: [], excludedAddresses: [], excludedLabels: [], visibility: null });
  });

  /** Counts of every collection: answering must not write anything, least of all about excluded mail. */
  async function snapshot(): Promise<Record<string, number>> {
    const db = mongoose.connection.db!;
    const out: Record<string, number> = {};
    for (const c of await db.listCollections().toArray()) out[c.name] = await db.collection(c.name).countDocuments();
    return out;
  }

  it('by an org rule: which rule, and that only an admin can change it (member) or where (admin)', async () => {
    await request(svc.app)
      .put('/api/settings')
      .set(bearer(ada))
      .send({ ...DEFAULTS, sync: { ...DEFAULTS.sync, excludedDomains: ['hooli.com'] } });
    const before = await snapshot();
    const res = await why(bob, { messageId: '<never-stored@hooli.com>', email: 'gavin@eu.hooli.com' });
    expect(res.body.verdict).toBe('excluded');
    expect(res.body.reasons[0]).toMatchObject({ code: 'excluded_by_rule', detail: { rule: 'domain', scope: 'org', value: 'hooli.com' } });
    expect(res.body.reasons[1]).toMatchObject({
      code: 'how_to_change',
      message: expect.stringContaining('Only an admin'),
      detail: { settings: 'organisation' },
    });
    expect((await why(ada, { email: 'gavin@hooli.com' })).body.reasons[1].message).toContain('You are an admin');
    expect(await snapshot()).toEqual(before);
  });

  it('by a personal rule, for its owner only', async () => {
    await request(svc.app)
      .put('/api/me/settings')
      .set(bearer(bob))
      .send({ excludedDomains: [], excludedAddresses: ['mum@family.org'], excludedLabels: [], visibility: null });
    const res = await why(bob, { email: 'Mum@Family.org' });
    expect(res.body.verdict).toBe('excluded');
    expect(res.body.reasons[0].detail).toEqual({ rule: 'address', scope: 'user', value: 'mum@family.org' });
    expect(res.body.reasons[1].detail).toEqual({ settings: 'personal' });
    expect((await why(ada, { email: 'mum@family.org' })).body.verdict).toBe('not_yet_synced');
  });

  it('by only-known-contacts, until the address is a contact', async () => {
    await request(svc.app)
      .put('/api/settings')
      .set(bearer(ada))
      .send({ ...DEFAULTS, sync: { ...DEFAULTS.sync, onlyKnownContacts: true } });
    expect(codes((await why(bob, { email: 'stranger@initech.com' })).body)).toEqual(['excluded_by_rule', 'how_to_change', 'create_contact']);
    expect((await why(bob, { email: 'hank@globex.com' })).body.verdict).toBe('synced');
  });
});

describe('GET /api/why: not yet synced, from the caller’s mailboxes', () => {
  const unknown = { messageId: '<not-here-yet@initech.com>', email: 'newbie@initech.com' };

  it('no mailbox connected', async () => {
    await runInOrg(eve.orgId, () => Mailbox.deleteOne({ _id: eve.mailboxId }));
    const res = await why(eve, unknown);
    expect(res.body.verdict).toBe('not_yet_synced');
    expect(codes(res.body)).toEqual(['not_stored', 'not_excluded', 'no_mailbox']);
    const again = await runInOrg(eve.orgId, () => Mailbox.create({ userId: eve.userId, provider: 'google', address: eve.email }));
    eve.mailboxId = again._id as Types.ObjectId;
  });

  it.each([
    ['backfilling with progress', { state: 'backfilling', 'backfill.imported': 120, 'backfill.total': 500 }, 'backfilling', '120 of 500 emails imported'],
    ['throttled until a time', { state: 'throttled', backoffUntil: new Date(Date.now() + 3600_000) }, 'throttled', 'syncing resumes at'],
    [
      'in error, with the fix',
      { state: 'error', lastError: { code: 'permission', message: 'Gmail refused access.', at: new Date() } },
      'mailbox_error',
      'Gmail refused access. Reconnect it and accept every permission',
    ],
    ['needing reconnection', { state: 'reauth_required' }, 'reauth_required', 'Reconnect the mailbox'],
  ])('%s', async (_name, set, code, words) => {
    await setMailbox(eve, set as Partial<MailboxDoc>);
    const res = await why(eve, unknown);
    expect(res.body.verdict).toBe('not_yet_synced');
    expect(res.body.reasons.at(-1)).toMatchObject({ code, message: expect.stringContaining(words) });
  });

  it('live: older than historyDays, or newer than the last sync', async () => {
    await setMailbox(eve, { state: 'live', lastError: null, lastSyncedAt: new Date(Date.now() - 60_000) });
    const old = await why(eve, { ...unknown, date: new Date(Date.now() - 200 * 86_400_000).toUTCString() });
    expect(old.body.reasons.at(-1)).toMatchObject({ code: 'older_than_history', message: expect.stringContaining('last 90 days') });
    const fresh = await why(eve, { ...unknown, date: new Date().toISOString() });
    expect(fresh.body.reasons.at(-1)).toMatchObject({ code: 'arriving_shortly', message: expect.stringContaining('will arrive shortly') });
    expect((await why(eve, { messageId: unknown.messageId })).body.reasons.map((r: { code: string }) => r.code)).toEqual([
      'not_stored',
      'rules_not_checked',
      'live',
    ]);
  });
});
