/**
 * The Gmail adapter through the real @googleapis/gmail + google-auth-library clients against the Google
 * emulator (test/emulators/gmail, oauth/google.ts) over loopback http.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { googleSubject } from '../../../../../test/emulators/oauth/google-keys';
import { generateMailbox, generateMessage, type GeneratedMessage } from '../../../../../test/emulators/common/generate';
import { startEmulators, type RunningEmulators } from '../../../../../test/emulators/common';
import { parseMessage } from '../../ingest/parse';
import {
  ProviderError,
  type AccessTokenSource,
  type MailboxRef,
  type OAuthTokens,
  type ProviderAdapter,
  type RemoteMessage,
  type RemoteStateChange,
  type SyncCursor,
} from '../port';
import { gmailAdapterFactory, type GmailAdapterConfig, type GmailAdapterOptions } from './index';
import { googleOAuth, type GoogleOAuthConfig } from './oauth';

const USER = 'rep@acme-e2e.test';
const OWNER = { email: USER, name: 'Rita Rep' };
const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.now();
const SINCE = new Date(NOW - 30 * DAY);
const MAILBOX: MailboxRef = { id: 'mbx1', orgId: 'org1', provider: 'google', address: USER };

let emulators: RunningEmulators;
let oauthConfig: GoogleOAuthConfig;
let adapterConfig: GmailAdapterConfig;
let tokens: AccessTokenSource & { refreshes: number };
let adapter: ProviderAdapter;
let seeded: GeneratedMessage[];

const control = () => emulators.google.control;

/** The OAuth client; the emulators configure both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET. */
const oauthClient = () => googleOAuth(oauthConfig)!;

async function signIn(): Promise<OAuthTokens & { refreshToken: string }> {
  const oauth = oauthClient();
  const redirectUri = 'http://127.0.0.1:9/oauth/google/callback';
  const verifier = 'v'.repeat(64);
  const url = oauth.authorizationUrl({
    state: 'st4te',
    codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
    redirectUri,
    loginHint: USER,
  });
  const answer = await fetch(url, { redirect: 'manual' });
  const location = new URL(answer.headers.get('location') ?? '');
  expect(location.searchParams.get('state')).toBe('st4te');
  const tokens = await oauth.exchangeCode({ code: location.searchParams.get('code') ?? '', codeVerifier: verifier, redirectUri });
  return { ...tokens, refreshToken: tokens.refreshToken ?? '' };
}

/** Like the engine's: caches the access token, refreshes once after invalidate(). */
function tokenSource(initial: string, refreshToken: string): AccessTokenSource & { refreshes: number } {
  const oauth = oauthClient();
  let current: Promise<string> | null = Promise.resolve(initial);
  const source = {
    refreshes: 0,
    accessToken: () =>
      (current ??= oauth.refresh(refreshToken).then((r) => {
        source.refreshes++;
        return r.accessToken;
      })),
    invalidate: () => {
      current = null;
    },
  };
  return source;
}

const build = (options: GmailAdapterOptions = {}, config: Partial<GmailAdapterConfig> = {}) =>
  gmailAdapterFactory({ ...adapterConfig, ...config }, options)(MAILBOX, tokens);

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}

async function drainHistory(a: ProviderAdapter, cursor: SyncCursor) {
  const upserts: RemoteMessage[] = [];
  const deletes: string[] = [];
  const stateChanges: RemoteStateChange[] = [];
  let position: unknown | null = null;
  for (;;) {
    const page = await a.changeSource.changesSince(cursor, position);
    upserts.push(...page.upserts);
    deletes.push(...page.deletes);
    stateChanges.push(...page.stateChanges);
    if (page.nextCursor) return { upserts, deletes, stateChanges, nextCursor: page.nextCursor };
    position = page.nextPosition;
  }
}

async function backfillAll(a: ProviderAdapter, pageSize: number) {
  const pages = [];
  let position: unknown | null = null;
  do {
    const page = await a.changeSource.backfillPage({ since: SINCE, position, pageSize });
    pages.push(page);
    position = page.nextPosition;
  } while (position !== null);
  return pages;
}

function rfc822(fields: { from: string; to: string; subject: string; inReplyTo?: string; references?: string[]; messageId: string }): Promise<Buffer> {
  return new MailComposer({ ...fields, text: 'Thanks, see you Tuesday.', date: new Date() }).compile().build();
}

