import mongoose from 'mongoose';
import { useTestDatabase } from '../../../../test/helpers/db';
import { createMailbox, createOrg, remoteOf, type Fixture } from '../../../../test/fakes/engine-fixture';
import { runInOrg } from '../../db/tenant';
import { Company, Contact, Deal, MailboxMessage, Message, Thread } from '../../models';
import { applyDeletes, applyStateChanges, COPY_IDS_PER_READ } from './changes';
import { recordQueries } from '../../../../test/helpers/query-log';
import { loadIngestContext } from './context';
import { repairHolders } from './holders';
import { relinkContact } from '../../crm/link';
import { applyCrmWrite } from './state';
import { ingestMessages } from './store';

useTestDatabase();

const mbOf = (f: Fixture) => ({ _id: f.mailboxId, orgId: f.orgId, userId: f.userId, address: f.address });
const ingest = async (f: Fixture, remote: Parameters<typeof ingestMessages>[1]) => ingestMessages(await loadIngestContext(mbOf(f)), remote);

async function rawCollectionsText(): Promise<string> {
  const db = mongoose.connection.db!;
  // orgs and users hold the rules themselves (the admin typed them); everything sync writes is checked.
  const names = (await db.listCollections().toArray()).map((c) => c.name).filter((n) => n !== 'orgs' && n !== 'users');
  const dumps = await Promise.all(names.map(async (n) => JSON.stringify(await db.collection(n).find({}).toArray())));
  return dumps.join('\n').toLowerCase();
}

