/**
 * Sending from the CRM and state write-through, against the Gmail and the Graph emulators (https, test CA)
 * through the real adapters: POST /api/messages → outbox → provider Sent folder, idempotency, replies in the
 * provider's thread, a crash between the provider accepting and us recording, PATCH and DELETE landing in the
 * mailbox. The app is built in-process with the write routes; sends run when the test runs the outbox.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mongoose, { Types } from 'mongoose';
import MailComposer from 'nodemailer/lib/mail-composer';
import request from 'supertest';
import { createApp } from '../../server/src/app';
import { createIdentityVerifier } from '../../server/src/auth/identity';
import { runInOrg } from '../../server/src/db/tenant';
import { addressSources, allWith, indexCopies, newestWith, threadSource } from '../../server/src/store/activity';
import { messageWriteRoutes } from '../../server/src/http/message-write-routes';
import { createLogger } from '../../server/src/logger';
import { Mailbox, MailboxMessage, Message, Org, Outbox, Thread, User } from '../../server/src/models';
import { byInternetMessageId } from '../../server/src/models/ids';
import { normaliseMessageId } from '../../server/src/mail/message-id';
import { runOutboxOnce, processDueOutbox } from '../../server/src/sync/outbound/outbox';
import { capabilitiesOf } from '../../server/src/sync/providers/capabilities';
import type { AccessTokenSource, OAuthClient, ProviderAdapter, ProviderName } from '../../server/src/sync/providers/port';
import type { MailboxAdapters, MailboxForAdapter } from '../../server/src/sync/providers/runtime';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createNodeFetch } from '../emulators/common/fetch';
import { useTestDatabase } from '../helpers/db';
import { testService } from '../helpers/service';

useTestDatabase();

const PEER = 'bob@client-corp.test';
const originalFetch = globalThis.fetch;
let emu: RunningEmulators;
let svc: ReturnType<typeof testService>;
let app: ReturnType<typeof createApp>;
let adapters: MailboxAdapters;
const orgId = new Types.ObjectId();
const otherOrgId = new Types.ObjectId();

interface Actor {
  userId: Types.ObjectId;
  mailboxId: Types.ObjectId;
  address: string;
  session: string;
}

/** The OAuth consent as a browser would do it, against the emulator: returns the token response. */
async function grant(oauth: OAuthClient, address: string) {
  const verifier = randomUUID() + randomUUID();
  const redirectUri = 'http://127.0.0.1:3999/oauth/callback';
  const url = oauth.authorizationUrl({ state: 's', codeChallenge: createHash('sha256').update(verifier).digest('base64url'), redirectUri, loginHint: address });
  const answer = await globalThis.fetch(url, { redirect: 'manual' });
  const code = new URL(answer.headers.get('location') ?? '').searchParams.get('code') ?? '';
  return oauth.exchangeCode({ code, codeVerifier: verifier, redirectUri });
}

/** A user with a connected mailbox whose tokens are sealed in the vault, as the connect flow stores them. */
async function connect(inOrg: Types.ObjectId, provider: ProviderName, address: string): Promise<Actor> {
  const oauth = svc.providers.oauth[provider]!;
  const tokens = await grant(oauth, address);
  return runInOrg(inOrg, async () => {
    const user = await User.create({ email: address, name: 'Rita Rep', role: 'member', identityKey: `${provider}:${address}` });
    const mailboxId = new Types.ObjectId();
    const seal = (field: string, value: string) => svc.vault.seal(value, { orgId: inOrg.toHexString(), mailboxId: mailboxId.toHexString(), field });
    await Mailbox.create({ _id: mailboxId, userId: user._id, provider, address, state: 'live' });
    await Mailbox.updateOne({ _id: mailboxId }, { $set: { 'tokens.access': seal('access', tokens.accessToken), 'tokens.accessExpiresAt': tokens.expiresAt } });
    const session = svc.sessions.sign({ userId: String(user._id), orgId: inOrg.toHexString(), role: 'member' }).token;
    return { userId: user._id, mailboxId, address, session };
  });
}

/**
 * MailboxAdapters from the provider registry with a token source that opens the sealed access token (the
 * engine's refreshing source, sync/engine/tokens.ts, did not exist when this was written; tokens here outlive the test).
 */
