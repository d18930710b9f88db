/**
 * "This email, my choice" (docs/sidebars.md): what the caller decides for one email, overriding the organisation's
 * and their own defaults for it only.
 * - Sharing: `PUT /api/messages/:id/visibility` sets the caller's holding's level (private | metadata | full, or null
 *   for their default); only a holder may, for their own holding (crm/message-sharing.ts).
 * - Logging: `POST /api/me/excluded-messages` ("don't log this email / this thread"), `DELETE …/:id` ("log it
 *   again"), `GET /api/me/excluded-messages` (sync/rules/message-choices.ts).
 * - `GET /api/messages/:id/choices`: both, as the sidebars and the console show them.
 * This file validates and answers.
 */
import { Router } from 'express';
import type { Types } from 'mongoose';
import { z } from 'zod';
import { ExcludeMessageRequest, type MessageChoices, VisibilityRequest } from '@threadline/shared/src/api/messages';
import { holdingSharing, setHoldingLevel } from '../crm/message-sharing';
import { loadVisibility } from '../crm/visibility';
import { AuditLog } from '../models/audit';
import { Message, type MessageDoc } from '../models/message';
import { normaliseMessageId } from '../mail/message-id';
import { choiceCovering, excludeFromLog, listExclusions, logAgain, type ChoiceTarget } from '../sync/rules/message-choices';
import { auth } from './context';
import { badRequest, forbidden, notFound } from './errors';
import { objectId } from './params';

const idParam = z.object({ id: objectId('message') });
const exclusionParam = z.object({ id: objectId('exclusion') });
const visibilityBody = VisibilityRequest;
const excludeBody = ExcludeMessageRequest;

function targetOf(body: z.infer<typeof excludeBody>): ChoiceTarget {
  if ((body.messageId === undefined) === (body.internetMessageId === undefined)) {
    throw badRequest('messageId or internetMessageId: give exactly one of them', { field: 'messageId' });
  }
  if (body.messageId !== undefined) return { messageId: objectId('message').parse(body.messageId) };
  // The same normalised key ingest stores an email under.
  const internetMessageId = normaliseMessageId(body.internetMessageId);
  if (internetMessageId === null) throw badRequest('internetMessageId: not a usable Message-ID', { field: 'internetMessageId' });
  return { internetMessageId };
}

export interface MessageChoiceDeps {
  /** Wakes a mailbox now (sync/control/control.ts markDue): "log again" fetches the copies back on its next run. */
  markDue(mailboxId: Types.ObjectId): Promise<void>;
}

export function messageChoiceRoutes(deps: MessageChoiceDeps): Router {
  const router = Router();

  router.get('/api/messages/:id/choices', async (req, res) => {
    const a = auth(req);
    const { id } = idParam.parse(req.params);
    const policy = await loadVisibility(a.userId);
    const message = await Message.findById(id)
      .select({ dedupKey: 1, syncedBy: 1, levelOverrides: 1 })
      .lean<Pick<MessageDoc, '_id' | 'dedupKey' | 'syncedBy' | 'levelOverrides'>>();
    if (!message || policy.access(message) === 'none') throw notFound('message');
    const choices: MessageChoices = { notLogged: await choiceCovering(a.userId, message), sharing: holdingSharing(policy, message) };
    res.json(choices);
  });

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

  router.post('/api/me/excluded-messages', async (req, res) => {
    const a = auth(req);
    const body = excludeBody.parse(req.body);
    const outcome = await excludeFromLog(a.userId, targetOf(body), body.scope);
    if (!outcome.ok) throw notFound('message');
    // Counts only: the audit trail keeps nothing of the email left out.
    if (outcome.created)
      await AuditLog.create({
        actorId: a.userId,
        action: 'message.not_logged',
        target: outcome.exclusion.id,
        detail: { scope: body.scope, ...outcome.removed },
      });
    res.status(outcome.created ? 201 : 200).json({ ...outcome.exclusion, created: outcome.created, removed: outcome.removed });
  });

  router.get('/api/me/excluded-messages', async (req, res) => {
    const a = auth(req);
    res.json({ exclusions: await listExclusions(a.userId) });
  });

  router.delete('/api/me/excluded-messages/:id', async (req, res) => {
    const a = auth(req);
    const { id } = exclusionParam.parse(req.params);
    // Another user's choice answers as an unknown one.
    const outcome = await logAgain(a.userId, id, deps.markDue);
    if (!outcome.ok) throw notFound('exclusion');
    await AuditLog.create({ actorId: a.userId, action: 'message.logged_again', target: outcome.exclusion.id, detail: outcome.reimport });
    res.json({ ...outcome.exclusion, reimport: outcome.reimport });
  });

  return router;
}
