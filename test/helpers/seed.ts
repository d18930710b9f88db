/**
 * Test fixtures for the read, contact and settings routes: users signed in through the test identity provider
 * (the real sign-in path), and mail seeded straight through the models inside the organisation's context.
 */
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import { Types } from 'mongoose';
import { request } from './contract';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from './idp';
import { testService } from './service';
import { indexCopies } from '../../server/src/store/activity';
import { runInOrg } from '../../server/src/db/tenant';
import { Mailbox } from '../../server/src/models/mailbox';
import { MailboxMessage, type MessageFlags } from '../../server/src/models/mailbox-message';
import { Message, type MessageDoc } from '../../server/src/models/message';
import { byInternetMessageId } from '../../server/src/models/ids';

export interface SignedIn {
  token: string;
  userId: Types.ObjectId;
  orgId: Types.ObjectId;
  email: string;
  mailboxId: Types.ObjectId;
}

/** Signs a user in (creating org and user), and gives them one connected Gmail mailbox. */
export async function signIn(app: Express, idp: TestIdp, email: string, hd: string): Promise<SignedIn> {
  const token = await idp.googleToken({ sub: `sub-${email}`, email, hd });
  const res = await request(app).post('/api/session').send({ provider: 'google', token });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
  const userId = new Types.ObjectId(String(res.body.user.id));
  const orgId = new Types.ObjectId(String(res.body.org.id));
  const mailbox = await runInOrg(orgId, () => Mailbox.create({ userId, provider: 'google', address: email }));
  return { token: res.body.token, userId, orgId, email, mailboxId: mailbox._id as Types.ObjectId };
}

export interface Holder {
  who: SignedIn;
  labels?: string[];
  state?: Partial<MessageFlags>;
}

export interface SeedMessage {
  holders: Holder[];
  subject?: string;
  from?: string;
  to?: string[];
  cc?: string[];
  date?: Date;
  text?: string;
  attachments?: { id: string; filename: string; mimeType: string; size: number }[];
  threadId?: Types.ObjectId | null;
  contactIds?: Types.ObjectId[];
  companyIds?: Types.ObjectId[];
  direction?: MessageDoc['direction'];
  /** The Message-ID, without angle brackets (a random one when absent). */
  internetMessageId?: string;
}

/** One message with a copy in each holder's mailbox, as ingest would store it. */
export async function seedMessage(m: SeedMessage): Promise<MessageDoc> {
  const orgId = m.holders[0].who.orgId;
  const from = m.from ?? 'pat@initech.com';
  const to = m.to ?? [m.holders[0].who.email];
  const cc = m.cc ?? [];
  const bare = m.internetMessageId ?? `${randomBytes(6).toString('hex')}@test`;
  const mid = `<${bare}>`;
  return runInOrg(orgId, async () => {
    const doc = await Message.create({
      ...byInternetMessageId(orgId, bare),
      internetMessageId: mid,
      threadId: m.threadId ?? null,
      subject: m.subject ?? 'Quarterly numbers',
      from: { email: from, name: 'Pat' },
      to: to.map((email) => ({ email, name: '' })),
      cc: cc.map((email) => ({ email, name: '' })),
      date: m.date ?? new Date(),
      direction: m.direction ?? 'inbound',
      snippet: (m.text ?? 'Body text').slice(0, 40),
      text: m.text ?? 'Body text',
      html: `<p>${m.text ?? 'Body text'}</p>`,
      hasAttachments: (m.attachments ?? []).length > 0,
      attachments: m.attachments ?? [],
      participants: [...new Set([from, ...to, ...cc])],
      contactIds: m.contactIds ?? [],
      companyIds: m.companyIds ?? [],
      syncedBy: [...new Set(m.holders.map((h) => String(h.who.userId)))].map((id) => new Types.ObjectId(id)),
    });
    for (const h of m.holders) {
      const copy = await MailboxMessage.create({
        mailboxId: h.who.mailboxId,
        userId: h.who.userId,
        messageId: doc._id,
        providerMessageId: `p-${randomBytes(6).toString('hex')}`,
        labels: h.labels ?? ['INBOX'],
        state: { read: false, starred: false, archived: false, deleted: false, ...h.state },
      });
      // As the ingest does when it stores a copy: the read model learns of it.
      await indexCopies([{ copyId: copy._id, messageId: doc._id, date: doc.date, participants: doc.participants, threadId: doc.threadId }]);
    }
    return doc.toObject() as MessageDoc;
  });
}

/** Ids that differ from a real one in the last byte: what someone guessing ids would try. */
export function neighbours(id: Types.ObjectId | string): string[] {
  const hex = String(id);
  const last = parseInt(hex.slice(-2), 16);
  return [(last + 1) % 256, (last + 255) % 256].map((b) => hex.slice(0, -2) + b.toString(16).padStart(2, '0'));
}

export const bearer = (s: SignedIn) => ({ Authorization: `Bearer ${s.token}` });

/** Requests as a signed-in user. */
export function apiAs(app: () => Express, who: SignedIn) {
  return {
    get: (p: string) => request(app()).get(p).set(bearer(who)),
    post: (p: string, body: unknown) =>
      request(app())
        .post(p)
        .set(bearer(who))
        .send(body as object),
    patch: (p: string, body: unknown) =>
      request(app())
        .patch(p)
        .set(bearer(who))
        .send(body as object),
    del: (p: string) => request(app()).delete(p).set(bearer(who)),
  };
}

/**
 * The usual set-up of an HTTP db test, registered as its beforeAll/afterAll: a test identity provider, the service
 * trusting it, and users signed in (each in the organisation of their domain) once the suite starts.
 */
export function useSignedInService<K extends string>(people: Record<K, [email: string, domain: string]>) {
  let idp: TestIdp;
  let svc: ReturnType<typeof testService>;
  const users = {} as Record<K, SignedIn>;
  beforeAll(async () => {
    idp = await startTestIdp();
    svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
    for (const [name, [email, domain]] of Object.entries(people) as [K, [string, string]][]) users[name] = await signIn(svc.app, idp, email, domain);
  });
  afterAll(() => idp.close());
  return { users, app: () => svc.app, api: (who: SignedIn) => apiAs(() => svc.app, who) };
}