function vaultAdapters(): MailboxAdapters {
  const cache = new Map<string, ProviderAdapter>();
  return {
    forMailbox(m: MailboxForAdapter) {
      const key = String(m._id);
      const tokens: AccessTokenSource = {
        accessToken: async () => {
          const stored = await runInOrg(m.orgId, () =>
            Mailbox.findById(m._id).select({ tokens: 1 }).lean<{ tokens: { access: Parameters<typeof svc.vault.open>[0] } }>(),
          );
          return svc.vault.open(stored!.tokens.access, { orgId: String(m.orgId), mailboxId: key, field: 'access' });
        },
        invalidate: () => undefined,
      };
      if (!cache.has(key)) cache.set(key, svc.providers.adapterFor({ id: key, orgId: String(m.orgId), provider: m.provider, address: m.address }, tokens));
      return cache.get(key)!;
    },
  };
}

/**
 * Wraps the adapters so that a send crashes: `throw` / `hang` after the provider accepted it (an error, or the
 * process died: nothing after it ever runs), `beforeSend` after a two-step sender's draft was recorded through
 * the `prepared` hook but before the draft was sent.
 */
function crashing(at: 'throw' | 'hang' | 'beforeSend'): MailboxAdapters {
  return {
    forMailbox(m) {
      const real = adapters.forMailbox(m);
      const resume = real.writer.resumePrepared?.bind(real.writer);
      return {
        ...real,
        writer: {
          findByInternetMessageId: (id) => real.writer.findByInternetMessageId(id),
          modify: (id, change) => real.writer.modify(id, change),
          trash: (id) => real.writer.trash(id),
          ...(resume ? { resumePrepared: resume } : {}),
          async send(message, hooks) {
            if (at === 'beforeSend') {
              return real.writer.send(message, {
                async prepared(draft) {
                  await hooks?.prepared?.(draft);
                  throw new Error('simulated crash after the draft was recorded, before it was sent');
                },
              });
            }
            await real.writer.send(message, hooks);
            if (at === 'throw') throw new Error('simulated crash after the provider accepted');
            return new Promise(() => undefined); // the process died: nothing after this ever runs
          },
        },
      };
    },
  };
}

const post = (actor: Actor, body: unknown, key: string | null = randomUUID()) => {
  const req = request(app).post('/api/messages').set('Authorization', `Bearer ${actor.session}`);
  return (key === null ? req : req.set('Idempotency-Key', key)).send(body as object);
};
const patch = (actor: Actor, id: string, body: unknown) =>
  request(app)
    .patch(`/api/messages/${id}`)
    .set('Authorization', `Bearer ${actor.session}`)
    .send(body as object);
const del = (actor: Actor, id: string) => request(app).delete(`/api/messages/${id}`).set('Authorization', `Bearer ${actor.session}`);
const inOrg = <T>(fn: () => T | PromiseLike<T>) => runInOrg(orgId, fn);
const entryOf = (messageId: string) =>
  inOrg(() =>
    Outbox.findOne({ messageId: new Types.ObjectId(messageId) }).lean<
      Record<string, unknown> & {
        _id: Types.ObjectId;
        status: string;
        providerMessageId: string | null;
        providerThreadId: string | null;
        internetMessageId: string;
      }
    >(),
  );
const LATER = () => new Date(Date.now() + 24 * 3600_000);

beforeAll(async () => {
  emu = await startEmulators({ https: true, quiet: true });
  // In-process clients must trust the test CA; NODE_EXTRA_CA_CERTS only works from process start.
  globalThis.fetch = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });
  svc = testService(emu.env);
  adapters = vaultAdapters();
  app = createApp({
    config: svc.config,
    log: createLogger('silent'),
    metrics: svc.metrics,
    identity: createIdentityVerifier(svc.config),
    sessions: svc.sessions,
    databaseAnswers: async () => true,
    apiRouters: [messageWriteRoutes({ adapters })],
  });
  await Org.create({ _id: orgId, key: 'google:acme-robotics.com', name: 'Acme', domains: ['acme-robotics.com'] });
  await Org.create({ _id: otherOrgId, key: 'google:other.test', name: 'Other', domains: ['other.test'] });
  emu.google.control.deliver(PEER, await new MailComposer({ from: PEER, to: PEER, subject: 'hello me', text: '.' }).compile().build());
  emu.microsoft.control.addUser(PEER);
}, 120_000);

afterAll(async () => {
  globalThis.fetch = originalFetch;
  await emu?.stop();
});

