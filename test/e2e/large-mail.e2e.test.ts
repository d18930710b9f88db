/**
 * The production bundle, started with the Node flags `npm start` gives it (a bounded V8 heap, see
 * scripts/server-node-flags.ts), imports a mailbox holding messages near Gmail's receive limit: the heap bound must
 * leave room for the largest mail a user can hold, fetched in the same batches as the rest.
 *
 * Gmail accepts incoming messages up to 50 MB including headers, body and encoded attachments
 * (https://support.google.com/mail/answer/6584, "Attachment size limit"); the three large messages here carry a 34 MB
 * file each, about 46 MB once base64-encoded, and are fetched in one batch with ordinary mail.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startEmulators, type RunningEmulators } from '../emulators/common';
import { generateMailbox } from '../emulators/common/generate';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import * as sync from '../helpers/sync-wait';

const ADA = { email: 'ada@acme-robotics.com', name: 'Ada Lovelace' };
const CUSTOMER = { domain: 'initech.com', people: [{ email: 'bill@initech.com', name: 'Bill Lumbergh' }] };
const LARGE = 3;
const ORDINARY = 30;

let emu: RunningEmulators;
let server: ServerProcess;

/** A message with one attachment of `bytes` random bytes, base64 in 76-character lines as mail clients send it. */
function largeMessage(i: number, bytes: number): string {
  const b64 = randomBytes(bytes).toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    'From: Bill Lumbergh <bill@initech.com>',
    'To: Ada Lovelace <ada@acme-robotics.com>',
    `Subject: Site survey scans ${i}`,
    `Date: ${new Date(Date.now() - (i + 1) * 3_600_000).toUTCString()}`,
    `Message-ID: <scans-${i}@initech.com>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `The scans from survey ${i} are attached.`,
    '--b1',
    `Content-Type: application/octet-stream; name="scans-${i}.bin"`,
    `Content-Disposition: attachment; filename="scans-${i}.bin"`,
    'Content-Transfer-Encoding: base64',
    '',
    b64,
    '--b1--',
    '',
  ].join('\r\n');
}

beforeAll(async () => {
  execFileSync(process.execPath, [path.resolve(__dirname, '../../scripts/build.mjs'), '--server']);
  emu = await startEmulators({ quiet: true });
  const now = Date.now();
  const ordinary = await generateMailbox({
    owner: ADA,
    count: ORDINARY,
    seed: 11,
    customers: [CUSTOMER],
    startDate: new Date(now - 10 * 86_400_000),
    endDate: new Date(now - 60_000),
  });
  const large = Array.from({ length: LARGE }, (_, i) => ({
    raw: Buffer.from(largeMessage(i, 34 * 1024 * 1024)),
    labelIds: ['INBOX'],
    date: new Date(now - (i + 1) * 3_600_000),
  }));
  emu.google.control.seed(ADA.email, [...ordinary, ...large]);
  server = await startServerProcess({ ...emu.env, SYNC_POLL_SECONDS: '300' }, [], { bundled: true });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await emu?.stop();
});

it('imports messages of 46 MB to live under the production heap bound, their attachments listed', async () => {
  const ada = await sync.signInAndConnect(emu, server.url, fetch, ADA);
  const box = await sync.until(
    'the import to finish',
    async () => {
      const { body } = await sync.api(server.url, ada.token, 'GET', '/api/mailboxes');
      const m = body.mailboxes[0];
      return m.state === 'live' && m.progress.imported === m.progress.total ? m : null;
    },
    { timeoutMs: 150_000, context: () => server.output().slice(-3000) },
  );
  expect(box.progress.total).toBe(ORDINARY + LARGE);
  expect(box.lastError).toBeNull();
  expect(server.child.exitCode).toBeNull();
  expect(server.output()).not.toMatch(/heap out of memory|ERR_STRING_TOO_LONG/i);

  const contact = await sync.api(server.url, ada.token, 'POST', '/api/contacts', { email: 'bill@initech.com' });
  const page = await sync.api(server.url, ada.token, 'GET', `/api/contacts/${contact.body.id}/messages?limit=100`);
  const scans = page.body.messages.filter((m: { subject: string }) => m.subject.startsWith('Site survey scans'));
  expect(scans).toHaveLength(LARGE);
  for (const summary of scans) {
    const full = await sync.api(server.url, ada.token, 'GET', `/api/messages/${summary.id}`);
    expect(full.body.text).toContain('are attached');
    expect(full.body.attachments).toEqual([expect.objectContaining({ filename: expect.stringMatching(/^scans-\d\.bin$/), size: 34 * 1024 * 1024 })]);
  }
}, 240_000);
