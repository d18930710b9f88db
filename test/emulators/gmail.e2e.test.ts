/**
 * The Gmail emulator through the real @googleapis/gmail client: documented shapes of list/get/send/history/
 * watch/push, quota and faults, over http and https (in-process with the test CA, and in a child process that
 * trusts it through NODE_EXTRA_CA_CERTS).
 */
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { gmail_v1 } from '@googleapis/gmail';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createRng } from './common/faults';
import { generateMailbox } from './common/generate';
import { rfc822, startGoogleHarness, startPushReceiver, type GoogleHarness } from './gmail/testing/harness';

let h: GoogleHarness;
let api: gmail_v1.Gmail;
let accessToken: string;
const USER = 'owner@acme.test';
const DAY = 24 * 60 * 60 * 1000;

beforeAll(async () => {
  h = await startGoogleHarness();
  const signedIn = await h.signIn(USER);
  api = signedIn.api;
  accessToken = String(signedIn.auth.credentials.access_token);
});
afterAll(() => h.stop());
afterEach(() => {
  h.emulator.control.clearFaults();
  h.emulator.control.setQuota({ unitsPerSecond: 250, status: 429 });
});

type ApiError = { status?: number; response?: { status: number; data: unknown } };
const failure = (promise: Promise<unknown>): Promise<ApiError> =>
  promise.then(
    () => ({ status: 200 }),
    (e: ApiError) => e,
  );

/** A fresh mailbox per test keeps the tests independent. */
async function freshUser(name: string): Promise<{ email: string; api: gmail_v1.Gmail }> {
  const email = `${name}@acme.test`;
  return { email, api: (await h.signIn(email)).api };
}

test('messages.get: full payload tree, metadata, minimal and raw formats; attachments.get', async () => {
  const raw = await rfc822({
    from: 'Zoe Client <zoe@client.test>',
    to: USER,
    subject: 'Quarterly numbers – Q3',
    text: "Here's the sheet.\nThanks",
    html: '<p>Here&#39;s the <b>sheet</b>.</p>',
    messageId: '<q3@client.test>',
    attachments: [{ filename: 'q3.csv', content: Buffer.from('a,b\n1,2\n'), contentType: 'text/csv' }],
  });
  const [id] = h.emulator.control.seed(USER, [{ raw, labelIds: ['INBOX', 'UNREAD'], internalDate: Date.now() - DAY }]);

  const full = (await api.users.messages.get({ userId: 'me', id })).data;
  expect(full).toMatchObject({ id, threadId: id, labelIds: ['INBOX', 'UNREAD'], snippet: 'Here&#39;s the sheet. Thanks', sizeEstimate: raw.length });
  expect(typeof full.historyId).toBe('string');
  expect(full.internalDate).toMatch(/^\d+$/);
  const payload = full.payload!;
  expect(payload).toMatchObject({ partId: '', mimeType: 'multipart/mixed', filename: '', body: { size: 0 } });
  expect(payload.headers).toEqual(expect.arrayContaining([{ name: 'Subject', value: 'Quarterly numbers – Q3' }]));
  const [alternative, attachment] = payload.parts!;
  expect(alternative).toMatchObject({ partId: '0', mimeType: 'multipart/alternative' });
  expect(alternative.parts!.map((p) => [p.partId, p.mimeType])).toEqual([
    ['0.0', 'text/plain'],
    ['0.1', 'text/html'],
  ]);
  expect(Buffer.from(alternative.parts![0].body!.data!, 'base64url').toString()).toBe("Here's the sheet.\r\nThanks");
  expect(attachment).toMatchObject({ partId: '1', mimeType: 'text/csv', filename: 'q3.csv', body: { size: 8 } });
  expect(attachment.body!.data).toBeUndefined();
  const attachmentId = attachment.body!.attachmentId!;
  const bytes = (await api.users.messages.attachments.get({ userId: 'me', messageId: id, id: attachmentId })).data;
  expect(Buffer.from(bytes.data!, 'base64url').toString()).toBe('a,b\n1,2\n');
  // As in Gmail, attachment ids differ between reads of the same message.
  const again = (await api.users.messages.get({ userId: 'me', id })).data.payload!.parts![1].body!.attachmentId;
  expect(again).not.toBe(attachmentId);

  const metadata = (await api.users.messages.get({ userId: 'me', id, format: 'metadata', metadataHeaders: ['From', 'Message-ID'] })).data;
  expect(metadata.payload).toEqual({
    mimeType: 'multipart/mixed',
    headers: [
      { name: 'From', value: 'Zoe Client <zoe@client.test>' },
      { name: 'Message-ID', value: '<q3@client.test>' },
    ],
  });
  const minimal = (await api.users.messages.get({ userId: 'me', id, format: 'minimal' })).data;
  expect(minimal).not.toHaveProperty('payload');
  expect(Object.keys(minimal).sort()).toEqual(['historyId', 'id', 'internalDate', 'labelIds', 'sizeEstimate', 'snippet', 'threadId']);
  const rawFormat = (await api.users.messages.get({ userId: 'me', id, format: 'raw' })).data;
  expect(Buffer.from(rawFormat.raw!, 'base64url').equals(raw)).toBe(true);

  expect(await failure(api.users.messages.get({ userId: 'me', id: 'ffffffffffffffff' }))).toMatchObject({
    status: 404,
    response: { data: { error: { code: 404, message: 'Requested entity was not found.', errors: [{ reason: 'notFound' }] } } },
  });
});

