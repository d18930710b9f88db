import mongoose from 'mongoose';
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import { runInOrg } from '../db/tenant';
import { AuditLog } from '../models/audit';
import { Mailbox } from '../models/mailbox';
import { MailboxMessage } from '../models/mailbox-message';
import { Message } from '../models/message';
import { Thread } from '../models/thread';
import { bearer, seedMessage, signIn, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let ada: SignedIn; // admin
let bob: SignedIn; // member

const DEFAULTS = {
  sync: {
    historyDays: 90,
    deletionPolicy: 'mirror',
    onlyKnownContacts: false,
    autoCreateContacts: 'none',
    excludedDomains: [],
    excludedAddresses: [],
    excludedLabels: [],
    excludeInternal: false,
  },
  sharing: { defaultVisibility: 'full' },
};
const withSync = (sync: Partial<typeof DEFAULTS.sync>) => ({ ...DEFAULTS, sync: { ...DEFAULTS.sync, ...sync } });

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  ada = await signIn(svc.app, idp, 'ada@acme.test', 'acme.test');
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
});
afterAll(() => idp.close());

const put = (who: SignedIn, path: string, body: unknown) =>
  request(svc.app)
    .put(path)
    .set(bearer(who))
    .send(body as object);
const get = (who: SignedIn, path: string) => request(svc.app).get(path).set(bearer(who));

/** Every stored document of the database, as text: where an excluded address must not appear. */
async function everything(): Promise<string> {
  const db = mongoose.connection.db!;
  const out: unknown[] = [];
  for (const name of ['messages', 'mailboxmessages', 'threads', 'attachmentcaches']) out.push(await db.collection(name).find({}).toArray());
  return JSON.stringify(out);
}

