/**
 * The Graph adapter through the real @microsoft/microsoft-graph-client against the Microsoft emulator over https
 * with the test CA (see test/emulators/graph.e2e.test.ts for why the global fetch is swapped while this runs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeFetch } from '../../../../../test/emulators/common/fetch';
import {
  CLIENT_ID,
  REDIRECT_URI,
  outgoing,
  pkcePair,
  rfc822,
  signIn,
  startHarness,
  startReceiver,
  type Harness,
} from '../../../../../test/emulators/graph/testing/harness';
import { ProviderError, type AccessTokenSource, type ProviderAdapter, type RemoteMessage, type SyncCursor } from '../port';
import { GraphChangeHints } from './hints';
import { graphAdapterFactory, microsoftOAuth } from './index';

const USER = 'owner@contoso.test';
const PEER = 'peer@fabrikam.test';
const DAY = 86400_000;
const originalFetch = globalThis.fetch;
let h: Harness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let adapter: ProviderAdapter;
let cursor: SyncCursor;
const since = new Date(Date.now() - 60 * DAY);
const imported = new Map<string, RemoteMessage>();

const at = (daysAgo: number, i = 0): Date => new Date(Date.now() - daysAgo * DAY - i * 60_000);

async function seed(folder: string, count: number, daysAgo: (i: number) => number, label: string): Promise<string[]> {
  const items = await Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      raw: await rfc822({ from: `S${i} <s${i}@fabrikam.test>`, to: USER, subject: `${label} ${i}`, date: at(daysAgo(i)) }),
      folder,
      receivedDateTime: at(daysAgo(i)).toISOString(),
    })),
  );
  return h.control.seedMailbox(USER, items);
}

async function drainChanges(from: SyncCursor): Promise<{
  upserts: RemoteMessage[];
  deletes: string[];
  stateChanges: { providerMessageId: string; flags?: Record<string, unknown>; folderId?: string }[];
  cursor: SyncCursor;
  reset: boolean;
}> {
  const out = {
    upserts: [] as RemoteMessage[],
    deletes: [] as string[],
    stateChanges: [] as { providerMessageId: string; flags?: Record<string, unknown>; folderId?: string }[],
    reset: false,
  };
  let position: unknown | null = null;
  for (let i = 0; i < 100; i++) {
    const page = await adapter.changeSource.changesSince(from, position);
    out.upserts.push(...page.upserts);
    out.deletes.push(...page.deletes);
    out.stateChanges.push(...page.stateChanges);
    out.reset ||= page.reset;
    if (page.nextCursor) return { ...out, cursor: page.nextCursor };
    position = page.nextPosition;
  }
  throw new Error('the round did not end');
}

beforeAll(async () => {
  h = await startHarness({ baseUrl: 'https' });
  globalThis.fetch = createNodeFetch({ ca: h.ca.caPem });
  receiver = await startReceiver();
  h.control.addUser(PEER);
  const accessToken = String((await signIn(h.served.httpUrl, USER)).access_token);
  const tokens: AccessTokenSource = { accessToken: async () => accessToken, invalidate: () => undefined };
  const factory = graphAdapterFactory(
    { GRAPH_API_URL: h.served.httpsUrl, PUBLIC_URL: receiver.url, GRAPH_SUBSCRIPTION_MINUTES: 60 },
    { folderRefreshMs: 0, deltaPageSize: 7 },
  );
  adapter = factory({ id: 'mb-1', orgId: 'org-1', provider: 'microsoft', address: USER }, tokens);
});

afterAll(async () => {
  globalThis.fetch = originalFetch;
  await receiver?.close();
  await h?.close();
});

describe('backfill', () => {
  it('imports every synced folder newest first within the window, in pages, and hands back the cursor', async () => {
    const customers = h.control.createFolder(USER, 'Customers', 'inbox');
    const inbox = await seed('inbox', 23, (i) => 1 + i, 'Inbox');
    const archive = await seed('archive', 6, (i) => 2 + i * 3, 'Archived');
    const user = await seed(customers, 4, (i) => 5 + i, 'Customer');
    await seed('inbox', 3, (i) => 90 + i, 'Too old');
    await seed('junkemail', 3, (i) => 1 + i, 'Junk');
    await seed('drafts', 2, (i) => 1 + i, 'Draft');

    const pages: RemoteMessage[][] = [];
    let position: unknown | null = null;
    let lateId = '';
    for (let i = 0; i < 50; i++) {
      const page = await adapter.changeSource.backfillPage({ since, position, pageSize: 8 });
      pages.push(page.upserts);
      if (i === 0) lateId = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'During backfill' }));
      if (page.nextPosition === null) {
        expect(page.cursor).toBeDefined();
        cursor = page.cursor as SyncCursor;
        break;
      }
      expect(page.upserts.length).toBeLessThanOrEqual(8);
      position = JSON.parse(JSON.stringify(page.nextPosition)); // as the engine persists it
    }
    const all = pages.flat();
    for (const m of all) imported.set(m.providerMessageId, m);
    expect(pages.length).toBeGreaterThan(3);
    expect(all).toHaveLength(imported.size); // no duplicates
    expect([...imported.keys()].sort()).toEqual([...inbox, ...archive, ...user].sort());
    // Newest first within each folder, and the inbox's first page is its newest mail.
    const inboxOrder = all.filter((m) => inbox.includes(m.providerMessageId)).map((m) => m.receivedAt.getTime());
    expect(inboxOrder).toEqual([...inboxOrder].sort((a, b) => b - a));
    expect(pages[0]?.[0]?.content.kind === 'parsed' && pages[0][0].content.parsed.subject).toBe('Inbox 0');
    expect(imported.get(archive[0] as string)?.flags).toMatchObject({ archived: true, deleted: false });
    expect(imported.get(user[0] as string)?.folderId).toBe(customers);
    expect(Object.keys((cursor.state as { folders: Record<string, string> }).folders)).toEqual(expect.arrayContaining([customers]));

    // Rule 1: what arrived during the backfill comes with the first replay of the cursor.
    const replay = await drainChanges(cursor);
    expect(replay.upserts.map((m) => m.providerMessageId)).toContain(lateId);
    expect(replay.deletes).toEqual([]);
    cursor = replay.cursor;
  });
});

describe('incremental', () => {
  it('keeps a moved message as one id, reports an Outlook flag as a state change, and deletes what is purged', async () => {
    const [moved, flagged, purged] = h.control.messages(USER, 'inbox').map((m) => m.immutableId);
    h.control.move(USER, moved as string, 'archive');
    h.control.flag(USER, flagged as string, 'flagged');
    h.control.permanentlyDelete(USER, purged as string);
    const fresh = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Fresh' }));
    const newFolder = h.control.createFolder(USER, 'Projects');
    const intoNew = h.control.messages(USER, 'inbox').find((m) => ![moved, flagged, purged, fresh].includes(m.immutableId))?.immutableId as string;
    h.control.move(USER, intoNew, newFolder);

    const changes = await drainChanges(cursor);
    expect(changes.deletes).toEqual([purged]);
    const movedCopies = changes.upserts.filter((m) => m.providerMessageId === moved);
    expect(movedCopies.length).toBeGreaterThanOrEqual(1);
    expect(movedCopies.at(-1)).toMatchObject({ folderId: h.control.messages(USER, 'archive')[0]?.folderId, flags: { archived: true } });
    expect(changes.stateChanges).toContainEqual(expect.objectContaining({ providerMessageId: flagged, flags: expect.objectContaining({ starred: true }) }));
    expect(changes.upserts.map((m) => m.providerMessageId)).toEqual(expect.arrayContaining([fresh, intoNew]));
    expect(changes.deletes).not.toContain(intoNew);
    cursor = changes.cursor;
    expect(Object.keys((cursor.state as { folders: Record<string, string> }).folders)).toContain(newFolder);
  });

  it('answers an invalidated delta token with cursor_expired', async () => {
    h.control.invalidateDeltaTokens(USER, 'inbox');
    await expect(adapter.changeSource.changesSince(cursor, null)).rejects.toMatchObject({
      code: 'cursor_expired',
      details: { status: 410, providerCode: 'SyncStateNotFound' },
    });
    // Recovery: the placeholder cursor re-lists every folder, flagged as a reset round.
    const relist = await drainChanges(await adapter.changeSource.currentCursor());
    expect(relist.reset).toBe(true);
    expect(relist.upserts.length).toBeGreaterThan(20);
    cursor = relist.cursor;
  });

  it('lists ids and fetches messages in scope only', async () => {
    const ids = [];
    for await (const batch of adapter.changeSource.listAllIds({ since })) ids.push(...batch);
    const junk = h.control.messages(USER, 'junkemail')[0]?.immutableId as string;
    expect(ids).not.toContain(junk);
    expect(await adapter.changeSource.fetchMessage(junk)).toBeNull();
    expect(await adapter.changeSource.fetchMessage(ids[0] as string)).toMatchObject({ providerMessageId: ids[0], content: { kind: 'parsed' } });
  });

  it("re-fetches a message's MIME through $value, and says not_found for one that is gone", async () => {
    const legacy = readFileSync(join(__dirname, '../../../../../test/fixtures/mail/35-uuencode-attachment.eml'));
    const id = await h.control.deliver(USER, legacy);
    expect((await adapter.changeSource.fetchRaw(id)).equals(legacy)).toBe(true);
    await expect(adapter.changeSource.fetchRaw('AAMkAGNvbmUAAAA=')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('after change notifications, GETs just the notified messages and keeps the cursor; without them, reads every folder', async () => {
    const accessToken = String((await signIn(h.served.httpUrl, USER)).access_token);
    const hints = new GraphChangeHints();
    const notified = graphAdapterFactory(
      { GRAPH_API_URL: h.served.httpsUrl, PUBLIC_URL: receiver.url, GRAPH_SUBSCRIPTION_MINUTES: 60 },
      { hints, push: false },
    )({ id: 'mb-hinted', orgId: 'org-1', provider: 'microsoft', address: USER }, { accessToken: async () => accessToken, invalidate: () => undefined });
    await notified.changeSource.fetchMessage(h.control.messages(USER, 'inbox')[0]!.immutableId); // loads its folder map
    const arrived = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Notified' }));
    const flagged = h.control.messages(USER, 'inbox').find((m) => m.immutableId !== arrived)!.immutableId;
    h.control.flag(USER, flagged, 'flagged');
    const purged = h.control.messages(USER, 'inbox').find((m) => ![arrived, flagged].includes(m.immutableId))!.immutableId;
    h.control.permanentlyDelete(USER, purged);
    for (const id of [arrived, flagged, purged]) hints.add('mb-hinted', id);
    const seq = h.control.requestCounters().total;
    const page = await notified.changeSource.changesSince(cursor, null);
    const calls = h.control.requests({ sinceSeq: seq }).filter((r) => r.path.startsWith('/v1.0/'));
    expect(calls.map((r) => r.name)).toEqual(Array(3).fill('GET /v1.0/me/messages/{id}'));
    expect(page.upserts.map((m) => m.providerMessageId).sort()).toEqual([arrived, flagged].sort());
    expect(page.stateChanges).toEqual([expect.objectContaining({ providerMessageId: flagged, flags: expect.objectContaining({ starred: true }) })]);
    expect(page.deletes).toEqual([purged]);
    expect(page.nextCursor).toEqual(cursor);
    // No hints (or hints already taken): a full round, a delta page of every synced folder.
    const again = h.control.requestCounters().total;
    await notified.changeSource.changesSince(cursor, null);
    expect(h.control.requests({ sinceSeq: again }).filter((r) => r.path.endsWith('/delta')).length).toBeGreaterThanOrEqual(4);
  });
});

describe('writer', () => {
  it('writes categories, read and starred state, and trashes to Deleted Items', async () => {
    const id = h.control.messages(USER, 'inbox')[0]?.immutableId as string;
    await adapter.writer.modify(id, { flags: { read: true, starred: true }, labelsAdded: ['Customer'] });
    await adapter.writer.modify(id, { labelsAdded: ['Deal'], labelsRemoved: ['Customer'] });
    const after = h.control.messages(USER).find((m) => m.immutableId === id);
    expect(after).toMatchObject({ isRead: true, flagStatus: 'flagged', categories: ['Deal'] });
    await adapter.writer.modify(id, { flags: { archived: true } });
    expect(h.control.messages(USER, 'archive').map((m) => m.immutableId)).toContain(id);
    await adapter.writer.modify(id, { flags: { archived: false } });
    expect(h.control.messages(USER, 'inbox').map((m) => m.immutableId)).toContain(id);
    await adapter.writer.trash(id);
    expect(h.control.messages(USER, 'deleteditems').map((m) => m.immutableId)).toContain(id);
    expect(h.control.actions('delete', USER)).toHaveLength(0);
  });

  it('sends a reply through createReply in the same conversation, findable by its Internet Message-ID', async () => {
    const original = await h.control.deliver(USER, await rfc822({ from: PEER, to: USER, subject: 'Pricing', messageId: '<pricing-1@fabrikam.test>' }));
    const conversationId = h.control.messages(USER).find((m) => m.immutableId === original)?.conversationId;
    const mail = await outgoing({
      from: USER,
      to: PEER,
      subject: 'RE: Pricing',
      text: 'Our offer is attached.',
      messageId: '<reply-1@contoso.test>',
      attachments: [{ filename: 'offer.txt', contentType: 'text/plain', content: Buffer.from('offer') }],
    });
    const sent = await adapter.writer.send({
      ...mail,
      internetMessageId: '<reply-1@contoso.test>',
      replyTo: { providerMessageId: original, providerThreadId: conversationId ?? null },
    });
    const copy = h.control.messages(USER, 'sentitems').find((m) => m.immutableId === sent.providerMessageId);
    expect(copy).toMatchObject({ conversationId, isDraft: false });
    expect(sent.providerThreadId).toBe(conversationId);
    expect(h.control.actions('send', USER).at(-1)).toMatchObject({
      messageId: sent.providerMessageId,
      detail: { inReplyTo: '<pricing-1@fabrikam.test>', to: [PEER] },
    });
    expect(await adapter.writer.findByInternetMessageId(copy?.internetMessageId as string)).toEqual(sent);
    expect(await adapter.writer.findByInternetMessageId('<never-sent@contoso.test>')).toBeNull();
  });

  it('sends a new message as a draft, then send, and returns the Sent copy id', async () => {
    const mail = await outgoing({ from: USER, to: PEER, subject: 'Hello from the CRM', html: '<p>Hi <b>there</b></p>', messageId: '<new-1@contoso.test>' });
    const sent = await adapter.writer.send({ ...mail, internetMessageId: '<new-1@contoso.test>' });
    expect(h.control.messages(USER, 'sentitems').find((m) => m.immutableId === sent.providerMessageId)?.subject).toBe('Hello from the CRM');
    expect(h.control.messages(PEER, 'inbox').map((m) => m.subject)).toContain('Hello from the CRM');
  });

  it('reports the complete draft before sending it, and resumePrepared sends it once, then only reports it', async () => {
    const mail = await outgoing({ from: USER, to: PEER, subject: 'Prepared', text: 'Hi', messageId: '<prepared-1@contoso.test>' });
    const sends = () => h.control.actions('send', USER).length;
    const before = sends();
    const prepared: string[] = [];
    // A crash right after the draft id was recorded: the draft is complete, nothing sent.
    await expect(
      adapter.writer.send(
        { ...mail, internetMessageId: '<prepared-1@contoso.test>' },
        {
          async prepared({ providerMessageId }) {
            prepared.push(providerMessageId);
            expect(h.control.messages(USER, 'drafts').find((m) => m.immutableId === providerMessageId)).toMatchObject({ isDraft: true, subject: 'Prepared' });
            throw new Error('crash');
          },
        },
      ),
    ).rejects.toThrow('crash');
    expect(prepared).toHaveLength(1);
    expect(sends()).toBe(before);
    const draftId = prepared[0]!;

    const resumed = await adapter.writer.resumePrepared!(draftId);
    expect(resumed).toEqual({ providerMessageId: draftId, providerThreadId: expect.any(String), internetMessageId: '<prepared-1@contoso.test>' });
    expect(sends()).toBe(before + 1);
    expect(h.control.messages(USER, 'sentitems').find((m) => m.immutableId === draftId)).toMatchObject({ isDraft: false });
    // Already sent (same immutable id, now in Sent Items): the same ids, no second send.
    expect(await adapter.writer.resumePrepared!(draftId)).toEqual(resumed);
    expect(sends()).toBe(before + 1);
  });

  it('resumePrepared answers gone for a draft the user deleted or purged, and sends nothing', async () => {
    const sends = () => h.control.actions('send', USER).length;
    const before = sends();
    const prepare = async (n: number): Promise<string> => {
      const mail = await outgoing({ from: USER, to: PEER, subject: `Discarded ${n}`, text: 'Hi' });
      let id = '';
      await adapter.writer
        .send(
          { ...mail, internetMessageId: `<discarded-${n}@contoso.test>` },
          {
            async prepared({ providerMessageId }) {
              id = providerMessageId;
              throw new Error('crash');
            },
          },
        )
        .catch(() => undefined);
      return id;
    };
    const trashed = await prepare(1);
    h.control.trash(USER, trashed); // still a draft, but in Deleted Items
    expect(await adapter.writer.resumePrepared!(trashed)).toBe('gone');
    const purged = await prepare(2);
    h.control.permanentlyDelete(USER, purged); // 404
    expect(await adapter.writer.resumePrepared!(purged)).toBe('gone');
    expect(sends()).toBe(before);
  });

  // The Sent Items copy "won't be created until the message is successfully sent, which can take time"
  // (https://learn.microsoft.com/graph/outlook-immutable-id): the emulator plays that with a delay.
  it('waits for a Sent copy in transit: send reads the Message-ID that went out, and a resume right after a send finds it sent', async () => {
    h.control.setSentCopyDelay(300);
    h.control.assignOwnMessageIds(USER);
    const sends = () => h.control.actions('send', USER).length;
    try {
      const mail = await outgoing({ from: USER, to: PEER, subject: 'In transit', text: 'Hi', messageId: '<transit-1@contoso.test>' });
      const sent = await adapter.writer.send({ ...mail, internetMessageId: '<transit-1@contoso.test>' });
      const copy = h.control.messages(USER, 'sentitems').find((m) => m.immutableId === sent.providerMessageId);
      // Exchange kept its own Message-ID here: what the send reports is the copy's, for the CRM to adopt.
      expect(copy?.internetMessageId).not.toBe('<transit-1@contoso.test>');
      expect(sent.internetMessageId).toBe(copy?.internetMessageId);

      let draftId = '';
      await adapter.writer
        .send(
          { ...mail, internetMessageId: '<transit-2@contoso.test>' },
          {
            async prepared({ providerMessageId }) {
              draftId = providerMessageId;
              throw new Error('crash');
            },
          },
        )
        .catch(() => undefined);
      const before = sends();
      const resumed = await adapter.writer.resumePrepared!(draftId);
      // A crash right after that send, and the retry: the draft is in transit, neither in Drafts nor in Sent Items.
      expect(h.control.messages(USER).some((m) => m.immutableId === draftId)).toBe(false);
      expect(await adapter.writer.resumePrepared!(draftId)).toEqual(resumed);
      expect(sends()).toBe(before + 1);
    } finally {
      h.control.setSentCopyDelay(0);
      h.control.assignOwnMessageIds(USER, false);
    }
  });

  it('a one-call send still reports the draft once, just before sending', async () => {
    const mail = await outgoing({ from: USER, to: PEER, subject: 'Hooked', text: 'Hi' });
    const seen: string[] = [];
    const sent = await adapter.writer.send(
      { ...mail, internetMessageId: '<hooked-1@contoso.test>' },
      {
        async prepared({ providerMessageId }) {
          seen.push(providerMessageId);
        },
      },
    );
    expect(seen).toEqual([sent.providerMessageId]);
  });

  it('on a retry, discards the draft a crashed attempt left in Drafts (found by our Message-ID property); a moved one stays', async () => {
    const crashed = async (n: number): Promise<string> => {
      const mail = await outgoing({ from: USER, to: PEER, subject: `Leftover ${n}`, text: 'Hi' });
      let id = '';
      // The process dies before it records the draft id (here: the hook throws before anything is recorded).
      await adapter.writer
        .send(
          { ...mail, internetMessageId: `<leftover-${n}@contoso.test>` },
          {
            async prepared({ providerMessageId }) {
              id = providerMessageId;
              throw new Error('crash');
            },
          },
        )
        .catch(() => undefined);
      return id;
    };
    const left = await crashed(1);
    expect(h.control.messages(USER, 'drafts').map((m) => m.immutableId)).toContain(left);
    expect(await adapter.writer.findByInternetMessageId('<leftover-1@contoso.test>')).toBeNull();
    expect(h.control.messages(USER, 'drafts').map((m) => m.immutableId)).not.toContain(left);
    // A draft the user filed elsewhere is theirs to keep.
    const moved = await crashed(2);
    h.control.move(USER, moved, 'archive');
    expect(await adapter.writer.findByInternetMessageId('<leftover-2@contoso.test>')).toBeNull();
    expect(h.control.messages(USER, 'archive').map((m) => m.immutableId)).toContain(moved);
    // And a send that did go out under another internetMessageId is found by the same property.
    const mail = await outgoing({ from: USER, to: PEER, subject: 'Went out', text: 'Hi' });
    const sent = await adapter.writer.send({ ...mail, internetMessageId: '<went-out@contoso.test>' });
    expect(await adapter.writer.findByInternetMessageId('<went-out@contoso.test>')).toEqual(sent);
    expect(h.control.actions('send', USER).filter((a) => String(a.detail?.subject).startsWith('Leftover'))).toHaveLength(0);
  });
});

describe('delta that ignores $expand', () => {
  // The stricter reading of the docs (test/emulators/graph/store.ts ignoreDeltaExpand): delta items come without
  // `attachments`; a message with hasAttachments has its list read on its own, so its files still reach the CRM.
  it('still gives each message its attachment metadata, with one extra call per message that has attachments', async () => {
    h.control.setDeltaExpand(false);
    try {
      const raw = await rfc822({
        from: PEER,
        to: USER,
        subject: 'Terms attached',
        text: 'See file',
        attachments: [{ filename: 'terms.txt', content: Buffer.from('net 30') }],
      });
      const plain = await rfc822({ from: PEER, to: USER, subject: 'No file here', text: 'Hi' });
      await h.control.deliver(USER, raw);
      await h.control.deliver(USER, plain);
      const fresh = graphAdapterFactory({ GRAPH_API_URL: h.served.httpsUrl, PUBLIC_URL: receiver.url, GRAPH_SUBSCRIPTION_MINUTES: 60 }, { folderRefreshMs: 0 })(
        { id: 'mb-2', orgId: 'org-1', provider: 'microsoft', address: USER },
        { accessToken: async () => String((await signIn(h.served.httpUrl, USER)).access_token), invalidate: () => undefined },
      );
      const listsBefore = h.control.requests().filter((r) => /\/attachments$/.test(r.path ?? '')).length;
      const upserts: RemoteMessage[] = [];
      let position: unknown | null = null;
      do {
        const page = await fresh.changeSource.backfillPage({ since: new Date(Date.now() - 60_000), position });
        upserts.push(...page.upserts);
        position = page.nextPosition;
      } while (position !== null);
      const parsedOf = (subject: string) => {
        const m = upserts.find((u) => u.content.kind === 'parsed' && u.content.parsed.subject === subject);
        return m?.content.kind === 'parsed' ? m.content.parsed : undefined;
      };
      expect(parsedOf('Terms attached')?.attachments.map((a) => a.filename)).toEqual(['terms.txt']);
      expect(parsedOf('No file here')?.attachments).toEqual([]);
      // One list per message that has files (this window also holds the earlier tests' reply with offer.txt), none for the rest.
      const withFiles = upserts.filter((u) => u.content.kind === 'parsed' && u.content.parsed.attachments.length > 0).length;
      expect(withFiles).toBeLessThan(upserts.length);
      expect(h.control.requests().filter((r) => /\/attachments$/.test(r.path ?? '')).length - listsBefore).toBe(withFiles);
    } finally {
      h.control.setDeltaExpand(true);
    }
  });
});

describe('push', () => {
  it('creates the subscription through the validation handshake, renews it by PATCH and stops it', async () => {
    const push = adapter.push;
    if (!push) throw new Error('push expected');
    const info = await push.start();
    expect(info.clientState?.length).toBeGreaterThanOrEqual(32);
    const [sub] = h.control.subscriptions(USER);
    expect(sub).toMatchObject({
      id: info.channelId,
      clientState: info.clientState,
      notificationUrl: `${receiver.url}/webhooks/graph`,
      lifecycleNotificationUrl: `${receiver.url}/webhooks/graph/lifecycle`,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const renewed = await push.renew(info);
    expect(renewed.channelId).toBe(info.channelId);
    expect(renewed.expiresAt.getTime()).toBeGreaterThan(info.expiresAt.getTime());
    await push.stop(renewed);
    expect(h.control.subscriptions(USER)).toHaveLength(0);
  });
});

describe('throttling', () => {
  afterEach(() => {
    h.control.clearFaults();
    h.control.setThrottling({ maxConcurrent: 4, requestsPerWindow: 10_000, windowSeconds: 600 });
  });

  it('never has more than 4 requests in flight', async () => {
    h.control.setFaults({ delayMs: 100 });
    const before = h.control.throttleStats(USER).throttled;
    await Promise.all(Array.from({ length: 5 }, () => adapter.writer.findByInternetMessageId('<none@contoso.test>')));
    const stats = h.control.throttleStats(USER);
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
    expect(stats.throttled).toBe(before);
  });

  it('abandons a stalled request after GRAPH_REQUEST_TIMEOUT_SECONDS and retries it', async () => {
    const accessToken = String((await signIn(h.served.httpUrl, USER)).access_token);
    const timed = graphAdapterFactory(
      { GRAPH_API_URL: h.served.httpsUrl, PUBLIC_URL: receiver.url, GRAPH_SUBSCRIPTION_MINUTES: 60, GRAPH_REQUEST_TIMEOUT_SECONDS: 1 },
      { push: false },
    )({ id: 'mb-timeout', orgId: 'org-1', provider: 'microsoft', address: USER }, { accessToken: async () => accessToken, invalidate: () => undefined });
    const stallsBefore = h.control.faultCounters().stalls;
    h.control.setFaults({ stallRate: 1 });
    const started = Date.now();
    const pending = timed.writer.findByInternetMessageId('<none@contoso.test>');
    await new Promise((resolve) => setTimeout(resolve, 300));
    h.control.setFaults({}); // the retry goes through; the first attempt hangs until the client gives up on it
    expect(await pending).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(h.control.faultCounters().stalls - stallsBefore).toBe(1);
  });

  it('honours Retry-After for every request of the mailbox, then succeeds', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    h.control.setThrottling({ requestsPerWindow: 3, windowSeconds: 1 });
    h.control.setFaults({ delayMs: 100 });
    const before = h.control.throttleStats(USER);
    const results = await Promise.all(Array.from({ length: 5 }, () => adapter.writer.findByInternetMessageId('<none@contoso.test>')));
    expect(results).toEqual([null, null, null, null, null]);
    const stats = h.control.throttleStats(USER);
    expect(stats.throttled).toBeGreaterThan(before.throttled);
    expect(stats.retryAfterViolations).toBe(before.retryAfterViolations);
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
  });
});

describe('oauth', () => {
  it('exchanges a code with PKCE, reads the address, and stores the rotated refresh token', async () => {
    const oauth = microsoftOAuth({
      MICROSOFT_CLIENT_ID: CLIENT_ID,
      MICROSOFT_CLIENT_SECRET: undefined,
      MICROSOFT_AUTHORITY: `${h.served.httpUrl}/common`,
      GRAPH_API_URL: h.served.httpsUrl,
    });
    if (!oauth) throw new Error('oauth expected');
    const { verifier, challenge } = pkcePair();
    const url = new URL(oauth.authorizationUrl({ state: 'st-1', codeChallenge: challenge, redirectUri: REDIRECT_URI, loginHint: 'carol@contoso.test' }));
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('scope')).toBe('offline_access Mail.ReadWrite Mail.Send User.Read openid email profile');
    const location = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe('st-1');
    const tokens = await oauth.exchangeCode({ code: location.searchParams.get('code') ?? '', codeVerifier: verifier, redirectUri: REDIRECT_URI });
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(tokens.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const carol = h.control.addUser('carol@contoso.test');
    expect(await oauth.consentingAccount(tokens)).toEqual({
      address: 'carol@contoso.test',
      identityKeys: [`microsoft:${carol.tenantId}:${carol.id}`],
      verifiedEmail: null,
    });

    h.control.setUsedRefreshTokenGrace(0);
    try {
      const rotated = await oauth.refresh(tokens.refreshToken as string);
      expect(rotated.refreshToken).toEqual(expect.any(String));
      expect(rotated.refreshToken).not.toBe(tokens.refreshToken);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await expect(oauth.refresh(tokens.refreshToken as string)).rejects.toMatchObject({ code: 'auth_revoked' });
      expect(await oauth.refresh(rotated.refreshToken as string)).toMatchObject({ accessToken: expect.any(String) });
      h.control.revokeGrant('carol@contoso.test');
      await expect(oauth.refresh(rotated.refreshToken as string)).rejects.toBeInstanceOf(ProviderError);
    } finally {
      h.control.setUsedRefreshTokenGrace(null);
    }
  });
});