test('messages.list: newest first, paging, labelIds, q dates and places, spam/trash excluded by default', async () => {
  const { email, api: mine } = await freshUser('lister');
  const now = Date.now();
  const items = await Promise.all(
    [...Array(7).keys()].map(async (i) => ({
      raw: await rfc822({ from: `s${i}@x.test`, to: email, subject: `m${i}` }),
      labelIds: i === 5 ? ['SPAM'] : i === 6 ? ['TRASH'] : i % 2 ? ['INBOX'] : ['INBOX', 'STARRED'],
      internalDate: now - (10 - i) * DAY,
    })),
  );
  const ids = h.emulator.control.seed(email, items);

  const first = (await mine.users.messages.list({ userId: 'me', maxResults: 3 })).data;
  expect(first.messages).toEqual([ids[4], ids[3], ids[2]].map((id) => ({ id, threadId: id })));
  expect(first.resultSizeEstimate).toBe(5);
  const second = (await mine.users.messages.list({ userId: 'me', maxResults: 3, pageToken: first.nextPageToken! })).data;
  expect(second.messages!.map((m) => m.id)).toEqual([ids[1], ids[0]]);
  expect(second.nextPageToken).toBeUndefined();

  const starred = (await mine.users.messages.list({ userId: 'me', labelIds: ['STARRED'] })).data;
  expect(starred.messages!.map((m) => m.id)).toEqual([ids[4], ids[2], ids[0]]);
  const after = Math.floor((now - 7.5 * DAY) / 1000);
  const recent = (await mine.users.messages.list({ userId: 'me', q: `after:${after} in:inbox` })).data;
  expect(recent.messages!.map((m) => m.id)).toEqual([ids[4], ids[3]]);
  expect((await mine.users.messages.list({ userId: 'me', q: 'newer_than:8d' })).data.resultSizeEstimate).toBe(2);
  expect((await mine.users.messages.list({ userId: 'me', q: `before:${after}` })).data.resultSizeEstimate).toBe(3);
  expect((await mine.users.messages.list({ userId: 'me', includeSpamTrash: true })).data.resultSizeEstimate).toBe(7);
  expect((await mine.users.messages.list({ userId: 'me', q: 'in:trash' })).data.messages).toEqual([{ id: ids[6], threadId: ids[6] }]);
  expect((await mine.users.messages.list({ userId: 'me', q: 'label:nothing-like-this' })).data).toEqual({ resultSizeEstimate: 0 });
  // A page that takes exactly what is left has no next page; the estimate follows changes to the mailbox.
  const whole = (await mine.users.messages.list({ userId: 'me', maxResults: 5 })).data;
  expect(whole.messages).toHaveLength(5);
  expect(whole.nextPageToken).toBeUndefined();
  await mine.users.messages.trash({ userId: 'me', id: ids[3] });
  const afterTrash = (await mine.users.messages.list({ userId: 'me', maxResults: 3, pageToken: first.nextPageToken! })).data;
  expect(afterTrash.resultSizeEstimate).toBe(4);
  expect(afterTrash.messages!.map((m) => m.id)).toEqual([ids[1], ids[0]]);
});

test('a generated mailbox seeds with its labels, dates and threads', async () => {
  const { email, api: mine } = await freshUser('generated');
  const generated = await generateMailbox({ owner: { email, name: 'Gen Owner' }, count: 40, seed: 7 });
  h.emulator.control.seed(email, generated);
  const profile = (await mine.users.getProfile({ userId: 'me' })).data;
  expect(profile.messagesTotal).toBe(40);
  expect(profile.threadsTotal).toBe(new Set(generated.map((m) => m.threadKey)).size);
  const newest = [...generated].sort((a, b) => b.date.getTime() - a.date.getTime())[0];
  const listed = (await mine.users.messages.list({ userId: 'me', maxResults: 1, includeSpamTrash: true })).data.messages![0];
  const got = (await mine.users.messages.get({ userId: 'me', id: listed.id!, format: 'minimal' })).data;
  expect(Number(got.internalDate)).toBe(newest.date.getTime());
  expect([...got.labelIds!].sort()).toEqual([...newest.labelIds].sort());
});

