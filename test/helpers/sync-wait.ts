/**
 * Waiting and probing for end-to-end sync tests that drive the real server process (test/helpers/server-process.ts)
 * against the emulators: wait on a condition with a deadline (never a fixed sleep), talk to the HTTP API, connect a
 * mailbox through the OAuth flow as a browser would, and read what the server stored straight from its database
 * (counts per Message-ID: lost, duplicated, extra), which works while no API process is up (between a kill -9
 * and a restart).
 */
import os from 'node:os';
import mongoose, { Types, type Connection } from 'mongoose';
import type { RunningEmulators } from '../emulators/common';

/** Polls `probe` until it gives something truthy; on timeout throws with the last error and `context()`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  opts: { timeoutMs?: number; everyMs?: number; context?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    const v = await probe().catch((err) => {
      last = err;
      return null;
    });
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}${opts.context ? `\n${opts.context()}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 200));
  }
}

export interface ApiAnswer {
  status: number;
  body: any;
}

/** One JSON call to the API at `baseUrl` with a session token. */
export async function api(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export interface Connected {
  token: string;
  mailboxId: string;
  address: string;
}

/**
 * A session for the user, from a Google ID token. Sessions are bound to the server's PUBLIC_URL (the issuer), which
 * changes with the port when a test restarts the server: sign in again after a restart.
 */
export async function signIn(emu: RunningEmulators, baseUrl: string, email: string): Promise<string> {
  // The emulator's own account for the address (its `sub`), as Google's sign-in and consent both name it.
  const idToken = await emu.google.control.mintIdToken({ email });
  const res = await fetch(`${baseUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'google', token: idToken }),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/**
 * A session for the user from a Microsoft add-in token (nested app authentication) of the emulator's tenant (or
 * `tid`). Bound to the server's URL like signIn().
 */
export async function signInMicrosoft(emu: RunningEmulators, baseUrl: string, email: string, tid = emu.microsoft.control.tenantId): Promise<string> {
  const token = await microsoftAddinToken(emu, email, tid);
  const res = await fetch(`${baseUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'microsoft', token }),
  });
  if (res.status !== 200) throw new Error(`Microsoft sign-in failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** The add-in's token for the emulator's directory user of `email` (created in tenant `tid` if new): its own oid and tid. */
export function microsoftAddinToken(emu: RunningEmulators, email: string, tid = emu.microsoft.control.tenantId): Promise<string> {
  const user = emu.microsoft.control.addUser(email.toLowerCase(), { tenantId: tid });
  return emu.microsoft.control.mintAddinToken({ aud: emu.microsoft.clientId, tid: user.tenantId, oid: user.id, preferred_username: email });
}

/** Signs the user in, then connects their mailbox through the OAuth consent (the browser's part). */
export async function signInAndConnect(
  emu: RunningEmulators,
  baseUrl: string,
  browser: typeof fetch,
  who: { email: string },
  provider: 'google' | 'microsoft' = 'google',
): Promise<Connected> {
  const session = { token: provider === 'google' ? await signIn(emu, baseUrl, who.email) : await signInMicrosoft(emu, baseUrl, who.email) };
  return connectAs(baseUrl, browser, session.token, who, provider);
}

/** Connects the signed-in user's mailbox of `provider` through the OAuth consent (the browser's part). */
export async function connectAs(
  baseUrl: string,
  browser: typeof fetch,
  token: string,
  who: { email: string },
  provider: 'google' | 'microsoft',
): Promise<Connected> {
  const session = { token };
  const started = await api(baseUrl, session.token, 'POST', '/api/mailboxes/connect', { provider });
  if (!started.body?.authorizationUrl) throw new Error(`connect failed: ${started.status} ${JSON.stringify(started.body)}`);
  const consent = await browser(started.body.authorizationUrl, { redirect: 'manual' });
  const callback = await fetch(consent.headers.get('location')!);
  if (callback.status !== 200) throw new Error(`OAuth callback answered ${callback.status}`);
  const list = await api(baseUrl, session.token, 'GET', '/api/mailboxes');
  const mine = list.body.mailboxes.find((m: { address: string; provider: string }) => m.address === who.email.toLowerCase() && m.provider === provider);
  if (!mine) throw new Error(`mailbox ${who.email} not listed after connect`);
  return { token: session.token, mailboxId: mine.id, address: who.email.toLowerCase() };
}

/** A connection of the test's own to the server's database (raw collections: no tenant plugin in the way). */
export async function openDatabase(uri: string): Promise<Connection> {
  return mongoose.createConnection(uri).asPromise();
}

const oid = (id: string | Types.ObjectId) => new Types.ObjectId(String(id));
const bare = (messageId: string) => messageId.trim().replace(/^<|>$/g, '').toLowerCase();

export interface MailboxRow {
  _id: Types.ObjectId;
  state: string;
  stage: string;
  cursor: { state?: { historyId?: string } } | null;
  backfill?: { imported?: number; total?: number; completedAt?: Date | null };
  lease?: { owner: string | null; until: Date | null; gen?: number };
  lastError?: { code: string; message: string } | null;
  poison?: { providerMessageId: string; skipped: boolean }[];
}

export async function mailboxRow(db: Connection, mailboxId: string | Types.ObjectId): Promise<MailboxRow | null> {
  return db.collection('mailboxes').findOne({ _id: oid(mailboxId) }) as Promise<MailboxRow | null>;
}

/** The mailbox is live: backfill finished, following the cursor, no error. */
export async function isLive(db: Connection, mailboxId: string | Types.ObjectId): Promise<MailboxRow | null> {
  const m = await mailboxRow(db, mailboxId);
  return m && m.state === 'live' && m.stage === 'incremental' && m.backfill?.completedAt ? m : null;
}

/** The Gmail history id of the stored cursor, as a number (NaN when there is none). */
export const cursorOf = (m: MailboxRow | null): number => Number(m?.cursor?.state?.historyId ?? NaN);

export interface CopyFigures {
  expected: number;
  /** mailboxMessages of the mailbox (not marked deleted). */
  copies: number;
  /** Distinct messages those copies point to. */
  messages: number;
  lost: number;
  /** Extra copies or messages for one Message-ID (in this mailbox, or message documents of the organisation). */
  duplicated: number;
  /** Copies whose Message-ID was not expected (e.g. deleted at the provider but still held). */
  extra: number;
  lostIds: string[];
  extraIds: string[];
}

/** The counts of CopyFigures without the id lists, as the suites print them. */
export function countsOf(f: CopyFigures): Omit<CopyFigures, 'lostIds' | 'extraIds'> {
  const { lostIds: _lost, extraIds: _extra, ...counts } = f;
  return counts;
}

/**
 * What the database holds for a mailbox against the Message-IDs it should hold: every expected id exactly once
 * (one copy in the mailbox, one message document in the organisation), nothing else.
 */
export async function copyFigures(db: Connection, mailboxId: string | Types.ObjectId, expectedMessageIds: Iterable<string>): Promise<CopyFigures> {
  const expected = new Set([...expectedMessageIds].map(bare));
  const copies = await db
    .collection('mailboxmessages')
    .find({ mailboxId: oid(mailboxId), 'state.deleted': { $ne: true } }, { projection: { messageId: 1, orgId: 1 } })
    .toArray();
  const messageIds = [...new Set(copies.map((c) => String(c.messageId)))].map(oid);
  const messages = await db
    .collection('messages')
    .find({ _id: { $in: messageIds } }, { projection: { internetMessageId: 1, orgId: 1 } })
    .toArray();
  const midOf = new Map(messages.map((m) => [String(m._id), bare(String(m.internetMessageId ?? `no-id:${String(m._id)}`))]));
  const perId = new Map<string, number>();
  for (const c of copies) {
    const mid = midOf.get(String(c.messageId)) ?? `missing-message:${String(c.messageId)}`;
    perId.set(mid, (perId.get(mid) ?? 0) + 1);
  }
  // Message documents of the organisation with one of the expected ids (dedup across mailboxes must keep them one).
  const orgId = messages[0]?.orgId;
  const docsPerId = new Map<string, number>();
  if (orgId) {
    const wanted = [...expected].flatMap((id) => [id, `<${id}>`]);
    const docs = await db
      .collection('messages')
      .find({ orgId, internetMessageId: { $in: wanted } }, { projection: { internetMessageId: 1 } })
      .toArray();
    for (const d of docs) docsPerId.set(bare(String(d.internetMessageId)), (docsPerId.get(bare(String(d.internetMessageId))) ?? 0) + 1);
  }
  const lostIds = [...expected].filter((id) => !perId.has(id));
  const extraIds = [...perId.keys()].filter((id) => !expected.has(id));
  let duplicated = 0;
  for (const id of expected) duplicated += Math.max(0, (perId.get(id) ?? 0) - 1) + Math.max(0, (docsPerId.get(id) ?? 0) - 1);
  return {
    expected: expected.size,
    copies: copies.length,
    messages: messageIds.length,
    lost: lostIds.length,
    duplicated,
    extra: extraIds.length,
    lostIds,
    extraIds,
  };
}

/** The Message-IDs of a Gmail emulator mailbox that sync should hold (spam, trash and drafts are out of scope). */
export function gmailExpectedIds(emu: RunningEmulators, email: string): string[] {
  return emu.google.control
    .messages(email)
    .filter((m) => !m.labelIds.some((l) => ['SPAM', 'TRASH', 'DRAFT'].includes(l)))
    .map((m) => m.messageIdHeader);
}

/** The Message-IDs of a Graph emulator mailbox that sync should hold (Junk Email and Drafts are out of scope). */
export function graphExpectedIds(emu: RunningEmulators, address: string): string[] {
  return emu.microsoft.control
    .messages(address)
    .filter((m) => m.folder !== 'junkemail' && m.folder !== 'drafts' && m.folder !== 'deleteditems')
    .map((m) => m.internetMessageId);
}

/** The lease owner prefix of a server process (server/src/sync/control/host.ts: `${hostname}:${pid}:…`). */
export const ownerPrefixOf = (pid: number): string => `${os.hostname()}:${pid}:`;

/**
 * After a `kill -9`: the dead process's mailbox leases (and token-refresh leases) are made to expire now instead of
 * in up to a minute. Only leases held by that pid are touched: it cannot write any more, so this only skips the wait.
 */
export async function expireLeasesOf(db: Connection, pid: number): Promise<number> {
  const prefix = new RegExp(`^${ownerPrefixOf(pid).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  const now = new Date();
  const a = await db.collection('mailboxes').updateMany({ 'lease.owner': prefix }, { $set: { 'lease.until': now } });
  const b = await db.collection('mailboxes').updateMany({ 'tokenRefresh.owner': prefix }, { $set: { 'tokenRefresh.until': now } });
  return a.modifiedCount + b.modifiedCount;
}

/** Waits until the process has exited (after a SIGKILL the exit is asynchronous). */
export async function killHard(child: import('node:child_process').ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** Live, and holding exactly the provider's messages (`expected()`, read at each look): the copy figures then. */
export async function caughtUpWith(
  db: Connection,
  box: Connected,
  expected: () => string[],
  opts: { timeoutMs?: number; context?: () => string } = {},
): Promise<CopyFigures> {
  return until(
    `${box.address} live with exact counts`,
    async () => {
      if (!(await isLive(db, box.mailboxId))) return null;
      const f = await copyFigures(db, box.mailboxId, expected());
      return f.lost === 0 && f.extra === 0 ? f : null;
    },
    { timeoutMs: opts.timeoutMs ?? 60_000, context: opts.context },
  );
}

/**
 * kill -9 of a server process, then `start` again on the same database: the killed process's leases are expired in
 * the database first (only that pid's), so the test need not wait out a lease. Returns the killed pid.
 */
export async function restartAfterKill(
  server: { child: import('node:child_process').ChildProcess },
  db: Connection,
  start: () => Promise<void>,
): Promise<number> {
  const pid = server.child.pid!;
  await killHard(server.child);
  await expireLeasesOf(db, pid);
  await start();
  return pid;
}