describe('ingestMessages on the real database', () => {
  it('stores once per organisation: two mailboxes holding one email give one message, both holders, two copies', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const bob = await createMailbox(orgId, 'bob@acme.test');
    const spec = { from: 'carla@customer.test', to: ['ann@acme.test', 'bob@acme.test'], subject: 'Quote', messageId: '<quote-1@customer.test>' };
    const a = await ingest(ann, [await remoteOf(spec)]);
    const b = await ingest(bob, [await remoteOf(spec)]);
    expect(a).toMatchObject({ stored: 1, newMessages: 1 });
    expect(b).toMatchObject({ stored: 1, newMessages: 0 });
    const again = await ingest(bob, [{ ...(await remoteOf(spec)), providerMessageId: 'other-id-same-mail' }]);
    expect(again.newMessages).toBe(0);
    await runInOrg(orgId, async () => {
      const msgs = await Message.find({ dedupKey: 'mid:quote-1@customer.test' }).lean();
      expect(msgs).toHaveLength(1);
      expect(msgs[0].syncedBy.map(String).sort()).toEqual([String(ann.userId), String(bob.userId)].sort());
      expect(await MailboxMessage.countDocuments({ messageId: msgs[0]._id })).toBe(3);
    });
  });

  it("does not merge a copy that only shares the Message-ID: an outsider cannot surface someone's private mail", async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const bob = await createMailbox(orgId, 'bob@acme.test');
    const date = new Date('2026-11-20T10:00:00Z');
    const privateMail = {
      from: 'lawyer@counsel.test',
      to: ['ann@acme.test'],
      subject: 'Settlement terms',
      messageId: '<secret-1@counsel.test>',
      date,
      text: 'The confidential terms.',
    };
    await ingest(ann, [await remoteOf(privateMail)]);
    // Eve reuses the Message-ID in a mail to Bob.
    const forged = {
      from: 'eve@attacker.test',
      to: ['bob@acme.test'],
      subject: 'Hello',
      messageId: '<secret-1@counsel.test>',
      date: new Date('2026-11-21T09:00:00Z'),
      text: 'Hi Bob',
    };
    const res = await ingest(bob, [await remoteOf(forged)]);
    expect(res).toMatchObject({ stored: 1, newMessages: 1 });
    // Seen again (a replay): the same separate message, not a third one.
    expect((await ingest(bob, [await remoteOf(forged, { providerMessageId: 'forged-again' })])).newMessages).toBe(0);
    await runInOrg(orgId, async () => {
      const msgs = await Message.find({ internetMessageId: 'secret-1@counsel.test' }).sort({ date: 1 }).lean();
      expect(msgs).toHaveLength(2);
      expect(msgs[0]).toMatchObject({ subject: 'Settlement terms', syncedBy: [ann.userId] });
      expect(msgs[0].text).toContain('confidential');
      expect(msgs[1]).toMatchObject({ subject: 'Hello', syncedBy: [bob.userId] });
      expect(msgs[1].text).not.toContain('confidential');
      const bobCopies = await MailboxMessage.find({ mailboxId: bob.mailboxId }).lean();
      expect(bobCopies.every((c) => String(c.messageId) === String(msgs[1]._id))).toBe(true);
    });
    // A genuine second copy (same sender, date and subject, a list tag on the subject even) still joins the first.
    const cat = await createMailbox(orgId, 'cat@acme.test');
    expect((await ingest(cat, [await remoteOf({ ...privateMail, to: ['ann@acme.test', 'cat@acme.test'] })])).newMessages).toBe(0);
    expect((await ingest(cat, [await remoteOf({ ...privateMail, subject: '[legal] Settlement terms' }, { providerMessageId: 'via-list' })])).newMessages).toBe(
      0,
    );
  });

  it('keeps a stored copy of mail without a Message-ID on its message when a better parser reads it differently', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    // No Message-ID: the dedup key hashes sender, date, subject and text, which is what a parser upgrade changes.
    const mail = (subject: string) =>
      Buffer.from(
        `From: Scanner <scan@customer.test>\r\nTo: ann@acme.test\r\nDate: Mon, 07 Apr 2025 08:00:00 +0000\r\nSubject: ${subject}\r\n\r\nScan attached.\r\n`,
        'latin1',
      );
    const copy = {
      providerMessageId: 'scan-1',
      providerThreadId: null,
      labels: ['INBOX'],
      folderId: null,
      flags: { read: false, starred: false, archived: false, deleted: false },
      receivedAt: new Date('2025-04-07T08:00:01Z'),
    };
    // As an older reading stored it (U+FFFD where the bytes were Latin-1), then the same copy seen again.
    expect(await ingest(ann, [{ ...copy, content: { kind: 'raw', raw: mail('Gr\ufffd\ufffde') } }])).toMatchObject({ stored: 1, newMessages: 1 });
    expect(await ingest(ann, [{ ...copy, content: { kind: 'raw', raw: mail('Gr\xfc\xdfe') } }])).toMatchObject({ stored: 0, alreadyStored: 1, newMessages: 0 });
    await runInOrg(orgId, async () => {
      const msgs = await Message.find({}).lean();
      expect(msgs).toHaveLength(1);
      expect((await MailboxMessage.findOne({ providerMessageId: 'scan-1' }).lean())!.messageId).toEqual(msgs[0]._id);
    });
    // Another mailbox's copy read the same way still joins the message by its key.
    const bob = await createMailbox(orgId, 'bob@acme.test');
    expect(await ingest(bob, [{ ...copy, content: { kind: 'raw', raw: mail('Gr\ufffd\ufffde') } }])).toMatchObject({ stored: 1, newMessages: 0 });
  });

  it('keeps every holder when teammates store the same mail at once, and puts back a holder a concurrent write lost', async () => {
    const orgId = await createOrg();
    const boxes = await Promise.all(['ann', 'bob', 'cat'].map((n) => createMailbox(orgId, `${n}@acme.test`)));
    const specs = Array.from({ length: 30 }, (_, i) => ({
      from: `buyer${i}@customer.test`,
      to: ['ann@acme.test', 'bob@acme.test', 'cat@acme.test'],
      subject: `Order ${i}`,
      messageId: `<order-${i}@customer.test>`,
    }));
    // Three mailboxes, pages of five, all at once: the updates of one message interleave.
    await Promise.all(
      boxes.map(async (box) => {
        for (let i = 0; i < specs.length; i += 5) await ingest(box, await Promise.all(specs.slice(i, i + 5).map((sp) => remoteOf(sp))));
      }),
    );
    const everyone = boxes.map((b) => String(b.userId)).sort();
    await runInOrg(orgId, async () => {
      const msgs = await Message.find({}, { syncedBy: 1, copyIds: 1 }).lean();
      expect(msgs).toHaveLength(30);
      const copies = await MailboxMessage.find({}, { messageId: 1 }).lean();
      for (const m of msgs) {
        expect(m.syncedBy.map(String).sort()).toEqual(everyone);
        // Every copy is listed on its message, whichever mailbox stored the message first.
        const own = copies.filter((c) => c.messageId.equals(m._id)).map((c) => String(c._id));
        expect(own).toHaveLength(3);
        expect((m.copyIds ?? []).map(String).sort()).toEqual(own.sort());
      }
      // A write that read the message before Bob was added and wrote it back after: Bob and his copy are gone from one message.
      const [victim] = msgs;
      const bobsCopy = (await MailboxMessage.findOne({ mailboxId: boxes[1].mailboxId, messageId: victim._id }).lean())!;
      await Message.updateOne({ _id: victim._id }, { $set: { syncedBy: [boxes[0].userId, boxes[2].userId] }, $pull: { copyIds: bobsCopy._id } });
      expect(await repairHolders(await MailboxMessage.find({ mailboxId: boxes[1].mailboxId }, { messageId: 1 }).lean(), boxes[1].userId)).toBe(1);
      const repaired = (await Message.findById(victim._id).lean())!;
      expect(repaired.syncedBy.map(String).sort()).toEqual(everyone);
      expect((repaired.copyIds ?? []).map(String)).toContain(String(bobsCopy._id));
    });
    // Storing the same page again (a replay after a crash) puts a lost holder back as well.
    await runInOrg(orgId, () => Message.updateMany({}, { $set: { syncedBy: [boxes[0].userId] } }));
    await ingest(boxes[2], await Promise.all(specs.slice(0, 5).map((sp) => remoteOf(sp))));
    await runInOrg(orgId, async () => {
      const fixed = await Message.find({ subject: 'Order 0' }, { syncedBy: 1 }).lean();
      expect(fixed[0].syncedBy.map(String).sort()).toEqual([String(boxes[0].userId), String(boxes[2].userId)].sort());
    });
  });

  it('is idempotent: the same page stored twice changes nothing', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'ann@acme.test');
    const page = await Promise.all(
      [1, 2, 3].map((i) => remoteOf({ from: `p${i}@x.test`, to: ['ann@acme.test'], subject: `S${i}`, messageId: `<idem-${i}@x.test>` })),
    );
    expect((await ingest(f, page)).stored).toBe(3);
    const second = await ingest(f, page);
    expect(second).toMatchObject({ stored: 0, alreadyStored: 3, newMessages: 0 });
    await runInOrg(orgId, async () => {
      expect(await Message.countDocuments({})).toBe(3);
      expect(await MailboxMessage.countDocuments({})).toBe(3);
    });
  });

  it('joins a reply from another mailbox to the same CRM thread', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const bob = await createMailbox(orgId, 'bob@acme.test');
    await ingest(ann, [
      await remoteOf({ from: 'ann@acme.test', to: ['dan@buyer-example.com'], subject: 'Offer', messageId: '<root@acme.test>' }, { providerThreadId: 'gA' }),
    ]);
    await ingest(bob, [
      await remoteOf(
        {
          from: 'dan@buyer-example.com',
          to: ['ann@acme.test'],
          cc: ['bob@acme.test'],
          subject: 'Re: Offer',
          messageId: '<r1@buyer-example.com>',
          inReplyTo: '<root@acme.test>',
          references: ['<root@acme.test>'],
        },
        { providerThreadId: 'gB' },
      ),
    ]);
    // A message in Ann's provider thread without any References still joins through the provider thread id.
    await ingest(ann, [
      await remoteOf(
        { from: 'dan@buyer-example.com', to: ['ann@acme.test'], subject: 'Offer (broken client)', messageId: '<r2@buyer-example.com>' },
        { providerThreadId: 'gA' },
      ),
    ]);
    await runInOrg(orgId, async () => {
      const msgs = await Message.find({}, { threadId: 1 }).lean();
      expect(new Set(msgs.map((m) => String(m.threadId))).size).toBe(1);
      expect(await Thread.countDocuments({})).toBe(1);
    });
  });

  it('leaves no trace of excluded mail, only a count by rule', async () => {
    const orgId = await createOrg({ sync: { excludedDomains: ['secret-partner.test'] } });
    const f = await createMailbox(orgId, 'ann@acme.test', { userSettings: { excludedAddresses: ['private.friend@elsewhere.test'] } });
    const res = await ingest(f, [
      await remoteOf({ from: 'ceo@mail.secret-partner.test', to: ['ann@acme.test'], subject: 'Project Nightingale merger', text: 'nightingale terms' }),
      await remoteOf({ from: 'private.friend@elsewhere.test', to: ['ann@acme.test'], subject: 'Birthday plans for Zoltan', text: 'zoltan party' }),
      await remoteOf({ from: 'ok@customer.test', to: ['ann@acme.test'], subject: 'Fine to keep' }),
    ]);
    expect(res).toMatchObject({ excluded: 2, stored: 1, excludedByRule: { domain: 1, address: 1 } });
    const text = await rawCollectionsText();
    for (const needle of ['secret-partner', 'nightingale', 'private.friend', 'zoltan']) expect(text).not.toContain(needle);
    expect(text).toContain('fine to keep');
  });

  it('links mail to a contact created while a sync run held the directory from before it', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'ann@acme.test');
    const ctx = await loadIngestContext(mbOf(f));
    await ingestMessages(ctx, [await remoteOf({ from: 'someone@elsewhere.test', to: ['ann@acme.test'], subject: 'Earlier page' })]);
    // Created, and its stored mail relinked, after the run loaded its directory and before the next page is written.
    const contact = await runInOrg(orgId, async () => {
      const c = await Contact.create({ name: 'Nora New', emails: ['nora@newco.test'] });
      await relinkContact({ _id: c._id, orgId, emails: c.emails, companyId: null });
      return c;
    });
    await ingestMessages(ctx, [await remoteOf({ from: 'nora@newco.test', to: ['ann@acme.test'], subject: 'Hello from Nora' })]);
    await runInOrg(orgId, async () => {
      const m = await Message.findOne({ subject: 'Hello from Nora' }, { contactIds: 1 }).lean();
      expect(m!.contactIds.map(String)).toEqual([String(contact._id)]);
    });
  });

  it('links contacts on any address case-insensitively, companies by registrable domain (never free-mail) and deals', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'ann@acme.test');
    const { contact, company, deal } = await runInOrg(orgId, async () => {
      const company = await Company.create({ name: 'Buyer', domains: ['buyer-example.com'] });
      const contact = await Contact.create({ emails: ['dan@buyer-example.com', 'Dan.Private@Gmail.com'], name: 'Dan', companyId: null });
      const deal = await Deal.create({ name: 'Big deal', contactIds: [contact._id] });
      await Company.create({ name: 'Google?', domains: ['gmail.com'] });
      return { contact, company, deal };
    });
    await ingest(f, [
      await remoteOf({ from: 'DAN.PRIVATE@gmail.com', to: ['ann@acme.test'], subject: 'from home', messageId: '<home@gmail.com>' }),
      await remoteOf({ from: 'eve@sales.buyer-example.com', to: ['ann@acme.test'], subject: 'from a colleague of dan', messageId: '<eve@buyer-example.com>' }),
    ]);
    await runInOrg(orgId, async () => {
      const home = await Message.findOne({ dedupKey: 'mid:home@gmail.com' }).lean();
      expect(home!.contactIds.map(String)).toEqual([String(contact._id)]);
      expect(home!.companyIds).toEqual([]); // gmail.com is free-mail: never a company link
      expect(home!.dealIds.map(String)).toEqual([String(deal._id)]);
      const eve = await Message.findOne({ dedupKey: 'mid:eve@buyer-example.com' }).lean();
      expect(eve!.companyIds.map(String)).toEqual([String(company._id)]);
    });
  });

  it('relinks past mail when a contact is created or edited', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'ann@acme.test');
    await ingest(f, [await remoteOf({ from: 'newbie@prospect-example.io', to: ['ann@acme.test'], subject: 'hi', messageId: '<nb@prospect-example.io>' })]);
    const contact = await runInOrg(orgId, () => Contact.create({ emails: ['newbie@prospect-example.io'], name: 'New' }));
    expect((await relinkContact(contact)).linked).toBe(1);
    await runInOrg(orgId, async () => expect((await Message.findOne({}).lean())!.contactIds.map(String)).toEqual([String(contact._id)]));
    expect((await relinkContact({ ...contact.toObject(), emails: ['other@prospect-example.io'] })).unlinked).toBe(1);
  });

  it('never auto-creates a contact from mail its holder keeps private: contacts are seen by the whole organisation', async () => {
    const orgId = await createOrg({ sync: { autoCreateContacts: 'all' } });
    const f = await createMailbox(orgId, 'pia@acme.test', { userSettings: { visibility: 'private' } });
    const res = await ingest(f, [await remoteOf({ from: 'pia@acme.test', to: ['therapist@clinic-example.io'], subject: 'appointment' })]);
    expect(res).toMatchObject({ stored: 1, contactsCreated: 0 });
    expect(await runInOrg(orgId, () => Contact.countDocuments({}))).toBe(0);
  });

  it('auto-creates contacts the user wrote to under the outbound policy, never free-mail or colleagues', async () => {
    const orgId = await createOrg({ sync: { autoCreateContacts: 'outbound' } });
    const f = await createMailbox(orgId, 'ann@acme.test');
    const res = await ingest(f, [
      await remoteOf({ from: 'ann@acme.test', to: ['jane.doe@prospect-example.io', 'someone@gmail.com', 'bob@acme.test'], subject: 'intro' }),
      await remoteOf({ from: 'stranger@cold.test', to: ['ann@acme.test'], subject: 'cold inbound' }),
    ]);
    expect(res.contactsCreated).toBe(1);
    await runInOrg(orgId, async () => {
      const contacts = await Contact.find({}).lean();
      expect(contacts.map((c) => c.emails[0])).toEqual(['jane.doe@prospect-example.io']);
      expect(contacts[0]).toMatchObject({ name: 'Jane Doe', source: 'auto' });
      const company = await Company.findById(contacts[0].companyId).lean();
      expect(company!.domains).toEqual(['prospect-example.io']);
      const intro = await Message.findOne({ subject: 'intro' }).lean();
      expect(intro!.contactIds.map(String)).toEqual([String(contacts[0]._id)]);
      expect(intro!.direction).toBe('outbound');
    });
  });

  it('keeps a malformed message raw and flagged without blocking the page', async () => {
    const orgId = await createOrg();
    const f = await createMailbox(orgId, 'ann@acme.test');
    const bad = Buffer.from(
      `From: x@broken.test\r\nTo: ann@acme.test\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${'--b\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'.repeat(200)}`,
    );
    const good = await remoteOf({ from: 'y@fine.test', to: ['ann@acme.test'], subject: 'fine' });
    const res = await ingest(f, [{ ...good, providerMessageId: 'bad-1', content: { kind: 'raw', raw: bad } }, good]);
    expect(res.stored).toBe(2);
    await runInOrg(orgId, async () => {
      const flagged = await Message.find({ malformed: mongoose.trusted({ $ne: null }) }).lean();
      if (res.malformed > 0) expect(flagged[0].malformed!.raw.length).toBeGreaterThan(0);
      expect(await Message.countDocuments({})).toBe(2);
    });
  });
});