test('messages.send: SENT label, Message-ID added, Gmail threading rules; sends read back', async () => {
  const { email, api: mine } = await freshUser('sender');
  // Five sends cost 500 units: more than a second's quota, which is not what this test is about.
  h.emulator.control.setQuota({ unitsPerSecond: null });
  const inbound = await rfc822({ from: 'c@client.test', to: email, subject: 'Proposal', messageId: '<p1@client.test>' });
  const original = h.emulator.control.deliver(email, inbound);

  const send = async (
    subject: string,
    threadId?: string,
    headers: Record<string, string> = { 'In-Reply-To': '<p1@client.test>', References: '<p1@client.test>' },
  ) => {
    const raw = await rfc822({ from: email, to: 'c@client.test', subject, headers });
    const withoutId = raw.toString().replace(/^Message-ID:.*\r\n/im, '');
    return (await mine.users.messages.send({ userId: 'me', requestBody: { raw: Buffer.from(withoutId).toString('base64url'), threadId } })).data;
  };
  const reply = await send('Re: Proposal', original.threadId);
  expect(reply).toMatchObject({ threadId: original.threadId, labelIds: ['SENT'] });
  // Each of the three conditions is needed: thread id, references into the thread, same subject.
  expect((await send('Something else', original.threadId)).threadId).not.toBe(original.threadId);
  expect((await send('Re: Proposal')).threadId).not.toBe(original.threadId);
  expect((await send('Re: Proposal', original.threadId, {})).threadId).not.toBe(original.threadId);

  const stored = (await mine.users.messages.get({ userId: 'me', id: reply.id!, format: 'metadata', metadataHeaders: ['Message-ID'] })).data;
  expect(stored.payload!.headers![0].value).toMatch(/^<[0-9a-f]+@acme\.test>$/);
  expect(Number(stored.internalDate)).toBeGreaterThan(Date.now() - 5000);
  const thread = (await mine.users.threads.get({ userId: 'me', id: original.threadId, format: 'minimal' })).data;
  expect(thread.messages!.map((m) => m.id)).toEqual([original.id, reply.id]);
  expect(h.emulator.control.sends().filter((s) => s.mailbox === email)).toHaveLength(4);

  // Media uploads of the same method. Client trap: googleapis-common builds the /upload URL from the per-call
  // rootUrl only, ignoring the one given to gmail({rootUrl}), so without the per-call option it would go to
  // https://gmail.googleapis.com. The engine should send `requestBody.raw` (JSON) instead.
  const perCall = { rootUrl: `${h.served.httpUrl}/` };
  const media = await rfc822({ from: email, to: 'c@client.test', subject: 'Upload' });
  const uploaded = (await mine.users.messages.send({ userId: 'me', media: { mimeType: 'message/rfc822', body: media } }, perCall)).data;
  const replyBody = await rfc822({ from: email, to: 'c@client.test', subject: 'Re: Proposal', inReplyTo: '<p1@client.test>', references: '<p1@client.test>' });
  const multipart = (
    await mine.users.messages.send(
      { userId: 'me', requestBody: { threadId: original.threadId }, media: { mimeType: 'message/rfc822', body: Readable.from([replyBody]) } },
      perCall,
    )
  ).data;
  expect(multipart.threadId).toBe(original.threadId);
  expect(uploaded.labelIds).toEqual(['SENT']);
});

test('history.list: ascending records of each type, filters, paging, and 404 after expiry', async () => {
  const { email, api: mine } = await freshUser('historian');
  const start = (await mine.users.getProfile({ userId: 'me' })).data.historyId!;
  const a = h.emulator.control.deliver(email, await rfc822({ from: 'a@x.test', to: email, subject: 'a' }));
  const b = h.emulator.control.deliver(email, await rfc822({ from: 'b@x.test', to: email, subject: 'b' }));
  await mine.users.messages.modify({ userId: 'me', id: a.id, requestBody: { removeLabelIds: ['UNREAD'], addLabelIds: ['STARRED'] } });
  await mine.users.messages.trash({ userId: 'me', id: b.id });
  h.emulator.control.act(email, a.id, 'delete');

  const all = (await mine.users.history.list({ userId: 'me', startHistoryId: start })).data;
  const ids = all.history!.map((r) => Number(r.id));
  expect(ids).toEqual([...ids].sort((x, y) => x - y));
  expect(all.historyId).toBe((await mine.users.getProfile({ userId: 'me' })).data.historyId);
  expect(
    all.history!.map((r) =>
      Object.keys(r)
        .filter((k) => k !== 'id' && k !== 'messages')
        .sort(),
    ),
  ).toEqual([['messagesAdded'], ['messagesAdded'], ['labelsAdded', 'labelsRemoved'], ['labelsAdded'], ['messagesDeleted']]);
  expect(all.history![3].labelsAdded).toEqual([{ message: { id: b.id, threadId: b.threadId, labelIds: ['INBOX', 'UNREAD', 'TRASH'] }, labelIds: ['TRASH'] }]);

  const added = (await mine.users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['labelAdded'] })).data;
  expect(added.history!.map((r) => r.labelsAdded![0].labelIds)).toEqual([['STARRED'], ['TRASH']]);
  expect(added.history!.every((r) => !r.messagesAdded)).toBe(true);
  const trash = (await mine.users.history.list({ userId: 'me', startHistoryId: start, labelId: 'TRASH' })).data;
  expect(trash.history).toHaveLength(1);

  const page1 = (await mine.users.history.list({ userId: 'me', startHistoryId: start, maxResults: 2 })).data;
  expect(page1.history).toHaveLength(2);
  const page2 = (await mine.users.history.list({ userId: 'me', startHistoryId: start, maxResults: 2, pageToken: page1.nextPageToken! })).data;
  expect(page2.history!.map((r) => r.id)).toEqual([all.history![2].id, all.history![3].id]);

  h.emulator.control.expireHistory(email);
  expect(await failure(mine.users.history.list({ userId: 'me', startHistoryId: start }))).toMatchObject({
    status: 404,
    response: { data: { error: { code: 404, status: 'NOT_FOUND', errors: [{ reason: 'notFound', domain: 'global' }] } } },
  });
  // The current id still works: nothing after it was lost.
  expect((await mine.users.history.list({ userId: 'me', startHistoryId: all.historyId! })).data).toEqual({ historyId: all.historyId });
});