beforeAll(async () => {
  emulators = await startEmulators({ quiet: true });
  const env = emulators.env;
  oauthConfig = {
    GOOGLE_CLIENT_ID: env.GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET: env.GOOGLE_CLIENT_SECRET,
    GOOGLE_AUTH_URL: env.GOOGLE_AUTH_URL,
    GOOGLE_TOKEN_URL: env.GOOGLE_TOKEN_URL,
    GOOGLE_REVOKE_URL: env.GOOGLE_REVOKE_URL,
    GMAIL_API_URL: env.GMAIL_API_URL,
  };
  adapterConfig = { GMAIL_API_URL: env.GMAIL_API_URL, GMAIL_QUOTA_UNITS_PER_SECOND: 250, GOOGLE_PUBSUB_TOPIC: env.GOOGLE_PUBSUB_TOPIC };
  const signedIn = await signIn();
  expect(signedIn.scopes).toEqual(expect.arrayContaining(['https://www.googleapis.com/auth/gmail.modify', 'openid', 'email']));
  tokens = tokenSource(signedIn.accessToken, signedIn.refreshToken);
  seeded = await generateMailbox({ owner: OWNER, count: 40, seed: 4, startDate: new Date(NOW - 50 * DAY), endDate: new Date(NOW - DAY) });
  control().seed(
    USER,
    seeded.map((m) => ({ raw: m.raw, labelIds: m.labelIds, internalDate: m.date.getTime() })),
  );
  adapter = build();
}, 60_000);

afterAll(async () => {
  await emulators?.stop();
});

it("connects: the consenting account is the mailbox address and the ID token's sub and verified email", async () => {
  const granted = await signIn();
  expect(await oauthClient().consentingAccount(granted)).toEqual({
    address: USER,
    identityKeys: [`google:${googleSubject(USER)}`],
    verifiedEmail: USER,
  });
  // Without an ID token (no `openid` granted) the account has no stable id, only the address.
  expect(await oauthClient().consentingAccount({ accessToken: granted.accessToken, expiresAt: granted.expiresAt })).toEqual({
    address: USER,
    identityKeys: [],
    verifiedEmail: null,
  });
});

it('backfills newest first within the window, page by page, with exact counts', async () => {
  const cursor = await adapter.changeSource.currentCursor();
  expect(cursor).toEqual({ v: 1, provider: 'google', state: { historyId: String(control().historyId(USER)) } });
  const expected = control()
    .messages(USER)
    .filter((m) => m.internalDate >= SINCE.getTime() && !m.labelIds.some((l) => ['TRASH', 'SPAM', 'DRAFT'].includes(l)))
    .sort((a, b) => b.internalDate - a.internalDate || (a.id < b.id ? 1 : -1));
  expect(expected.length).toBeGreaterThan(10);
  expect(expected.length).toBeLessThan(seeded.length);

  const pages = await backfillAll(adapter, 7);
  const ids = pages.flatMap((p) => p.upserts.map((m) => m.providerMessageId));
  expect(ids).toEqual(expected.map((m) => m.id));
  expect(pages).toHaveLength(Math.ceil(expected.length / 7));
  expect(pages.every((p) => p.totalEstimate === expected.length && p.failed.length === 0)).toBe(true);

  const first = pages[0].upserts[0];
  const original = seeded.find((m) => m.messageId === expected[0].messageIdHeader)!;
  expect(first.content).toEqual({ kind: 'raw', raw: original.raw });
  expect(first.receivedAt.getTime()).toBe(expected[0].internalDate);
  expect(first.flags.read).toBe(!expected[0].labelIds.includes('UNREAD'));
});

