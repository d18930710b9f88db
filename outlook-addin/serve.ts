/**
 * The server's router for the built add-in (README.md "Deployment to the marketplaces"): outlook-addin/dist at /addin/,
 * so the manifest, task pane and icons come from the same origin as the API the pane calls.
 *
 * Helmet's defaults suit the API but not a page Outlook embeds, so these files get their own headers:
 * - CSP allowing office.js from Microsoft's CDN and framing by Outlook on the web only;
 * - no X-Frame-Options (it cannot name Outlook's origins, and frame-ancestors supersedes it);
 * - COOP unsafe-none, because the Office dialog and MSAL popups talk back through window.opener;
 * - CORP cross-origin, because Outlook fetches the manifest's icons from its own origin.
 */
import { repoRoot } from '../server/src/repo-root';
import express, { Router } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';

const OFFICE_CDN = 'https://appsforoffice.microsoft.com';
/** Where Outlook on the web and new Outlook frame add-ins (desktop hosts use a webview, not a frame). */
const OUTLOOK_FRAMES = [
  'https://*.office.com',
  'https://*.office365.com',
  'https://*.outlook.com',
  'https://*.live.com',
  'https://*.microsoft.com',
  'https://*.cloud.microsoft',
];

const CSP = [
  "default-src 'self'",
  `script-src 'self' ${OFFICE_CDN}`,
  // office.js adds inline styles to the host's chrome; the pane's own CSS is a file.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  // MSAL talks to the configured authority (Entra ID or, in tests, an emulator).
  "connect-src 'self' https: http://127.0.0.1:* http://localhost:*",
  `frame-src 'self' ${OFFICE_CDN} https://login.microsoftonline.com`,
  `frame-ancestors 'self' ${OUTLOOK_FRAMES.join(' ')}`,
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

export function addinRoutes(opts: { dist?: string } = {}): Router {
  const dist = opts.dist ?? path.join(repoRoot(__dirname), 'outlook-addin', 'dist');
  const router = Router();
  router.use('/addin', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.removeHeader('X-Frame-Options');
    res.setHeader('Cross-Origin-Opener-Policy', 'unsafe-none');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    next();
  });
  router.use(
    '/addin',
    express.static(dist, {
      index: false,
      dotfiles: 'ignore',
      // The html and manifest name the current bundle; a stale cached pane would call a changed API.
      setHeaders: (res, file) => {
        if (/\.(html|xml|json)$/.test(file)) res.setHeader('Cache-Control', 'no-cache');
        if (file.endsWith('.xml')) res.setHeader('Content-Type', 'application/xml; charset=utf-8');
      },
    }),
  );
  router.use('/addin', (_req, res) => {
    const built = existsSync(path.join(dist, 'taskpane.html'));
    res.status(404).json({
      error: built
        ? { code: 'not_found', message: 'No such add-in file.' }
        : { code: 'not_built', message: 'The Outlook add-in is not built: run `npm run build` with PUBLIC_URL set.' },
    });
  });
  return router;
}
