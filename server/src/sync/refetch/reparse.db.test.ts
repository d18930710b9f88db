import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Types } from 'mongoose';
import { useTestDatabase } from '../../../../test/helpers/db';
import { createMailbox, createOrg, type Fixture } from '../../../../test/fakes/engine-fixture';
import { runInOrg } from '../../db/tenant';
import { AttachmentCache, Mailbox, MailboxMessage, Message, Thread } from '../../models';
import { loadIngestContext } from '../ingest/context';
import { PARSER_VERSION } from '../ingest/parse';
import { ingestMessages } from '../ingest/store';
import { ProviderError, type ProviderAdapter, type RemoteMessage } from '../providers/port';
import { reparseStoredMail } from './reparse';
import type { MailboxAdapters } from '../providers/runtime';

useTestDatabase();

const mail = (name: string): Buffer => readFileSync(join(__dirname, '../../../../test/fixtures/mail', name));
const mbOf = (f: Fixture) => ({ _id: f.mailboxId, orgId: f.orgId, userId: f.userId, address: f.address });

/** What each provider id's fetchRaw answers: bytes, or a provider error. */
const provider = new Map<string, Buffer | ProviderError>();
const fetchedRaw: string[] = [];
const adapters: MailboxAdapters = {
  forMailbox: () =>
    ({
      changeSource: {
        fetchRaw: async (id: string) => {
          fetchedRaw.push(id);
          const answer = provider.get(id) ?? new ProviderError('not_found', 'gone');
          if (answer instanceof ProviderError) throw answer;
          return answer;
        },
      },
    }) as unknown as ProviderAdapter,
};

const copy = (providerMessageId: string, raw: Buffer): RemoteMessage => ({
  providerMessageId,
  providerThreadId: null,
  labels: ['INBOX'],
  folderId: null,
  flags: { read: false, starred: false, archived: false, deleted: false },
  receivedAt: new Date('2025-04-01T00:00:00Z'),
  content: { kind: 'raw', raw },
});

async function store(f: Fixture, providerMessageId: string, file: string): Promise<Types.ObjectId> {
  provider.set(providerMessageId, mail(file));
  await ingestMessages(await loadIngestContext(mbOf(f)), [copy(providerMessageId, mail(file))]);
  return runInOrg(f.orgId, async () => (await MailboxMessage.findOne({ providerMessageId }).lean())!.messageId);
}

/** As an older reading left it: a mangled subject and sender name, no attachments, an older (or no) version. */
async function ageMessage(f: Fixture, id: Types.ObjectId, set: Record<string, unknown>, unset: Record<string, 1> = {}): Promise<void> {
  await runInOrg(f.orgId, () => Message.collection.updateOne({ _id: id }, { $set: set, ...(Object.keys(unset).length ? { $unset: unset } : {}) }));
}

const read = (f: Fixture, id: Types.ObjectId) => runInOrg(f.orgId, () => Message.findById(id).lean());