test('watch + push: Pub/Sub body, verifiable OIDC token, at most one push per second per user', async () => {
  const receiver = await startPushReceiver();
  try {
    const { email, api: mine } = await freshUser('pushed');
    h.emulator.control.configurePush({ url: receiver.url, rateLimit: 'drop' });
    const watch = (await mine.users.watch({ userId: 'me', requestBody: { topicName: 'projects/threadline-test/topics/gmail', labelIds: ['INBOX'] } })).data;
    expect(Number(watch.expiration)).toBeGreaterThan(Date.now() + 7 * DAY - 60_000);
    expect(watch.historyId).toMatch(/^\d+$/);

    for (let i = 0; i < 5; i++) h.emulator.control.deliver(email, await rfc822({ from: 'x@x.test', to: email, subject: `n${i}` }));
    await waitFor(() => receiver.received.length === 1);
    const push = receiver.received[0];
    const message = push.body.message as { data: string; messageId: string; publishTime: string };
    expect(JSON.parse(Buffer.from(message.data, 'base64').toString())).toEqual({ emailAddress: email, historyId: expect.any(Number) });
    expect(push.body.subscription).toMatch(/^projects\/.+\/subscriptions\/.+/);
    expect(new Date(message.publishTime).getTime()).toBeGreaterThan(Date.now() - 5000);
    const token = String(push.headers.authorization).replace(/^Bearer /, '');
    const jwks = createRemoteJWKSet(new URL(`${h.served.httpUrl}/oauth2/v3/certs`));
    const { payload } = await jwtVerify(token, jwks, { issuer: 'https://accounts.google.com', audience: receiver.url });
    expect(payload.email).toBe('gmail-push@threadline-test.iam.gserviceaccount.com');
    const outcomes = h.emulator.control
      .pushes()
      .filter((p) => p.emailAddress === email)
      .map((p) => p.outcome);
    expect(outcomes).toEqual(['delivered', 'dropped-rate', 'dropped-rate', 'dropped-rate', 'dropped-rate']);

    // Coalescing instead: one push now, one trailing push carrying the latest historyId a second later.
    await sleep(1000);
    h.emulator.control.configurePush({ rateLimit: 'coalesce' });
    for (let i = 0; i < 3; i++) h.emulator.control.deliver(email, await rfc822({ from: 'x@x.test', to: email, subject: `c${i}` }));
    await waitFor(() => receiver.received.length === 3, 2500);
    const last = receiver.received[2].body.message as { data: string };
    expect(JSON.parse(Buffer.from(last.data, 'base64').toString()).historyId).toBe(h.emulator.control.historyId(email));

    // Changes outside the watched labels are not pushed; after stop nothing is.
    await sleep(1000);
    const sent = h.emulator.control.deliver(email, await rfc822({ from: email, to: 'y@x.test', subject: 'out' }), ['SENT']);
    await mine.users.stop({ userId: 'me' });
    h.emulator.control.act(email, sent.id, 'star');
    await sleep(200);
    expect(receiver.received).toHaveLength(3);
  } finally {
    h.emulator.control.configurePush({ url: undefined, rateLimit: 'drop' });
    await receiver.close();
  }
});