/** What each emulator shows of the mailbox, in the same words. */
interface ProviderView {
  sendCount(): number;
  /** The provider puts a Message-ID of its own on what this mailbox sends, whatever the client set. */
  assignOwnMessageIds(on: boolean): void;
  sentCopy(providerMessageId: string): { messageIdHeader: string; threadId: string } | undefined;
  deliverInbound(raw: Buffer): Promise<{ id: string; threadId: string }>;
  flags(id: string): { read: boolean; starred: boolean; archived: boolean; trashed: boolean; labels: string[] };
  userLabel(name: string): string;
}

const views: Record<ProviderName, (address: string) => ProviderView> = {
  google: (address) => {
    const c = emu.google.control;
    const find = (id: string) => c.messages(address).find((m) => m.id === id)!;
    return {
      sendCount: () => c.sends().filter((s) => s.mailbox === address).length,
      assignOwnMessageIds: (on) => c.replaceMessageIdsOnSend(address, on),
      sentCopy: (id) => {
        const m = c.messages(address).find((x) => x.id === id && x.labelIds.includes('SENT'));
        return m && { messageIdHeader: m.messageIdHeader, threadId: m.threadId };
      },
      deliverInbound: async (raw) => c.deliver(address, raw),
      flags: (id) => {
        const l = find(id).labelIds;
        // Gmail holds label ids; people (and the CRM) see their names.
        const names = new Map(c.labels(address).map((x) => [x.id, x.name]));
        return {
          read: !l.includes('UNREAD'),
          starred: l.includes('STARRED'),
          archived: !l.includes('INBOX'),
          trashed: l.includes('TRASH'),
          labels: l.map((x) => names.get(x) ?? x),
        };
      },
      userLabel: (name) => {
        c.createLabel(address, name); // one the user made in Gmail; the CRM names it as Gmail shows it
        return name;
      },
    };
  },
  microsoft: (address) => {
    const c = emu.microsoft.control;
    const find = (id: string) => c.messages(address).find((m) => m.immutableId === id)!;
    return {
      sendCount: () => c.actions('send', address).length,
      assignOwnMessageIds: (on) => c.assignOwnMessageIds(address, on),
      sentCopy: (id) => {
        const m = c.messages(address, 'sentitems').find((x) => x.immutableId === id);
        return m && { messageIdHeader: m.internetMessageId, threadId: m.conversationId };
      },
      deliverInbound: async (raw) => {
        const id = await c.deliver(address, raw);
        return { id, threadId: find(id).conversationId };
      },
      flags: (id) => {
        const m = find(id);
        return {
          read: m.isRead,
          starred: m.flagStatus === 'flagged',
          archived: m.folder === 'archive',
          trashed: m.folder === 'deleteditems',
          labels: m.categories,
        };
      },
      userLabel: (name) => name, // Graph categories are named, not created
    };
  },
};

/** Stores an inbound message and the mailbox's copy as the ingest would (one message, one copy). */
async function storeAsIngested(actor: Actor, provider: { id: string; threadId: string }, messageIdHeader: string, subject: string) {
  return inOrg(async () => {
    const thread = await Thread.create({ subject, messageKeys: [messageIdHeader] });
    const message = await Message.create({
      ...byInternetMessageId(orgId, messageIdHeader),
      internetMessageId: messageIdHeader,
      subject,
      from: { email: PEER, name: 'Bob' },
      to: [{ email: actor.address, name: '' }],
      date: new Date(),
      direction: 'inbound',
      threadId: thread._id,
      syncedBy: [actor.userId],
      participants: [PEER, actor.address],
    });
    const copy = await MailboxMessage.create({
      mailboxId: actor.mailboxId,
      userId: actor.userId,
      messageId: message._id,
      providerMessageId: provider.id,
      providerThreadId: provider.threadId,
      labels: ['INBOX', 'UNREAD'],
      state: { read: false, starred: false, archived: false, deleted: false },
    });
    await indexCopies([{ copyId: copy._id, messageId: message._id, date: message.date, participants: message.participants, threadId: thread._id }]);
    return { messageId: String(message._id), threadId: thread._id };
  });
}

