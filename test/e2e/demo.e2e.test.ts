/**
 * `npm run demo` end to end, in its small mode: `tsx scripts/demo.ts --small` after the build, as a
 * newcomer would run it (no network: the emulators stand in for Google and Microsoft). It must print a console link
 * that signs in, the task pane page with the stub Office host, mailboxes that are live through the API, live mail
 * that reaches the CRM, and on Ctrl-C (SIGINT to its process group) leave no process behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';

const root = path.resolve(__dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'threadline-demo-'));
let demo: ChildProcess;
let out = '';
let exited: Promise<number | null>;

interface Printed {
  link: string;
  code: string;
  serverUrl: string;
  outlookUrl: string;
  hostUrl: string;
}
let printed: Printed;

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const v = await Promise.resolve()
      .then(probe)
      .catch((err) => {
        last = err;
        return null;
      });
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\n--- demo output ---\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function api(token: string, method: string, url: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Processes whose command line or environment names the demo's data directory (the server, FerretDB, its guard). */
function leftovers(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmd.includes(dataDir) || env.split('\0').includes(`DATA_DIR=${dataDir}`)) found.push(`${pid} ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

beforeAll(async () => {
  // `npm run demo` builds everything first. The server bundle is always rebuilt here; the console and pane are
  // built only when missing, since other browser tests rebuild them in place while they run.
  const full = !existsSync(path.join(root, 'web/dist/index.html')) || !existsSync(path.join(root, 'outlook-addin/dist/taskpane.html'));
  execFileSync(process.execPath, ['scripts/build.mjs', ...(full ? [] : ['--server'])], { cwd: root, stdio: 'ignore' });
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MONGODB_URI;
  demo = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/demo.ts', '--small', '--port=0', `--data-dir=${dataDir}`], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so SIGINT can go to the whole group as a terminal's Ctrl-C does.
    detached: true,
  });
  demo.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  demo.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  exited = new Promise((resolve) => demo.once('exit', (code) => resolve(code)));
  await until(
    'the demo to be ready',
    () => out.includes('Threadline demo is running') || (demo.exitCode !== null && Promise.reject(new Error('the demo exited'))),
    75_000,
  );
  const link = /(http:\/\/127\.0\.0\.1:\d+)\/app\/#login=(\S+)/.exec(out)!;
  const outlook = /(http:\/\/127\.0\.0\.1:\d+)\/outlook/.exec(out)!;
  printed = { link: link[0], serverUrl: link[1], code: link[2], outlookUrl: outlook[0], hostUrl: outlook[1] };
}, 100_000);

afterAll(async () => {
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    try {
      process.kill(-demo.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run demo --small', () => {
  let ada: string;

  it('prints a console link that signs Ada in, and the emulator control URLs', async () => {
    expect(out).toMatch(/Google \(Gmail \+ identity\):\s+http:\/\/127\.0\.0\.1:\d+\/__control\/state/);
    expect(out).toMatch(/Microsoft \(Graph \+ identity\):\s+http:\/\/127\.0\.0\.1:\d+\/__control\//);
    expect((await fetch(`${printed.serverUrl}/app/`)).status).toBe(200);
    const res = await fetch(`${printed.serverUrl}/api/session/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: printed.code }),
    });
    expect(res.status).toBe(200);
    const session = (await res.json()) as { token: string; user: { email: string; role: string } };
    expect(session.user).toMatchObject({ email: 'ada@acme-robotics.com', role: 'admin' });
    ada = session.token;
  });

  it('has both Gmail mailboxes live', async () => {
    const { body } = await api(ada, 'GET', `${printed.serverUrl}/api/mailboxes`);
    expect(body.mailboxes.map((m: { address: string }) => m.address).sort()).toEqual(['ada@acme-robotics.com', 'bob@acme-robotics.com']);
    for (const m of body.mailboxes) {
      expect(m).toMatchObject({ provider: 'google', state: 'live', lastError: null });
      expect(m.progress.total).toBeGreaterThan(0);
    }
  });

  // Under CPU load this has been seen to fail: some copies stay synced by one user only (a dedup race in the
  // server's ingest, not in the demo), so it is its own test.
  it('holds the mail Bill wrote to Ada and Bob once, synced by both', async () => {
    const bill = (await api(ada, 'GET', `${printed.serverUrl}/api/contacts?q=bill`)).body.contacts[0];
    // The thread Bill wrote to both of them: one message each in the CRM, synced by Ada and by Bob.
    await until(
      'a message on Bill synced by both',
      async () => {
        const page = await api(ada, 'GET', `${printed.serverUrl}/api/contacts/${bill.id}/messages?limit=100`);
        return page.body.messages.some((m: { syncedBy: string[]; to: { email: string }[] }) => m.syncedBy.length === 2 && m.to.length === 2);
      },
      15_000,
    );
  }, 30_000);

  it('serves the real task pane with the stub Office host, and its sign-in reaches Olivia’s live Outlook mailbox', async () => {
    expect((await fetch(printed.outlookUrl)).status).toBe(200);
    const pane = await (await fetch(`${printed.hostUrl}/addin/taskpane.html`)).text();
    expect(pane).toContain('/demo/office-stub.js');
    expect(pane).not.toContain('appsforoffice.microsoft.com');
    expect((await fetch(`${printed.hostUrl}/addin/taskpane.js`)).status).toBe(200);
    const items = (await (await fetch(`${printed.hostUrl}/demo/items.json`)).json()) as unknown[];
    expect(items.length).toBeGreaterThan(0);
    const answer = (await (await fetch(`${printed.hostUrl}/demo/addin-token`, { method: 'POST' })).json()) as { status: string; accessToken: string };
    expect(answer.status).toBe('ok');
    // What the pane does with that token, through the demo host as the pane calls it.
    const signedIn = await fetch(`${printed.hostUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'microsoft', token: answer.accessToken }),
    });
    expect(signedIn.status).toBe(200);
    const olivia = ((await signedIn.json()) as { token: string }).token;
    const { body } = await api(olivia, 'GET', `${printed.serverUrl}/api/mailboxes`);
    expect(body.mailboxes).toEqual([expect.objectContaining({ provider: 'microsoft', address: 'olivia@kite-resellers.com', state: 'live' })]);
  });

  it('a newcomer opens the pretend Outlook in a browser, clicks "Sign in" in the pane and sees the email in the CRM', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      // A plain browser, as a newcomer's: no routes, no injected scripts, popups allowed as a click allows them.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      const opened: Page[] = [];
      context.on('page', (p) => opened.push(p));
      await page.goto(printed.outlookUrl);
      const pane = page.frameLocator('#pane');
      const signIn = pane.getByRole('button', { name: 'Sign in' });
      await signIn.waitFor({ timeout: 30_000 });
      await signIn.click();
      // The selected email's people, from Olivia's CRM: the pane signed in.
      await pane.locator('li.person').first().waitFor({ timeout: 30_000 });
      await expect(pane.locator('[data-testid="this-email-status"]').innerText()).resolves.toBeTruthy();
      // Another email picked in the list reaches the pane too.
      const second = page.locator('#list button').nth(1);
      const who = await second.locator('.who').innerText();
      await second.click();
      await until('the pane to follow the click', async () => (await pane.locator('#main').innerText()).includes(who) || null, 20_000);
      // The sign-in went through the Office dialog as a real popup on the demo's sign-in page, which closed itself.
      expect(opened.map((p) => p.url())).toEqual([`${printed.hostUrl}/addin/auth-dialog.html`]);
      await until('the sign-in window to close', () => context.pages().length === 1 || null, 10_000);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);

  // A contact created right after its mail arrived: the message is on it whether the sync run wrote it before or
  // after the contact's relink (server/src/crm/directory.ts, directoryVersion).
  it('delivers live mail that reaches the CRM', async () => {
    const line = /new mail for (?:ada|bob)@acme-robotics\.com[^\n]*? from [^\n]*?<([^>\s]+)> <([^>\s]+)>/g;
    const offset = out.length;
    const [, sender, messageId] = await until(
      'a live message for Ada or Bob',
      () => {
        line.lastIndex = offset;
        return line.exec(out);
      },
      30_000,
    );
    let contact = await api(ada, 'POST', `${printed.serverUrl}/api/contacts`, { email: sender });
    const contactId = contact.status === 409 ? contact.body.error.details.existingId : contact.body.id;
    expect(contactId).toBeTruthy();
    await until(
      `message ${messageId} on ${sender}`,
      async () => {
        contact = await api(ada, 'GET', `${printed.serverUrl}/api/contacts/${contactId}/messages?limit=25`);
        return contact.body.messages.some((m: { internetMessageId: string }) => m.internetMessageId.replace(/^<|>$/g, '') === messageId);
      },
      25_000,
    );
  }, 60_000);

  it('stops everything on Ctrl-C', async () => {
    expect(leftovers().length).toBeGreaterThan(0);
    process.kill(-demo.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 25_000).unref())]);
    expect(code).toBe(0);
    expect(out).toContain('Stopped: server, embedded database and emulators.');
    await until('no process left', () => leftovers().length === 0 || null, 5_000);
    let pgrep = '';
    try {
      pgrep = execFileSync('pgrep', ['-af', dataDir], { encoding: 'utf8' });
    } catch {
      /* exit 1: nothing matched */
    }
    expect(pgrep.split('\n').filter((l) => l && !l.includes('pgrep'))).toEqual([]);
  }, 40_000);
});
