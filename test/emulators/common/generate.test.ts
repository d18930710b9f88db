/**
 * The mail generator: deterministic for a seed, threads that a real client would thread, labels and folders that
 * agree with who sent what, and bytes that a real parser reads back as the metadata says.
 */
import { simpleParser, type AddressObject } from 'mailparser';
import { generateMailbox, generateMessage, makeIdentities, type GeneratedMessage } from './generate';

const owner = { email: 'dana.whitfield@acme-robotics.com', name: 'Dana Whitfield' };
const startDate = new Date('2025-01-01T00:00:00Z');
const endDate = new Date('2025-03-31T23:59:59Z');

function emails(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  return (Array.isArray(field) ? field : [field]).flatMap((obj) => obj.value.map((a) => (a.address ?? '').toLowerCase()));
}
const domainOf = (email: string): string => email.split('@')[1];

describe('generateMailbox', () => {
  let mailbox: GeneratedMessage[];
  beforeAll(async () => {
    mailbox = await generateMailbox({ owner, count: 600, seed: 7, startDate, endDate, attachmentRate: 0.15 });
  });

  it('is byte-for-byte deterministic for a seed, and different for another seed or owner', async () => {
    const again = await generateMailbox({ owner, count: 600, seed: 7, startDate, endDate, attachmentRate: 0.15 });
    expect(again.map((m) => m.raw.toString('base64'))).toEqual(mailbox.map((m) => m.raw.toString('base64')));
    expect(again.map(({ raw: _raw, ...meta }) => meta)).toEqual(mailbox.map(({ raw: _raw, ...meta }) => meta));
    const other = await generateMailbox({ owner, count: 20, seed: 8, startDate, endDate });
    expect(other[0].messageId).not.toBe(mailbox[0].messageId);
    const otherOwner = await generateMailbox({ owner: { email: 'marcus@acme-robotics.com', name: 'Marcus' }, count: 20, seed: 7, startDate, endDate });
    expect(new Set(otherOwner.map((m) => m.messageId)).has(mailbox[0].messageId)).toBe(false);
  });

  it('gives exactly count messages with unique Message-IDs, oldest first, inside the date range', () => {
    expect(mailbox).toHaveLength(600);
    expect(new Set(mailbox.map((m) => m.messageId)).size).toBe(600);
    for (let i = 1; i < mailbox.length; i++) expect(mailbox[i].date.getTime()).toBeGreaterThanOrEqual(mailbox[i - 1].date.getTime());
    for (const m of mailbox) {
      expect(m.date.getTime()).toBeGreaterThanOrEqual(startDate.getTime());
      expect(m.date.getTime()).toBeLessThanOrEqual(endDate.getTime());
      expect(m.date.getMilliseconds()).toBe(0);
    }
  });

  it('threads of 1–6 messages with In-Reply-To, References, "Re:" subjects and alternating senders', () => {
    const threads = new Map<string, GeneratedMessage[]>();
    for (const m of mailbox) threads.set(m.threadKey, [...(threads.get(m.threadKey) ?? []), m]);
    const sizes = [...threads.values()].map((t) => t.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(6);
    expect(sizes.filter((n) => n >= 3).length).toBeGreaterThan(10);
    for (const thread of threads.values()) {
      const [root, ...replies] = thread;
      expect(root.inReplyTo).toBeUndefined();
      expect(root.references).toEqual([]);
      expect(root.subject).not.toMatch(/^Re: /);
      expect(root.threadKey).toMatch(/^[0-9a-f]{16}$/);
      replies.forEach((reply, i) => {
        const parent = thread[i];
        expect(reply.date.getTime()).toBeGreaterThan(parent.date.getTime());
        expect(reply.inReplyTo).toBe(parent.messageId);
        expect(reply.references).toEqual([...parent.references, parent.messageId]);
        expect(reply.subject).toBe(`Re: ${root.subject}`);
        expect(reply.from).not.toBe(parent.from);
        expect(reply.to).toContain(parent.from);
      });
    }
  });

  it('labels and folders agree with the direction', () => {
    for (const m of mailbox) {
      const sent = m.from === owner.email;
      const participants = [m.from, ...m.to, ...m.cc];
      expect(m.labelIds.includes('SENT')).toBe(sent);
      expect(m.folder === 'sentitems').toBe(sent);
      expect(m.labelIds.includes('INBOX')).toBe(m.folder === 'inbox');
      expect(m.labelIds.includes('UNREAD')).toBe(!m.isRead);
      if (sent) expect(m.isRead).toBe(true);
      else expect(m.labelIds.filter((l) => l.startsWith('CATEGORY_'))).toHaveLength(1);
      if (m.direction === 'internal') expect(participants.every((a) => domainOf(a) === 'acme-robotics.com')).toBe(true);
      if (m.direction === 'outbound') expect(sent).toBe(true);
      if (m.direction === 'inbound') expect(sent).toBe(false);
      if (!sent) expect(participants).toContain(owner.email);
    }
  });

  it('mixes directions, senders and MIME shapes', () => {
    const count = (pred: (m: GeneratedMessage) => boolean): number => mailbox.filter(pred).length;
    for (const d of ['inbound', 'outbound', 'internal'] as const) expect(count((m) => m.direction === d)).toBeGreaterThan(30);
    expect(count((m) => /@(gmail\.com|outlook\.com|yahoo\.com|hotmail\.co\.uk|icloud\.com|gmx\.de|proton\.me)$/.test(m.from))).toBeGreaterThan(5);
    expect(count((m) => m.kind === 'newsletter' && m.raw.includes('List-Unsubscribe-Post: List-Unsubscribe=One-Click'))).toBeGreaterThan(20);
    expect(count((m) => m.labelIds.includes('CATEGORY_PROMOTIONS'))).toBeGreaterThan(5);
    const head = (m: GeneratedMessage): string => m.raw.toString('latin1');
    expect(count((m) => /^Content-Type: multipart\/alternative/m.test(head(m)))).toBeGreaterThan(100);
    expect(count((m) => /^Content-Type: multipart\/mixed/m.test(head(m)))).toBe(count((m) => m.hasAttachments));
    expect(count((m) => m.hasAttachments) / mailbox.length).toBeGreaterThan(0.05);
    expect(count((m) => /^Content-Type: multipart\/related/m.test(head(m)))).toBeGreaterThan(5);
    expect(count((m) => /charset=iso-8859-1/.test(head(m)))).toBeGreaterThan(0);
    expect(count((m) => /charset=windows-1252/.test(head(m)))).toBeGreaterThan(0);
    expect(count((m) => /=\?UTF-8\?[QB]\?/i.test(head(m)))).toBeGreaterThan(10);
  });

  it('writes CRLF-only lines within the RFC 5322 limit', () => {
    for (const m of mailbox) {
      const text = m.raw.toString('latin1');
      expect(text).not.toMatch(/[^\r]\n/);
      expect(text.split('\r\n').every((line) => line.length <= 998)).toBe(true);
    }
  });

  it('reads back through simpleParser with the same metadata', async () => {
    const sample = mailbox.filter((m, i) => i % 10 === 0 || m.hasAttachments || /charset=(iso-8859-1|windows-1252)/.test(m.raw.toString('latin1')));
    for (const m of sample) {
      const parsed = await simpleParser(m.raw);
      expect(parsed.subject).toBe(m.subject);
      expect(parsed.messageId).toBe(m.messageId);
      expect(parsed.date?.getTime()).toBe(m.date.getTime());
      expect(emails(parsed.from)).toEqual([m.from]);
      expect(emails(parsed.to)).toEqual(m.to);
      expect(emails(parsed.cc)).toEqual(m.cc);
      expect(parsed.inReplyTo).toBe(m.inReplyTo);
      expect([parsed.references ?? []].flat()).toEqual(m.references);
      expect(parsed.attachments.filter((a) => !a.related).length > 0).toBe(m.hasAttachments);
      expect(parsed.text).toMatch(/\S/);
      expect(parsed.text).not.toContain('\ufffd');
    }
  });

  it('uses the colleagues and customers it is given', async () => {
    const colleagues = [{ email: 'marcus.oyelaran@acme-robotics.com', name: 'Marcus Oyelaran' }];
    const customers = [{ domain: 'globex-logistics.com', people: [{ email: 'helen.park@globex-logistics.com', name: 'Helen Park' }] }];
    const known = new Set([owner.email, colleagues[0].email, customers[0].people[0].email]);
    const messages = await generateMailbox({ owner, count: 200, seed: 3, colleagues, customers });
    const people = messages.filter((m) => m.kind === 'customer' || m.kind === 'internal');
    expect(people.length).toBeGreaterThan(50);
    for (const m of people) for (const a of [m.from, ...m.to, ...m.cc]) expect(known).toContain(a);
  });

  it('rejects a nonsensical count', async () => {
    await expect(generateMailbox({ owner, count: -1 })).rejects.toThrow(RangeError);
    expect(await generateMailbox({ owner, count: 0 })).toEqual([]);
  });
});

describe('generateMessage', () => {
  const date = new Date('2025-04-01T09:30:00Z');

  it('delivers new, unread mail to the owner by default, deterministically', async () => {
    const m = await generateMessage({ owner, date, seed: 11 });
    expect(m).toMatchObject({ direction: 'inbound', to: [owner.email], folder: 'inbox', isRead: false, date });
    expect(m.labelIds).toEqual(expect.arrayContaining(['INBOX', 'UNREAD', 'CATEGORY_PERSONAL']));
    expect((await generateMessage({ owner, date, seed: 11 })).raw.equals(m.raw)).toBe(true);
    const parsed = await simpleParser(m.raw);
    expect(parsed.subject).toBe(m.subject);
    expect(emails(parsed.from)).toEqual([m.from]);
  });

  it('replies in an existing thread', async () => {
    const [first] = await generateMailbox({ owner, count: 1, seed: 5 });
    const reply = await generateMessage({ owner, date, seed: 12, from: owner, to: [{ email: first.from, name: 'Them' }], inReplyTo: first });
    expect(reply).toMatchObject({ threadKey: first.threadKey, inReplyTo: first.messageId, references: [first.messageId], subject: `Re: ${first.subject}` });
    expect(reply.labelIds).toContain('SENT');
    const parsed = await simpleParser(reply.raw);
    expect(parsed.inReplyTo).toBe(first.messageId);
  });

  it('attaches a file when asked', async () => {
    const m = await generateMessage({ owner, date, seed: 13, attachment: true });
    expect(m.hasAttachments).toBe(true);
    expect((await simpleParser(m.raw)).attachments.length).toBeGreaterThan(0);
  });
});

describe('makeIdentities', () => {
  it('gives n distinct, deterministic people on the domain, or on free-mail domains', () => {
    const team = makeIdentities(1, 30, 'acme-robotics.com');
    expect(team).toHaveLength(30);
    expect(new Set(team.map((p) => p.email)).size).toBe(30);
    expect(team.every((p) => /^[a-z.]+\d*@acme-robotics\.com$/.test(p.email) && p.name.includes(' '))).toBe(true);
    expect(makeIdentities(1, 30, 'acme-robotics.com')).toEqual(team);
    expect(makeIdentities(2, 5).every((p) => !p.email.endsWith('@acme-robotics.com'))).toBe(true);
  });
});
