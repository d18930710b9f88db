/**
 * "This email, my choice" (docs/sidebars.md): what the caller decides for one email, overriding the organisation's
 * and their own defaults for it only. Sharing: `PUT /api/messages/:id/visibility` sets the caller's holding's level
 * (private | metadata | full, or null for their default); only a holder may, for their own holding. The work is in
 * crm/message-sharing.ts; this file validates and answers.
 */
import { Router } from 'express';
import { z } from 'zod';
import { setHoldingLevel } from '../crm/message-sharing';
import { VISIBILITY_LEVELS } from '../crm/visibility';
import { AuditLog } from '../models/audit';
import { auth } from './context';
import { forbidden, notFound } from './errors';
import { objectId } from './message-read-routes';

const idParam = z.object({ id: objectId('message') });
const visibilityBody = z.object({
  level: z.enum(VISIBILITY_LEVELS, { message: 'must be one of private, metadata, full, or null for your default' }).nullable(),
}).strict();

export function messageChoiceRoutes(): Router {
  const router = Router();

  router.put('/api/messages/:id/visibility', async (req, res) => {
    const a = auth(req);
    const { id } = idParam.parse(req.params);
    const { level } = visibilityBody.parse(req.body);
    const outcome = await setHoldingLevel(a.userId, id, level);
    if (!outcome.ok && outcome.reason === 'not_found') throw notFound('message');
    if (!outcome.ok) throw forbidden('only a holder of this email can set its sharing, for their own copy: none of your mailboxes holds it');
    await AuditLog.create({ actorId: a.userId, action: 'message.visibility', target: String(id), detail: { level } });
    res.json({ messageId: String(id), sharing: outcome.sharing });
  });

  return router;
}