describe.each([
  ['google', 'rita@acme-robotics.com'],
  ['microsoft', 'rita.ms@acme-robotics.com'],
] as const)('%s mailbox', (provider, address) => {
  let rep: Actor;
  let view: ProviderView;
  const body = (extra: Record<string, unknown> = {}) => ({
    mailboxId: String(rep.mailboxId),
    to: [{ email: PEER, name: 'Bob' }],
    subject: 'Proposal',
    text: 'Please find our proposal.',
    ...extra,
  });

  beforeAll(async () => {
    rep = await connect(orgId, provider, address);
    view = views[provider](address);
  });

  it('sends a new message: in the Sent folder, one CRM message recorded before and after', async () => {
    const before = view.sendCount();
    const res = await post(rep, body({ html: '<p>Please find <b>our</b> proposal.</p>', cc: [{ email: 'carol@client-corp.test' }] }));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f]{24}$/), status: 'queued' });

    // Recorded at once, before any provider call.
    const queued = await inOrg(() => Message.findById(res.body.id).lean<Record<string, unknown>>());
    const entry = (await entryOf(res.body.id))!;
    expect(entry.internetMessageId).toMatch(/^<[0-9a-f-]{36}@acme-robotics\.com>$/);
    expect(queued).toMatchObject({
      dedupKey: `mid:${entry.internetMessageId.slice(1, -1)}`,
      direction: 'outbound',
      subject: 'Proposal',
      syncedBy: [rep.userId],
      participants: expect.arrayContaining([address, PEER, 'carol@client-corp.test']),
    });
    expect(view.sendCount()).toBe(before);

    expect(await processDueOutbox(adapters)).toMatchObject({ sent: 1, failed: 0, retry: 0 });
    expect(view.sendCount()).toBe(before + 1);
    const sent = (await entryOf(res.body.id))!;
    expect(sent.status).toBe('sent');
    const copy = view.sentCopy(sent.providerMessageId!);
    expect(copy).toBeDefined();
    // The Message-ID that went out is ours, for both providers (Graph: set on the draft while it is one).
    expect(copy!.messageIdHeader).toBe(entry.internetMessageId);
    const copies = await inOrg(() =>
      MailboxMessage.find({ messageId: new Types.ObjectId(res.body.id) }).lean<{ providerMessageId: string; mailboxId: Types.ObjectId }[]>(),
    );
    expect(copies).toEqual([expect.objectContaining({ providerMessageId: sent.providerMessageId, mailboxId: rep.mailboxId })]);
    expect(await inOrg(() => Message.countDocuments({ subject: 'Proposal', syncedBy: rep.userId }))).toBe(1);
    expect(await processDueOutbox(adapters)).toMatchObject({ sent: 0, recovered: 0 });
    expect(view.sendCount()).toBe(before + 1);
  });

  it('sends once for the same Idempotency-Key, and refuses the key with another body', async () => {
    const before = view.sendCount();
    const key = `key-${randomUUID()}`;
    const first = await post(rep, body({ subject: 'Once' }), key);
    const second = await post(rep, body({ subject: 'Once' }), key);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    await processDueOutbox(adapters);
    const third = await post(rep, body({ subject: 'Once' }), key);
    expect(third.body).toEqual(first.body);
    await processDueOutbox(adapters);
    expect(view.sendCount()).toBe(before + 1);
    expect((await post(rep, body({ subject: 'Twice?' }), key)).status).toBe(409);
    expect(await inOrg(() => Outbox.countDocuments({ idempotencyKey: key }))).toBe(1);
    expect(await inOrg(() => Message.countDocuments({ subject: 'Once', syncedBy: rep.userId }))).toBe(1);
  });

  it('sends once when several workers sweep the same entry at the same moment', async () => {
    const before = view.sendCount();
    const res = await post(rep, body({ subject: 'Racing sweeps' }), `key-${randomUUID()}`);
    const entry = (await entryOf(res.body.id))!;
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => inOrg(() => runOutboxOnce(entry._id, adapters)).catch(() => 'error')));
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(1);
    expect(view.sendCount()).toBe(before + 1);
  });

  it('joins a reply to the original thread at the provider and in the CRM', async () => {
    const mid = `pricing-${randomUUID()}@client-corp.test`;
    const raw = await new MailComposer({ from: `Bob <${PEER}>`, to: address, subject: 'Pricing', text: 'What does it cost?', messageId: `<${mid}>` })
      .compile()
      .build();
    const inbound = await view.deliverInbound(raw);
    const original = await storeAsIngested(rep, inbound, mid, 'Pricing');

    const res = await post(rep, body({ subject: 'ignored for replies', text: 'It costs little.', replyToMessageId: original.messageId }));
    expect(res.status).toBe(202);
    // Queued, not sent: already in its thread and on its people's timelines (the read model learns of it when recorded).
    const ids = (docs: { _id: Types.ObjectId }[]) => docs.map((m) => String(m._id));
    const load = (found: Types.ObjectId[]) =>
      Message.find({ _id: mongoose.trusted({ $in: found }) })
        .select({ _id: 1 })
        .lean<{ _id: Types.ObjectId }[]>();
    expect(ids(await inOrg(() => allWith(threadSource(original.threadId), load, () => true)))).toEqual([original.messageId, res.body.id]);
    expect(ids(await inOrg(() => newestWith(addressSources([PEER]), 1, load, () => true)))).toEqual([res.body.id]);
    expect(await processDueOutbox(adapters)).toMatchObject({ sent: 1 });
    const sent = (await entryOf(res.body.id))!;
    expect(sent.providerThreadId).toBe(inbound.threadId);
    expect(view.sentCopy(sent.providerMessageId!)?.threadId).toBe(inbound.threadId);
    const reply = await inOrg(() =>
      Message.findById(res.body.id).lean<{ subject: string; threadId: Types.ObjectId; inReplyTo: string; references: string[] }>(),
    );
    expect(reply).toMatchObject({ subject: 'Re: Pricing', threadId: original.threadId, inReplyTo: mid, references: [mid] });
    const thread = await inOrg(() => Thread.findById(original.threadId).lean<{ messageKeys: string[]; providerThreadKeys: string[] }>());
    expect(thread?.providerThreadKeys).toContain(`${rep.mailboxId.toHexString()}:${inbound.threadId}`);
    if (provider === 'google') {
      const rawSent = emu.google.control.sends().at(-1)!.raw.toString('latin1');
      expect(rawSent).toMatch(new RegExp(`^In-Reply-To:\\s+<${mid}>`, 'm')); // folded or not
      expect(rawSent).toMatch(/^Subject: Re: Pricing/m);
    } else {
      expect(emu.microsoft.control.actions('send', address).at(-1)).toMatchObject({ detail: { inReplyTo: `<${mid}>` } });
    }
  });

  it('a reply goes out under our Message-ID, and a provider that puts its own on it is followed: one message, threaded, found by its id', async () => {
    const mid = `terms-${randomUUID()}@client-corp.test`;
    const raw = await new MailComposer({ from: `Bob <${PEER}>`, to: address, subject: 'Terms', text: 'Terms?', messageId: `<${mid}>` }).compile().build();
    const inbound = await view.deliverInbound(raw);
    const original = await storeAsIngested(rep, inbound, mid, 'Terms');

    // Ours kept (Graph: createReply's draft patched with it while it is a draft).
    const kept = await post(rep, body({ text: 'Net 30.', replyToMessageId: original.messageId }));
    expect(await processDueOutbox(adapters)).toMatchObject({ sent: 1 });
    const keptEntry = (await entryOf(kept.body.id))!;
    expect(view.sentCopy(keptEntry.providerMessageId!)?.messageIdHeader).toBe(keptEntry.internetMessageId);

    // The provider's own instead: the CRM message adopts it, its thread knows it, nothing is duplicated.
    view.assignOwnMessageIds(true);
    try {
      const key45 = `key-${randomUUID()}`;
      const res = await post(rep, body({ text: 'Net 45 then.', replyToMessageId: original.messageId }), key45);
      const composed = (await entryOf(res.body.id))!.internetMessageId;
      expect(await processDueOutbox(adapters)).toMatchObject({ sent: 1 });
      const entry = (await entryOf(res.body.id))!;
      const wentOut = view.sentCopy(entry.providerMessageId!)!.messageIdHeader;
      expect(wentOut).not.toBe(composed);
      expect(entry.internetMessageId).toBe(wentOut);
      const key = normaliseMessageId(wentOut)!;
      const message = await inOrg(() => Message.findById(res.body.id).lean<{ internetMessageId: string; dedupKey: string; threadId: Types.ObjectId }>());
      expect(message).toMatchObject({ internetMessageId: key, dedupKey: `mid:${key}`, threadId: original.threadId });
      expect(await inOrg(() => Message.countDocuments({ dedupKey: mongoose.trusted({ $in: [`mid:${key}`, `mid:${normaliseMessageId(composed)}`] }) }))).toBe(1);
      const thread = await inOrg(() => Thread.findById(original.threadId).lean<{ messageKeys: string[] }>());
      expect(thread?.messageKeys).toContain(key);
      // Replaying the request records nothing new under the composed id.
      expect((await post(rep, body({ text: 'Net 45 then.', replyToMessageId: original.messageId }), key45)).body).toEqual(res.body);
      expect(await inOrg(() => Message.countDocuments({ threadId: original.threadId, subject: 'Re: Terms' }))).toBe(2);
    } finally {
      view.assignOwnMessageIds(false);
    }
  });

  // Gmail keeps our Message-ID, so a retry finds the sent message by it. Graph (like its emulator) may assign its
  // own internetMessageId to a draft created from JSON — Microsoft's documentation does not say a client-set one is
  // kept — so there the retry resumes the draft whose immutable id was recorded before sending (docs/SYNC.md "Sending
  // from the CRM").
  it('sends exactly once when the worker dies between the provider accepting and us recording', async () => {
    const before = view.sendCount();
    const res = await post(rep, body({ subject: 'Crash test' }));
    const entry = (await entryOf(res.body.id))!;
    expect(await inOrg(() => runOutboxOnce(entry._id, crashing('throw')))).toBe('retry');
    expect(view.sendCount()).toBe(before + 1);
    expect((await entryOf(res.body.id))!.status).toBe('sending');
    // Backoff persisted: not due now.
    expect(await inOrg(() => runOutboxOnce(entry._id, adapters))).toBe('skipped');
    expect(await processDueOutbox(adapters, { now: LATER() })).toMatchObject({ recovered: 1, sent: 0 });
    expect(view.sendCount()).toBe(before + 1);
    const done = (await entryOf(res.body.id))!;
    expect(done.status).toBe('sent');
    expect(view.sentCopy(done.providerMessageId!)).toBeDefined();
    if (provider === 'microsoft') expect(done.providerDraftId).toBe(done.providerMessageId); // resumed by its immutable id
  });

  it('a killed worker keeps its lease until it expires, then the next one recovers without sending', async () => {
    const before = view.sendCount();
    const res = await post(rep, body({ subject: 'Kill test' }));
    const entry = (await entryOf(res.body.id))!;
    void inOrg(() => runOutboxOnce(entry._id, crashing('hang')));
    for (let i = 0; i < 100 && view.sendCount() === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(view.sendCount()).toBe(before + 1);
    expect(await inOrg(() => runOutboxOnce(entry._id, adapters))).toBe('skipped'); // its lease is still held
    expect(await inOrg(() => runOutboxOnce(entry._id, adapters, { now: new Date(Date.now() + 3 * 60_000) }))).toBe('recovered');
    expect(view.sendCount()).toBe(before + 1);
    expect((await entryOf(res.body.id))!.status).toBe('sent');
  });

  // Only a two-step sender (Graph) has a window between a recorded draft and its send; Gmail sends in one call.
  const twoStep = capabilitiesOf(provider).twoStepSend ? it : it.skip;

  twoStep('a crash between recording the draft and sending it: the retry sends that draft, once', async () => {
    const before = view.sendCount();
    const res = await post(rep, body({ subject: 'Draft crash test' }));
    const entry = (await entryOf(res.body.id))!;
    expect(await inOrg(() => runOutboxOnce(entry._id, crashing('beforeSend')))).toBe('retry');
    expect(view.sendCount()).toBe(before);
    const pending = (await entryOf(res.body.id))!;
    expect(pending).toMatchObject({ status: 'sending', providerDraftId: expect.any(String) });
    const draft = emu.microsoft.control.messages(address, 'drafts').find((m) => m.immutableId === pending.providerDraftId);
    expect(draft).toMatchObject({ isDraft: true, subject: 'Draft crash test' });

    expect(await processDueOutbox(adapters, { now: LATER() })).toMatchObject({ recovered: 1, sent: 0, failed: 0 });
    expect(view.sendCount()).toBe(before + 1);
    const done = (await entryOf(res.body.id))!;
    expect(done).toMatchObject({ status: 'sent', providerMessageId: pending.providerDraftId });
    expect(view.sentCopy(done.providerMessageId!)).toBeDefined();
    expect(emu.microsoft.control.messages(address, 'drafts').some((m) => m.subject === 'Draft crash test')).toBe(false);
    // Nothing left to do: a further sweep sends nothing.
    expect(await processDueOutbox(adapters, { now: LATER() })).toMatchObject({ recovered: 0, sent: 0 });
    expect(view.sendCount()).toBe(before + 1);
  });

  twoStep('a recorded draft the user deleted before it was sent: failed with the reason, not sent blind', async () => {
    const before = view.sendCount();
    const res = await post(rep, body({ subject: 'Deleted draft test' }));
    const entry = (await entryOf(res.body.id))!;
    expect(await inOrg(() => runOutboxOnce(entry._id, crashing('beforeSend')))).toBe('retry');
    const pending = (await entryOf(res.body.id))!;
    emu.microsoft.control.trash(address, pending.providerDraftId as string); // Delete in Outlook: to Deleted Items

    expect(await processDueOutbox(adapters, { now: LATER() })).toMatchObject({ failed: 1, recovered: 0, sent: 0 });
    expect(view.sendCount()).toBe(before);
    const failed = (await entryOf(res.body.id))!;
    expect(failed).toMatchObject({
      status: 'failed',
      lastError: { code: 'draft_deleted', message: expect.stringMatching(/deleted from the mailbox before it was sent/) },
    });
  });

  describe('state write-through', () => {
    let target: { messageId: string; providerId: string };
    beforeAll(async () => {
      const mid = `state-${randomUUID()}@client-corp.test`;
      const raw = await new MailComposer({ from: PEER, to: address, subject: 'State', text: 'x', messageId: `<${mid}>` }).compile().build();
      const inbound = await view.deliverInbound(raw);
      target = { messageId: (await storeAsIngested(rep, inbound, mid, 'State')).messageId, providerId: inbound.id };
    });
    const copy = () =>
      inOrg(() =>
        MailboxMessage.findOne({ messageId: new Types.ObjectId(target.messageId) }).lean<{
          state: Record<string, boolean>;
          stateChangedAt: Record<string, Date>;
          pending: { field: string; value: unknown }[];
          labels: string[];
        }>(),
      );

    it('PATCH read, starred, archived lands in the mailbox, with pending entries for the echo', async () => {
      const res = await patch(rep, target.messageId, { read: true, starred: true, archived: true });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: target.messageId, state: { read: true, starred: true, archived: true, deleted: false } });
      expect(view.flags(target.providerId)).toMatchObject({ read: true, starred: true, archived: true, trashed: false });
      const c = (await copy())!;
      expect(c.pending).toEqual(
        expect.arrayContaining([
          { field: 'read', value: true, at: expect.any(Date) },
          expect.objectContaining({ field: 'starred' }),
          expect.objectContaining({ field: 'archived' }),
        ]),
      );
      expect(c.stateChangedAt.read).toBeInstanceOf(Date);
      // A repeat changes nothing and adds no pending entry no echo would ever clear.
      expect((await patch(rep, target.messageId, { read: true })).status).toBe(200);
      expect((await copy())!.pending).toHaveLength(c.pending.length);
      expect((await patch(rep, target.messageId, { archived: false, starred: false })).body.state).toMatchObject({ starred: false, archived: false });
      expect(view.flags(target.providerId)).toMatchObject({ starred: false, archived: false });
    });

    it('adds and removes labels (Gmail user labels, Graph categories)', async () => {
      const customer = view.userLabel('Customer');
      const deal = view.userLabel('Deal');
      const added = await patch(rep, target.messageId, { labels: { add: [customer, deal] } });
      expect(added.status).toBe(200);
      expect(added.body.labels).toEqual(expect.arrayContaining([customer, deal]));
      expect(view.flags(target.providerId).labels).toEqual(expect.arrayContaining([customer, deal]));
      const removed = await patch(rep, target.messageId, { labels: { remove: [customer] } });
      expect(removed.body.labels).not.toContain(customer);
      expect(view.flags(target.providerId).labels).not.toContain(customer);
      expect(view.flags(target.providerId).labels).toContain(deal);
      // Gmail keeps state as system labels, changed through the flags; an Outlook category may have any name.
      const important = await patch(rep, target.messageId, { labels: { add: ['Important'] } });
      if (provider === 'google') {
        expect(important.status).toBe(400);
        expect(important.body.error.message).toMatch(/"Important" is a Google system label/);
        expect((await patch(rep, target.messageId, { labels: { add: ['STARRED'] } })).status).toBe(400);
      } else {
        expect(important.status).toBe(200);
        expect(view.flags(target.providerId).labels).toContain('Important');
      }
    });

    it('rolls the change back with a clear error when the provider fails', async () => {
      const control = provider === 'google' ? emu.google.control : emu.microsoft.control;
      control.setFaults({ errorRate: 1, seed: 1 });
      try {
        const res = await patch(rep, target.messageId, { starred: true });
        expect(res.status).toBeGreaterThanOrEqual(502);
        expect(res.body.error.code).toBe('provider_error');
      } finally {
        control.clearFaults();
      }
      const c = (await copy())!;
      expect(c.state.starred).toBe(false);
      expect(c.pending.filter((p) => p.field === 'starred' && p.value === true)).toHaveLength(1); // the first PATCH's only
      expect(view.flags(target.providerId).starred).toBe(false);
    });

    it('DELETE moves the copy to the trash and marks it deleted', async () => {
      const res = await del(rep, target.messageId);
      expect(res.status).toBe(202);
      expect(res.body.state.deleted).toBe(true);
      expect(view.flags(target.providerId).trashed).toBe(true);
      expect((await copy())!.state.deleted).toBe(true);
    });
  });
});

