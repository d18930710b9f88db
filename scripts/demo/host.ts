/**
 * The demo's own little web server, beside the Threadline server:
 *
 * - `/outlook`: a pretend Outlook — a message list on the left and the real task pane (outlook-addin/dist, as
 *   built) in a 320 px frame, with Microsoft's office.js replaced by the stub Office host the browser tests use
 *   (test/fakes/office/office-stub.js). The browser test routes office.js to the stub with playwright; here the
 *   pane's html is served with the script tag swapped instead. Clicking a message selects it in the stub and fires
 *   ItemChanged, as Outlook does for a pinned pane. "Sign in" opens the Office dialog as a real popup, on a demo
 *   page of this host (`/addin/auth-dialog.html`) that sends back, with messageParent, an add-in token the Microsoft
 *   identity emulator mints for Olivia (what Entra ID would give the real dialog).
 * - `/console?as=ada|bob|olivia`: a fresh one-time sign-in link (`POST /api/session/link`) and a redirect to it,
 *   since a printed link lives two minutes.
 * - everything else (the pane's bundle and icons, `/api/...`) is passed through to the Threadline server, so the
 *   pane calls the API on its own origin as it does when the server serves it.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

export interface PaneItem {
  from: [string, string];
  to: [string, string][];
  cc: [string, string][];
  subject: string;
  internetMessageId: string;
  date: string;
}

export interface DemoHostOptions {
  root: string;
  port: number;
  serverUrl: string;
  /** The mailbox owner the pretend Outlook shows. */
  outlookUser: { email: string; name: string };
  /** Newest first. */
  items(): PaneItem[];
  /** An add-in access token for the Outlook user (the stub's sign-in dialog answer). */
  addinToken(): Promise<string>;
  /** A fresh one-time console link for a demo user, or null for an unknown one. */
  consoleLink(who: string): Promise<string | null>;
  /** Lines for the index page: [label, url]. */
  links(): [string, string][];
}

export interface DemoHost {
  url: string;
  close(): Promise<void>;
}

const OFFICE_JS_TAG = /<script src="https:\/\/appsforoffice\.microsoft\.com\/lib\/1\/hosted\/office\.js"><\/script>/;
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON inside a script: `<` escaped so no value can close the element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(body);
}

function proxy(req: http.IncomingMessage, res: http.ServerResponse, target: URL): void {
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) send(res, 502, 'text/plain', `The Threadline server did not answer: ${err.message}`);
    else res.destroy();
  });
  req.pipe(upstream);
}

