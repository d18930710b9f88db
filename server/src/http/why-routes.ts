/**
 * `GET /api/why` — why an email (by Message-ID) or mail with an address is, or is not, in the CRM — and the admin's
 * `POST /api/erasure` of one address. The work is in views/why.ts and sync/rules/erasure.ts; this file validates and
 * shapes.
 */
import { Router } from 'express';
import { ErasureRequest } from '@threadline/shared/src/api/privacy';
import { eraseAddress, ErasureRefused } from '../sync/rules/erasure';
import { explainWhy, type WhyQuery } from '../views/why';
import { normaliseAddress } from '../mail/address';
import { normaliseMessageId } from '../mail/message-id';
import { auth, requireAdmin } from './context';
import { badRequest, conflict } from './errors';

/**
 * One plain string per parameter: Express's simple query parser gives an array for a repeated parameter and never
 * an object, and both are refused rather than guessed at.
 */
function single(query: Record<string, unknown>, field: string, maxLength: number): string | null {
  const value = query[field];
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string') throw badRequest(`${field}: give it once, as plain text`, { field });
  if (value.length > maxLength) throw badRequest(`${field}: longer than ${maxLength} characters`, { field });
  return value;
}

export function parseWhyQuery(query: Record<string, unknown>): WhyQuery {
  const rawId = single(query, 'messageId', 2000);
  const rawEmail = single(query, 'email', 1000);
  const rawDate = single(query, 'date', 100);
  if (rawId === null && rawEmail === null) throw badRequest('messageId: give messageId or email (or both)', { field: 'messageId' });
  // The same normal form ingest stores (`mid:<id>`): brackets and folding removed, the domain part lowercased.
  const messageId = rawId === null ? null : normaliseMessageId(rawId);
  if (rawId !== null && messageId === null) throw badRequest('messageId: not a Message-ID', { field: 'messageId' });
  const email = rawEmail === null ? null : normaliseAddress(rawEmail);
  if (rawEmail !== null && email === null) throw badRequest('email: not a valid email address', { field: 'email' });
  const date = rawDate === null ? null : new Date(rawDate);
  if (date !== null && Number.isNaN(date.getTime())) throw badRequest('date: not a date (RFC 3339 or RFC 5322)', { field: 'date' });
  return { messageId, email, date };
}

/** The shared body, its address normalised. */
const erasureBody = ErasureRequest.extend({
  email: ErasureRequest.shape.email.transform((s, ctx) => {
    const email = normaliseAddress(s);
    if (email === null) ctx.addIssue({ code: 'custom', message: 'not a valid email address' });
    return email ?? '';
  }),
});

export function whyRoutes(): Router {
  const router = Router();

  router.get('/api/why', async (req, res) => {
    const a = auth(req);
    const q = parseWhyQuery(req.query as Record<string, unknown>);
    res.set('Cache-Control', 'private, no-store').json(await explainWhy({ userId: a.userId, role: a.role }, q));
  });

  router.post('/api/erasure', async (req, res) => {
    const a = requireAdmin(req);
    const { email } = erasureBody.parse(req.body);
    try {
      res.json({ erased: true, counts: await eraseAddress(a.userId, email) });
    } catch (err) {
      if (err instanceof ErasureRefused) throw conflict(`email: ${err.message}`);
      throw err;
    }
  });

  return router;
}
