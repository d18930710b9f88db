/**
 * The sidebar's routes: `GET /api/context` and the add-ons' own
 * `POST /api/addon/context`, which answers a ready view model (and, for Gmail, the card) so both add-ons only
 * render (docs/sidebars.md). The work is in views/context.ts; this file validates and shapes.
 */
import { Router } from 'express';
import { contextCard } from '@threadline/shared/src/context-card';
import { AddonContextRequest, type AddonContextResponse } from '@threadline/shared/src/api/addon-view';
import { addonContext, MAX_CONTEXT_EMAILS, sidebarContext } from '../views/context';
import { normaliseAddress } from '../mail/address';
import { auth } from './context';
import { badRequest } from './errors';

/**
 * `?email=` once or repeated: 1 to 50 addresses, each normalised, deduplicated. A bad one is named in the error,
 * so the caller sees which header it came from. Only plain strings pass: Express's default (simple) query parser
 * never builds objects, and anything else is refused rather than coerced.
 */
export function parseContextEmails(raw: unknown): string[] {
  const list: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw badRequest('email: give at least one address, as ?email=jane@acme.com');
  if (list.length > MAX_CONTEXT_EMAILS) throw badRequest(`email: at most ${MAX_CONTEXT_EMAILS} addresses, got ${list.length}`);
  const out = new Set<string>();
  for (const value of list) {
    const email = typeof value === 'string' ? normaliseAddress(value) : null;
    if (email === null) {
      const shown = typeof value === 'string' ? value.slice(0, 100) : typeof value;
      throw badRequest(`email: '${shown}' is not a valid address`, { field: 'email', value: shown });
    }
    out.add(email);
  }
  return [...out];
}

/** Addresses are checked loosely (headers carry garbage): the view skips what does not normalise. */
const addonBody = AddonContextRequest;

export function contextRoutes(deps: { publicUrl: string }): Router {
  const router = Router();

  router.get('/api/context', async (req, res) => {
    const a = auth(req);
    const emails = parseContextEmails(req.query.email);
    // Personal CRM data: never kept by a shared cache.
    res.set('Cache-Control', 'private, no-store').json(await sidebarContext(a.userId, emails));
  });

  router.post('/api/addon/context', async (req, res) => {
    const a = auth(req);
    const body = addonBody.parse(req.body);
    const view = await addonContext(a.userId, body, { publicUrl: deps.publicUrl });
    const answer: AddonContextResponse = body.provider === 'gmail' ? { view, card: contextCard(view) } : { view };
    res.set('Cache-Control', 'private, no-store').json(answer);
  });

  return router;
}
