/**
 * The server's router for the built web console: web/dist at /app/, with a history fallback to
 * index.html so a path such as /app/contacts/<id> (the add-ons link there) opens the console, which turns it
 * into its hash route.
 *
 * Helmet's default CSP is replaced for these files because the console shows email html in a sandboxed srcdoc
 * iframe, and a srcdoc document inherits its parent's policy: `img-src` must allow https images for "Show images"
 * to work at all. Until the user asks, the iframe's own meta CSP blocks them (both policies apply). Inline styles
 * are allowed for the same reason (email formatting lives in `style` attributes); scripts are ours only.
 */
import { repoRoot } from '../server/src/repo-root';
import express, { Router } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "frame-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

export interface ConsoleSettings {
  /** Show the paste-an-identity-token form (development and the demo; never when NODE_ENV=production). */
  devSignIn: boolean;
}

// JSON inside <script type="application/json">: `<` escaped so no value can close the element.
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

export function consoleRoutes(settings: ConsoleSettings, opts: { dist?: string } = {}): Router {
  const dist = opts.dist ?? path.join(repoRoot(__dirname), 'web', 'dist');
  const router = Router();
  router.use('/app', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  // `/app` → `/app/`, so the page's relative base is the console's folder.
  router.use('/app', (req, res, next) => (req.originalUrl === '/app' ? res.redirect(301, '/app/') : next()));
  const page: express.RequestHandler = (_req, res) => {
    const index = path.join(dist, 'index.html');
    if (!existsSync(index)) {
      return void res.status(404).json({ error: { code: 'not_built', message: 'The web console is not built: run `npm run build`.' } });
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(readFileSync(index, 'utf8').replace('{{CONFIG}}', () => scriptJson(settings)));
  };
  // The page carries settings the server alone knows, so index.html is never served as the raw file.
  // (Middleware rather than routes: these are files, not API, and stay out of the OpenAPI golden check.)
  router.use('/app', (req, res, next) => (req.method === 'GET' && (req.path === '/' || req.path === '/index.html') ? page(req, res, next) : next()));
  router.use(
    '/app',
    express.static(dist, {
      index: false,
      dotfiles: 'ignore',
      // Bundle names carry no content hash yet: revalidate everything.
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  // Every other GET under /app that is not a file is a console route (history fallback).
  router.use('/app', (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path.extname(req.path)) return next();
    page(req, res, next);
  });
  return router;
}