describe('refusals', () => {
  let rep: Actor;
  let stranger: Actor;
  beforeAll(async () => {
    rep = await inOrg(async () => {
      const user = await User.create({ email: 'x@acme-robotics.com', role: 'member', identityKey: 'google:x' });
      const mailbox = await Mailbox.create({ userId: user._id, provider: 'google', address: 'x@acme-robotics.com' });
      return {
        userId: user._id,
        mailboxId: mailbox._id,
        address: 'x@acme-robotics.com',
        session: svc.sessions.sign({ userId: String(user._id), orgId: orgId.toHexString(), role: 'member' }).token,
      };
    });
    stranger = await runInOrg(otherOrgId, async () => {
      const user = await User.create({ email: 'eve@other.test', role: 'admin', identityKey: 'google:eve' });
      const mailbox = await Mailbox.create({ userId: user._id, provider: 'google', address: 'eve@other.test' });
      return {
        userId: user._id,
        mailboxId: mailbox._id,
        address: 'eve@other.test',
        session: svc.sessions.sign({ userId: String(user._id), orgId: otherOrgId.toHexString(), role: 'admin' }).token,
      };
    });
  });
  const valid = () => ({ mailboxId: String(rep.mailboxId), to: [{ email: PEER }], subject: 's', text: 't' });

  it('needs an Idempotency-Key of 1–200 characters', async () => {
    expect((await post(rep, valid(), null)).body.error.message).toMatch(/^Idempotency-Key/);
    expect((await post(rep, valid(), 'k'.repeat(201))).status).toBe(400);
  });

  it('names the invalid field', async () => {
    const res = await post(rep, { ...valid(), to: [{ email: 'not-an-address' }] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^to\.0\.email/);
    expect((await post(rep, { ...valid(), text: undefined })).body.error.message).toMatch(/^text/);
    expect((await post(rep, { ...valid(), subject: 'a\r\nBcc: x@evil.test' })).body.error.message).toMatch(/^subject/);
    expect((await post(rep, { ...valid(), attachments: [{ filename: 'a', contentType: 'text/plain', contentBase64: '@@@@' }] })).body.error.message).toMatch(
      /^attachments\.0\.contentBase64/,
    );
  });

  it('answers 413 over the attachment cap, and stores nothing', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024 + 1).toString('base64');
    const res = await post(rep, { ...valid(), attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', contentBase64: big }] });
    expect(res.status).toBe(413);
    expect(await inOrg(() => Outbox.countDocuments({ userId: rep.userId }))).toBe(0);
  });

  it('answers 404 for another user’s or organisation’s mailbox, and for messages the caller does not hold', async () => {
    expect((await post(stranger, valid())).status).toBe(404);
    expect((await post(rep, { ...valid(), mailboxId: String(stranger.mailboxId) })).status).toBe(404);
    const foreign = await inOrg(() => Message.findOne({}).lean<{ _id: Types.ObjectId }>());
    expect((await patch(stranger, String(foreign!._id), { read: true })).status).toBe(404);
    expect((await del(stranger, String(foreign!._id))).status).toBe(404);
    expect((await patch(rep, String(foreign!._id), { read: true })).status).toBe(404); // held by another user's mailbox
    expect((await post(stranger, { ...valid(), mailboxId: String(stranger.mailboxId), replyToMessageId: String(foreign!._id) })).status).toBe(404);
    expect((await patch(rep, String(new Types.ObjectId()), { read: true })).status).toBe(404);
    expect(await runInOrg(otherOrgId, () => Outbox.countDocuments({}))).toBe(0);
    expect(mongoose.connection.readyState).toBe(1);
  });
});
