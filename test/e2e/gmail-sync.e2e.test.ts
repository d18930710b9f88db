/**
 * A Gmail user's journey through the real server process (API + workers) against the Gmail emulator over https:
 * connect → the import runs to `live` with exact counts → mail is on the right contact → new mail arrives through
 * a Pub/Sub push → a star in Gmail shows in the CRM → a delete in the CRM lands in Gmail's trash → a teammate's copy
 * of the same message is one message held by both.
 */
import { readFileSync } from 'node:fs';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createNodeFetch } from '../emulators/common/fetch';
import { generateMailbox, generateMessage } from '../emulators/common/generate';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import * as sync from '../helpers/sync-wait';

const ADA = { email: 'ada@acme-robotics.com', name: 'Ada Lovelace' };
const BOB = { email: 'bob@acme-robotics.com', name: 'Bob Builder' };
const CUSTOMER = { domain: 'initech.com', people: [{ email: 'bill@initech.com', name: 'Bill Lumbergh' }] };
const SEEDED = 40;

let emu: RunningEmulators;
let server: ServerProcess;
let browser: typeof fetch;

beforeAll(async () => {
  emu = await startEmulators({ https: true, quiet: true });
  browser = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });
  const now = Date.now();
  const mail = await generateMailbox({
    owner: ADA,
    count: SEEDED,
    seed: 7,
    colleagues: [BOB],
    customers: [CUSTOMER],
    startDate: new Date(now - 20 * 86_400_000),
    endDate: new Date(now - 60_000),
  });
  emu.google.control.seed(
    ADA.email,
    mail.map((m) => ({ raw: m.raw, labelIds: m.labelIds, date: m.date })),
  );
  server = await startServerProcess({ ...emu.env, SYNC_POLL_SECONDS: '2' });
  emu.google.control.configurePush({
    url: `${server.url}/webhooks/gmail`,
    audience: emu.env.GOOGLE_PUSH_AUDIENCE,
    serviceAccountEmail: emu.env.GOOGLE_PUSH_SERVICE_ACCOUNT,
    rateLimit: 'coalesce',
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await emu?.stop();
});

const api = (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  sync.api(server.url, token, method, path, body, headers);
const signInAndConnect = (who: { email: string }) => sync.signInAndConnect(emu, server.url, browser, who);
const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000) =>
  sync.until(what, probe, { timeoutMs, context: () => server.output().slice(-2000) });

