import { htmlToText, toRemoteMessage, type GraphMessage } from './mapping';

const graphJson: GraphMessage = {
  id: 'AAkALgImmutable1',
  internetMessageId: '<CAF+abc@Mail.Example.COM>',
  conversationId: 'AAQkADconv',
  subject: ' Re: Pricing ',
  from: { emailAddress: { name: 'Peer Person', address: 'Peer@Fabrikam.test' } },
  toRecipients: [{ emailAddress: { name: 'owner@contoso.test', address: 'owner@contoso.test' } }, { emailAddress: { address: 'OWNER@contoso.test' } }],
  ccRecipients: [{ emailAddress: { name: 'Cc', address: 'not-an-address' } }],
  bccRecipients: null,
  replyTo: [],
  receivedDateTime: '2024-03-01T10:00:05Z',
  sentDateTime: '2024-03-01T10:00:00Z',
  createdDateTime: '2024-03-01T10:00:05Z',
  body: { contentType: 'html', content: '<div>Hello&nbsp;<b>there</b> &amp; welcome</div><p>Line&#39;s two</p><style>p{}</style>' },
  bodyPreview: "Hello there & welcome Line's two",
  isRead: true,
  flag: { flagStatus: 'flagged' },
  categories: ['Customer', 'Deal'],
  parentFolderId: 'AQMkADarchive',
  hasAttachments: true,
  internetMessageHeaders: [
    { name: 'In-Reply-To', value: '<root@Fabrikam.test>' },
    { name: 'References', value: '<root@Fabrikam.test>\r\n <mid@fabrikam.test>' },
    { name: 'List-Id', value: 'Sales <sales.fabrikam.test>' },
  ],
  attachments: [
    {
      '@odata.type': '#microsoft.graph.fileAttachment',
      id: 'AAMkADatt1',
      name: 'offer.pdf',
      contentType: 'Application/PDF',
      size: 1234,
      isInline: false,
      contentId: null,
    },
  ],
};

it('maps a Graph message to a RemoteMessage with parsed content', () => {
  const m = toRemoteMessage(graphJson, 'archive');
  expect(m).toMatchObject({
    providerMessageId: 'AAkALgImmutable1',
    providerThreadId: 'AAQkADconv',
    labels: ['Customer', 'Deal'],
    folderId: 'AQMkADarchive',
    flags: { read: true, starred: true, archived: true, deleted: false },
    receivedAt: new Date('2024-03-01T10:00:05Z'),
  });
  if (m.content.kind !== 'parsed') throw new Error('parsed content expected');
  const p = m.content.parsed;
  expect(p.messageId).toBe('CAF+abc@mail.example.com');
  expect(p.inReplyTo).toBe('root@fabrikam.test');
  expect(p.references).toEqual(['root@fabrikam.test', 'mid@fabrikam.test']);
  expect(p.subject).toBe('Re: Pricing');
  expect(p.from).toEqual([{ email: 'peer@fabrikam.test', name: 'Peer Person' }]);
  expect(p.to).toEqual([{ email: 'owner@contoso.test', name: '' }]);
  expect(p.cc).toEqual([]);
  expect(p.date).toEqual(new Date('2024-03-01T10:00:00Z'));
  expect(p.dateSource).toBe('header');
  expect(p.html).toContain('<b>there</b>');
  expect(p.text).toBe("Hello there & welcome\nLine's two");
  expect(p.snippet).toBe("Hello there & welcome Line's two");
  expect(p.headers.listId).toBe('Sales <sales.fabrikam.test>');
  expect(p.attachments).toEqual([
    { partId: 'AAMkADatt1', checksum: '', filename: 'offer.pdf', mimeType: 'application/pdf', size: 1234, contentId: null, inline: false },
  ]);
  expect(p.rawSha256).toBeNull();
});

it('flags Deleted Items copies, falls back to receivedDateTime, and keys a message without Message-ID by its id', () => {
  const m = toRemoteMessage(
    { id: 'X1', receivedDateTime: '2024-01-02T00:00:00Z', body: { contentType: 'text', content: 'plain' }, flag: { flagStatus: 'complete' } },
    'deleteditems',
  );
  expect(m.flags).toEqual({ read: false, starred: false, archived: false, deleted: true });
  expect(m.labels).toEqual([]);
  if (m.content.kind !== 'parsed') throw new Error('parsed content expected');
  expect(m.content.parsed).toMatchObject({
    messageId: null,
    text: 'plain',
    html: null,
    dateSource: 'fallback',
    date: new Date('2024-01-02T00:00:00Z'),
    rawSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  expect(m.content.parsed.warnings).toContain('date_missing');
});

it('turns HTML into readable text', () => {
  expect(htmlToText('<p>a</p><p>b<br>c</p><script>x()</script>&lt;tag&gt; &#x263A;')).toBe('a\nb\nc\n<tag> ☺');
});