describe('provider changes to stored copies', () => {
  let f: Fixture;
  const copyOf = (id: string) => runInOrg(f.orgId, () => MailboxMessage.findOne({ providerMessageId: id }).lean());

  beforeAll(async () => {
    f = await createMailbox(await createOrg(), 'ann@acme.test');
    await ingest(
      f,
      await Promise.all(
        ['s1', 's2', 's3', 'd1', 'd2'].map((id) =>
          remoteOf({ from: `${id}@x.test`, to: ['ann@acme.test'], subject: id, messageId: `<${id}@x.test>` }, { providerMessageId: id }),
        ),
      ),
    );
  });

  async function crmWrite(id: string, change: Parameters<typeof applyCrmWrite>[1], at: Date) {
    const c = (await copyOf(id))!;
    const next = applyCrmWrite({ state: c.state, stateChangedAt: c.stateChangedAt, labels: c.labels, folderId: c.folderId, pending: c.pending }, change, at);
    await runInOrg(f.orgId, () =>
      MailboxMessage.updateOne(
        { _id: c._id },
        { $set: { state: next.state, stateChangedAt: next.stateChangedAt, labels: next.labels, pending: next.pending } },
      ),
    );
  }

  it('suppresses the echo of a CRM write: the pending entry clears, nothing counts as a change', async () => {
    const t0 = new Date('2030-01-01T10:00:00Z');
    await crmWrite('s1', { flags: { read: true }, labelsAdded: ['Customers'] }, t0);
    const res = await applyStateChanges(mbOf(f), [{ providerMessageId: 's1', flags: { read: true }, labelsAdded: ['Customers'] }], {
      changedAt: new Date(t0.getTime() + 5000),
    });
    expect(res).toMatchObject({ applied: 0, echoes: 2 });
    const c = await copyOf('s1');
    expect(c!.pending).toEqual([]);
    expect(c!.state.read).toBe(true);
    expect(c!.labels).toContain('Customers');
  });

  it('finds the copies of a page of changes by their keyed _id, a few hundred per read', async () => {
    const ids = ['s1', 's2', ...Array.from({ length: COPY_IDS_PER_READ + 10 }, (_, i) => `absent-${i}`)];
    const reads = await recordQueries(() =>
      applyStateChanges(
        mbOf(f),
        ids.map((providerMessageId) => ({ providerMessageId, flags: { read: true } })),
      ),
    );
    const copyReads = reads.filter((q) => q.collection === 'mailboxmessages' && ['find', 'findOne'].includes(q.method));
    // Two reads for COPY_IDS_PER_READ + 12 ids, each by `_id` alone (the tenant plugin adds orgId): no scan on the
    // embedded database, which serves only `_id`.
    expect(copyReads.map((q) => Object.keys(q.filter).sort().join(','))).toEqual(['_id,orgId', '_id,orgId']);
    expect((await copyOf('s1'))!.state.read).toBe(true);
  });

  it('lets the later change win when both sides changed a field', async () => {
    const crmAt = new Date('2030-01-01T10:00:00Z');
    await crmWrite('s2', { flags: { starred: true } }, crmAt);
    // The provider reported "not starred" in a page fetched before the CRM write: the CRM's write is later.
    await applyStateChanges(mbOf(f), [{ providerMessageId: 's2', flags: { starred: false } }], { changedAt: new Date(crmAt.getTime() - 1000) });
    expect((await copyOf('s2'))!.state.starred).toBe(true);
    expect((await copyOf('s2'))!.pending).toHaveLength(1);
    // The user then unstars it in Gmail, after the CRM write: the provider wins and the stale pending entry goes.
    const res = await applyStateChanges(mbOf(f), [{ providerMessageId: 's2', flags: { starred: false } }], { changedAt: new Date(crmAt.getTime() + 60_000) });
    expect(res.applied).toBe(1);
    expect((await copyOf('s2'))!).toMatchObject({ state: { starred: false }, pending: [] });
  });

  it('mirror removes the copy and the message with its last copy; preserve marks it deleted', async () => {
    const mirrored = await applyDeletes(mbOf(f), ['d1', 'nope'], 'mirror');
    expect(mirrored).toMatchObject({ copiesRemoved: 1, messagesRemoved: 1, missing: 1 });
    expect(await copyOf('d1')).toBeNull();
    await runInOrg(f.orgId, async () => expect(await Message.countDocuments({ dedupKey: 'mid:d1@x.test' })).toBe(0));
    const preserved = await applyDeletes(mbOf(f), ['d2'], 'preserve');
    expect(preserved.markedDeleted).toBe(1);
    expect((await copyOf('d2'))!.state.deleted).toBe(true);
    await runInOrg(f.orgId, async () => expect(await Message.countDocuments({ dedupKey: 'mid:d2@x.test' })).toBe(1));
  });

  it('keeps the message when another mailbox still holds it, without this user', async () => {
    const bob = await createMailbox(f.orgId, 'bob@acme.test');
    await ingest(bob, [await remoteOf({ from: 's3@x.test', to: ['ann@acme.test'], subject: 's3', messageId: '<s3@x.test>' }, { providerMessageId: 'bob-s3' })]);
    await applyDeletes(mbOf(f), ['s3'], 'mirror');
    await runInOrg(f.orgId, async () => {
      const m = await Message.findOne({ dedupKey: 'mid:s3@x.test' }).lean();
      expect(m!.syncedBy.map(String)).toEqual([String(bob.userId)]);
    });
  });
});
