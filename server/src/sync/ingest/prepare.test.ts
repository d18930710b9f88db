/**
 * A page parsed ahead (while the page before it is stored) is stored from those parses: each message is parsed once,
 * and a page stored again afterwards (a retry) is parsed again.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RemoteMessage } from '../providers/port';
import { parseAhead, parseAll } from './prepare';

const MAIL_DIR = path.join(__dirname, '../../../../test/fixtures/mail');
const page: RemoteMessage[] = readdirSync(MAIL_DIR)
  .filter((name) => name.endsWith('.eml'))
  .sort()
  .slice(0, 5)
  .map((name, i) => ({
    providerMessageId: `m${i}`,
    providerThreadId: `t${i}`,
    labels: [],
    folderId: null,
    flags: { read: false, starred: false, archived: false, deleted: false },
    receivedAt: new Date('2024-03-01T10:00:00Z'),
    content: { kind: 'raw', raw: readFileSync(path.join(MAIL_DIR, name)) },
  }));

describe('parseAhead', () => {
  it('hands its parses to the store of the page, once', async () => {
    expect(page).toHaveLength(5);
    const ahead = await parseAhead(page);
    const stored = await parseAll(page);
    stored.forEach((p, i) => expect(p).toBe(ahead[i]));
    // Used once: the page stored again is parsed again, to equal but new objects.
    const again = await parseAll(page);
    expect(again).toEqual(stored);
    again.forEach((p, i) => expect(p).not.toBe(stored[i]));
  });

  it('leaves messages the provider gave parsed as they are', async () => {
    const parsed = (await parseAll(page.slice(0, 1)))[0];
    const given: RemoteMessage = { ...page[0], content: { kind: 'parsed', parsed } };
    expect((await parseAhead([given]))[0]).toBe(parsed);
    expect((await parseAll([given]))[0]).toBe(parsed);
  });
});
