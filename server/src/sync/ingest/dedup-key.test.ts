import { dedupKey, normaliseForKey, type DedupInput } from './dedup-key';

const base: DedupInput = {
  messageId: null,
  from: [{ email: 'scanner@globex-logistics.com', name: 'Scanner' }],
  date: new Date('2025-03-13T13:22:10.000Z'),
  subject: 'Scanned document',
  text: 'Scanned document attached.\r\nPages: 1.',
  malformed: false,
  rawSha256: 'aa'.repeat(32),
};

describe('dedupKey', () => {
  it('uses the normalised Message-ID when there is one', () => {
    expect(dedupKey({ ...base, messageId: 'AbC@mail.example.com' })).toBe('mid:AbC@mail.example.com');
  });

  it('hashes sender, date to the second, subject and text start otherwise', () => {
    const key = dedupKey(base);
    expect(key).toMatch(/^hash:[0-9a-f]{64}$/);
    // Same content re-encoded elsewhere: milliseconds, whitespace, case, line endings, Unicode form.
    expect(
      dedupKey({
        ...base,
        date: new Date('2025-03-13T13:22:10.999Z'),
        subject: '  scanned   DOCUMENT ',
        text: 'Scanned document attached.\nPages: 1.',
        rawSha256: 'bb'.repeat(32),
      }),
    ).toBe(key);
    expect(dedupKey({ ...base, subject: 'Cafe\u0301' })).toBe(dedupKey({ ...base, subject: 'Café' }));
  });

  it('distinguishes different messages', () => {
    const key = dedupKey(base);
    expect(dedupKey({ ...base, date: new Date('2025-03-13T13:22:11.000Z') })).not.toBe(key);
    expect(dedupKey({ ...base, from: [{ email: 'other@globex-logistics.com', name: '' }] })).not.toBe(key);
    expect(dedupKey({ ...base, subject: 'Scanned document 2' })).not.toBe(key);
    expect(dedupKey({ ...base, text: 'Other text' })).not.toBe(key);
  });

  it('only the first 512 characters of text count', () => {
    const long = 'x'.repeat(512);
    expect(dedupKey({ ...base, text: `${long}AAA` })).toBe(dedupKey({ ...base, text: `${long}BBB` }));
    expect(dedupKey({ ...base, text: `${'x'.repeat(511)}A` })).not.toBe(dedupKey({ ...base, text: `${'x'.repeat(511)}B` }));
  });

  it('keeps field boundaries: moving text between fields changes the key', () => {
    expect(dedupKey({ ...base, subject: 'a b', text: 'c' })).not.toBe(dedupKey({ ...base, subject: 'a', text: 'b c' }));
  });

  it('falls back to the raw bytes for malformed messages or messages with neither sender nor date', () => {
    expect(dedupKey({ ...base, malformed: true })).toBe(`raw:${'aa'.repeat(32)}`);
    expect(dedupKey({ ...base, from: [], date: null })).toBe(`raw:${'aa'.repeat(32)}`);
    // A malformed message that kept its Message-ID still dedups on it.
    expect(dedupKey({ ...base, malformed: true, messageId: 'x@y.z' })).toBe('mid:x@y.z');
  });

  it('still produces a hash key when no raw hash is at hand', () => {
    expect(dedupKey({ ...base, from: [], date: null, rawSha256: null })).toMatch(/^hash:/);
  });
});

describe('normaliseForKey', () => {
  it('collapses whitespace, lowercases and NFC-normalises', () => {
    expect(normaliseForKey('  Hello\r\n\tWORLD  ')).toBe('hello world');
    expect(normaliseForKey('e\u0301')).toBe('é');
  });
});