describe('/api/settings', () => {
  it('is for admins only, and answers exactly the contract shape', async () => {
    expect((await get(bob, '/api/settings')).status).toBe(403);
    expect((await put(bob, '/api/settings', DEFAULTS)).status).toBe(403);
    const res = await get(ada, '/api/settings');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(DEFAULTS);
  });

  it.each([
    ['a missing field', { sync: { ...DEFAULTS.sync, historyDays: undefined }, sharing: DEFAULTS.sharing }, 'sync.historyDays'],
    ['a bad enum', withSync({ deletionPolicy: 'shred' as 'mirror' }), 'sync.deletionPolicy'],
    ['an invalid domain', withSync({ excludedDomains: ['ok.com', 'not a domain'] as never[] }), 'sync.excludedDomains.1'],
    ['an invalid address', withSync({ excludedAddresses: ['nobody'] as never[] }), 'sync.excludedAddresses.0'],
    ['an unknown key', { ...DEFAULTS, extra: 1 }, '(body)'],
    ['an operator', withSync({ historyDays: { $gt: 0 } as unknown as number }), 'sync.historyDays'],
  ])('refuses %s with a 400 naming the field', async (_name, body, field) => {
    const res = await put(ada, '/api/settings', body);
    expect(res.status).toBe(400);
    expect(res.body.error.message.startsWith(field === '(body)' ? '' : `${field}:`)).toBe(true);
  });

  it('normalises domains and addresses', async () => {
    const res = await put(
      ada,
      '/api/settings',
      withSync({ excludedDomains: ['@Hooli.COM', '*.hooli.com'] as never[], excludedAddresses: ['Jane <JANE@x.org>'] as never[] }),
    );
    expect(res.status).toBe(200);
    expect(res.body.sync).toMatchObject({ excludedDomains: ['hooli.com'], excludedAddresses: ['jane@x.org'] });
    expect((await get(ada, '/api/settings')).body.sync.excludedDomains).toEqual(['hooli.com']);
    await put(ada, '/api/settings', DEFAULTS);
  });

  it('tightening a domain removes the matching stored mail at once, leaving no trace; loosening schedules re-import', async () => {
    const thread = await runInOrg(ada.orgId, () => Thread.create({ subject: 'Globex deal' }));
    const hit = await seedMessage({
      holders: [{ who: ada }, { who: bob }],
      from: 'ceo@globex.com',
      threadId: thread._id as mongoose.Types.ObjectId,
      subject: 'Globex deal',
    });
    const sub = await seedMessage({ holders: [{ who: bob }], from: 'ops@eu.globex.com', to: ['bob@acme.test'] });
    const keep = await seedMessage({ holders: [{ who: ada }], from: 'pat@notglobex.com' });
    expect(await everything()).toContain('globex.com');

    const res = await put(ada, '/api/settings', withSync({ excludedDomains: ['globex.com'] as never[] }));
    expect(res.status).toBe(200);
    const left = await everything();
    expect(left).not.toMatch(/@(eu\.)?globex\.com/);
    expect(left).not.toContain('Globex deal');
    await runInOrg(ada.orgId, async () => {
      expect(await Message.countDocuments({ _id: mongoose.trusted({ $in: [hit._id, sub._id] }) })).toBe(0);
      expect(await MailboxMessage.countDocuments({ messageId: mongoose.trusted({ $in: [hit._id, sub._id] }) })).toBe(0);
      expect(await Message.countDocuments({ _id: keep._id })).toBe(1);
    });

    await runInOrg(ada.orgId, () => Mailbox.updateMany({}, { $set: { reconcileRequestedAt: null } }));
    await put(ada, '/api/settings', DEFAULTS);
    const boxes = await runInOrg(ada.orgId, () => Mailbox.find({}).lean<{ reconcileRequestedAt: Date | null }[]>());
    expect(boxes.length).toBe(2);
    for (const b of boxes) expect(b.reconcileRequestedAt).toBeInstanceOf(Date);
  });

  it('an excluded label removes only the labelled copies (nested labels included)', async () => {
    const m = await seedMessage({
      holders: [
        { who: ada, labels: ['Personal/Family'] },
        { who: bob, labels: ['INBOX'] },
      ],
    });
    const only = await seedMessage({ holders: [{ who: ada, labels: ['personal'] }] });
    await put(ada, '/api/settings', withSync({ excludedLabels: ['Personal'] as never[] }));
    await runInOrg(ada.orgId, async () => {
      expect(await MailboxMessage.countDocuments({ messageId: m._id })).toBe(1);
      expect((await Message.findById(m._id).lean<{ syncedBy: unknown[] }>())!.syncedBy.map(String)).toEqual([String(bob.userId)]);
      expect(await Message.countDocuments({ _id: only._id })).toBe(0);
    });
    await put(ada, '/api/settings', DEFAULTS);
  });
});

