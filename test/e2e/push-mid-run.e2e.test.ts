/**
 * A change notified while the mailbox's run is working is not left for the next poll (docs/SYNC.md, push): one
 * API process (`--role api`) receives Graph's notifications and one worker process (`--role worker`) runs the sync,
 * on one database, with the poll set to ten minutes — so anything not carried by the due-mark and its hints in
 * MongoDB would wait that long. Graph's answers are held back (made at once, sent 3 s later), so that the user acts
 * after the run has read the mailbox and before the run is done: only going round again brings the change in.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Types, type Connection } from 'mongoose';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { createNodeFetch } from '../emulators/common/fetch';
import { generateMailbox, generateMessage } from '../emulators/common/generate';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { caughtUpWith, graphExpectedIds, openDatabase, signInAndConnect, until, type Connected } from '../helpers/sync-wait';

const GRACE = { email: 'grace@midrun-labs.com', name: 'Grace Midrun' };
const BILL = { email: 'bill@initech.com', name: 'Bill Lumbergh' };
const POLL_SECONDS = 600;
/** One set of secrets for both processes: the worker opens the tokens the API process stored. */
const SECRETS = { JWT_SECRET: randomBytes(36).toString('base64url'), TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64') };

let emu: RunningEmulators;
let apiProc: ServerProcess;
let worker: ServerProcess;
let db: Connection;
let box: Connected;

const graph = () => emu.microsoft.control;
const context = () => `--- api ---\n${apiProc?.output().slice(-2000) ?? ''}\n--- worker ---\n${worker?.output().slice(-3000) ?? ''}`;
const copyOf = (providerMessageId: string) =>
  db.collection('mailboxmessages').findOne({ mailboxId: new Types.ObjectId(box.mailboxId), providerMessageId }) as Promise<{
    state?: { deleted?: boolean };
  } | null>;

beforeAll(async () => {
  emu = await startEmulators({ https: true, quiet: true });
  const browser = createNodeFetch({ ca: readFileSync(emu.caFile, 'utf8') });
  const now = Date.now();
  const mail = await generateMailbox({
    owner: GRACE,
    count: 12,
    seed: 77,
    customers: [{ domain: 'initech.com', people: [BILL] }],
    startDate: new Date(now - 10 * 86_400_000),
    endDate: new Date(now - 3_600_000),
  });
  await graph().seedMailbox(
    GRACE.email,
    mail.map((m) => ({ raw: m.raw, folder: 'inbox', receivedDateTime: m.date.toISOString() })),
  );
  const uri = new URL(process.env.MONGODB_URI!);
  uri.pathname = `/midrun_${randomBytes(4).toString('hex')}`;
  const env = { ...emu.env, ...SECRETS, SYNC_POLL_SECONDS: String(POLL_SECONDS) };
  apiProc = await startServerProcess(env, ['--role', 'api'], { mongodbUri: uri.toString() });
  worker = await startServerProcess({ ...env, PUBLIC_URL: apiProc.url }, ['--role', 'worker'], { mongodbUri: uri.toString() });
  db = await openDatabase(uri.toString());
  box = await signInAndConnect(emu, apiProc.url, browser, GRACE, 'microsoft');
  await caughtUpWith(db, box, () => graphExpectedIds(emu, GRACE.email), { timeoutMs: 60_000, context });
  await until('the subscription made', async () => graph().subscriptions(GRACE.email).length > 0, { timeoutMs: 30_000, context });
}, 150_000);

afterAll(async () => {
  graph()?.clearFaults();
  await Promise.all([apiProc?.stop(), worker?.stop()]);
  await db?.close();
  await emu?.stop();
});

it('mirrors a move to Deleted Items notified while a run is working, without waiting for the poll', async () => {
  const target = graph().messages(GRACE.email, 'inbox').at(-1)!;
  expect((await copyOf(target.immutableId))?.state?.deleted).toBeFalsy();
  // Every Graph answer is held 3 s after it was made: the run a new mail's notification starts has read the
  // mailbox as it stood, and is still waiting for that answer, when the user deletes a message in Outlook.
  graph().setFaults({ answerDelayMs: 3_000 });
  const seq = Math.max(
    0,
    ...graph()
      .requests()
      .map((r) => r.seq),
  );
  const arriving = await generateMessage({ owner: GRACE, from: BILL, to: [GRACE], subject: 'Arriving mid-run', seed: 4242, date: new Date() });
  const arrivedId = await graph().deliver(GRACE.email, arriving.raw);
  // The run's read at Graph: a request of ours still waiting for its answer (the recorder names a request's mailbox
  // only once it is answered). Its answer is made as it arrives; a moment later the user acts.
  await until(
    'the run for the new mail at Graph',
    async () =>
      graph()
        .requests({ sinceSeq: seq })
        .some((r) => r.path.startsWith('/v1.0/') && r.endedAt === undefined),
    { timeoutMs: 15_000, everyMs: 20, context },
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const mailboxDoc = () => db.collection('mailboxes').findOne({ _id: new Types.ObjectId(box.mailboxId) });
  const requestsBefore = (await mailboxDoc())?.runRequests ?? 0;
  graph().trash(GRACE.email, target.immutableId);
  // The API process's due-mark for that notification, read as it lands: the worker's run still holds the mailbox.
  const during = await until(
    'the notification recorded',
    async () => {
      const m = await mailboxDoc();
      return (m?.runRequests ?? 0) > requestsBefore ? m : null;
    },
    { timeoutMs: 15_000, everyMs: 20, context },
  );
  expect(during.lease?.owner).toBeTruthy();
  graph().clearFaults();
  await until('the new mail stored', async () => copyOf(arrivedId), { timeoutMs: 20_000, context });
  // Within seconds, not the ten minutes of the poll: the notification's due-mark and hint, written by the API
  // process while the worker's run was working, sent that run round again (or the next run at once after it).
  await until('the move to Deleted Items mirrored', async () => (await copyOf(target.immutableId))?.state?.deleted === true, { timeoutMs: 20_000, context });
  const mailbox = await db.collection('mailboxes').findOne({ _id: new Types.ObjectId(box.mailboxId) });
  expect(mailbox?.state).toBe('live');
}, 90_000);