const OUTLOOK_PAGE = (user: { email: string; name: string }) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Threadline demo — Outlook task pane</title>
<style>
  body { margin: 0; font: 14px system-ui, sans-serif; color: #1b1b1b; background: #f3f2f1; height: 100vh; display: flex; flex-direction: column; }
  header { background: #0f6cbd; color: #fff; padding: 8px 14px; }
  header small { opacity: .85; display: block; }
  .layout { flex: 1; display: flex; min-height: 0; }
  nav { width: 340px; overflow: auto; background: #fff; border-right: 1px solid #ddd; }
  nav button { display: block; width: 100%; text-align: left; border: 0; border-bottom: 1px solid #eee; background: none; padding: 8px 12px; cursor: pointer; font: inherit; }
  nav button[aria-pressed="true"] { background: #cfe4fa; }
  nav .who { font-weight: 600; } nav .when { float: right; color: #666; font-size: 12px; } nav .subj { color: #444; }
  nav .new { color: #0f6cbd; font-size: 12px; font-weight: 600; }
  #reading { flex: 1; padding: 16px 20px; overflow: auto; }
  #reading h2 { margin: 0 0 8px; font-size: 18px; }
  iframe { width: 320px; border: 0; border-left: 1px solid #ddd; background: #fff; }
</style></head>
<body>
<header><b>Outlook</b> (simulated) — ${esc(user.name)} &lt;${esc(user.email)}&gt;
<small>The real Threadline task pane on the right, inside the stub Office host of the browser tests. Pick an email; new mail appears here as the emulator delivers it.</small></header>
<div class="layout">
  <nav id="list" aria-label="Inbox"></nav>
  <section id="reading"></section>
  <iframe id="pane" title="Threadline task pane" src="/addin/taskpane.html"></iframe>
</div>
<script src="/demo/outlook.js"></script>
</body></html>`;

const OUTLOOK_SCRIPT = `(function () {
  'use strict';
  var list = document.getElementById('list'), reading = document.getElementById('reading'), pane = document.getElementById('pane');
  var items = [], selected = null, seen = {};
  var first = true;
  function text(tag, cls, value) { var el = document.createElement(tag); if (cls) el.className = cls; el.textContent = value; return el; }
  function person(p) { return p[1] ? p[1] + ' <' + p[0] + '>' : p[0]; }
  function show(item) {
    selected = item.internetMessageId;
    reading.replaceChildren(text('h2', '', item.subject || '(no subject)'), text('p', '', 'From: ' + person(item.from)),
      text('p', '', 'To: ' + item.to.map(person).join(', ')), item.cc.length ? text('p', '', 'Cc: ' + item.cc.map(person).join(', ')) : text('span', '', ''),
      text('p', '', new Date(item.date).toLocaleString()));
    var stub = pane.contentWindow && pane.contentWindow.__officeStub;
    if (stub) stub.selectItem(item);
    render();
  }
  function render() {
    list.replaceChildren.apply(list, items.map(function (item) {
      var b = document.createElement('button');
      b.setAttribute('aria-pressed', String(item.internetMessageId === selected));
      b.append(text('span', 'when', new Date(item.date).toLocaleDateString()), text('div', 'who', item.from[1] || item.from[0]), text('div', 'subj', item.subject));
      if (!first && !seen[item.internetMessageId]) b.append(text('div', 'new', 'new'));
      b.onclick = function () { show(item); };
      return b;
    }));
  }
  function refresh() {
    fetch('/demo/items.json', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (next) {
      if (first) next.forEach(function (i) { seen[i.internetMessageId] = true; });
      items = next;
      if (selected === null && items.length) { selected = items[0].internetMessageId; show(items[0]); }
      render();
      first = false;
    }).catch(function () {});
  }
  refresh();
  setInterval(refresh, 4000);
})();`;

const AUTH_DIALOG_PAGE = (user: { email: string; name: string }) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Threadline (demo)</title>
<script src="/demo/office-config.js"></script>
<script src="/demo/office-stub.js"></script>
<style>body { font: 14px system-ui, sans-serif; margin: 24px; color: #1b1b1b; }</style></head>
<body><main><h1>Signing in…</h1>
<p>The demo's stand-in for Microsoft's sign-in page: you are signed in as ${esc(user.name)} &lt;${esc(user.email)}&gt;.
This window closes by itself.</p><p id="status" role="status"></p></main>
<script src="/demo/auth-dialog.js"></script></body></html>`;

const AUTH_DIALOG_SCRIPT = `(function () {
  'use strict';
  function reply(answer) { Office.context.ui.messageParent(typeof answer === 'string' ? answer : JSON.stringify(answer)); }
  Office.onReady(function () {
    fetch('/demo/addin-token', { method: 'POST' })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error('the demo answered ' + r.status)); })
      .then(reply)
      .catch(function (err) {
        document.getElementById('status').textContent = 'Sign-in failed: ' + err.message;
        reply({ status: 'error', message: 'The demo could not sign you in: ' + err.message });
      });
  });
})();`;

export function startDemoHost(opts: DemoHostOptions): Promise<DemoHost> {
  const target = new URL(opts.serverUrl);
  const stub = readFileSync(path.join(opts.root, 'test/fakes/office/office-stub.js'), 'utf8');

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    if (req.method === 'GET' && url.pathname === '/') {
      const rows = opts
        .links()
        .map(([label, href]) => `<li>${esc(label)}: <a href="${esc(href)}">${esc(href)}</a></li>`)
        .join('\n');
      return send(res, 200, 'text/html', `<!doctype html><meta charset="utf-8"><title>Threadline demo</title><h1>Threadline demo</h1><ul>${rows}</ul>`);
    }
    if (req.method === 'GET' && url.pathname === '/console') {
      const link = await opts.consoleLink(url.searchParams.get('as') ?? 'ada');
      if (!link) return send(res, 404, 'text/plain', 'No such demo user: use ?as=ada, bob or olivia.');
      res.writeHead(302, { location: link, 'cache-control': 'no-store' });
      return void res.end();
    }
    if (req.method === 'GET' && url.pathname === '/outlook') return send(res, 200, 'text/html', OUTLOOK_PAGE(opts.outlookUser));
    if (req.method === 'GET' && url.pathname === '/demo/outlook.js') return send(res, 200, 'text/javascript', OUTLOOK_SCRIPT);
    if (req.method === 'GET' && url.pathname === '/demo/office-stub.js') return send(res, 200, 'text/javascript', stub);
    if (req.method === 'GET' && url.pathname === '/demo/items.json') return send(res, 200, 'application/json', JSON.stringify(opts.items().slice(0, 50)));
    if (req.method === 'GET' && url.pathname === '/demo/office-config.js') {
      const config = { item: opts.items()[0] ?? null, sets: { Mailbox: '1.5' }, userEmail: opts.outlookUser.email };
      return send(res, 200, 'text/javascript', `window.__officeStubConfig = ${scriptJson(config)};`);
    }
    // The Office dialog's sign-in page, as the pane opens it with displayDialogAsync: a real window in the browser,
    // running the stub host, that sends back the token Entra ID would give (minted by the identity emulator) with
    // messageParent — the same path as the real dialog, so it works in any browser that allows the click's popup.
    if (req.method === 'GET' && url.pathname === '/addin/auth-dialog.html') return send(res, 200, 'text/html', AUTH_DIALOG_PAGE(opts.outlookUser));
    if (req.method === 'GET' && url.pathname === '/demo/auth-dialog.js') return send(res, 200, 'text/javascript', AUTH_DIALOG_SCRIPT);
    if (req.method === 'POST' && url.pathname === '/demo/addin-token') {
      return send(res, 200, 'application/json', JSON.stringify({ status: 'ok', accessToken: await opts.addinToken() }));
    }
    if (req.method === 'GET' && url.pathname === '/addin/taskpane.html') {
      const file = path.join(opts.root, 'outlook-addin/dist/taskpane.html');
      let html: string;
      try {
        html = readFileSync(file, 'utf8');
      } catch {
        return send(res, 503, 'text/plain', 'The Outlook add-in is not built: run `npm run build`.');
      }
      if (!OFFICE_JS_TAG.test(html)) return send(res, 500, 'text/plain', 'taskpane.html no longer loads office.js the way this demo expects.');
      return send(
        res,
        200,
        'text/html',
        html.replace(OFFICE_JS_TAG, '<script src="/demo/office-config.js"></script>\n  <script src="/demo/office-stub.js"></script>'),
      );
    }
    proxy(req, res, target);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) send(res, 500, 'text/plain', err.message);
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
