/**
 * "Attach this email to a deal" from a sidebar (docs/sidebars.md): the open email, found by its Message-ID, or its
 * whole thread, becomes part of a deal's mail besides what the deal's contacts and company bring. Only mail the
 * caller may see can be attached; the answer is the deal and how many messages it now holds through the attachment.
 */
import { Router } from 'express';
import { z } from 'zod';
import { DealMailRequest } from '@threadline/shared/src/api/records';
import { dealView } from '../views/context';
import { relinkDeal } from '../crm/deals';
import { loadVisibility } from '../crm/visibility';
import { currentOrgId } from '../db/tenant';
import { Deal, type DealDoc } from '../models/crm';
import { Message, type MessageDoc } from '../models/message';
import { byInternetMessageId } from '../models/ids';
import { normaliseMessageId } from '../mail/message-id';
import { auth } from './context';
import { badRequest, notFound } from './errors';
import { objectId } from './params';

const body = DealMailRequest;
const idParam = z.object({ id: objectId('deal') });

export function dealMailRoutes(): Router {
  const router = Router();

  router.post('/api/deals/:id/mail', async (req, res) => {
    const a = auth(req);
    const { id } = idParam.parse(req.params);
    const { internetMessageId: raw, scope } = body.parse(req.body);
    // The same normalised `mid:` key ingest stores a message under.
    const internetMessageId = normaliseMessageId(raw);
    if (internetMessageId === null) throw badRequest('internetMessageId: not a usable Message-ID', { field: 'internetMessageId' });
    const message = await Message.findOne(byInternetMessageId(currentOrgId(), internetMessageId))
      .select({ syncedBy: 1, levelOverrides: 1, threadId: 1 })
      .lean<Pick<MessageDoc, '_id' | 'syncedBy' | 'levelOverrides' | 'threadId'>>();
    // Not stored, or stored but hidden from the caller: the same answer, so its existence is not revealed.
    if (!message || (await loadVisibility(a.userId)).access(message) === 'none') throw notFound('message');
    const byThread = scope === 'thread' && message.threadId;
    const deal = await Deal.findOneAndUpdate(
      { _id: id },
      { $addToSet: byThread ? { threadIds: message.threadId } : { messageIds: message._id } },
      { new: true },
    ).lean<DealDoc>();
    if (!deal) throw notFound('deal');
    await relinkDeal(deal);
    const attached = await Message.countDocuments(byThread ? { threadId: message.threadId, dealIds: deal._id } : { _id: message._id, dealIds: deal._id });
    res.json({ deal: dealView(deal), attached: { scope: byThread ? 'thread' : 'message', messages: attached } });
  });

  return router;
}
