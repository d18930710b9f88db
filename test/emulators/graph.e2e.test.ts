/**
 * The Graph emulator through the real @microsoft/microsoft-graph-client, over https with the test CA.
 *
 * The client calls the global `fetch` (Node's undici) and attaches the token only to https hosts in `customHosts`
 * (docs/PROVIDERS.md, "The Graph JS client"). Global fetch cannot take a private CA without the undici package, and
 * NODE_EXTRA_CA_CERTS only works at process start, so this file swaps the global fetch for common/fetch.ts's node:https
 * fetch trusting the test CA while it runs.
 */
import { Client, GraphError, ResponseType, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { createNodeFetch } from './common/fetch';
import { rfc822, signIn, startHarness, startReceiver, type Harness } from './graph/testing/harness';

const USER = 'owner@contoso.test';
const PEER = 'peer@fabrikam.test';
const IMMUTABLE = { Prefer: 'IdType="ImmutableId"' };
let h: Harness;
let client: Client;
let accessToken: string;
const originalFetch = globalThis.fetch;

type Page = { value: Record<string, unknown>[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };

function graphClient(baseUrl: string): Client {
  return Client.init({
    authProvider: (done) => done(null, accessToken),
    baseUrl: `${baseUrl}/`,
    // customHosts is a Set of host names without port (GraphRequestUtil.isValidEndpoint strips it).
    customHosts: new Set([new URL(baseUrl).hostname]),
  });
}

async function graphError(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof GraphError) return err;
    throw err;
  }
  throw new Error('expected a GraphError');
}

beforeAll(async () => {
  h = await startHarness({ baseUrl: 'https' });
  globalThis.fetch = createNodeFetch({ ca: h.ca.caPem });
  h.control.addUser(PEER);
  const seeded = await Promise.all(
    Array.from({ length: 25 }, (_, i) =>
      rfc822({ from: `Sender ${i} <s${i}@fabrikam.test>`, to: USER, subject: `Seed ${i}`, date: new Date(Date.UTC(2024, 0, 1 + i)) }),
    ),
  );
  await h.control.seedMailbox(
    USER,
    seeded.map((raw, i) => ({ raw, folder: 'inbox', isRead: i % 2 === 0 })),
  );
  accessToken = String((await signIn(h.served.httpUrl, USER)).access_token);
  client = graphClient(h.served.httpsUrl);
});
afterAll(async () => {
  globalThis.fetch = originalFetch;
  await h.close();
});

it('the client sends no token to a plain-http host, so Graph answers 401 there', async () => {
  const err = await graphError(graphClient(h.served.httpUrl).api('/me').get());
  expect(err.statusCode).toBe(401);
  expect(err.code).toBe('InvalidAuthenticationToken');
});

it('serves /me and the well-known folders', async () => {
  expect(await client.api('/me').get()).toMatchObject({ mail: USER, userPrincipalName: USER, displayName: expect.any(String), id: expect.any(String) });
  const folders = (await client.api('/me/mailFolders').top(50).get()) as Page;
  expect(folders.value.map((f) => f.displayName)).toEqual(expect.arrayContaining(['Inbox', 'Sent Items', 'Drafts', 'Deleted Items', 'Archive', 'Junk Email']));
  const inbox = await client.api("/me/mailFolders('inbox')").get();
  expect(inbox).toMatchObject({ displayName: 'Inbox', totalItemCount: 25, unreadItemCount: 12 });
  const child = await client.api(`/me/mailFolders/${inbox.id}/childFolders`).post({ displayName: 'Customers' });
  expect(child.parentFolderId).toBe(inbox.id);
});