// Gmail pushes the changes of a watched mailbox from users.watch on; its answer's historyId is the mailbox's current
// record, from which history.list reads what came before (https://developers.google.com/gmail/api/guides/push,
// https://developers.google.com/gmail/api/reference/rest/v1/users/watch). A push goes out when the change happens,
// whatever the client is reading: a change in the middle of a history read is pushed at once, and reading on from the
// historyId the read returned brings it.
test('watch: pushes only changes made after it, and a change made mid-read at once; reading on from the returned historyId has it', async () => {
  const receiver = await startPushReceiver();
  try {
    const { email, api: mine } = await freshUser('later');
    h.emulator.control.configurePush({ url: receiver.url, rateLimit: 'off' });
    const start = (await mine.users.getProfile({ userId: 'me' })).data.historyId!;
    const before = h.emulator.control.deliver(email, await rfc822({ from: 'x@x.test', to: email, subject: 'before' }));
    const watch = (await mine.users.watch({ userId: 'me', requestBody: { topicName: 'projects/threadline-test/topics/gmail' } })).data;
    const pushedIds = () =>
      receiver.received.map((r) => Number(JSON.parse(Buffer.from((r.body.message as { data: string }).data, 'base64').toString()).historyId));
    const after = h.emulator.control.deliver(email, await rfc822({ from: 'x@x.test', to: email, subject: 'after' }));
    await waitFor(() => receiver.received.length === 1);
    expect(h.emulator.control.pushes().filter((p) => p.emailAddress === email)).toHaveLength(1);
    expect(pushedIds()[0]).toBeGreaterThan(Number(watch.historyId));

    // A history read from before the mailbox's first message, one record a page; between pages a message arrives.
    const added = (r: gmail_v1.Schema$ListHistoryResponse) => (r.history ?? []).flatMap((x) => x.messagesAdded ?? []).map((a) => a.message!.id!);
    let page = (await mine.users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['messageAdded'], maxResults: 1 })).data;
    const read = added(page);
    const mid = h.emulator.control.deliver(email, await rfc822({ from: 'x@x.test', to: email, subject: 'mid-read' }));
    await waitFor(() => receiver.received.length === 2);
    while (page.nextPageToken) {
      page = (
        await mine.users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['messageAdded'], maxResults: 1, pageToken: page.nextPageToken })
      ).data;
      read.push(...added(page));
    }
    const on = (await mine.users.history.list({ userId: 'me', startHistoryId: page.historyId!, historyTypes: ['messageAdded'] })).data;
    expect(new Set([...read, ...added(on)])).toEqual(new Set([before.id, after.id, mid.id]));
    expect(Number(page.historyId)).toBeGreaterThanOrEqual(pushedIds()[0]!);
  } finally {
    h.emulator.control.configurePush({ url: undefined, rateLimit: 'drop' });
    await receiver.close();
  }
});

test('push switches: duplicates keep their messageId, a seeded drop rate loses pushes, reordering holds them', async () => {
  const receiver = await startPushReceiver();
  try {
    const { email } = await freshUser('switches');
    h.emulator.control.configurePush({ url: receiver.url, rateLimit: 'off', duplicateRate: 1, seed: 3 });
    await h.gmailFor((await h.signIn(email)).auth).users.watch({ userId: 'me', requestBody: { topicName: 'projects/p/topics/t' } });
    h.emulator.control.deliver(email, await rfc822({ from: 'x@x.test', to: email, subject: 'dup' }));
    await waitFor(() => receiver.received.length === 2);
    const [one, two] = receiver.received.map((r) => (r.body.message as { messageId: string }).messageId);
    expect(one).toBe(two);

    h.emulator.control.configurePush({ duplicateRate: 0, dropRate: 0.5, reorderWindowMs: 100, seed: 5 });
    for (let i = 0; i < 8; i++) h.emulator.control.deliver(email, await rfc822({ from: 'x@x.test', to: email, subject: `r${i}` }));
    const mine = () =>
      h.emulator.control
        .pushes()
        .filter((p) => p.emailAddress === email)
        .slice(2);
    const dropped = mine().filter((p) => p.outcome === 'dropped-switch').length;
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(8);
    await waitFor(() => receiver.received.length === 2 + 8 - dropped);
  } finally {
    h.emulator.control.configurePush({ url: undefined, rateLimit: 'drop', dropRate: 0, duplicateRate: 0, reorderWindowMs: 0 });
    await receiver.close();
  }
});

test('quota: faster than the per-user budget gets the documented 429 (or 403) error body', async () => {
  const { email, api: mine } = await freshUser('greedy');
  h.emulator.control.setQuota({ unitsPerSecond: 20 });
  const results = await Promise.all([...Array(6)].map(() => failure(mine.users.messages.list({ userId: 'me' }))));
  expect(results.filter((r) => r.status === 200)).toHaveLength(4);
  expect(results.find((r) => r.status === 429)).toMatchObject({
    response: { data: { error: { code: 429, message: 'Rate Limit Exceeded', errors: [{ domain: 'usageLimits', reason: 'rateLimitExceeded' }] } } },
  });
  h.emulator.control.setQuota({ status: 403 });
  expect(await failure(mine.users.messages.send({ userId: 'me', requestBody: { raw: 'eA' } }))).toMatchObject({
    status: 403,
    response: { data: { error: { errors: [{ reason: 'userRateLimitExceeded' }] } } },
  });
  // Rejected calls cost nothing: 4 lists of 5 units went through; 2 lists and the send were refused.
  expect(h.emulator.control.quota().usage[email]).toMatchObject({ unitsUsed: 20, calls: 4, rejected: 3 });
  // One call dearer than the per-second limit (a 100-unit send against 20) goes through alone, once the window is
  // empty (the quota page's per-minute budget, or its "moving average (allows short bursts)"), and takes the window.
  h.emulator.control.setQuota({ status: 429 });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expect((await failure(mine.users.messages.send({ userId: 'me', requestBody: { raw: 'eA' } }))).status).not.toBe(429);
  expect((await failure(mine.users.messages.list({ userId: 'me' }))).status).toBe(429);
}, 10_000);