describe('POST /api/settings/preview', () => {
  const preview = (who: SignedIn, body: unknown) =>
    request(svc.app)
      .post('/api/settings/preview')
      .set(bearer(who))
      .send(body as object);
  /** What a preview must leave alone: stored mail, settings, audit trail and re-import marks. */
  const snapshot = async () =>
    runInOrg(ada.orgId, async () => ({
      messages: await Message.countDocuments({}),
      copies: await MailboxMessage.countDocuments({}),
      audit: await AuditLog.countDocuments({}),
      marked: await Mailbox.countDocuments({ reconcileRequestedAt: mongoose.trusted({ $ne: null }) }),
      settings: (await get(ada, '/api/settings')).body,
    }));

  it('is for admins only, and validates its body as PUT does', async () => {
    expect((await preview(bob, DEFAULTS)).status).toBe(403);
    const bad = await preview(ada, withSync({ excludedDomains: ['ok.com', 'not a domain'] as never[] }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.message.startsWith('sync.excludedDomains.1:')).toBe(true);
    expect((await preview(ada, withSync({ historyDays: { $gt: 0 } as unknown as number }))).status).toBe(400);
    expect((await preview(ada, { ...DEFAULTS, extra: 1 })).status).toBe(400);
  });

  it('answers what the save then removes, with examples, and writes nothing', async () => {
    await runInOrg(ada.orgId, () => Mailbox.updateMany({}, { $set: { reconcileRequestedAt: null } }));
    const hit = await seedMessage({ holders: [{ who: ada }], from: 'kim@dunder-preview.com', subject: 'Paper order' });
    const sub = await seedMessage({ holders: [{ who: ada }, { who: bob }], from: 'ops@eu.dunder-preview.com', subject: 'Shipping' });
    // Labelled in both mailboxes: the message goes. Labelled in one: only that copy goes.
    const both = await seedMessage({
      holders: [
        { who: ada, labels: ['Receipts'] },
        { who: bob, labels: ['receipts/2026'] },
      ],
      subject: 'Your receipt',
    });
    const one = await seedMessage({
      holders: [
        { who: ada, labels: ['Receipts'] },
        { who: bob, labels: ['INBOX'] },
      ],
      subject: 'Receipt, shared',
    });
    await seedMessage({ holders: [{ who: ada }], from: 'pat@notdunder-preview.com', subject: 'Unrelated' });
    // Another organisation's mail that the same rules would reach there: never counted, never shown here.
    const carl = await signIn(svc.app, idp, 'carl@initrode.test', 'initrode.test');
    await seedMessage({ holders: [{ who: carl }], from: 'kim@dunder-preview.com', subject: 'Other org paper' });
    await seedMessage({ holders: [{ who: carl, labels: ['Receipts'] }], subject: 'Other org receipt' });
    const body = withSync({ excludedDomains: ['dunder-preview.com'] as never[], excludedLabels: ['Receipts'] as never[] });

    const before = await snapshot();
    const res = await preview(ada, body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ removedMessages: 3, removedCopies: 3, reimport: false, samples: expect.any(Array) });
    // Domain matches in the order the scan meets them (stored ids are hashes), then the label-only one.
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect([...res.body.samples.slice(0, 2)].sort(byId).concat(res.body.samples.slice(2))).toEqual([
      ...[
        {
          id: String(hit._id),
          subject: 'Paper order',
          from: { email: 'kim@dunder-preview.com', name: 'Pat' },
          date: expect.any(String),
          rule: { kind: 'domain', value: 'dunder-preview.com' },
        },
        {
          id: String(sub._id),
          subject: 'Shipping',
          from: { email: 'ops@eu.dunder-preview.com', name: 'Pat' },
          date: expect.any(String),
          rule: { kind: 'domain', value: 'dunder-preview.com' },
        },
      ].sort(byId),
      {
        id: String(both._id),
        subject: 'Your receipt',
        from: { email: 'pat@initech.com', name: 'Pat' },
        date: expect.any(String),
        rule: { kind: 'label', value: 'receipts' },
      },
    ]);
    expect(await snapshot()).toEqual(before);

    // The save removes exactly that, and reports the same counts in the audit trail.
    expect((await put(ada, '/api/settings', body)).status).toBe(200);
    await runInOrg(ada.orgId, async () => {
      expect(await Message.countDocuments({ _id: mongoose.trusted({ $in: [hit._id, sub._id, both._id] }) })).toBe(0);
      expect(await MailboxMessage.countDocuments({ messageId: one._id })).toBe(1);
      const entry = await AuditLog.findOne({ action: 'settings.org.update' }).sort({ at: -1, _id: -1 }).lean<{ detail: unknown }>();
      expect(entry!.detail).toEqual({ removedMessages: 3, removedCopies: 3, rescheduled: false });
    });
    // Nothing left to remove; lifting the rules would re-import.
    expect((await preview(ada, body)).body).toEqual({ removedMessages: 0, removedCopies: 0, reimport: false, samples: [] });
    expect((await preview(ada, DEFAULTS)).body).toMatchObject({ removedMessages: 0, reimport: true });
    await put(ada, '/api/settings', DEFAULTS);
  });

  it("keeps to a few examples, and counts a teammate's private mail without showing it", async () => {
    await put(bob, '/api/me/settings', { excludedDomains: [], excludedAddresses: [], excludedLabels: [], visibility: 'private' });
    try {
      const secret = await seedMessage({ holders: [{ who: bob }], from: 'hr@vance-preview.com', subject: "Bob's private matter" });
      for (let i = 0; i < 7; i++) await seedMessage({ holders: [{ who: ada }], from: `rep${i}@vance-preview.com`, subject: `Fridge offer ${i}` });
      const res = await preview(ada, withSync({ excludedDomains: ['vance-preview.com'] as never[] }));
      expect(res.body.removedMessages).toBe(8);
      expect(res.body.samples).toHaveLength(5);
      expect(JSON.stringify(res.body)).not.toContain(String(secret._id));
      expect(JSON.stringify(res.body)).not.toContain('private matter');
      // Five of them, whichever the scan meets first (stored ids are hashes: no order to expect).
      const subjects: string[] = res.body.samples.map((s: { subject: string }) => s.subject);
      expect(subjects).toHaveLength(5);
      expect(new Set(subjects).size).toBe(5);
      for (const subject of subjects) expect(subject).toMatch(/^Fridge offer \d+$/);
    } finally {
      await put(bob, '/api/me/settings', { excludedDomains: [], excludedAddresses: [], excludedLabels: [], visibility: null });
    }
  });
});