describe('delta', () => {
  let deltaLink = '';
  it('pages the initial round 10 at a time by default, then gives a deltaLink', async () => {
    const sizes: number[] = [];
    let page = (await client.api('/me/mailFolders/inbox/messages/delta').headers(IMMUTABLE).select('subject,isRead').get()) as Page;
    for (;;) {
      sizes.push(page.value.length);
      expect(Object.keys(page.value[0] ?? {})).toEqual(expect.arrayContaining(['id', 'subject', 'isRead']));
      expect(page.value[0]).not.toHaveProperty('body');
      if (!page['@odata.nextLink']) break;
      page = (await client.api(page['@odata.nextLink']).headers(IMMUTABLE).get()) as Page;
    }
    expect(sizes).toEqual([10, 10, 5]);
    deltaLink = page['@odata.deltaLink'] ?? '';
    expect(deltaLink).toContain('$deltatoken=');
  });

  it('honours Prefer: odata.maxpagesize and says so in Preference-Applied', async () => {
    const res = (await client
      .api('/me/mailFolders/inbox/messages/delta')
      .header('Prefer', 'odata.maxpagesize=7')
      .responseType(ResponseType.RAW)
      .get()) as Response;
    expect(res.headers.get('preference-applied')).toBe('odata.maxpagesize=7');
    expect(((await res.json()) as Page).value).toHaveLength(7);
  });

  it('returns only the changes in the next round, with @removed for moves out and deletions', async () => {
    const inbox = h.control.messages(USER, 'inbox');
    const [moved, trashed, read] = [inbox[0], inbox[1], inbox[2]].map((m) => m?.immutableId ?? '');
    h.control.move(USER, moved ?? '', 'archive');
    h.control.trash(USER, trashed ?? '');
    h.control.markRead(USER, read ?? '', !inbox[2]?.isRead);
    const fresh = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Fresh' }));
    const page = (await client.api(deltaLink).headers(IMMUTABLE).get()) as Page;
    const removed = page.value.filter((v) => v['@removed']).map((v) => [v.id, v['@removed']]);
    expect(removed).toEqual(
      expect.arrayContaining([
        [moved, { reason: 'deleted' }],
        [trashed, { reason: 'deleted' }],
      ]),
    );
    expect(
      page.value
        .filter((v) => !v['@removed'])
        .map((v) => v.id)
        .sort(),
    ).toEqual([read, fresh].sort());
    expect(page['@odata.deltaLink']).toBeTruthy();
    deltaLink = page['@odata.deltaLink'] ?? '';
  });

  it('answers 410 SyncStateNotFound for a token the test invalidated', async () => {
    h.control.invalidateDeltaTokens(USER, 'inbox');
    const err = await graphError(client.api(deltaLink).get());
    expect(err.statusCode).toBe(410);
    expect(err.code).toBe('SyncStateNotFound');
  });
});

// $expand on message delta: listed by https://learn.microsoft.com/graph/api/message-delta, limited to users/groups by
// https://learn.microsoft.com/graph/delta-query-overview. Honoured by default; setDeltaExpand(false) plays the stricter reading.
it('message delta honours $expand=attachments, or ignores it under the stricter reading', async () => {
  const folder = await client.api('/me/mailFolders').post({ displayName: `Expand ${Date.now()}` });
  const raw = await rfc822({ from: PEER, to: USER, subject: 'With a file', attachments: [{ filename: 'a.txt', content: Buffer.from('a') }] });
  await h.control.deliver(USER, raw, { folder: folder.id });
  const round = async () =>
    (
      (await client
        .api(`/me/mailFolders/${folder.id}/messages/delta`)
        .headers(IMMUTABLE)
        .select('subject,hasAttachments')
        .expand('attachments($select=id,name)')
        .get()) as Page
    ).value;
  expect((await round())[0]).toMatchObject({ hasAttachments: true, attachments: [expect.objectContaining({ name: 'a.txt' })] });
  h.control.setDeltaExpand(false);
  try {
    const [item] = await round();
    expect(item).toMatchObject({ hasAttachments: true });
    expect(item).not.toHaveProperty('attachments');
  } finally {
    h.control.setDeltaExpand(true);
  }
});

it('keeps the immutable id across a move while the regular id changes', async () => {
  const [first] = ((await client.api('/me/mailFolders/inbox/messages').top(1).get()) as Page).value;
  const regularBefore = String(first?.id);
  const immutable = String((await client.api(`/me/messages/${regularBefore}`).headers(IMMUTABLE).select('id').get()).id);
  const moved = await client.api(`/me/messages/${regularBefore}/move`).post({ destinationId: 'archive' });
  expect(moved.id).not.toBe(regularBefore);
  expect((await graphError(client.api(`/me/messages/${regularBefore}`).get())).statusCode).toBe(404);
  const again = await client.api(`/me/messages/${immutable}`).headers(IMMUTABLE).get();
  expect(again.id).toBe(immutable);
  expect(again.parentFolderId).toBe((await client.api('/me/mailFolders/archive').get()).id);
});

