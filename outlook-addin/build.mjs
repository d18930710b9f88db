/**
 * Builds outlook-addin/dist: the task pane (esbuild bundle + html + css), the auth dialog, icons, and both manifests
 * (manifest.xml from the template, manifest.json the unified one) from manifests/outlook/addin.json with the backend
 * URL from PUBLIC_URL. Called by scripts/build.mjs
 * (`npm run build`) as `default({ root })`; tests pass `env` to build for a given backend.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ICON_SIZES, iconPng, outlinePng } from './icons.mjs';
import { unifiedManifest } from './manifest-json.mjs';

/** A placeholder that makes the missing registration obvious in the manifest and in the pane's sign-in error. */
const NO_CLIENT_ID = '00000000-0000-0000-0000-000000000000';

const xmlEscape = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
// JSON inside <script type="application/json">: `<` escaped so no value can close the element.
const scriptJson = (value) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The settings the pane and the manifest need, from the same variables the server reads (server/src/config.ts). */
export function addinSettings(env, root) {
  const publicUrl = (env.PUBLIC_URL || `http://127.0.0.1:${env.PORT || 3000}`).replace(/\/+$/, '');
  const host = new URL(publicUrl).host;
  const clientId = env.MICROSOFT_CLIENT_ID || NO_CLIENT_ID;
  const authority = (env.MICROSOFT_AUTHORITY || 'https://login.microsoftonline.com/common').replace(/\/+$/, '');
  // The application ID URI in the form Office requires for add-in APIs: api://<fully qualified domain>/<client id>.
  const apiResource = `api://${host}/${clientId}`;
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // Office wants four parts; the last one lets an operator re-publish the same release (OUTLOOK_ADDIN_REVISION).
  const version = `${pkg.version.replace(/[^0-9.].*$/, '')}.${Number(env.OUTLOOK_ADDIN_REVISION || 0)}`;
  // Stable per deployment, so re-deploying updates the installed add-in instead of adding a second one.
  const addinId = env.OUTLOOK_ADDIN_ID || uuidFrom(`threadline-outlook|${publicUrl}|${clientId}`);
  return { publicUrl, clientId, authority, apiResource, apiScope: `${apiResource}/access_as_user`, version, addinId };
}

function uuidFrom(text) {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** manifests/outlook/addin.json: the names, texts and requirements both manifests are written from. */
export function addinDescriptor(root) {
  return JSON.parse(readFileSync(path.join(root, 'manifests/outlook/addin.json'), 'utf8'));
}

export function renderManifest(template, s, a) {
  const values = {
    PUBLIC_URL: s.publicUrl,
    CLIENT_ID: s.clientId,
    API_RESOURCE: s.apiResource,
    VERSION: s.version,
    ADDIN_ID: s.addinId,
    PROVIDER: a.provider,
    NAME: a.name,
    DESCRIPTION: a.description,
    GROUP_LABEL: a.groupLabel,
    BUTTON_LABEL: a.buttonLabel,
    BUTTON_TOOLTIP: a.buttonTooltip,
    PERMISSION: a.permission,
    INSTALL_MAILBOX_VERSION: a.installMailboxVersion,
    COMMANDS_MAILBOX_VERSION: a.commandsMailboxVersion,
    PANE_HEIGHT: a.paneHeight,
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name) => {
    if (!(name in values)) throw new Error(`manifest template: unknown placeholder ${whole}`);
    if (values[name] === undefined) throw new Error(`manifest template: ${whole} has no value (manifests/outlook/addin.json)`);
    return xmlEscape(String(values[name]));
  });
}

export default async function buildOutlookAddin({ root, env = process.env, quiet = false }) {
  const src = path.join(root, 'outlook-addin/src');
  const dist = path.join(root, 'outlook-addin/dist');
  const s = addinSettings(env, root);
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(path.join(dist, 'assets'), { recursive: true });

  await build({
    entryPoints: { taskpane: path.join(src, 'taskpane.ts'), 'auth-dialog': path.join(src, 'auth-dialog.ts') },
    outdir: dist,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    // Outlook's webviews: Edge WebView2, WKWebView (Safari 15+), Chromium on the web.
    target: ['chrome100', 'edge100', 'safari15'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });

  const config = scriptJson({ clientId: s.clientId, authority: s.authority, apiScope: s.apiScope });
  for (const page of ['taskpane.html', 'auth-dialog.html']) {
    writeFileSync(
      path.join(dist, page),
      readFileSync(path.join(src, page), 'utf8').replace('{{CONFIG}}', () => config),
    );
  }
  copyFileSync(path.join(src, 'taskpane.css'), path.join(dist, 'taskpane.css'));
  copyFileSync(path.join(src, 'support.html'), path.join(dist, 'support.html'));
  for (const size of ICON_SIZES) writeFileSync(path.join(dist, 'assets', `icon-${size}.png`), iconPng(size));

  // One source, two manifests: the XML every Outlook installs, and the unified JSON for Microsoft 365 app deployment.
  const descriptor = addinDescriptor(root);
  const template = readFileSync(path.join(root, 'manifests/outlook/manifest.xml'), 'utf8');
  writeFileSync(path.join(dist, 'manifest.xml'), renderManifest(template, s, descriptor));
  writeFileSync(path.join(dist, 'manifest.json'), `${JSON.stringify(unifiedManifest(s, descriptor), null, 2)}\n`);
  // The unified manifest's app package icons: a 192 px color icon and a 32 px white-on-transparent outline.
  writeFileSync(path.join(dist, 'color.png'), iconPng(192));
  writeFileSync(path.join(dist, 'outline.png'), outlinePng(32));

  if (!quiet) {
    const warnings = [];
    if (!s.publicUrl.startsWith('https://')) warnings.push(`PUBLIC_URL is ${s.publicUrl}: Outlook loads add-ins only over https`);
    if (s.clientId === NO_CLIENT_ID) warnings.push('MICROSOFT_CLIENT_ID is not set: sign-in will fail (see docs/deploy-microsoft-365.md)');
    console.log(`outlook-addin: built dist/ for ${s.publicUrl} (manifest ${s.version})${warnings.map((w) => `\n  warning: ${w}`).join('')}`);
  }
  return { dist, settings: s };
}