describe('batch fetches', () => {
  afterEach(() => {
    control().setBatchEndpoint(true);
    control().setFaults({});
  });

  it("fetches a page's messages in batch requests, each call still counted by the quota", async () => {
    const listed = control()
      .messages(USER)
      .filter((m) => m.internalDate >= SINCE.getTime() && !m.labelIds.some((l) => ['TRASH', 'SPAM', 'DRAFT'].includes(l)));
    control().resetLogs();
    // A fresh adapter: one whose quota window other tests just spent would rightly fetch one by one (batchPays).
    const pages = await backfillAll(build(), 30);
    const ids = pages.flatMap((p) => p.upserts.map((m) => m.providerMessageId));
    expect(new Set(ids)).toEqual(new Set(listed.map((m) => m.id)));
    const batches = control().requests({ name: 'gmail.batch' });
    // At most 25 calls a batch at this mailbox's 250 units/s (half the budget: GmailClient.batchSize).
    expect(batches.length).toBe(pages.reduce((n, p) => n + Math.ceil(p.upserts.length / 25), 0));
    // The inner calls go through the quota and the log like single ones: one messages.get per message.
    expect(control().requests({ name: 'gmail.users.messages.get' })).toHaveLength(listed.length);
    expect(control().quota().usage[USER].rejected).toBe(0);
  });

  it('asks again on its own for a call the batch answered with a 5xx, and for a batch that failed whole', async () => {
    const listed = control()
      .messages(USER)
      .filter((m) => m.internalDate >= SINCE.getTime() && !m.labelIds.some((l) => ['TRASH', 'SPAM', 'DRAFT'].includes(l)));
    // Faults strike before routing, so a faulted call is logged by its path. Backfills until both kinds were hit
    // (a quarter of requests fail: each run is almost sure to fault inner calls, a whole batch less so).
    const faulted = new Set<string>();
    for (let run = 0; run < 10 && !(faulted.has('batch') && faulted.has('inner')); run++) {
      control().setFaults({ errorRate: 0.25, seed: run + 1 });
      control().resetLogs();
      const pages = await backfillAll(build(), 8);
      expect(pages.flatMap((p) => p.failed)).toEqual([]);
      expect(new Set(pages.flatMap((p) => p.upserts.map((m) => m.providerMessageId)))).toEqual(new Set(listed.map((m) => m.id)));
      for (const r of control().requests()) {
        if ((r.status ?? 0) >= 500)
          faulted.add(r.name.startsWith('POST /batch') ? 'batch' : r.name.startsWith('GET /gmail/v1/users/me/messages/') ? 'inner' : 'other');
      }
    }
    expect([faulted.has('batch'), faulted.has('inner')]).toEqual([true, true]);
  }, 60_000);

  it('works one by one against an API root without the batch endpoint', async () => {
    control().setBatchEndpoint(false);
    // Another spelling of the same root: the product remembers per root that it has no batch endpoint.
    const noBatch = build({}, { GMAIL_API_URL: adapterConfig.GMAIL_API_URL.replace('127.0.0.1', 'localhost') });
    control().resetLogs();
    const pages = await backfillAll(noBatch, 30);
    const count = pages.flatMap((p) => p.upserts).length;
    expect(count).toBeGreaterThan(10);
    expect(pages.flatMap((p) => p.failed)).toEqual([]);
    expect(control().requests({ name: 'gmail.batch' })).toHaveLength(1);
    expect(control().requests({ name: 'gmail.users.messages.get' })).toHaveLength(count);
  });
});

it('lists all ids in scope for reconciliation', async () => {
  const all: string[] = [];
  for await (const ids of adapter.changeSource.listAllIds({ since: SINCE })) all.push(...ids);
  const pages = await backfillAll(adapter, 100);
  expect(all).toEqual(pages.flatMap((p) => p.upserts.map((m) => m.providerMessageId)));
});

it('maps history: new mail, read, star, archive, trash, permanent delete', async () => {
  const cursor = await adapter.changeSource.currentCursor();
  const inbox = control()
    .messages(USER)
    .filter((m) => m.labelIds.includes('INBOX') && !m.labelIds.includes('STARRED'));
  const [r, s, a, t, d] = inbox.map((m) => m.id);
  const incoming = await generateMessage({ owner: OWNER, subject: 'Pricing question' });
  const delivered = control().deliver(USER, incoming.raw);
  control().act(USER, r, 'read');
  control().act(USER, r, 'unread');
  control().act(USER, r, 'read');
  control().act(USER, s, 'star');
  control().act(USER, a, 'archive');
  control().act(USER, t, 'trash');
  control().act(USER, d, 'delete');

  const got = await drainHistory(adapter, cursor);
  expect(got.upserts.map((m) => m.providerMessageId)).toEqual([delivered.id]);
  expect(got.upserts[0].flags).toEqual({ read: false, starred: false, archived: false, deleted: false });
  expect(got.deletes).toEqual([d]);
  const flagsOf = (id: string) => got.stateChanges.find((c) => c.providerMessageId === id)?.flags;
  expect(flagsOf(r)).toEqual({ read: true });
  expect(flagsOf(s)).toEqual({ starred: true });
  expect(flagsOf(a)).toEqual({ archived: true });
  expect(flagsOf(t)).toEqual({ deleted: true });
  expect(got.nextCursor).toEqual({ v: 1, provider: 'google', state: { historyId: String(control().historyId(USER)) } });

  // Nothing new after the returned cursor.
  const again = await drainHistory(adapter, got.nextCursor);
  expect(again.upserts.length + again.deletes.length + again.stateChanges.length).toBe(0);
});