describe('npm run reparse: flagged mail read again', () => {
  it('fixes what an older reading mangled, idempotently, and never loses what was stored when the bytes cannot be had', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const frogs = await store(ann, 'g-frogs', '31-raw-8bit-headers-no-charset.eml');
    const french = await store(ann, 'g-french', '34-8bit-body-no-charset.eml');
    const fresh = await read(ann, frogs);
    expect(fresh).toMatchObject({ subject: 'Frösche – Angebot für Kühlräume', parserVersion: PARSER_VERSION });
    expect(fresh!.decoding!.length).toBeGreaterThan(0);

    await ageMessage(ann, frogs, {
      subject: 'Fr\ufffdsche \ufffd Angebot f\ufffdr K\ufffdhlr\ufffdume',
      'from.name': 'J\ufffdrg M\ufffdller',
      attachments: [],
      hasAttachments: false,
      parserVersion: 1,
    });
    const thread = await runInOrg(orgId, () =>
      Thread.findByIdAndUpdate(fresh!.threadId, { $set: { subject: 'Fr\ufffdsche \ufffd Angebot f\ufffdr K\ufffdhlr\ufffdume' } }, { new: true }).lean(),
    );
    await runInOrg(orgId, () => AttachmentCache.create({ messageId: frogs, attachmentId: '9', size: 1, data: Buffer.from('x') }));
    await ageMessage(ann, french, { text: 'Nous avons bien re\ufffdu votre offre', parserVersion: 1 });
    provider.set('g-french', new ProviderError('not_found', 'deleted at the provider'));

    const first = await reparseStoredMail({ adapters, orgId });
    expect(first).toMatchObject({ examined: 2, updated: 1, unchanged: 0 });
    expect(first.kept).toEqual([{ messageId: String(french), reason: expect.stringContaining('not_found') }]);
    const fixed = await read(ann, frogs);
    expect(fixed).toMatchObject({
      subject: 'Frösche – Angebot für Kühlräume',
      from: { name: 'Jörg Müller' },
      hasAttachments: true,
      parserVersion: PARSER_VERSION,
    });
    expect(fixed!.attachments.map((a) => a.filename)).toEqual(['Preisübersicht Kühlräume.pdf']);
    expect(fixed!.text).toBe(fresh!.text);
    expect((await runInOrg(orgId, () => Thread.findById(thread!._id).lean()))!.subject).toBe('Frösche – Angebot für Kühlräume');
    expect(await runInOrg(orgId, () => AttachmentCache.countDocuments({ messageId: frogs }))).toBe(0); // its part 9 is gone
    expect((await read(ann, french))!.text).toBe('Nous avons bien re\ufffdu votre offre'); // kept as stored

    // Again: the fixed one is read by this version already; the unfetchable one is tried again.
    fetchedRaw.length = 0;
    expect(await reparseStoredMail({ adapters, orgId })).toMatchObject({ examined: 1, updated: 0 });
    expect(fetchedRaw).toEqual(['g-french']);
    // --force reads the current version's flagged mail again: the same content, nothing written but the version.
    provider.set('g-french', mail('34-8bit-body-no-charset.eml'));
    const forced = await reparseStoredMail({ adapters, orgId, force: true });
    expect(forced).toMatchObject({ examined: 2, updated: 1, unchanged: 1, kept: [] });
    expect((await read(ann, french))!.text).toContain('Nous avons bien reçu votre offre');
    expect(await reparseStoredMail({ adapters, orgId, force: true })).toMatchObject({ examined: 2, updated: 0, unchanged: 2 });
  });

  it('with --unrecorded, reads mail stored before versions were recorded; Graph content stays as the provider gave it', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const uu = await store(ann, 'g-uu', '35-uuencode-attachment.eml');
    // As the reading before uuencode support stored it: the blocks in the text, no attachments, no version.
    await ageMessage(
      ann,
      uu,
      { text: 'Hallo Dana,\n\nbegin 644 Wartungsplan.txt\nM5V%R\n`\nend\n', attachments: [], hasAttachments: false },
      { parserVersion: 1, decoding: 1 },
    );
    const bob = await createMailbox(orgId, 'bob@acme.test');
    await runInOrg(orgId, () => Mailbox.updateOne({ _id: bob.mailboxId }, { $set: { provider: 'microsoft' } }));
    const graph = await store(bob, 'm-graph', '01-plain-text.eml');
    await ageMessage(bob, graph, { subject: 'As Graph gave it' }, { parserVersion: 1, decoding: 1 });

    expect(await reparseStoredMail({ adapters, orgId })).toMatchObject({ examined: 0 });
    fetchedRaw.length = 0;
    expect(await reparseStoredMail({ adapters, orgId, unrecorded: true })).toMatchObject({ examined: 2, updated: 1, providerContent: 1 });
    expect(fetchedRaw).toEqual(['g-uu']);
    const fixed = await read(ann, uu);
    expect(fixed!.attachments.map((a) => [a.id, a.filename, a.mimeType])).toEqual([
      ['uu1', 'Wartungsplan.txt', 'text/plain'],
      ['uu2', 'Anlage 3.png', 'image/png'],
    ]);
    expect(fixed!.text).not.toContain('begin 644');
    expect(fixed).toMatchObject({ hasAttachments: true, decoding: [], parserVersion: PARSER_VERSION });
    expect(await read(bob, graph)).toMatchObject({ subject: 'As Graph gave it', parserVersion: null });
    expect(await reparseStoredMail({ adapters, orgId, unrecorded: true })).toMatchObject({ examined: 0 });
  });

  it('reads a malformed message from the raw bytes it kept, and keeps a message whose new reading would be worse', async () => {
    const orgId = await createOrg();
    const ann = await createMailbox(orgId, 'ann@acme.test');
    const broken = await store(ann, 'g-broken', '01-plain-text.eml');
    // Flagged malformed by an older reading, its raw kept: no fetch is needed.
    await ageMessage(ann, broken, { malformed: { reason: 'EMAXLEN: old parser', raw: mail('01-plain-text.eml') }, subject: '', text: '', parserVersion: 1 });
    const worse = await store(ann, 'g-worse', '30-raw-8bit-headers-declared-charset.eml');
    await ageMessage(ann, worse, { parserVersion: 1 });
    provider.set('g-worse', mail('25-malformed-huge-header-section.eml'));
    fetchedRaw.length = 0;
    const summary = await reparseStoredMail({ adapters, orgId });
    expect(summary).toMatchObject({ examined: 2, updated: 1 });
    expect(summary.kept).toEqual([{ messageId: String(worse), reason: expect.stringContaining('the new reading failed') }]);
    expect(fetchedRaw).toEqual(['g-worse']);
    const healed = await read(ann, broken);
    expect(healed).toMatchObject({ malformed: null, parserVersion: PARSER_VERSION });
    expect(healed!.subject).not.toBe('');
    expect(healed!.text).toContain('Thursday 20 March, from 13:00');
    expect((await read(ann, worse))!.subject).toBe('Zamówienie z Łodzi - źródło zasilania');
  });
});