describe('/api/me/settings', () => {
  it("reads and replaces the caller's own settings, validated", async () => {
    expect((await get(bob, '/api/me/settings')).body).toEqual({ excludedDomains: [], excludedAddresses: [], excludedLabels: [], visibility: null });
    expect((await put(bob, '/api/me/settings', { excludedDomains: [], excludedAddresses: [], excludedLabels: [], visibility: 'secret' })).status).toBe(400);
    expect((await put(bob, '/api/me/settings', { excludedDomains: [] })).status).toBe(400);
    const ok = await put(bob, '/api/me/settings', { excludedDomains: ['.Initrode.com'], excludedAddresses: [], excludedLabels: [], visibility: 'metadata' });
    expect(ok.body).toEqual({ excludedDomains: ['initrode.com'], excludedAddresses: [], excludedLabels: [], visibility: 'metadata' });
    expect((await get(bob, '/api/me/settings')).body.visibility).toBe('metadata');
  });

  it("a user's exclusion removes only their copies; the message goes when no other copy remains", async () => {
    const shared = await seedMessage({ holders: [{ who: ada }, { who: bob }], from: 'pat@vandelay.com' });
    const bobs = await seedMessage({ holders: [{ who: bob }], from: 'pat@vandelay.com' });
    await put(bob, '/api/me/settings', { excludedDomains: [], excludedAddresses: ['PAT@vandelay.com'], excludedLabels: [], visibility: null });
    await runInOrg(ada.orgId, async () => {
      expect(await MailboxMessage.countDocuments({ messageId: shared._id, userId: bob.userId })).toBe(0);
      expect(await MailboxMessage.countDocuments({ messageId: shared._id, userId: ada.userId })).toBe(1);
      expect((await Message.findById(shared._id).lean<{ syncedBy: unknown[] }>())!.syncedBy.map(String)).toEqual([String(ada.userId)]);
      expect(await Message.countDocuments({ _id: bobs._id })).toBe(0);
    });
    await runInOrg(ada.orgId, () => Mailbox.updateMany({}, { $set: { reconcileRequestedAt: null } }));
    await put(bob, '/api/me/settings', { excludedDomains: [], excludedAddresses: [], excludedLabels: [], visibility: null });
    const boxes = await runInOrg(ada.orgId, () => Mailbox.find({}).lean<{ userId: unknown; reconcileRequestedAt: Date | null }[]>());
    for (const b of boxes) expect(b.reconcileRequestedAt === null).toBe(String(b.userId) !== String(bob.userId));
  });
});