test('faults: a seeded 50% error rate gives the same sequence twice, with Google error bodies', async () => {
  const run = async () => {
    h.emulator.control.setFaults({ errorRate: 0.5, seed: 42 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await failure(api.users.getProfile({ userId: 'me' }))).status ?? 0);
    return statuses;
  };
  const first = await run();
  const second = await run();
  expect(second).toEqual(first);
  expect(first.filter((s) => s >= 500).length).toBeGreaterThan(2);
  expect(first.filter((s) => s === 200).length).toBeGreaterThan(2);
  h.emulator.control.setFaults({ resetRate: 1, seed: 1 });
  const reset = await failure(api.users.getProfile({ userId: 'me' }));
  expect(reset.status).toBeUndefined();
  expect(h.emulator.control.faultCounters().resets).toBe(1);
});

test('batch endpoint: multipart/mixed in and out, each call authorised and counted', async () => {
  const [id] = h.emulator.control.seed(USER, [{ raw: await rfc822({ from: 'b@x.test', to: USER, subject: 'batched' }), labelIds: ['INBOX'] }]);
  const boundary = 'batch_foobarbaz';
  const part = (cid: string, line: string) => `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <${cid}>\r\n\r\n${line}\r\n\r\n`;
  const body = `${part('item1', `GET /gmail/v1/users/me/messages/${id}?format=minimal HTTP/1.1`) + part('item2', 'GET /gmail/v1/users/me/messages/0000000000000000')}--${boundary}--`;
  const answer = await h.fetchImpl(`${h.served.httpsUrl}/batch/gmail/v1`, {
    method: 'POST',
    headers: { 'content-type': `multipart/mixed; boundary=${boundary}`, authorization: `Bearer ${accessToken}` },
    body,
  });
  expect(answer.status).toBe(200);
  const text = await answer.text();
  const outer = /boundary=(\S+)/.exec(answer.headers.get('content-type')!)![1];
  const parts = text.split(`--${outer}`).slice(1, -1);
  expect(parts[0]).toMatch(/Content-ID: response-item1/);
  expect(parts[0]).toMatch(/HTTP\/1\.1 200 OK/);
  expect(JSON.parse(parts[0].slice(parts[0].indexOf('{')))).toMatchObject({ id, labelIds: ['INBOX'] });
  expect(parts[1]).toMatch(/HTTP\/1\.1 404 Not Found/);
  expect(h.emulator.control.requestCounters().byName['gmail.batch']).toBeGreaterThan(0);
});

test('batch endpoint under connection faults: a reset drops the whole batch, never one of its calls', async () => {
  const [id] = h.emulator.control.seed(USER, [{ raw: await rfc822({ from: 'c@x.test', to: USER, subject: 'batched under faults' }), labelIds: ['INBOX'] }]);
  const boundary = 'batch_faults';
  const part = (cid: string) =>
    `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <${cid}>\r\n\r\nGET /gmail/v1/users/me/messages/${id}?format=minimal HTTP/1.1\r\n\r\n`;
  const body = `${['a', 'b', 'c', 'd', 'e', 'f'].map(part).join('')}--${boundary}--`;
  h.emulator.control.setFaults({ resetRate: 0.5, seed: 7 });
  const answered: string[] = [];
  let dropped = 0;
  try {
    for (let i = 0; i < 8; i++) {
      const answer = await h
        .fetchImpl(`${h.served.httpsUrl}/batch/gmail/v1`, {
          method: 'POST',
          headers: { 'content-type': `multipart/mixed; boundary=${boundary}`, authorization: `Bearer ${accessToken}` },
          body,
        })
        .catch(() => null);
      if (!answer) dropped++;
      else answered.push(`${answer.status} ${(await answer.text()).match(/HTTP\/1\.1 \d+/g)?.join(',')}`);
    }
  } finally {
    h.emulator.control.clearFaults();
  }
  // Some batches were reset as a whole (one connection), and every batch answered has all six calls answered 200:
  // calls inside a batch have no connection of their own to reset.
  expect(dropped).toBeGreaterThan(0);
  expect(answered.length).toBeGreaterThan(0);
  for (const a of answered) expect(a).toBe(`200 ${Array(6).fill('HTTP/1.1 200').join(',')}`);
});