// "Immutable ID with sending mail" (https://learn.microsoft.com/graph/outlook-immutable-id): a draft created with
// Prefer: IdType="ImmutableId" is sent by that id, and the same id then gets the copy in Sent Items.
it('createReply + send keeps the conversation and lands in Sent Items with the same immutable id', async () => {
  const original = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Pricing', messageId: '<pricing-1@fabrikam.test>' }));
  const source = await client.api(`/me/messages/${original}`).headers(IMMUTABLE).get();
  const draft = await client.api(`/me/messages/${original}/createReply`).headers(IMMUTABLE).post({ comment: 'Thanks!' });
  expect(draft).toMatchObject({ isDraft: true, subject: 'RE: Pricing', conversationId: source.conversationId });
  expect(draft.toRecipients).toEqual([{ emailAddress: { name: PEER, address: PEER } }]);
  const sendRes = (await client.api(`/me/messages/${draft.id}/send`).headers(IMMUTABLE).responseType(ResponseType.RAW).post({})) as Response;
  expect(sendRes.status).toBe(202);
  const sent = await client
    .api(`/me/messages/${draft.id}`)
    .headers(IMMUTABLE)
    .select('isDraft,conversationId,parentFolderId,internetMessageHeaders,internetMessageId')
    .get();
  expect(sent).toMatchObject({
    id: draft.id,
    isDraft: false,
    conversationId: source.conversationId,
    parentFolderId: (await client.api('/me/mailFolders/sentitems').get()).id,
  });
  expect(h.control.actions('send', USER).at(-1)).toMatchObject({ messageId: draft.id, detail: { inReplyTo: '<pricing-1@fabrikam.test>' } });
  // The peer is an emulated mailbox too: the reply reaches its inbox.
  expect(h.control.messages(PEER, 'inbox').map((m) => m.internetMessageId)).toContain(sent.internetMessageId);
});