describe('a Gmail mailbox in two-way sync', () => {
  let ada: { token: string; mailboxId: string };

  it('imports the mailbox to live with exact counts', async () => {
    ada = await signInAndConnect(ADA);
    const box = await until(
      'the import to finish',
      async () => {
        const { body } = await api(ada.token, 'GET', '/api/mailboxes');
        const m = body.mailboxes[0];
        return m.state === 'live' && m.progress.imported === m.progress.total ? m : null;
      },
      60_000,
    );
    expect(box.progress.total).toBe(SEEDED);
    expect(box.lastError).toBeNull();
  }, 90_000);

  it('puts the customer’s mail on the contact created afterwards', async () => {
    const contact = await api(ada.token, 'POST', '/api/contacts', { email: 'bill@initech.com' });
    expect(contact.status).toBe(201);
    const page = await api(ada.token, 'GET', `/api/contacts/${contact.body.id}/messages?limit=100`);
    expect(page.body.messages.length).toBeGreaterThan(0);
    for (const m of page.body.messages) {
      expect([m.from.email, ...m.to.map((t: { email: string }) => t.email), ...m.cc.map((t: { email: string }) => t.email)]).toContain('bill@initech.com');
    }
  });

  it('shows new mail, and a star set in Gmail (pushed through Pub/Sub once the watch is up)', async () => {
    const fresh = await generateMessage({ owner: ADA, from: CUSTOMER.people[0], subject: 'Signed order form', seed: 99 });
    const delivered = emu.google.control.deliver(ADA.email, fresh.raw);
    const contacts = await api(ada.token, 'GET', '/api/contacts?q=bill');
    const contactId = contacts.body.contacts[0].id;
    const arrived = await until(
      'the pushed message',
      async () => {
        const page = await api(ada.token, 'GET', `/api/contacts/${contactId}/messages?limit=5`);
        return page.body.messages.find((m: { subject: string }) => m.subject === 'Signed order form');
      },
      20_000,
    );
    expect(arrived.state).toMatchObject({ read: false, starred: false });

    emu.google.control.act(ADA.email, delivered.id, 'star');
    await until('the star', async () => (await api(ada.token, 'GET', `/api/messages/${arrived.id}`)).body.state.starred === true, 20_000);
    // The watch is in place by now, so that change was pushed, verified (OIDC) and acknowledged by the server.
    expect(emu.google.control.watchOf(ADA.email)).toBeDefined();
    await until(
      'an acknowledged push',
      async () => emu.google.control.pushes().some((p: { outcome: string; status?: number }) => p.outcome === 'delivered' && p.status === 204),
      10_000,
    );
  }, 60_000);

  it('leaves out mail under a label an admin excluded by the name Gmail shows (Gmail itself names it Label_N)', async () => {
    const labelId = emu.google.control.createLabel(ADA.email, 'Personal/Family')!;
    expect(labelId).toMatch(/^Label_\d+$/);
    const current = (await api(ada.token, 'GET', '/api/settings')).body;
    const put = await api(ada.token, 'PUT', '/api/settings', { ...current, sync: { ...current.sync, excludedLabels: ['personal'] } });
    expect(put.status).toBe(200);
    const personal = await generateMessage({ owner: ADA, from: CUSTOMER.people[0], subject: 'Family barbecue', seed: 201 });
    const business = await generateMessage({ owner: ADA, from: CUSTOMER.people[0], subject: 'Purchase order 7', seed: 202 });
    emu.google.control.deliver(ADA.email, personal.raw, ['INBOX', 'UNREAD', labelId]);
    emu.google.control.deliver(ADA.email, business.raw);
    const contactId = (await api(ada.token, 'GET', '/api/contacts?q=bill')).body.contacts[0].id;
    const subjects = await until(
      'the unlabelled message',
      async () => {
        const page = await api(ada.token, 'GET', `/api/contacts/${contactId}/messages?limit=20`);
        const all = page.body.messages.map((m: { subject: string }) => m.subject);
        return all.includes('Purchase order 7') ? all : null;
      },
      20_000,
    );
    expect(subjects).not.toContain('Family barbecue');
    await api(ada.token, 'PUT', '/api/settings', current);
  }, 60_000);

  it('moves a message deleted in the CRM to Gmail’s trash', async () => {
    const contacts = await api(ada.token, 'GET', '/api/contacts?q=bill');
    const page = await api(ada.token, 'GET', `/api/contacts/${contacts.body.contacts[0].id}/messages?limit=1`);
    const target = page.body.messages[0];
    expect((await api(ada.token, 'DELETE', `/api/messages/${target.id}`)).status).toBe(202);
    const trashed = emu.google.control.messages(ADA.email).filter((m: { labelIds: string[] }) => m.labelIds.includes('TRASH'));
    expect(trashed.length).toBe(1);
  });

  it('sends from the CRM: one message in Gmail’s Sent folder and one in the CRM once sync reads it back', async () => {
    const res = await api(
      ada.token,
      'POST',
      '/api/messages',
      { mailboxId: ada.mailboxId, to: [{ email: 'bill@initech.com' }], subject: 'Contract attached', text: 'Here it is.' },
      { 'idempotency-key': 'contract-1' },
    );
    expect(res.status).toBe(202);
    await until('the send', async () => emu.google.control.sends().some((x: { mailbox: string }) => x.mailbox === ADA.email));
    // The Sent copy comes back through history; it must land on the same CRM message, never a second one.
    await until(
      'the Sent copy synced back',
      async () => {
        const m = await api(ada.token, 'GET', `/api/messages/${res.body.id}`);
        return m.body.labels?.includes('SENT') ? m : null;
      },
      20_000,
    );
    const contacts = await api(ada.token, 'GET', '/api/contacts?q=bill');
    const page = await api(ada.token, 'GET', `/api/contacts/${contacts.body.contacts[0].id}/messages?limit=20`);
    expect(page.body.messages.filter((m: { subject: string }) => m.subject === 'Contract attached')).toHaveLength(1);
    expect(emu.google.control.sends().filter((x: { mailbox: string }) => x.mailbox === ADA.email)).toHaveLength(1);
  }, 60_000);

  it('holds a message that two teammates have as one message synced by both', async () => {
    const shared = await generateMessage({ owner: ADA, from: CUSTOMER.people[0], to: [ADA, BOB], subject: 'To both of you', seed: 123 });
    emu.google.control.deliver(ADA.email, shared.raw);
    emu.google.control.deliver(BOB.email, shared.raw);
    const bob = await signInAndConnect(BOB);
    const contacts = await api(ada.token, 'GET', '/api/contacts?q=bill');
    const both = await until(
      'both copies',
      async () => {
        const page = await api(ada.token, 'GET', `/api/contacts/${contacts.body.contacts[0].id}/messages?limit=10`);
        const hits = page.body.messages.filter((m: { subject: string }) => m.subject === 'To both of you');
        return hits.length === 1 && hits[0].syncedBy.length === 2 ? hits : null;
      },
      60_000,
    );
    expect(both).toHaveLength(1);
    expect(bob.mailboxId).toBeTruthy();
  }, 90_000);
});
