import { createHash, randomBytes } from 'node:crypto';
import mongoose, { type Types } from 'mongoose';
import request from 'supertest';
import { useTestDatabase } from '../../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../../test/helpers/idp';
import { testService } from '../../../../test/helpers/service';
import { runInOrg } from '../../db/tenant';
import { bearer, seedMessage, signIn, type SignedIn } from '../../../../test/helpers/seed';
import { AttachmentCache } from '../../models/attachment-cache';
import { Contact, Deal } from '../../models/crm';
import { Message } from '../../models/message';
import { Outbox } from '../../models/outbox';
import { Thread, ThreadKey } from '../../models/thread';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let ada: SignedIn; // admin of acme
let bob: SignedIn; // member of acme
let zed: SignedIn; // admin of another organisation

const VICTIM = 'victim@partner.com';

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  ada = await signIn(svc.app, idp, 'ada@acme.test', 'acme.test');
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
  zed = await signIn(svc.app, idp, 'zed@globex.test', 'globex.test');
});
afterAll(() => idp.close());

const erase = (who: SignedIn, body: unknown) =>
  request(svc.app)
    .post('/api/erasure')
    .set(bearer(who))
    .send(body as object);

/** The raw documents of these collections, as text: where an erased address must not appear. */
async function rawText(collections: string[], orgId?: Types.ObjectId): Promise<string> {
  const db = mongoose.connection.db!;
  const out: unknown[] = [];
  for (const name of collections)
    out.push(
      await db
        .collection(name)
        .find(orgId ? { orgId } : {})
        .toArray(),
    );
  return JSON.stringify(out);
}
const HOLDING = ['messages', 'mailboxmessages', 'contacts', 'threads', 'threadkeys', 'attachmentcaches', 'outboxes', 'auditlogs'];

describe('POST /api/erasure', () => {
  it('is for admins only, and validates the address', async () => {
    expect((await erase(bob, { email: VICTIM })).status).toBe(403);
    const bad = await erase(ada, { email: 'nobody' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^email:/);
    expect((await erase(ada, { email: { $ne: 'x' } })).status).toBe(400);
    expect((await erase(ada, { email: VICTIM, extra: 1 })).status).toBe(400);
  });

  it('refuses a colleague’s or a connected mailbox’s address (it would wipe their mailbox)', async () => {
    const res = await erase(ada, { email: 'Bob@Acme.test' });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/^email: .*user/);
  });

  it('removes every trace of the address in the organisation, audits a hash, and leaves other organisations alone', async () => {
    const thread = await runInOrg(ada.orgId, () => Thread.create({ subject: 'Partnership' }));
    const threadId = thread._id as Types.ObjectId;
    const withVictim = await seedMessage({
      holders: [{ who: ada }, { who: bob }],
      from: VICTIM,
      subject: 'Partnership',
      threadId,
      attachments: [{ id: 'a1', filename: 'terms.pdf', mimeType: 'application/pdf', size: 3 }],
    });
    const ccVictim = await seedMessage({ holders: [{ who: bob }], from: 'pat@initech.com', cc: [VICTIM] });
    const unrelated = await seedMessage({ holders: [{ who: ada }], from: 'pat@initech.com' });
    const { several, solo, deal } = await runInOrg(ada.orgId, async () => {
      await ThreadKey.create({ key: `pt:${ada.mailboxId}:t1`, threadId });
      await AttachmentCache.create({ messageId: withVictim._id, attachmentId: 'a1', size: 3, data: Buffer.from('pdf') });
      await Outbox.create({
        userId: ada.userId,
        idempotencyKey: randomBytes(4).toString('hex'),
        requestHash: 'h',
        mailboxId: ada.mailboxId,
        status: 'sent',
        internetMessageId: 'sent-1@acme.test',
        request: { to: [{ email: 'Victim@Partner.com' }], subject: 'Hello', text: 'Hi' },
      });
      const several = await Contact.create({ emails: [VICTIM, 'victim.home@partner.com'], name: 'Vic Tim' });
      const solo = await Contact.create({ emails: ['solo@partner.com'], name: 'Solo' });
      const deal = await Deal.create({ name: 'Partner deal', contactIds: [solo._id, several._id] });
      return { several, solo, deal };
    });
    const elsewhere = await seedMessage({ holders: [{ who: zed }], from: VICTIM });

    const res = await erase(ada, { email: ' Victim@PARTNER.com ' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      erased: true,
      counts: {
        messages: 2,
        copies: 3,
        cachedAttachments: 1,
        threads: 1,
        threadKeys: 1,
        contactsDeleted: 0,
        contactsUpdated: 1,
        sentRecords: 1,
        alreadyExcluded: false,
      },
    });

    // Lowercased: the outbox kept the address as typed. The unrelated mail shows the scan is not vacuous.
    const left = (await rawText(HOLDING, ada.orgId)).toLowerCase();
    expect(left).toContain('pat@initech.com');
    expect(left).not.toContain(VICTIM);
    await runInOrg(ada.orgId, async () => {
      expect(await Message.countDocuments({ _id: mongoose.trusted({ $in: [withVictim._id, ccVictim._id] }) })).toBe(0);
      expect(await Message.exists({ _id: unrelated._id })).not.toBeNull();
      expect((await Contact.findById(several._id).lean())?.emails).toEqual(['victim.home@partner.com']);
    });
    // Not re-imported: the address is now one of the organisation's exclusions.
    expect((await request(svc.app).get('/api/settings').set(bearer(ada))).body.sync.excludedAddresses).toEqual([VICTIM]);

    const audit = await mongoose.connection.db!.collection('auditlogs').find({ orgId: ada.orgId, action: 'erasure' }).toArray();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorId: ada.userId, target: createHash('sha256').update(VICTIM).digest('hex'), detail: res.body.counts });

    // Another organisation's mail with the same person is theirs to keep.
    await runInOrg(zed.orgId, async () => expect(await Message.exists({ _id: elsewhere._id })).not.toBeNull());
    expect(await rawText(['messages'], zed.orgId)).toContain(VICTIM);

    // A contact whose only address it is goes, and its deals forget it.
    const soloRes = await erase(ada, { email: 'solo@partner.com' });
    expect(soloRes.body.counts).toMatchObject({ contactsDeleted: 1, messages: 0 });
    await runInOrg(ada.orgId, async () => {
      expect(await Contact.exists({ _id: solo._id })).toBeNull();
      expect((await Deal.findById(deal._id).lean())?.contactIds.map(String)).toEqual([String(several._id)]);
    });
  });

  it('is idempotent: a repeat finds nothing, changes nothing, and is audited again', async () => {
    const res = await erase(ada, { email: VICTIM });
    expect(res.status).toBe(200);
    expect(res.body.counts).toEqual({
      messages: 0,
      copies: 0,
      cachedAttachments: 0,
      threads: 0,
      threadKeys: 0,
      contactsDeleted: 0,
      contactsUpdated: 0,
      sentRecords: 0,
      alreadyExcluded: true,
    });
    expect((await request(svc.app).get('/api/settings').set(bearer(ada))).body.sync.excludedAddresses).toEqual([VICTIM, 'solo@partner.com']);
    expect(await mongoose.connection.db!.collection('auditlogs').countDocuments({ orgId: ada.orgId, action: 'erasure' })).toBe(3);
  });
});