it('speaks label names: ids from Gmail come out as the names people see, names written become ids (made on demand)', async () => {
  const fresh = build(); // a new catalogue, as a new run would have
  const customers = control().createLabel(USER, 'Customers/ACME')!;
  expect(customers).toMatch(/^Label_\d+$/);
  const incoming = await generateMessage({ owner: OWNER, subject: 'Labelled' });
  const cursor = await fresh.changeSource.currentCursor();
  const delivered = control().deliver(USER, incoming.raw, ['INBOX', 'UNREAD', customers]);
  expect((await fresh.changeSource.fetchMessage(delivered.id))?.labels).toEqual(['INBOX', 'UNREAD', 'Customers/ACME']);

  // A label made in Gmail after the catalogue was read: a labelsAdded with an unknown id refreshes it.
  const later = control().createLabel(USER, 'Later')!;
  control().label(USER, delivered.id, [later]);
  const got = await drainHistory(fresh, cursor);
  expect(
    got.upserts.find((m) => m.providerMessageId === delivered.id)?.labels ?? got.stateChanges.find((c) => c.providerMessageId === delivered.id)?.labelsAdded,
  ).toEqual(expect.arrayContaining(['Later']));
  expect(JSON.stringify(got)).not.toContain(later);

  // Writes by name, any case; a name the mailbox lacks becomes a label, once.
  await fresh.writer.modify(delivered.id, { labelsAdded: ['customers/acme', 'Deals 2026'], labelsRemoved: ['Later'] });
  const labelIds = () =>
    control()
      .messages(USER)
      .find((m) => m.id === delivered.id)!.labelIds;
  const deals = control().requests({ name: 'gmail.users.labels.create' }).length;
  expect(labelIds()).toEqual(expect.arrayContaining([customers]));
  expect(labelIds()).not.toContain(later);
  const dealsId = labelIds().find((l) => l !== customers && l.startsWith('Label_'))!;
  expect((await fresh.changeSource.fetchMessage(delivered.id))?.labels).toEqual(expect.arrayContaining(['Customers/ACME', 'Deals 2026']));
  await build().writer.modify(delivered.id, { labelsRemoved: ['Deals 2026', 'Never made'] });
  expect(labelIds()).not.toContain(dealsId);
  expect(control().requests({ name: 'gmail.users.labels.create' }).length).toBe(deals);
});

it('pages history with a position and moves the cursor only on the last page', async () => {
  const cursor = await adapter.changeSource.currentCursor();
  const target = control()
    .messages(USER)
    .find((m) => m.labelIds.includes('INBOX'))!.id;
  for (let i = 0; i < 130; i++) control().act(USER, target, i % 2 ? 'unstar' : 'star'); // 130 records > one page of 100
  const first = await adapter.changeSource.changesSince(cursor, null);
  expect(first.nextCursor).toBeNull();
  expect(first.nextPosition).not.toBeNull();
  const second = await adapter.changeSource.changesSince(cursor, first.nextPosition);
  expect(second.nextPosition).toBeNull();
  expect(second.nextCursor?.state.historyId).toBe(String(control().historyId(USER)));
  expect(second.stateChanges).toEqual([{ providerMessageId: target, flags: { starred: false }, labelsRemoved: ['STARRED'] }]);
});

it('turns an expired history id (404) into cursor_expired', async () => {
  const cursor = await adapter.changeSource.currentCursor();
  control().act(USER, control().messages(USER)[0].id, 'star');
  control().expireHistory(USER);
  const err = await providerError(adapter.changeSource.changesSince(cursor, null));
  expect(err.code).toBe('cursor_expired');
  expect(err.details.status).toBe(404);
});

