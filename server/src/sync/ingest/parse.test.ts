import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { parseMessage } from './parse';

const fixture = (name: string): Buffer => readFileSync(path.join(__dirname, '../../../../test/fixtures/mail', name));
const compose = (options: Mail.Options): Promise<Buffer> => new MailComposer(options).compile().build();
const crlf = (lines: string[]): Buffer => Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');

describe('parseMessage on the seed corpus', () => {
  it('reads a plain message: ids, addresses, date, text and snippet', async () => {
    const p = await parseMessage(fixture('01-plain-text.eml'));
    expect(p).toMatchObject({
      messageId: '20250304091231.7f3a2c@mail.globex-logistics.com',
      inReplyTo: null,
      references: [],
      subject: 'Pallet robot pilot - site visit dates',
      from: [{ email: 'helen.park@globex-logistics.com', name: 'Helen Park' }],
      to: [{ email: 'dana.whitfield@acme-robotics.com', name: 'Dana Whitfield' }],
      cc: [],
      bcc: [],
      replyTo: [],
      dateSource: 'header',
      html: null,
      attachments: [],
      tooLarge: false,
      malformed: false,
      malformedReason: null,
      rawSha256: null,
      warnings: [],
    });
    expect(p.date?.toISOString()).toBe('2025-03-04T09:12:31.000Z');
    expect(p.text).toContain('pallet robot');
    expect(p.snippet.startsWith('Hi Dana, Thanks for the call yesterday.')).toBe(true);
    expect(p.snippet).not.toMatch(/\s{2,}|\n/);
    expect(p.sizeBytes).toBe(fixture('01-plain-text.eml').length);
  });

  it('keeps the raw HTML alongside the text and reads In-Reply-To', async () => {
    const p = await parseMessage(fixture('02-alternative.eml'));
    expect(p.inReplyTo).toBe('20250304091231.7f3a2c@mail.globex-logistics.com');
    expect(p.html).toContain('<');
    expect(p.text).toContain('Thursday 20 March works for us — Marcus');
  });

  it('lists attachments as metadata only', async () => {
    const p = await parseMessage(fixture('03-mixed-pdf-png.eml'));
    expect(p.attachments).toEqual([
      {
        partId: '2',
        checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
        filename: 'Quote Q-2025-0412.pdf',
        mimeType: 'application/pdf',
        size: 608,
        contentId: null,
        inline: false,
      },
      {
        partId: '3',
        checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
        filename: 'floor-plan.png',
        mimeType: 'image/png',
        size: 74,
        contentId: null,
        inline: false,
      },
    ]);
    for (const a of p.attachments) expect(Object.keys(a)).not.toContain('content');
    expect(p.cc).toHaveLength(1);
  });

  it('marks related images inline with their Content-ID, and keeps cid: references in the HTML', async () => {
    const p = await parseMessage(fixture('04-related-inline-images.eml'));
    expect(p.attachments.map((a) => [a.contentId, a.inline])).toEqual([
      ['logo.7c1f@acme-robotics.com', true],
      ['chart.feb@acme-robotics.com', true],
    ]);
    expect(p.html).toContain('cid:logo.7c1f@acme-robotics.com');
    expect(p.html).not.toContain('data:image');
  });

  it('decodes charsets and encoded words', async () => {
    expect((await parseMessage(fixture('05-quoted-printable.eml'))).from[0].name).toBe('Tomás Herrera');
    expect((await parseMessage(fixture('07-iso-8859-1.eml'))).subject).toBe('Commande pour le café');
    expect((await parseMessage(fixture('08-windows-1252.eml'))).text).toContain('“the usual discount” —');
    const p10 = await parseMessage(fixture('10-rfc2047-headers.eml'));
    expect(p10.subject).toBe('Angebot für den Greifarm – Lieferung im März à Paris');
    expect(p10.from[0]).toEqual({ email: 'j.weiss@nordlicht-maschinenbau.de', name: 'Jürgen Weiß' });
    expect(p10.attachments[0].filename).toBe('Preisliste Müller €.pdf');
  });

  it('lowercases only the id-right of a Message-ID', async () => {
    const p = await parseMessage(fixture('06-base64-body.eml'));
    expect(p.messageId).toBe('AM9PR07MB7169D2E1B3A4C5D6E7F8A9B0C1D2E@am9pr07mb7169.eurprd07.prod.outlook.example');
  });

  it('has no Message-ID and a raw hash when the header is missing', async () => {
    const raw = fixture('11-missing-message-id.eml');
    const p = await parseMessage(raw);
    expect(p.messageId).toBeNull();
    expect(p.rawSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(p.malformed).toBe(false);
  });

  it('reads long folded References in order', async () => {
    const p = await parseMessage(fixture('12-long-references.eml'));
    expect(p.references).toHaveLength(30);
    expect(p.references[29]).toBe(p.inReplyTo);
    expect(p.subject).toMatch(/^Re: Re: Re: Pallet robot pilot - weekly status - a subject line that goes on/);
    expect(p.warnings).toEqual([]);
  });

  it('reads many recipients', async () => {
    const p = await parseMessage(fixture('13-many-recipients.eml'));
    expect(p.to).toHaveLength(120);
    expect(p.cc).toHaveLength(40);
  });

  it('keeps a forwarded message as an attachment', async () => {
    const p = await parseMessage(fixture('14-forwarded-rfc822.eml'));
    expect(p.attachments.map((a) => a.mimeType)).toEqual(['message/rfc822']);
    expect(p.from[0].email).toBe('helen.park@globex-logistics.com');
  });

  it('reads a thread’s links', async () => {
    const p = await parseMessage(fixture('17-thread-3-reply.eml'));
    expect(p.inReplyTo).toBe('CAN0acme2Yq@mail.acme-robotics.com');
    expect(p.references).toEqual(['CAH7pX3n1@mail.globex-logistics.com', 'CAN0acme2Yq@mail.acme-robotics.com']);
  });

  it('reads the headers the auto-create rules use', async () => {
    expect((await parseMessage(fixture('27-newsletter-list-headers.eml'))).headers).toEqual({
      listId: 'Ledgerly product updates <product-updates.ledgerly.io>',
      listUnsubscribe: '<https://updates.ledgerly.io/u/9f3c2e1b>, <mailto:unsubscribe@updates.ledgerly.io?subject=unsubscribe>',
      autoSubmitted: null,
      precedence: 'bulk',
    });
    expect((await parseMessage(fixture('28-auto-reply.eml'))).headers.autoSubmitted).toBe('auto-replied');
    expect((await parseMessage(fixture('29-bounce-dsn.eml'))).from[0].email).toBe('mailer-daemon@mx.acme-robotics.com');
  });

  describe('malformed input: never throws, keeps what it can', () => {
    it.each([
      ['20-malformed-missing-boundary-terminator.eml', 'The first part arrived intact.'],
      ['21-malformed-invalid-charset.eml', 'Readable ASCII line.'],
      ['22-malformed-broken-base64.eml', 'Hello Dana, this part decodes.'],
      ['23-malformed-header-without-colon.eml', 'Body after a broken header block.'],
      ['24-malformed-8bit-headers.eml', 'Die Lieferung ist überfällig.'],
    ])('%s', async (file, text) => {
      const p = await parseMessage(fixture(file));
      expect(p.messageId).toMatch(/@/);
      expect(p.from).toHaveLength(1);
      expect(p.text).toContain(text);
    });

    it('reads 8-bit header bytes as UTF-8', async () => {
      const p = await parseMessage(fixture('24-malformed-8bit-headers.eml'));
      expect(p.subject).toBe('Rückfrage zur Lieferung – dringend');
      expect(p.from[0].name).toBe('Jürgen Weiß');
    });

    it('flags a header section past the budget as malformed but salvages the fields that matter', async () => {
      const p = await parseMessage(fixture('25-malformed-huge-header-section.eml'));
      expect(p.malformed).toBe(true);
      expect(p.malformedReason).toMatch(/EMAXLEN/);
      expect(p.messageId).toBe('hugeheaders.20250321@mail.globex-logistics.com');
      expect(p.from[0].email).toBe('helen.park@globex-logistics.com');
      expect(p.subject).toBe('Huge header section');
      expect(p.date?.toISOString()).toBe('2025-03-21T14:00:00.000Z');
      expect(p.text).toBe('');
    });

    it('strips NUL bytes from subject and text', async () => {
      const p = await parseMessage(fixture('26-malformed-nul-bytes.eml'));
      expect(p.subject).toBe('NULin subject');
      expect(p.text).not.toContain('\u0000');
      expect(p.snippet).not.toContain('\u0000');
    });
  });
});

describe('parseMessage on built messages', () => {
  it('flattens groups, drops invalid addresses and duplicates, lowercases emails', async () => {
    const raw = crlf([
      'From: "Jane Doe" <Jane.Doe@Acme.COM>',
      'To: Team: bob@x.com, "Al" <AL@y.org>;, undisclosed-recipients:;, not-an-address, Bob <BOB@X.COM>',
      'Cc: <mailto:c@z.io>, garbage@, @nope.com',
      'Bcc: hidden@acme.com',
      'Reply-To: replies@acme.com',
      'Subject: hi',
      'Message-ID: <1@acme.com>',
      'Date: Tue, 4 Mar 2025 10:12:31 +0100',
      '',
      'body',
    ]);
    const p = await parseMessage(raw);
    expect(p.from).toEqual([{ email: 'jane.doe@acme.com', name: 'Jane Doe' }]);
    expect(p.to).toEqual([
      { email: 'bob@x.com', name: '' },
      { email: 'al@y.org', name: 'Al' },
    ]);
    expect(p.cc.map((a) => a.email)).toEqual(['c@z.io']);
    expect(p.bcc).toEqual([{ email: 'hidden@acme.com', name: '' }]);
    expect(p.replyTo).toEqual([{ email: 'replies@acme.com', name: '' }]);
  });

  it('uses the caller’s fallback date when Date is missing, invalid or far in the future', async () => {
    const fallbackDate = new Date('2025-03-01T12:00:00Z');
    const message = (date: string | null) => crlf(['From: a@acme.com', 'Message-ID: <d@acme.com>', ...(date === null ? [] : [`Date: ${date}`]), '', 'x']);

    const missing = await parseMessage(message(null), { fallbackDate });
    expect([missing.date, missing.dateSource, missing.warnings]).toEqual([fallbackDate, 'fallback', ['date_missing']]);

    const invalid = await parseMessage(message('not a date at all'), { fallbackDate });
    expect([invalid.date, invalid.dateSource, invalid.warnings]).toEqual([fallbackDate, 'fallback', ['date_invalid']]);

    const future = await parseMessage(message('Mon, 1 Jan 2125 00:00:00 +0000'), { fallbackDate });
    expect(future.dateSource).toBe('fallback');

    const noFallback = await parseMessage(message('garbage'));
    expect([noFallback.date, noFallback.dateSource]).toEqual([null, 'none']);

    const ok = await parseMessage(message('Tue, 01 Jul 2003 10:52:37 +0200 (CEST)'), { fallbackDate });
    expect([ok.date?.toISOString(), ok.dateSource]).toEqual(['2003-07-01T08:52:37.000Z', 'header']);
  });

  it('builds a short one-line snippet', async () => {
    const raw = await compose({ from: 'a@acme.com', to: 'b@globex.com', text: `Hello\n\n\tworld   ${'word '.repeat(200)}` });
    const p = await parseMessage(raw);
    expect(p.snippet.startsWith('Hello world word word')).toBe(true);
    expect(Array.from(p.snippet).length).toBeLessThanOrEqual(201);
    expect(p.snippet.endsWith('…')).toBe(true);
  });

  it('derives text (and so a snippet) from an HTML-only message', async () => {
    const p = await parseMessage(await compose({ from: 'a@acme.com', to: 'b@globex.com', html: '<p>Only <b>HTML</b> here</p>' }));
    expect(p.html).toContain('<b>HTML</b>');
    expect(p.snippet).toBe('Only HTML here');
  });

  it('returns a tooLarge result with the headers only, before parsing the body', async () => {
    const raw = await compose({
      from: 'Helen <helen@globex.com>',
      to: 'dana@acme.com',
      subject: 'Big one',
      messageId: '<big@globex.com>',
      date: new Date('2025-03-01T00:00:00Z'),
      text: 'x'.repeat(1000),
      attachments: [{ filename: 'big.bin', content: randomBytes(200_000) }],
    });
    const p = await parseMessage(raw, { maxBytes: 100_000 });
    expect(p).toMatchObject({
      tooLarge: true,
      malformed: false,
      messageId: 'big@globex.com',
      subject: 'Big one',
      from: [{ email: 'helen@globex.com', name: 'Helen' }],
      text: '',
      html: null,
      attachments: [],
      sizeBytes: raw.length,
    });
    expect(p.date?.toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });

  it('caps text and HTML bodies', async () => {
    const p = await parseMessage(await compose({ from: 'a@acme.com', text: 't'.repeat(5000), html: `<p>${'h'.repeat(5000)}</p>` }), {
      maxTextChars: 1000,
      maxHtmlChars: 2000,
    });
    expect(p.text).toHaveLength(1000);
    expect(p.html).toHaveLength(2000);
    expect(p.warnings).toEqual(expect.arrayContaining(['text_truncated', 'html_truncated']));
  });

  it('keeps the root and the latest of an overlong References chain', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `<r${i}@x.org>`);
    const p = await parseMessage(crlf(['From: a@acme.com', `References: ${ids.join('\r\n ')}`, 'Message-ID: <m@x.org>', '', 'x']));
    expect(p.references).toHaveLength(100);
    expect(p.references[0]).toBe('r0@x.org');
    expect(p.references[1]).toBe('r51@x.org');
    expect(p.references[99]).toBe('r149@x.org');
    expect(p.warnings).toContain('references_truncated');
  });

  it('reads In-Reply-To and References written without brackets or duplicated', async () => {
    const p = await parseMessage(
      crlf(['From: a@acme.com', 'In-Reply-To: parent@X.ORG', 'References: <root@x.org> <parent@x.org>', 'References: <parent@x.org>', '', 'x']),
    );
    expect(p.inReplyTo).toBe('parent@x.org');
    expect(p.references).toEqual(['root@x.org', 'parent@x.org']);
  });

  it.each([
    ['an empty buffer', Buffer.alloc(0)],
    ['random bytes', randomBytes(4096)],
    ['only NUL bytes', Buffer.alloc(1024)],
    ['a header line of 2 MB', crlf(['From: a@acme.com', `X-Long: ${'a'.repeat(2 * 1024 * 1024)}`, '', 'x'])],
    [
      '5,000 nested parts',
      crlf([
        'Content-Type: multipart/mixed; boundary=b0',
        '',
        ...Array.from({ length: 5000 }, (_, i) => `--b${i}\r\nContent-Type: multipart/mixed; boundary=b${i + 1}\r\n`),
      ]),
    ],
    [
      'an unknown charset and broken base64',
      crlf(['Content-Type: text/plain; charset=x-nope', 'Content-Transfer-Encoding: base64', '', '!!!!not base64$$$$====']),
    ],
  ])('does not throw on %s', async (_label, raw) => {
    const p = await parseMessage(raw);
    expect(typeof p.malformed).toBe('boolean');
    expect(p.sizeBytes).toBe(raw.length);
    if (p.messageId === null) expect(p.rawSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('flags a message with too many parts as malformed and keeps its headers', async () => {
    const parts = Array.from({ length: 1500 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}`);
    const raw = crlf(['From: Helen <helen@globex.com>', 'Message-ID: <parts@globex.com>', 'Content-Type: multipart/mixed; boundary=b', '', ...parts, '--b--']);
    const p = await parseMessage(raw);
    expect(p.malformed).toBe(true);
    expect(p.malformedReason).toMatch(/child nodes/i);
    expect(p.messageId).toBe('parts@globex.com');
    expect(p.from[0].email).toBe('helen@globex.com');
  });
});
