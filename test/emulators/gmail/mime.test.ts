/** The MIME splitter behind Gmail payload trees, on edge cases real mail has. */
import { decodeText, parseMime, snippetOf, toPayload } from './mime';

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');

test('encoded words, RFC 2231 file names, quoted-printable in a latin1 charset', () => {
  const tree = parseMime(
    crlf([
      'Subject: =?UTF-8?B?w5xiZXIgdW5z?=',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      'preamble',
      '--b1',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Gr=FC=DFe',
      '--b1',
      "Content-Disposition: attachment; filename*=UTF-8''na%C3%AFve.txt",
      'Content-Transfer-Encoding: base64',
      '',
      'aGVsbG8=',
      '--b1--',
    ]),
  );
  expect(tree.headers[0]).toEqual({ name: 'Subject', value: 'Über uns' });
  expect(decodeText(tree.parts[0])).toBe('Grüße');
  expect(tree.parts[1]).toMatchObject({ partId: '1', filename: 'naïve.txt', mimeType: 'text/plain' });
  expect(tree.parts[1].content.toString()).toBe('hello');
  expect(snippetOf(tree)).toBe('Grüße');
  const payload = toPayload(tree, (partId) => `att-${partId}`);
  expect(payload.parts![1].body).toEqual({ size: 5, attachmentId: 'att-1' });
});

test('a multipart without its closing boundary, or without any boundary, still gives a tree', () => {
  const open = parseMime(crlf(['Content-Type: multipart/alternative; boundary=x', '', '--x', '', 'one', '--x', 'Content-Type: text/html', '', '<p>two</p>']));
  expect(open.parts.map((p) => p.mimeType)).toEqual(['text/plain', 'text/html']);
  const noBoundary = parseMime(crlf(['Content-Type: multipart/mixed', '', 'body']));
  expect(noBoundary.parts).toEqual([]);
  expect(noBoundary.content.toString()).toBe('body');
});
