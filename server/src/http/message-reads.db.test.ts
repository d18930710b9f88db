import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mongoose, { type Types } from 'mongoose';
import { request, type Response } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { unindexedQueries } from '../../../test/helpers/index-check';
import { recordQueries } from '../../../test/helpers/query-log';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testConfig } from '../../../test/helpers/service';
import { runInOrg } from '../db/tenant';
import { createLogger } from '../logger';
import { AttachmentCache } from '../models/attachment-cache';
import { Contact } from '../models/crm';
import { Message } from '../models/message';
import { Org } from '../models/org';
import { Activity } from '../models/read-model';
import { Thread } from '../models/thread';
import { User } from '../models/user';
import { buildService, type Service } from '../server';
import { rebuildReadModels } from '../store/rebuild';
import { removeMessages } from '../sync/ingest/removal';
import { ProviderError, type ProviderAdapter } from '../sync/providers/port';
import type { MailboxAdapters } from '../sync/providers/runtime';
import { bearer, neighbours, seedMessage, signIn, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

let idp: TestIdp;
let svc: Service;
let ada: SignedIn; // admin of acme.test
let bob: SignedIn;
let cy: SignedIn;
let eve: SignedIn; // another organisation
const fetched: { mailboxAddress: string; providerMessageId: string; attachmentId: string }[] = [];
const rawFetched: string[] = [];
const UUENCODED = readFileSync(join(__dirname, '../../../test/fixtures/mail/35-uuencode-attachment.eml'));

/** A provider that answers attachment bytes for any copy, recording each call (no network, no tokens). */
const fakeAdapters: MailboxAdapters = {
  forMailbox: (mailbox) =>
    ({
      changeSource: {
        fetchAttachment: async (providerMessageId: string, attachmentId: string) => {
          if (attachmentId === 'gone') throw new ProviderError('not_found', 'no such part');
          fetched.push({ mailboxAddress: mailbox.address, providerMessageId, attachmentId });
          return Buffer.from(`bytes of ${attachmentId}`);
        },
        // Every copy's raw message is the uuencode fixture (two files: uu1 Wartungsplan.txt, uu2 Anlage 3.png).
        fetchRaw: async (providerMessageId: string) => {
          rawFetched.push(providerMessageId);
          return UUENCODED;
        },
      },
    }) as unknown as ProviderAdapter,
};

beforeAll(async () => {
  idp = await startTestIdp();
  const config = testConfig({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  svc = buildService(config, createLogger('silent'), { adapters: fakeAdapters });
  ada = await signIn(svc.app, idp, 'ada@acme.test', 'acme.test');
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
  cy = await signIn(svc.app, idp, 'cy@acme.test', 'acme.test');
  eve = await signIn(svc.app, idp, 'eve@other.test', 'other.test');
});
afterAll(() => idp.close());

const get = (who: SignedIn, path: string) => request(svc.app).get(path).set(bearer(who));
const setVisibility = (who: SignedIn, visibility: 'full' | 'metadata' | 'private' | null) =>
  runInOrg(who.orgId, () => User.updateOne({ _id: who.userId }, { $set: { 'settings.visibility': visibility } }));
const setDefault = (level: 'full' | 'metadata' | 'private') => Org.updateOne({ _id: ada.orgId }, { $set: { 'settings.sharing.defaultVisibility': level } });

afterEach(async () => {
  await setVisibility(bob, null);
  await setVisibility(cy, null);
  await setDefault('full');
});

describe('private holders stay private', () => {
  it('names a private holder, and shows their labels and read state, to no one but themselves', async () => {
    await setVisibility(cy, 'private');
    const m = await seedMessage({
      holders: [
        { who: cy, labels: ['INBOX', 'Divorce lawyer'], state: { read: true, starred: true } },
        { who: bob, labels: ['INBOX'], state: {} },
      ],
    });
    const seen = await get(ada, `/api/messages/${m._id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.syncedBy).toEqual([String(bob.userId)]);
    expect(seen.body.labels).toEqual(['INBOX']);
    expect(seen.body.state).toMatchObject({ read: false, starred: false });
    expect(JSON.stringify(seen.body)).not.toContain('Divorce');
    const own = await get(cy, `/api/messages/${m._id}`);
    expect(own.body.syncedBy.sort()).toEqual([String(cy.userId), String(bob.userId)].sort());
    expect(own.body.labels).toContain('Divorce lawyer');
  });
});

describe('GET /api/messages/:id', () => {
  it("answers the contract summary plus body, with the caller's own copy state, else the first holder's", async () => {
    const m = await seedMessage({
      holders: [
        { who: bob, labels: ['INBOX', 'Deals'], state: { starred: true } },
        { who: ada, labels: ['INBOX'], state: { read: true } },
      ],
      attachments: [{ id: '2', filename: 'q3.pdf', mimeType: 'application/pdf', size: 1234 }],
      cc: ['cy@acme.test'],
    });
    const mine = await get(ada, `/api/messages/${m._id}`);
    expect(mine.status).toBe(200);
    expect(Object.keys(mine.body).sort()).toEqual([
      'attachments',
      'cc',
      'date',
      'decoding',
      'direction',
      'from',
      'hasAttachments',
      'html',
      'id',
      'internetMessageId',
      'labels',
      'mailboxes',
      'snippet',
      'state',
      'subject',
      'syncedBy',
      'text',
      'threadId',
      'to',
    ]);
    expect(mine.body).toMatchObject({
      id: String(m._id),
      subject: 'Quarterly numbers',
      from: { email: 'pat@initech.com', name: 'Pat' },
      cc: [{ email: 'cy@acme.test', name: '' }],
      direction: 'inbound',
      hasAttachments: true,
      text: 'Body text',
      html: '<p>Body text</p>',
      state: { read: true, starred: false, archived: false, deleted: false },
      labels: ['INBOX'],
      attachments: [{ id: '2', filename: 'q3.pdf', mimeType: 'application/pdf', size: 1234 }],
    });
    expect(mine.body.syncedBy.sort()).toEqual([String(ada.userId), String(bob.userId)].sort());
    expect(mine.body.mailboxes.map((x: { address: string }) => x.address).sort()).toEqual(['ada@acme.test', 'bob@acme.test']);

    const other = await get(cy, `/api/messages/${m._id}`);
    expect(other.body).toMatchObject({ state: { read: false, starred: true }, labels: ['INBOX', 'Deals'], text: 'Body text' });
    // Mail stored before decodings were recorded answers an empty list.
    expect(mine.body.decoding).toEqual([]);
  });

  it('says what the MIME reading assumed, to those who see the body', async () => {
    await setVisibility(bob, 'metadata');
    const m = await seedMessage({ holders: [{ who: bob }] });
    const decoding = [
      { where: 'header:subject', declared: null, charset: 'windows-1252', source: 'windows-1252' },
      { where: 'body:text/plain', declared: 'utf-8', charset: 'iso-8859-1', source: 'detected' },
    ];
    await runInOrg(ada.orgId, () => Message.updateOne({ _id: m._id }, { $set: { decoding } }));
    expect((await get(bob, `/api/messages/${m._id}`)).body.decoding).toEqual(decoding);
    expect((await get(ada, `/api/messages/${m._id}`)).body.decoding).toEqual([]);
  });

  it('shows metadata-level teammate mail as subject, participants and date only', async () => {
    await setVisibility(bob, 'metadata');
    const m = await seedMessage({
      holders: [{ who: bob, labels: ['Secret project'] }],
      text: 'the confidential body',
      attachments: [{ id: '2', filename: 'a.pdf', mimeType: 'application/pdf', size: 9 }],
    });
    const res = await get(ada, `/api/messages/${m._id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      subject: 'Quarterly numbers',
      from: { email: 'pat@initech.com' },
      text: '',
      html: '',
      snippet: '',
      attachments: [],
      hasAttachments: false,
      labels: [],
    });
    expect(res.body.date).toBe(new Date(m.date).toISOString());
    expect(JSON.stringify(res.body)).not.toContain('confidential');
    expect((await get(ada, `/api/messages/${m._id}/attachments/2`)).status).toBe(404);
    // The holder always sees everything.
    expect((await get(bob, `/api/messages/${m._id}`)).body.text).toBe('the confidential body');
  });

  it('hides private mail from everyone but its holders; the most permissive holder decides', async () => {
    await setVisibility(cy, 'private');
    const onlyCy = await seedMessage({ holders: [{ who: cy }] });
    expect((await get(ada, `/api/messages/${onlyCy._id}`)).status).toBe(404);
    expect((await get(cy, `/api/messages/${onlyCy._id}`)).status).toBe(200);
    const shared = await seedMessage({ holders: [{ who: cy }, { who: bob }] });
    const res = await get(ada, `/api/messages/${shared._id}`);
    expect(res.status).toBe(200);
    expect(res.body.text).toBe('Body text');
    // cy's mailbox is not revealed to ada, bob's is.
    expect(res.body.mailboxes.map((x: { address: string }) => x.address)).toEqual(['bob@acme.test']);
  });

  it('follows the organisation default when a user set no level, and a change applies on the next read', async () => {
    const m = await seedMessage({ holders: [{ who: bob }] });
    await setDefault('private');
    expect((await get(ada, `/api/messages/${m._id}`)).status).toBe(404);
    await setVisibility(bob, 'full');
    expect((await get(ada, `/api/messages/${m._id}`)).status).toBe(200);
  });
});

describe('GET /api/threads/:id', () => {
  it('lists the visible messages oldest first', async () => {
    const thread = await runInOrg(ada.orgId, () => Thread.create({ subject: 'Private: salary' }));
    await setVisibility(cy, 'private');
    const t0 = Date.now() - 3 * 3600_000;
    const hidden = await seedMessage({ holders: [{ who: cy }], threadId: thread._id, subject: 'Private: salary', date: new Date(t0) });
    const first = await seedMessage({ holders: [{ who: bob }], threadId: thread._id, subject: 'Re: Renewal', date: new Date(t0 + 3600_000) });
    const second = await seedMessage({ holders: [{ who: ada }], threadId: thread._id, subject: 'Re: Renewal', date: new Date(t0 + 7200_000) });
    const res = await get(ada, `/api/threads/${thread._id}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(String(thread._id));
    expect(res.body.subject).toBe('Re: Renewal');
    expect(res.body.messages.map((x: { id: string }) => x.id)).toEqual([String(first._id), String(second._id)]);
    expect(JSON.stringify(res.body)).not.toContain(String(hidden._id));
    expect((await get(cy, `/api/threads/${thread._id}`)).body.messages).toHaveLength(3);
  });

  it('reads the thread from the read model by key: entries by _id range, messages by _id, nothing by threadId', async () => {
    const thread = await runInOrg(ada.orgId, () => Thread.create({ subject: 'Keyed' }));
    const t0 = Date.now() - 3600_000;
    for (let i = 0; i < 3; i++) await seedMessage({ holders: [{ who: bob }], threadId: thread._id, subject: 'Keyed', date: new Date(t0 + i * 60_000) });
    let res: Response | undefined;
    const queries = await recordQueries(async () => {
      res = await get(ada, `/api/threads/${thread._id}`);
    });
    expect(res!.body.messages).toHaveLength(3);
    const mail = queries.filter((q) => ['messages', 'mailboxmessages', 'activities', 'copyrefs'].includes(q.collection));
    expect(mail.length).toBeGreaterThan(1);
    for (const q of mail) expect({ query: `${q.collection}.${q.method} ${JSON.stringify(q.filter)}`, byId: '_id' in q.filter }).toMatchObject({ byId: true });
    expect(unindexedQueries(queries)).toEqual([]);
  });

  it('shows a message only in the thread it belongs to, whatever an entry says, and forgets removed mail', async () => {
    const [one, other] = await runInOrg(ada.orgId, () => Thread.create([{ subject: 'One' }, { subject: 'Other' }]));
    const kept = await seedMessage({ holders: [{ who: bob }], threadId: one._id, subject: 'One' });
    const moved = await seedMessage({ holders: [{ who: bob }], threadId: one._id, subject: 'One' });
    // The message now belongs to another thread; its entry in the first one is stale.
    await runInOrg(ada.orgId, () => Message.updateOne({ _id: moved._id }, { $set: { threadId: other._id } }));
    expect((await get(ada, `/api/threads/${one._id}`)).body.messages.map((x: { id: string }) => x.id)).toEqual([String(kept._id)]);
    // A stale entry is all the other thread has of it: not listed there either until the rebuild indexes it.
    expect((await get(ada, `/api/threads/${other._id}`)).status).toBe(404);
    await rebuildReadModels(ada.orgId);
    expect((await get(ada, `/api/threads/${other._id}`)).body.messages.map((x: { id: string }) => x.id)).toEqual([String(moved._id)]);
    expect(
      await runInOrg(ada.orgId, () =>
        Activity.countDocuments({ _id: mongoose.trusted({ $gt: `${ada.orgId} t ${one._id} `, $lt: `${ada.orgId} t ${one._id} \x7f` }) }),
      ),
    ).toBe(1);

    await runInOrg(ada.orgId, () => removeMessages([kept._id]));
    expect((await get(ada, `/api/threads/${one._id}`)).status).toBe(404);
    expect(
      await runInOrg(ada.orgId, () =>
        Activity.countDocuments({ _id: mongoose.trusted({ $gt: `${ada.orgId} t ${one._id} `, $lt: `${ada.orgId} t ${one._id} \x7f` }) }),
      ),
    ).toBe(0);
  });
});

describe('GET /api/contacts/:id/messages paging', () => {
  it('pages newest first with an opaque cursor, and validates limit and cursor', async () => {
    const contact = await runInOrg(ada.orgId, () => Contact.create({ emails: ['pager@initech.com'], name: 'Pager' }));
    const base = Date.now() - 100 * 60_000;
    const seeded = [];
    // Two share a date, so the cursor's _id tie-break matters.
    for (let i = 0; i < 30; i++)
      seeded.push(
        await seedMessage({
          holders: [{ who: bob }],
          from: 'pager@initech.com',
          contactIds: [contact._id as Types.ObjectId],
          date: new Date(base + Math.min(i, 28) * 60_000),
        }),
      );
    const page1 = await get(ada, `/api/contacts/${contact._id}/messages`);
    expect(page1.status).toBe(200);
    expect(page1.body.messages).toHaveLength(25);
    expect(typeof page1.body.nextCursor).toBe('string');
    const page2 = await get(ada, `/api/contacts/${contact._id}/messages?cursor=${encodeURIComponent(page1.body.nextCursor)}`);
    expect(page2.body.messages).toHaveLength(5);
    expect(page2.body.nextCursor).toBeNull();
    const ids = [...page1.body.messages, ...page2.body.messages].map((x: { id: string }) => x.id);
    expect(new Set(ids).size).toBe(30);
    const dates = [...page1.body.messages, ...page2.body.messages].map((x: { date: string }) => Date.parse(x.date));
    expect(dates).toEqual([...dates].sort((a, b) => b - a));

    const small = await get(ada, `/api/contacts/${contact._id}/messages?limit=10`);
    expect(small.body.messages).toHaveLength(10);
    for (const bad of ['limit=0', 'limit=101', 'limit=x', 'cursor=garbage', `cursor=${Buffer.from('{"v":1,"d":"x"}').toString('base64url')}`, 'other=1']) {
      expect((await get(ada, `/api/contacts/${contact._id}/messages?${bad}`)).status).toBe(400);
    }
  });
});

describe('attachments', () => {
  it("fetches the bytes through a holder's mailbox once, then serves them from the cache, as a download", async () => {
    const m = await seedMessage({
      holders: [{ who: bob }],
      attachments: [
        { id: '2', filename: 'Résumé "final".pdf', mimeType: 'application/pdf', size: 12 },
        { id: 'gone', filename: 'x', mimeType: 'text/html', size: 1 },
      ],
    });
    fetched.length = 0;
    const first = await get(ada, `/api/messages/${m._id}/attachments/2`).buffer(true);
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe('bytes of 2');
    expect(first.headers['content-type']).toBe('application/pdf');
    expect(first.headers['x-content-type-options']).toBe('nosniff');
    expect(first.headers['content-disposition']).toBe(`attachment; filename="R_sum_ _final_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf`);
    expect(fetched).toEqual([expect.objectContaining({ mailboxAddress: 'bob@acme.test', attachmentId: '2' })]);

    const again = await get(cy, `/api/messages/${m._id}/attachments/2`).buffer(true);
    expect(again.body.toString()).toBe('bytes of 2');
    expect(fetched).toHaveLength(1);
    expect(await runInOrg(ada.orgId, () => AttachmentCache.countDocuments({ messageId: m._id }))).toBe(1);

    expect((await get(ada, `/api/messages/${m._id}/attachments/nope`)).status).toBe(404);
    expect((await get(ada, `/api/messages/${m._id}/attachments/gone`)).status).toBe(404);
  });

  it("decodes a uuencoded file from the copy's raw message, once, and serves it like any attachment", async () => {
    const m = await seedMessage({
      holders: [{ who: bob }],
      attachments: [
        { id: 'uu2', filename: 'Anlage 3.png', mimeType: 'image/png', size: 70 },
        { id: 'uu3', filename: 'missing.bin', mimeType: 'application/octet-stream', size: 1 },
      ],
    });
    fetched.length = 0;
    rawFetched.length = 0;
    const png = await get(ada, `/api/messages/${m._id}/attachments/uu2`).buffer(true);
    expect(png.status).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.headers['content-disposition']).toContain('filename="Anlage 3.png"');
    expect(png.body.length).toBe(70);
    expect(png.body.subarray(0, 4).toString('latin1')).toBe('\x89PNG');
    expect(rawFetched).toHaveLength(1);
    expect(fetched).toEqual([]); // no provider attachment call: the provider has no such attachment
    expect((await get(cy, `/api/messages/${m._id}/attachments/uu2`).buffer(true)).body.equals(png.body)).toBe(true);
    expect(rawFetched).toHaveLength(1); // the second download came from the cache
    // Listed but not in the raw message (a stale list): 404, not a server error.
    expect((await get(ada, `/api/messages/${m._id}/attachments/uu3`)).status).toBe(404);
  });
});

describe('other organisations and guessed ids', () => {
  it('answers 404 for every id kind of another organisation, and for neighbouring ids', async () => {
    const thread = await runInOrg(ada.orgId, () => Thread.create({ subject: 'x' }));
    const m = await seedMessage({
      holders: [{ who: ada }],
      threadId: thread._id as Types.ObjectId,
      attachments: [{ id: '2', filename: 'a', mimeType: 'text/plain', size: 1 }],
    });
    const paths = [`/api/messages/${m._id}`, `/api/messages/${m._id}/attachments/2`, `/api/threads/${thread._id}`];
    for (const p of paths) expect((await get(ada, p)).status).toBe(200);
    for (const p of paths) expect({ p, status: (await get(eve, p)).status }).toEqual({ p, status: 404 });
    for (const id of neighbours(m._id)) {
      expect((await get(ada, `/api/messages/${id}`)).status).toBe(404);
      expect((await get(ada, `/api/threads/${id}`)).status).toBe(404);
    }
    expect((await get(ada, '/api/messages/not-an-id')).status).toBe(400);
  });
});
