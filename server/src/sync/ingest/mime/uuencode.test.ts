import { randomBytes } from 'node:crypto';
import { extractUuencoded } from './uuencode';

/** POSIX layout (45 bytes a line, backtick for zero): what `uuencode` prints. */
function encode(bytes: Buffer, name: string): string {
  const char = (v: number): string => (v === 0 ? '`' : String.fromCharCode(v + 0x20));
  const lines = [`begin 644 ${name}`];
  for (let i = 0; i < bytes.length; i += 45) {
    const chunk = bytes.subarray(i, i + 45);
    let line = char(chunk.length);
    for (let j = 0; j < chunk.length; j += 3) {
      const a = chunk[j],
        b = chunk[j + 1] ?? 0,
        c = chunk[j + 2] ?? 0;
      line += char(a >> 2) + char(((a & 0x03) << 4) | (b >> 4)) + char(((b & 0x0f) << 2) | (c >> 6)) + char(c & 0x3f);
    }
    lines.push(line);
  }
  return [...lines, '`', 'end'].join('\n');
}

describe('extractUuencoded', () => {
  it('decodes the classic vector ("Cat" is #0V%T) and leaves the text around it', () => {
    const out = extractUuencoded('Hello,\n\nbegin 644 cat.txt\n#0V%T\n`\nend\n\nBye\n');
    expect(out.files).toEqual([{ filename: 'cat.txt', mode: '644', bytes: Buffer.from('Cat') }]);
    expect(out.text).toBe('Hello,\n\nBye\n');
  });

  it.each([0, 1, 2, 3, 44, 45, 46, 1000, 4096])('round-trips %i random bytes', (n) => {
    const bytes = randomBytes(n);
    const out = extractUuencoded(`see attached\n${encode(bytes, 'data.bin')}\n`);
    expect(out.files).toHaveLength(1);
    expect(out.files[0].bytes.equals(bytes)).toBe(true);
    expect(out.text).toBe('see attached\n');
  });

  it('reads several blocks, CRLF lines, and trailing spaces a mailer stripped', () => {
    const a = randomBytes(100),
      b = Buffer.from('plain words\n');
    // A line ending in encoded zero bits ends in spaces: strip them, as some mailers do.
    const stripped = encode(b, 'b.txt')
      .split('\n')
      .map((l) => l.replace(/ +$/, ''))
      .join('\r\n');
    const out = extractUuencoded(`one\r\n${encode(a, 'a.bin').replace(/\n/g, '\r\n')}\r\ntwo\r\n${stripped}\r\nthree`);
    expect(out.files.map((f) => f.filename)).toEqual(['a.bin', 'b.txt']);
    expect(out.files[0].bytes.equals(a)).toBe(true);
    expect(out.files[1].bytes.toString()).toBe('plain words\n');
    expect(out.text).toBe('one\r\ntwo\r\nthree');
  });

  it('accepts a block without the zero-length line and keeps only the base name', () => {
    const out = extractUuencoded('begin 600 C:\\TEMP\\..\\plan.txt\n#0V%T\nend');
    expect(out.files).toEqual([{ filename: 'plan.txt', mode: '600', bytes: Buffer.from('Cat') }]);
    expect(out.text).toBe('');
  });

  it.each([
    ['no end line', 'begin 644 a.txt\n#0V%T\n`\n'],
    ['a character outside the alphabet', 'begin 644 a.txt\n#0v%t\n`\nend'],
    ['text after the zero-length line', 'begin 644 a.txt\n#0V%T\n`\nnot the end\nend'],
    ['a line longer than its count allows', 'begin 644 a.txt\n!0V%T0V%T\n`\nend'],
    ['no mode', 'begin here with the agenda\n#0V%T\nend'],
  ])('leaves the text alone when there is %s', (_what, text) => {
    expect(extractUuencoded(text)).toEqual({ text, files: [] });
  });
});