test('batch endpoint: each inner call is charged quota, gets injected errors and is in the request log, as a direct call', async () => {
  const email = 'batcher@acme.test';
  const token = String((await h.signIn(email)).auth.credentials.access_token);
  const [id] = h.emulator.control.seed(email, [{ raw: await rfc822({ from: 'd@x.test', to: email, subject: 'batched and metered' }), labelIds: ['INBOX'] }]);
  const boundary = 'batch_metered';
  const get = `GET /gmail/v1/users/me/messages/${id}?format=minimal`;
  const post = async (lines: string[]) => {
    const body = `${lines.map((line, i) => `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <c${i}>\r\n\r\n${line}\r\n\r\n`).join('')}--${boundary}--`;
    const answer = await h.fetchImpl(`${h.served.httpsUrl}/batch/gmail/v1`, {
      method: 'POST',
      headers: { 'content-type': `multipart/mixed; boundary=${boundary}`, authorization: `Bearer ${token}` },
      body,
    });
    expect(answer.status).toBe(200);
    const outer = /boundary=(\S+)/.exec(answer.headers.get('content-type')!)![1];
    return (await answer.text())
      .split(`--${outer}`)
      .slice(1, -1)
      .map((part) => ({
        contentId: /Content-ID: (\S+)/.exec(part)![1],
        status: Number(/HTTP\/1\.1 (\d+)/.exec(part)![1]),
        retryAfter: /Retry-After: (\S+)/.exec(part)?.[1],
        body: JSON.parse(part.slice(part.indexOf('{'))) as { error?: { code: number; errors: { reason: string }[] } },
      }));
  };
  const logSince = (seq: number) => h.emulator.control.requests({ sinceSeq: seq }).filter((e) => e.path !== '/batch/gmail/v1');

  // Quota: 12 units a second admit two messages.get (5 units each); the other calls are rejected and cost nothing.
  // A part with its own (bad) Authorization is refused before it is charged.
  h.emulator.control.setQuota({ unitsPerSecond: 12, status: 429 });
  let seq = h.emulator.control.requestCounters().total;
  const metered = await post([get, get, get, get, 'GET /gmail/v1/users/me/profile\r\nAuthorization: Bearer not-a-token']);
  expect(metered.map((p) => p.contentId)).toEqual(['response-c0', 'response-c1', 'response-c2', 'response-c3', 'response-c4']);
  expect(metered.map((p) => p.status).sort()).toEqual([200, 200, 401, 429, 429]);
  expect(metered.find((p) => p.status === 429)!.body.error).toMatchObject({ code: 429, errors: [{ reason: 'rateLimitExceeded' }] });
  expect(h.emulator.control.quota().usage[email]).toMatchObject({ calls: 2, unitsUsed: 10, rejected: 2 });
  const meteredLog = logSince(seq);
  expect(meteredLog.map((e) => `${e.name} ${e.status}`).sort()).toEqual([
    'gmail.users.messages.get 200',
    'gmail.users.messages.get 200',
    'gmail.users.messages.get 429',
    'gmail.users.messages.get 429',
    'gmail.users.users.getProfile 401',
  ]);
  expect(meteredLog.filter((e) => e.name === 'gmail.users.messages.get').every((e) => e.group === email)).toBe(true);

  // Injected errors: one draw per request, the batch's own first; each inner call gets its own 500 or 503 (with the
  // Retry-After), from the same seeded sequence as direct calls would.
  h.emulator.control.setQuota({ unitsPerSecond: null });
  const settings = { errorRate: 0.5, seed: 16, retryAfterSeconds: 9 };
  const rng = createRng(settings.seed);
  const draws = Array.from({ length: 7 }, () => rng());
  expect(draws[0]).toBeGreaterThanOrEqual(0.5);
  const expected = draws.slice(1).map((d) => (d < 0.25 ? 500 : d < 0.5 ? 503 : 200));
  expect(new Set(expected)).toEqual(new Set([200, 500, 503]));
  h.emulator.control.clearFaults();
  h.emulator.control.setFaults(settings);
  seq = h.emulator.control.requestCounters().total;
  const faulted = await post(Array(6).fill(get));
  h.emulator.control.clearFaults();
  expect(faulted.map((p) => p.status).sort()).toEqual([...expected].sort());
  for (const p of faulted.filter((f) => f.status >= 500)) {
    expect(p.body.error).toMatchObject({ code: p.status, errors: [{ reason: 'backendError' }] });
    expect(p.retryAfter).toBe(p.status === 503 ? '9' : undefined);
  }
  expect(
    logSince(seq)
      .map((e) => e.status)
      .sort(),
  ).toEqual([...expected].sort());
});

test('https: in-process with the CA, and in a child process trusting it through NODE_EXTRA_CA_CERTS', async () => {
  const { auth, api: secure } = await h.signIn(USER, h.served.httpsUrl);
  expect((await secure.users.getProfile({ userId: 'me' })).data.emailAddress).toBe(USER);
  const script = `
    const { gmail } = require('@googleapis/gmail');
    const { OAuth2Client } = require('google-auth-library');
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: process.env.TOKEN });
    gmail({ version: 'v1', auth, rootUrl: process.env.ROOT + '/' }).users.getProfile({ userId: 'me' })
      .then((r) => console.log(JSON.stringify(r.data)), (e) => { console.error(String(e)); process.exit(1); });`;
  const env = { ...process.env, TOKEN: String(auth.credentials.access_token), ROOT: h.served.httpsUrl };
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, ['-e', script], { env: { ...env, NODE_EXTRA_CA_CERTS: h.ca.caFile }, cwd: process.cwd() });
  expect(JSON.parse(stdout)).toMatchObject({ emailAddress: USER });
  // Without the CA the same call fails: the certificate really is private.
  await expect(run(process.execPath, ['-e', script], { env, cwd: process.cwd() })).rejects.toThrow(/certificate/i);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(20);
  }
}