// The same page: "The copy of the message won't be created until the message is successfully sent, which can take
// time." setSentCopyDelay plays that stricter reading; by default the copy is there when /send answers.
it('with sending taking time, the sent draft is found nowhere until its Sent Items copy appears under the same immutable id', async () => {
  h.control.setSentCopyDelay(200);
  try {
    const draft = await client
      .api('/me/messages')
      .headers(IMMUTABLE)
      .post({ subject: 'In transit', toRecipients: [{ emailAddress: { address: PEER } }] });
    await client.api(`/me/messages/${draft.id}/send`).headers(IMMUTABLE).post({});
    expect((await graphError(client.api(`/me/messages/${draft.id}`).headers(IMMUTABLE).get())).statusCode).toBe(404);
    expect(h.control.messages(PEER, 'inbox').map((m) => m.subject)).not.toContain('In transit');
    const deadline = Date.now() + 5000;
    let copy: Record<string, unknown> | null = null;
    while (!copy) {
      copy = await client
        .api(`/me/messages/${draft.id}`)
        .headers(IMMUTABLE)
        .select('isDraft,parentFolderId')
        .get()
        .catch((err: unknown) => (err instanceof GraphError && err.statusCode === 404 ? null : Promise.reject(err)));
      if (!copy && Date.now() > deadline) throw new Error('the Sent Items copy never appeared');
      if (!copy) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(copy).toMatchObject({ id: draft.id, isDraft: false, parentFolderId: (await client.api('/me/mailFolders/sentitems').get()).id });
    expect(h.control.messages(PEER, 'inbox').map((m) => m.subject)).toContain('In transit');
  } finally {
    h.control.setSentCopyDelay(0);
  }
});

// https://learn.microsoft.com/graph/api/message-update: internetMessageId is "Updatable only if isDraft = true". The
// create pages say nothing of keeping a client's, so the emulator keeps only what a PATCH of the draft sets.
it('internetMessageId: ignored on create, set by PATCH on a draft (createReply included), refused once sent', async () => {
  const created = await client
    .api('/me/messages')
    .headers(IMMUTABLE)
    .post({ subject: 'Ids', toRecipients: [{ emailAddress: { address: PEER } }], internetMessageId: '<mine-1@contoso.test>' });
  expect(created.internetMessageId).not.toBe('<mine-1@contoso.test>');
  const patched = await client.api(`/me/messages/${created.id}`).headers(IMMUTABLE).patch({ internetMessageId: '<mine-1@contoso.test>' });
  expect(patched.internetMessageId).toBe('<mine-1@contoso.test>');
  expect((await graphError(client.api(`/me/messages/${created.id}`).patch({ internetMessageId: 'no-brackets' }))).statusCode).toBe(400);

  const original = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Ids again', messageId: '<ids-2@fabrikam.test>' }));
  const reply = await client.api(`/me/messages/${original}/createReply`).headers(IMMUTABLE).post({});
  await client.api(`/me/messages/${reply.id}`).headers(IMMUTABLE).patch({ internetMessageId: '<mine-2@contoso.test>' });
  await client.api(`/me/messages/${reply.id}/send`).headers(IMMUTABLE).post({});
  const sent = await client.api(`/me/messages/${reply.id}`).headers(IMMUTABLE).select('isDraft,internetMessageId').get();
  expect(sent).toMatchObject({ isDraft: false, internetMessageId: '<mine-2@contoso.test>' });
  expect(h.control.messages(PEER, 'inbox').map((m) => m.internetMessageId)).toContain('<mine-2@contoso.test>');
  const refused = await graphError(client.api(`/me/messages/${reply.id}`).patch({ internetMessageId: '<later@contoso.test>' }));
  expect(refused).toMatchObject({ statusCode: 400, code: 'ErrorInvalidPropertyUpdateSentMessage' });

  // A mailbox that keeps its own (the reading under which a client's never survives): the PATCH changes nothing.
  h.control.assignOwnMessageIds(USER);
  try {
    const own = await client.api('/me/messages').post({ subject: 'Own', toRecipients: [{ emailAddress: { address: PEER } }] });
    expect((await client.api(`/me/messages/${own.id}`).patch({ internetMessageId: '<mine-3@contoso.test>' })).internetMessageId).toBe(own.internetMessageId);
  } finally {
    h.control.assignOwnMessageIds(USER, false);
  }
});

// https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties (create,
// PATCH) and .../singlevaluelegacyextendedproperty-get ($filter=singleValueExtendedProperties/Any(ep: ...)).
it('singleValueExtendedProperties: set on create, replaced by PATCH, found by $filter Any (quotes doubled)', async () => {
  const PROP = 'String {00020329-0000-0000-C000-000000000046} Name EmulatorTag';
  const find = async (value: string) => {
    const literal = value.replace(/'/g, "''");
    const page = (await client
      .api('/me/messages')
      .headers(IMMUTABLE)
      .filter(`singleValueExtendedProperties/Any(ep: ep/id eq '${PROP}' and ep/value eq '${literal}')`)
      .select('id')
      .get()) as Page;
    return page.value.map((m) => m.id);
  };
  const created = await client
    .api('/me/messages')
    .headers(IMMUTABLE)
    .post({
      subject: 'Tagged',
      toRecipients: [{ emailAddress: { address: PEER } }],
      singleValueExtendedProperties: [{ id: PROP, value: "<o'brien-1@contoso.test>" }],
    });
  expect(await find("<o'brien-1@contoso.test>")).toEqual([created.id]);
  await client
    .api(`/me/messages/${created.id}`)
    .headers(IMMUTABLE)
    .patch({ singleValueExtendedProperties: [{ id: PROP, value: '<second@contoso.test>' }] });
  expect(await find("<o'brien-1@contoso.test>")).toEqual([]);
  expect(await find('<second@contoso.test>')).toEqual([created.id]);
  // Not a draft-only property: still writable, and still found, once the item is sent.
  await client.api(`/me/messages/${created.id}/send`).headers(IMMUTABLE).post({});
  await client
    .api(`/me/messages/${created.id}`)
    .headers(IMMUTABLE)
    .patch({ singleValueExtendedProperties: [{ id: PROP, value: '<third@contoso.test>' }] });
  expect(await find('<third@contoso.test>')).toEqual([created.id]);
  expect((await graphError(client.api('/me/messages').post({ subject: 'Bad', singleValueExtendedProperties: [{ id: PROP, value: 7 }] }))).statusCode).toBe(400);
});

it('sendMail answers 202 with no body and saves a copy in Sent Items', async () => {
  const res = (await client
    .api('/me/sendMail')
    .responseType(ResponseType.RAW)
    .post({
      message: { subject: 'Hello', body: { contentType: 'Text', content: 'Hi' }, toRecipients: [{ emailAddress: { address: PEER } }] },
    })) as Response;
  expect(res.status).toBe(202);
  expect(h.control.messages(USER, 'sentitems').map((m) => m.subject)).toContain('Hello');
});

describe('subscriptions', () => {
  it('validates the endpoint, then notifies with clientState; a failed handshake refuses the subscription', async () => {
    const receiver = await startReceiver();
    try {
      const expirationDateTime = new Date(Date.now() + 3600_000).toISOString();
      const body = {
        changeType: 'created,updated,deleted',
        resource: "me/mailFolders('inbox')/messages",
        notificationUrl: `${receiver.url}/webhooks/graph`,
        lifecycleNotificationUrl: `${receiver.url}/webhooks/graph/lifecycle`,
        clientState: 'secret-state',
        expirationDateTime,
      };
      const sub = await client.api('/subscriptions').headers(IMMUTABLE).post(body);
      expect(sub).toMatchObject({ id: expect.any(String), clientState: 'secret-state', changeType: 'created,updated,deleted' });
      const id = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Ping' }));
      await h.control.notificationsIdle();
      const change = receiver.received.find((r) => r.path === '/webhooks/graph')?.body.value[0];
      expect(change).toMatchObject({
        subscriptionId: sub.id,
        changeType: 'created',
        clientState: 'secret-state',
        tenantId: h.control.tenantId,
        resourceData: { '@odata.type': '#Microsoft.Graph.Message', id },
      });

      h.control.fireLifecycle(sub.id, 'missed');
      await h.control.notificationsIdle();
      expect(receiver.received.find((r) => r.path === '/webhooks/graph/lifecycle')?.body.value[0]).toMatchObject({
        subscriptionId: sub.id,
        lifecycleEvent: 'missed',
        clientState: 'secret-state',
      });

      const renewed = await client.api(`/subscriptions/${sub.id}`).patch({ expirationDateTime: new Date(Date.now() + 7200_000).toISOString() });
      expect(Date.parse(renewed.expirationDateTime)).toBeGreaterThan(Date.parse(expirationDateTime));
      const tooLong = await graphError(client.api('/subscriptions').post({ ...body, expirationDateTime: new Date(Date.now() + 8 * 86400_000).toISOString() }));
      expect(tooLong.statusCode).toBe(400);

      receiver.mode = 'wrong';
      const refused = await graphError(client.api('/subscriptions').post(body));
      expect(refused.statusCode).toBe(400);
      expect(refused.code).toBe('ValidationError');
      await client.api(`/subscriptions/${sub.id}`).delete();
      expect(h.control.subscriptions(USER)).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });
});

// A subscription notifies changes to its resource from the moment it exists (https://learn.microsoft.com/graph/change-notifications-overview);
// what was there before is for the delta query to bring (https://learn.microsoft.com/graph/delta-query-overview). A
// notification goes out when the change happens (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks),
// whatever the client is doing: in the middle of its delta round too, which is a snapshot, so the change is in the next.
describe('subscriptions and time', () => {
  it('notifies only changes made after the subscription exists, and a change made mid-round at once; the next round has it', async () => {
    const receiver = await startReceiver();
    try {
      const folder = await client.api('/me/mailFolders').post({ displayName: `Later ${Date.now()}` });
      const before = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Before' }), { folder: folder.id });
      const sub = await client
        .api('/subscriptions')
        .headers(IMMUTABLE)
        .post({
          changeType: 'created,updated,deleted',
          resource: `me/mailFolders('${folder.id}')/messages`,
          notificationUrl: `${receiver.url}/webhooks/graph`,
          clientState: 'later',
          expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
        });
      const notified = () =>
        receiver.received
          .filter((r) => r.path === '/webhooks/graph')
          .flatMap((r) => r.body.value)
          .filter((v) => v.subscriptionId === sub.id)
          .map((v) => (v.resourceData as { id: string }).id);
      const after = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'After' }), { folder: folder.id });
      await h.control.notificationsIdle();
      expect(notified()).toEqual([after]);

      // A delta round of two pages; between them a message arrives: notified before the round ends.
      const deltaOf = async (url: string) =>
        (await client
          .api(url)
          .headers({ ...IMMUTABLE, Prefer: `${IMMUTABLE.Prefer}, odata.maxpagesize=1` })
          .select('subject')
          .get()) as Page;
      let page = await deltaOf(`/me/mailFolders/${folder.id}/messages/delta`);
      const round: string[] = page.value.map((v) => String(v.id));
      expect(page['@odata.nextLink']).toBeTruthy();
      const mid = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Mid-round' }), { folder: folder.id });
      await h.control.notificationsIdle();
      expect(notified()).toEqual([after, mid]);
      while (page['@odata.nextLink']) {
        page = await deltaOf(page['@odata.nextLink']);
        round.push(...page.value.map((v) => String(v.id)));
      }
      expect(round.sort()).toEqual([before, after].sort());
      const next = await deltaOf(page['@odata.deltaLink']!);
      expect(next.value.map((v) => v.id)).toEqual([mid]);
    } finally {
      await receiver.close();
    }
  });
});

