/**
 * Provider URLs may be plain http (a local proxy, an emulator) as well as https, Microsoft Graph included: an
 * Outlook mailbox connects, imports and stays live through push with GRAPH_API_URL=http://… (the Graph client
 * library attaches no token over http by itself; server/src/sync/providers/graph/client.ts gives it one).
 */
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { generateMailbox, generateMessage } from '../emulators/common/generate';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { caughtUpWith, graphExpectedIds, openDatabase, signInAndConnect, type Connected } from '../helpers/sync-wait';
import type { Connection } from 'mongoose';

const GRACE = { email: 'grace@contoso-labs.com', name: 'Grace Hopper' };
const BILL = { email: 'bill@initech.com', name: 'Bill Lumbergh' };

let emu: RunningEmulators;
let server: ServerProcess;
let db: Connection;
const context = () => `--- server output (tail) ---\n${server?.output().slice(-3000) ?? ''}`;

beforeAll(async () => {
  emu = await startEmulators({ https: false, quiet: true });
  expect(emu.env.GRAPH_API_URL).toMatch(/^http:\/\//);
  const now = Date.now();
  const mail = await generateMailbox({
    owner: GRACE,
    count: 12,
    seed: 7,
    customers: [{ domain: 'initech.com', people: [BILL] }],
    startDate: new Date(now - 10 * 86_400_000),
    endDate: new Date(now - 3_600_000),
  });
  await emu.microsoft.control.seedMailbox(
    GRACE.email,
    mail.map((m) => ({ raw: m.raw, folder: m.folder, receivedDateTime: m.date.toISOString() })),
  );
  server = await startServerProcess({ ...emu.env, SYNC_POLL_SECONDS: '2' });
  db = await openDatabase(server.mongodbUri);
}, 120_000);

afterAll(async () => {
  await db?.close();
  await server?.stop();
  await emu?.stop();
});

it('connects, imports and follows new mail of an Outlook mailbox over http', async () => {
  const box: Connected = await signInAndConnect(emu, server.url, fetch, GRACE, 'microsoft');
  const imported = await caughtUpWith(db, box, () => graphExpectedIds(emu, GRACE.email), { context });
  expect(imported.lost).toBe(0);
  const fresh = await generateMessage({ owner: GRACE, from: BILL, to: [GRACE], subject: 'Over plain http', seed: 99 });
  await emu.microsoft.control.deliver(GRACE.email, fresh.raw);
  const after = await caughtUpWith(db, box, () => graphExpectedIds(emu, GRACE.email), { context });
  expect(after.extra).toBe(0);
  const row = await db.collection('mailboxes').findOne({ address: GRACE.email });
  expect(row?.state).toBe('live');
  expect(row?.lastError ?? null).toBeNull();
}, 90_000);