test('the control API over HTTP: seed, act as the user, read back requests and errors', async () => {
  const control = (path: string, init?: { method: string; body?: unknown }) =>
    h
      .fetchImpl(`${h.served.httpUrl}/__control${path}`, {
        method: init?.method ?? 'GET',
        headers: { 'content-type': 'application/json' },
        body: init?.body === undefined ? undefined : JSON.stringify(init.body),
      })
      .then((r) => r.json() as Promise<Record<string, unknown>>);
  const { email, api: mine } = await freshUser('remote');
  const raw = (await rfc822({ from: 'r@x.test', to: email, subject: 'remote' })).toString('base64');
  const { ids } = (await control(`/mailboxes/${email}/seed`, { method: 'POST', body: { messages: [{ raw, labelIds: ['INBOX', 'UNREAD'] }] } })) as {
    ids: string[];
  };
  expect(await control(`/mailboxes/${email}/messages/${ids[0]}/act`, { method: 'POST', body: { action: 'read' } })).toEqual({ ok: true });
  expect((await mine.users.messages.get({ userId: 'me', id: ids[0], format: 'minimal' })).data.labelIds).toEqual(['INBOX']);
  await failure(mine.users.messages.get({ userId: 'me', id: '00000000000000aa' }));
  const { requests } = (await control('/requests?name=gmail.users.messages.get')) as { requests: Array<{ status: number; path: string }> };
  expect(requests.slice(-2).map((r) => r.status)).toEqual([200, 404]);
  const { errors } = (await control('/errors')) as { errors: Array<{ path: string; status: number }> };
  expect(errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/gmail/v1/users/me/messages/00000000000000aa', status: 404 })]));
  const state = (await control('/state')) as { quota: { usage: Record<string, { unitsUsed: number }> } };
  expect(state.quota.usage[email].unitsUsed).toBe(10);
});

test('npm run emulators (cli.ts): prints the configuration keys and stops on SIGTERM', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'test/emulators/cli.ts'], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitFor(() => out.includes('NODE_EXTRA_CA_CERTS='), 20_000);
  const env = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  expect(Object.keys(env).sort()).toEqual(
    [
      'GOOGLE_CLIENT_ID',
      'GOOGLE_CLIENT_SECRET',
      'GOOGLE_AUTH_URL',
      'GOOGLE_TOKEN_URL',
      'GOOGLE_REVOKE_URL',
      'GOOGLE_JWKS_URL',
      'GOOGLE_ID_TOKEN_AUDIENCES',
      'GMAIL_API_URL',
      'GOOGLE_PUBSUB_TOPIC',
      'GOOGLE_PUSH_AUDIENCE',
      'GOOGLE_PUSH_SERVICE_ACCOUNT',
      'MICROSOFT_CLIENT_ID',
      'MICROSOFT_CLIENT_SECRET',
      'MICROSOFT_AUTHORITY',
      'MICROSOFT_JWKS_URL',
      'MICROSOFT_ID_TOKEN_AUDIENCES',
      'GRAPH_API_URL',
      'NODE_EXTRA_CA_CERTS',
    ].sort(),
  );
  const certs = await h.fetchImpl(env.GOOGLE_JWKS_URL);
  expect(((await certs.json()) as { keys: unknown[] }).keys).toHaveLength(1);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
}, 25_000);

// https://developers.google.com/gmail/api/guides/labels and .../reference/rest/v1/users.labels: a user label's id is
// immutable and opaque (`Label_N`), its name is what Gmail shows; messages.modify and history speak ids only.
test('labels: user labels are Label_N ids with display names; modify takes ids, not names; names are unique regardless of case', async () => {
  const { email, api: mine } = await freshUser('labels');
  const created = (
    await mine.users.labels.create({ userId: 'me', requestBody: { name: 'Customers/ACME', labelListVisibility: 'labelShow', messageListVisibility: 'show' } })
  ).data;
  expect(created).toMatchObject({ id: expect.stringMatching(/^Label_\d+$/), name: 'Customers/ACME', type: 'user' });
  const listed = (await mine.users.labels.list({ userId: 'me' })).data.labels ?? [];
  expect(listed).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ id: 'INBOX', name: 'INBOX', type: 'system' }),
      expect.objectContaining({ id: created.id, name: 'Customers/ACME' }),
    ]),
  );
  const conflict = await failure(mine.users.labels.create({ userId: 'me', requestBody: { name: 'customers/acme' } }));
  expect(conflict.response?.status).toBe(409);

  const [id] = h.emulator.control.seed(email, [
    { raw: await rfc822({ from: 'zoe@client.test', to: email, subject: 'Label me' }), labelIds: ['INBOX'], internalDate: Date.now() },
  ]);
  const byName = await failure(mine.users.messages.modify({ userId: 'me', id: id!, requestBody: { addLabelIds: ['Customers/ACME'] } }));
  expect(byName.response?.status).toBe(400);
  const start = (await mine.users.getProfile({ userId: 'me' })).data.historyId!;
  const modified = (await mine.users.messages.modify({ userId: 'me', id: id!, requestBody: { addLabelIds: [created.id!] } })).data;
  expect(modified.labelIds).toEqual(expect.arrayContaining(['INBOX', created.id]));
  const history = (await mine.users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['labelAdded'] })).data.history ?? [];
  expect(history.flatMap((r) => r.labelsAdded ?? []).flatMap((e) => e.labelIds ?? [])).toEqual([created.id]);
});