describe('throttling', () => {
  afterEach(() => {
    h.control.clearFaults();
    h.control.setThrottling({ maxConcurrent: 4 });
  });

  it('answers the fifth concurrent request with 429 ApplicationThrottled and Retry-After', async () => {
    h.control.setFaults({ delayMs: 150 });
    const noRetry = [new RetryHandlerOptions(0, 0)];
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.api('/me/mailFolders/inbox').middlewareOptions(noRetry).get()));
    const throttled = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as GraphError);
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    expect(throttled[0]).toMatchObject({ statusCode: 429, code: 'ApplicationThrottled' });
    expect(Number(throttled[0]?.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(h.control.throttleStats(USER).maxInFlight).toBeGreaterThanOrEqual(5);
  });

  it('counts a request that arrives before its Retry-After elapsed as a violation', async () => {
    // Let the Retry-After from the previous test run out first: requests before it would count too.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    h.control.setThrottling({ maxConcurrent: 1 });
    h.control.setFaults({ delayMs: 100 });
    const before = h.control.throttleStats(USER).retryAfterViolations;
    const noRetry = [new RetryHandlerOptions(0, 0)];
    await Promise.allSettled([0, 1].map(() => client.api('/me').middlewareOptions(noRetry).get()));
    // Past the emulator's in-flight grace after the 429, well within its 1 s Retry-After.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await client
      .api('/me')
      .middlewareOptions(noRetry)
      .get()
      .catch(() => undefined);
    expect(h.control.throttleStats(USER).retryAfterViolations).toBe(before + 1);
  });
});

it('runs JSON batches through the same routes', async () => {
  const res = await client.api('/$batch').post({
    requests: [
      { id: '1', method: 'GET', url: '/me' },
      { id: '2', method: 'GET', url: '/me/mailFolders/drafts' },
    ],
  });
  const byId = Object.fromEntries((res.responses as { id: string; status: number; body: Record<string, unknown> }[]).map((r) => [r.id, r]));
  expect(byId['1']).toMatchObject({ status: 200, body: { mail: USER } });
  expect(byId['2']).toMatchObject({ status: 200, body: { displayName: 'Drafts' } });
});

it('mirrors the control object over HTTP under /__control/', async () => {
  const raw = await rfc822({ from: PEER, to: USER, subject: 'Over HTTP' });
  const call = async (method: string, args: unknown[]): Promise<unknown> => {
    const res = await fetch(`${h.served.httpUrl}/__control/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ args }),
    });
    return ((await res.json()) as { result: unknown }).result;
  };
  const id = await call('deliver', [USER, { base64: raw.toString('base64') }]);
  const inbox = (await call('messages', [USER, 'inbox'])) as { immutableId: string; subject: string }[];
  expect(inbox.find((m) => m.immutableId === id)?.subject).toBe('Over HTTP');
});
