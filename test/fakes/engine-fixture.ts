/** Organisations, users and mailboxes for engine tests, with sealed tokens and a counting OAuth client. */
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import MailComposer from 'nodemailer/lib/mail-composer';
import { createVault, type Vault } from '../../server/src/auth/vault';
import { runInOrg } from '../../server/src/db/tenant';
import { Mailbox, Org, User } from '../../server/src/models';
import type { OrgDoc } from '../../server/src/models/org';
import type { OAuthTokens } from '../../server/src/sync/providers/port';
import type { RemoteMessage } from '../../server/src/sync/providers/port';

export const vault: Vault = createVault({ currentKey: randomBytes(32) });

export class CountingOAuth {
  refreshCalls = 0;
  next: (() => Promise<OAuthTokens>) | null = null;
  async refresh(): Promise<OAuthTokens> {
    this.refreshCalls += 1;
    if (this.next) return this.next();
    return { accessToken: `at-${this.refreshCalls}`, expiresAt: new Date(Date.now() + 3600_000) };
  }
}

export interface Fixture {
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  mailboxId: Types.ObjectId;
  address: string;
}

export async function createOrg(opts: { domains?: string[]; sync?: Partial<OrgDoc['settings']['sync']> } = {}): Promise<Types.ObjectId> {
  const org = await Org.create({
    key: `test:${randomBytes(4).toString('hex')}`,
    name: 'Acme',
    domains: opts.domains ?? ['acme.test'],
    settings: { sync: opts.sync ?? {} },
  });
  return org._id;
}

export async function createMailbox(
  orgId: Types.ObjectId,
  address: string,
  opts: { accessExpiresAt?: Date; userSettings?: Record<string, unknown> } = {},
): Promise<Fixture> {
  return runInOrg(orgId, async () => {
    const user = await User.create({ email: address, role: 'member', identityKey: `google:${address}`, settings: opts.userSettings ?? {} });
    const mailboxId = new Types.ObjectId();
    const ctx = (field: string) => ({ orgId: String(orgId), mailboxId: String(mailboxId), field });
    await Mailbox.create({
      _id: mailboxId,
      userId: user._id,
      provider: 'google',
      address,
      state: 'backfilling',
      stage: 'backfill',
      nextRunAt: new Date(0),
      tokens: {
        access: vault.seal('at-0', ctx('access')),
        refresh: vault.seal('rt-0', ctx('refresh')),
        accessExpiresAt: opts.accessExpiresAt ?? new Date(Date.now() + 3600_000),
      },
    });
    return { orgId, userId: user._id, mailboxId, address };
  });
}

export interface MailSpec {
  from: string;
  to: string[];
  cc?: string[];
  subject: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  date?: Date;
  text?: string;
  html?: string;
  headers?: Record<string, string>;
}

/** RFC 5322 bytes from nodemailer's composer. */
export function rawMail(spec: MailSpec): Promise<Buffer> {
  return new MailComposer({
    from: spec.from,
    to: spec.to,
    cc: spec.cc,
    subject: spec.subject,
    text: spec.text ?? `Hello from ${spec.from}`,
    html: spec.html,
    messageId: spec.messageId,
    inReplyTo: spec.inReplyTo,
    references: spec.references,
    date: spec.date ?? new Date(),
    headers: spec.headers,
  })
    .compile()
    .build();
}

let counter = 0;
export async function remoteOf(spec: MailSpec, extra: Partial<RemoteMessage> = {}): Promise<RemoteMessage> {
  counter += 1;
  return {
    providerMessageId: `p${counter}`,
    providerThreadId: `t${counter}`,
    labels: ['INBOX'],
    folderId: null,
    flags: { read: false, starred: false, archived: false, deleted: false },
    receivedAt: spec.date ?? new Date(),
    content: { kind: 'raw', raw: await rawMail(spec) },
    ...extra,
  };
}
