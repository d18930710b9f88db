import { simpleParser } from 'mailparser';
import { normaliseMessageId } from '../../mail/message-id';
import { ComposeError, composeMessage, decodeAttachments, newMessageId, replySubject, threadingHeaders } from './compose';

const UUID = '3f2b8c1e-9d4a-4e6b-8f0a-1c2d3e4f5a6b';

describe('newMessageId', () => {
  it('is <uuid@mailbox-domain>, lowercased domain', () => {
    expect(newMessageId('Ada@Acme-Robotics.COM', UUID)).toBe(`<${UUID}@acme-robotics.com>`);
  });
  it('falls back to threadline.local without a usable domain', () => {
    expect(newMessageId('nobody', UUID)).toBe(`<${UUID}@threadline.local>`);
  });
  it('is unique per call and survives the ingest normalisation unchanged', () => {
    const a = newMessageId('a@x.test');
    expect(a).not.toBe(newMessageId('a@x.test'));
    expect(`<${normaliseMessageId(a)}>`).toBe(a);
  });
});

describe('replySubject', () => {
  it.each([
    ['Pricing', 'Re: Pricing'],
    ['Re: Pricing', 'Re: Pricing'],
    ['RE: Pricing', 'RE: Pricing'],
    ['re:Pricing', 're:Pricing'],
    ['  Pricing  ', 'Re: Pricing'],
    ['Regarding pricing', 'Re: Regarding pricing'],
  ])('%j → %j', (input, expected) => expect(replySubject(input)).toBe(expected));
});

describe('threadingHeaders', () => {
  it('answers the parent and extends its References', () => {
    expect(threadingHeaders({ internetMessageId: 'p@x.test', references: ['root@x.test', 'mid@x.test'], subject: 's' })).toEqual({
      inReplyTo: '<p@x.test>',
      references: ['<root@x.test>', '<mid@x.test>', '<p@x.test>'],
    });
  });
  it('keeps the root and the newest ids of a long chain, without duplicates', () => {
    const refs = Array.from({ length: 40 }, (_, i) => `r${i}@x.test`);
    const { references } = threadingHeaders({ internetMessageId: 'p@x.test', references: [...refs, 'r0@x.test'], subject: 's' });
    expect(references).toHaveLength(20);
    expect(references[0]).toBe('<r0@x.test>');
    expect(references.at(-1)).toBe('<p@x.test>');
    expect(new Set(references).size).toBe(20);
  });
  it('has no In-Reply-To when the parent had no Message-ID', () => {
    expect(threadingHeaders({ internetMessageId: null, references: [], subject: 's' })).toEqual({ inReplyTo: null, references: [] });
  });
});

describe('decodeAttachments', () => {
  const file = (bytes: number) => ({ filename: 'f.bin', contentType: 'application/octet-stream', contentBase64: Buffer.alloc(bytes, 7).toString('base64') });

  it('decodes exactly', () => {
    const [a] = decodeAttachments([{ filename: 'a.txt', contentType: 'text/plain', contentBase64: Buffer.from('hello').toString('base64') }], 100);
    expect(a.content.toString()).toBe('hello');
  });
  it('accepts exactly the cap and refuses one byte over it, across files', () => {
    expect(decodeAttachments([file(600), file(400)], 1000)).toHaveLength(2);
    expect(() => decodeAttachments([file(600), file(401)], 1000)).toThrow(expect.objectContaining({ code: 'too_large', field: 'attachments' }));
  });
  it('refuses text that is not base64, naming the attachment', () => {
    expect(() => decodeAttachments([file(3), { ...file(3), contentBase64: 'ab$d' }], 1000)).toThrow(ComposeError);
    expect(() => decodeAttachments([file(3), { ...file(3), contentBase64: 'ab$d' }], 1000)).toThrow(
      expect.objectContaining({ code: 'invalid', field: 'attachments.1.contentBase64' }),
    );
  });
});

describe('composeMessage', () => {
  const base = {
    from: { email: 'ada@acme.test', name: 'Ada Lovelace' },
    to: [{ email: 'bob@client.test', name: 'Bob' }],
    cc: [{ email: 'carol@client.test' }],
    bcc: [{ email: 'dan@acme.test' }],
    subject: 'Proposal ✓',
    text: 'Hello Bob',
    html: '<p>Hello <b>Bob</b></p>',
    messageId: `<${UUID}@acme.test>`,
    date: new Date('2026-03-01T10:00:00Z'),
  };

  it('writes From, To, Cc, Bcc (kept for the provider), Subject, Date, Message-ID and both bodies', async () => {
    const raw = await composeMessage(base);
    const head = raw.toString('latin1').split('\r\n\r\n')[0];
    expect(head).toMatch(/^Bcc: dan@acme\.test$/m);
    expect(head).toMatch(new RegExp(`^Message-ID: <${UUID}@acme\\.test>$`, 'm'));
    expect(head).not.toMatch(/^In-Reply-To:/m);
    const mail = await simpleParser(raw);
    expect(mail.from?.value).toEqual([{ address: 'ada@acme.test', name: 'Ada Lovelace' }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : null).toEqual([{ address: 'bob@client.test', name: 'Bob' }]);
    expect(mail.cc && !Array.isArray(mail.cc) ? mail.cc.text : null).toBe('carol@client.test');
    expect(mail.subject).toBe('Proposal ✓');
    expect(mail.date?.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(mail.text?.trim()).toBe('Hello Bob');
    expect(mail.html).toContain('<b>Bob</b>');
  });

  it('threads a reply with In-Reply-To and References', async () => {
    const raw = await composeMessage({
      ...base,
      subject: 'Re: Pricing',
      inReplyTo: { internetMessageId: 'orig@client.test', references: ['root@client.test'], subject: 'Pricing' },
    });
    const mail = await simpleParser(raw);
    expect(mail.inReplyTo).toBe('<orig@client.test>');
    expect(mail.references).toEqual(['<root@client.test>', '<orig@client.test>']);
  });

  it('attaches files with their names and types', async () => {
    const raw = await composeMessage({
      ...base,
      attachments: [{ filename: 'offer.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 offer') }],
    });
    const mail = await simpleParser(raw);
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0]).toMatchObject({ filename: 'offer.pdf', contentType: 'application/pdf' });
    expect(mail.attachments[0].content.toString()).toBe('%PDF-1.4 offer');
  });

  it('never reads a file or URL named in the HTML', async () => {
    const raw = await composeMessage({ ...base, html: '<img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png">' });
    expect(raw.toString()).not.toContain('root:');
    expect((await simpleParser(raw)).attachments).toHaveLength(0);
  });
});