it('sends a reply that threads, and finds it again by Message-ID', async () => {
  const original = control()
    .messages(USER)
    .find((m) => m.labelIds.includes('INBOX') && !m.subject.startsWith('Re:'))!;
  const generated = seeded.find((m) => m.messageId === original.messageIdHeader)!;
  const messageId = `<reply-${Date.now()}@acme-e2e.test>`;
  const raw = await rfc822({
    from: USER,
    to: generated.from,
    subject: `Re: ${original.subject}`,
    inReplyTo: generated.messageId,
    references: [...generated.references, generated.messageId],
    messageId,
  });
  // A send costs 100 units: what earlier tests used in this second must not make it a quota test (that is below).
  control().setQuota({ unitsPerSecond: 2_000, status: 429 });
  const fields = {
    from: { email: USER },
    to: [{ email: generated.from }],
    cc: [],
    bcc: [],
    subject: `Re: ${original.subject}`,
    text: 'Thanks, see you Tuesday.',
    attachments: [],
  };
  const sent = await adapter.writer
    .send({ raw, fields, internetMessageId: messageId, replyTo: { providerMessageId: original.id, providerThreadId: null } })
    .finally(() => control().setQuota({ unitsPerSecond: 250, status: 429 }));
  expect(sent.providerThreadId).toBe(original.threadId);
  expect(control().sends().at(-1)).toMatchObject({ id: sent.providerMessageId, threadId: original.threadId, requestedThreadId: original.threadId });

  // The sent copy is read back for the Message-ID that went out (outbound adopts it when Gmail put its own).
  expect(sent.internetMessageId).toBe(messageId);
  expect(await adapter.writer.findByInternetMessageId(messageId)).toEqual({
    providerMessageId: sent.providerMessageId,
    providerThreadId: sent.providerThreadId,
  });
  expect(await adapter.writer.findByInternetMessageId('<never-sent@acme-e2e.test>')).toBeNull();
});

it('writes read / star / archive / trash / untrash to the mailbox', async () => {
  const target = control()
    .messages(USER)
    .find((m) => m.labelIds.includes('INBOX') && m.labelIds.includes('UNREAD') && !m.labelIds.includes('STARRED'))!;
  const labels = () =>
    control()
      .messages(USER)
      .find((m) => m.id === target.id)!.labelIds;
  await adapter.writer.modify(target.id, { flags: { read: true, starred: true, archived: true } });
  expect(labels()).toEqual(expect.arrayContaining(['STARRED']));
  expect(labels()).not.toEqual(expect.arrayContaining(['UNREAD']));
  expect(labels()).not.toEqual(expect.arrayContaining(['INBOX']));
  await adapter.writer.trash(target.id);
  expect(labels()).toContain('TRASH');
  await adapter.writer.modify(target.id, { flags: { deleted: false, archived: false } });
  expect(labels()).toEqual(expect.arrayContaining(['INBOX']));
  expect(labels()).not.toContain('TRASH');
  expect(
    control()
      .modifications()
      .map((m) => m.method),
  ).toEqual(expect.arrayContaining(['messages.modify', 'messages.trash', 'messages.untrash']));
});

it('fetches an attachment by the part number the MIME parser gives it', async () => {
  const withFile = await generateMessage({ owner: OWNER, attachment: true, subject: 'Contract draft' });
  const { id } = control().deliver(USER, withFile.raw);
  const message = await adapter.changeSource.fetchMessage(id);
  expect(message).not.toBeNull();
  const parsed = await parseMessage(message!.content.kind === 'raw' ? message!.content.raw : Buffer.alloc(0));
  const meta = parsed.attachments.find((x) => x.filename);
  expect(meta?.partId).toBeTruthy();
  const bytes = await adapter.changeSource.fetchAttachment(id, meta!.partId!);
  expect(bytes.length).toBe(meta!.size);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(meta!.checksum);
  expect(await adapter.changeSource.fetchMessage('0000000000000000')).toBeNull();
});

it("re-fetches a copy's raw message byte for byte (format=raw), and says not_found for one that is gone", async () => {
  const legacy = readFileSync(join(__dirname, '../../../../../test/fixtures/mail/35-uuencode-attachment.eml'));
  const { id } = control().deliver(USER, legacy);
  expect((await adapter.changeSource.fetchRaw(id)).equals(legacy)).toBe(true);
  await expect(adapter.changeSource.fetchRaw('0000000000000000')).rejects.toMatchObject({ code: 'not_found' });
});

