import { ProviderError } from '../port';
import { gmailCursor, gmailPartIdFromImap, readGmailCursor, toRemoteMessage } from './message';

describe('Gmail cursor', () => {
  it('round-trips and keeps the historyId a string (uint64)', () => {
    expect(readGmailCursor(gmailCursor('18446744073709551615'))).toBe('18446744073709551615');
  });

  it.each([
    [{ v: 1, provider: 'microsoft', state: { historyId: '12' } }],
    [{ v: 2, provider: 'google', state: { historyId: '12' } }],
    [{ v: 1, provider: 'google', state: { historyId: 12 } }],
    [{ v: 1, provider: 'google', state: {} }],
  ])('refuses %j', (cursor) => {
    expect(() => readGmailCursor(cursor as never)).toThrow(ProviderError);
  });
});

describe('gmailPartIdFromImap', () => {
  it.each([
    ['2', '1'],
    ['1.2', '0.1'],
    ['3.1.4', '2.0.3'],
    ['', ''],
    ['0', null],
    ['abc', null],
  ])('%j → %j', (imap, gmail) => expect(gmailPartIdFromImap(imap)).toBe(gmail));
});

describe('toRemoteMessage', () => {
  it('decodes base64url raw, internalDate and flags', () => {
    const raw = Buffer.from('Subject: hi\r\n\r\n??>>body');
    const m = toRemoteMessage({ id: 'abc', threadId: 't1', labelIds: ['INBOX', 'STARRED'], internalDate: '1714560000000', raw: raw.toString('base64url') });
    expect(m).toEqual({
      providerMessageId: 'abc',
      providerThreadId: 't1',
      labels: ['INBOX', 'STARRED'],
      folderId: null,
      flags: { read: true, starred: true, archived: false, deleted: false },
      receivedAt: new Date(1714560000000),
      content: { kind: 'raw', raw },
    });
  });
});