it('watches with an expiry and stops', async () => {
  const info = await adapter.push!.start();
  expect(info.expiresAt.getTime()).toBeGreaterThan(Date.now() + 6 * DAY);
  expect(control().watchOf(USER)).toMatchObject({ topicName: emulators.env.GOOGLE_PUBSUB_TOPIC });
  const renewed = await adapter.push!.renew(info);
  expect(renewed.expiresAt.getTime()).toBeGreaterThanOrEqual(info.expiresAt.getTime());
  await adapter.push!.stop(renewed);
  expect(control().watchOf(USER)).toBeUndefined();
  expect(build({}, { GOOGLE_PUBSUB_TOPIC: undefined }).push).toBeNull();
});

it('refreshes the token once after a 401 and carries on', async () => {
  control().expireAccessTokens(USER);
  const before = tokens.refreshes;
  await adapter.changeSource.currentCursor();
  expect(tokens.refreshes).toBe(before + 1);
});

describe('quota', () => {
  afterEach(() => control().setQuota({ unitsPerSecond: 250, status: 429 }));

  it('the pacer keeps quota errors at zero under a tight quota, close to the quota rate', async () => {
    control().setQuota({ unitsPerSecond: 60, status: 403 });
    control().resetLogs();
    const paced = build({}, { GMAIL_QUOTA_UNITS_PER_SECOND: 60 });
    const started = Date.now();
    const pages = await backfillAll(paced, 10);
    const elapsedMs = Date.now() - started;
    const usage = control().quota().usage[USER];
    expect(usage.rejected).toBe(0);
    expect(control().errors()).toEqual([]);
    expect(usage.peakUnitsPerSecond).toBeLessThanOrEqual(60);
    expect(pages.flatMap((p) => p.failed)).toEqual([]);
    // Floor: the units spent at 60/s, less the first second's burst. Well above it means the pacer idled.
    const floorMs = ((usage.unitsUsed - 60) / 60) * 1000;
    expect(elapsedMs).toBeGreaterThanOrEqual(floorMs - 50);
    expect(elapsedMs).toBeLessThan(floorMs * 1.25 + 500);
  }, 30_000);

  it.each([429, 403] as const)('a %s rate limit surfaces as throttled with retryAfterMs, for reads and POSTs', async (status) => {
    control().setQuota({ unitsPerSecond: 1, status }); // every 5-unit call is over quota
    const id = control().messages(USER)[0].id;
    // A fresh adapter each time: after the first 429 the same mailbox would not even send the second call.
    const calls = [(a: ProviderAdapter) => a.changeSource.fetchMessage(id), (a: ProviderAdapter) => a.writer.modify(id, { flags: { starred: true } })];
    for (const call of calls) {
      const err = await providerError(call(build({ maxRetryWaitMs: 0 })));
      expect(err.code).toBe('throttled');
      expect(err.details.retryAfterMs).toBeGreaterThan(0);
      expect(err.details.status).toBe(status);
      expect(err.details.providerCode).toBe(status === 403 ? 'userRateLimitExceeded' : 'rateLimitExceeded');
    }
  });

  it('a Retry-After pauses the whole mailbox: no other call of it is sent before it has elapsed', async () => {
    const factory = gmailAdapterFactory(adapterConfig);
    const paced = factory(MAILBOX, tokens);
    const [first, second] = control()
      .messages(USER)
      .map((m) => m.id);
    // A second's budget of one read: the modify after it (5 units more) is over quota.
    control().setQuota({ unitsPerSecond: 5, status: 429 });
    control().resetLogs();
    await paced.changeSource.fetchMessage(first);
    const err = await providerError(paced.writer.modify(first, { flags: { starred: true } }));
    expect(err.code).toBe('throttled');
    const pauseMs = err.details.retryAfterMs!;
    control().setQuota({ unitsPerSecond: 250, status: 429 });
    await paced.changeSource.fetchMessage(second);
    const [, rejected, next] = control()
      .requests()
      .filter((r) => r.group === USER);
    expect(rejected.status).toBe(429);
    expect(next.startedAt - (rejected.endedAt ?? rejected.startedAt)).toBeGreaterThanOrEqual(pauseMs - 5);
    // A different mailbox is not held back by it.
    const other = factory({ ...MAILBOX, id: 'another-mailbox' }, tokens);
    const before = Date.now();
    await other.changeSource.fetchMessage(second);
    expect(Date.now() - before).toBeLessThan(pauseMs);
  });
});
