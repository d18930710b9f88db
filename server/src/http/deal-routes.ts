/** Deals (CONTRACT.md "CRM records": GET|POST /api/deals, GET|PATCH /api/deals/:id) and a deal's mail. */
import { Router } from 'express';
import { z } from 'zod';
import { dealView } from '../crm/context';
import { loadVisibility } from '../crm/visibility';
import { checkDealReferences, DealReferenceError, findDealOrNull, relinkDeal } from '../crm/deals';
import { Deal, DealDoc } from '../models/crm';
import { auth } from './context';
import { badRequest, notFound } from './errors';
import { messagePage, pageQuery } from './message-listing';
import { objectId } from './message-read-routes';

const fields = {
  name: z.string().trim().min(1).max(200),
  stage: z.string().trim().min(1).max(100),
  status: z.enum(['open', 'won', 'lost']),
  amount: z.number().finite().min(0).max(1e12).nullable(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
  closeDate: z.string().datetime({ offset: true }).transform((s) => new Date(s)).nullable(),
  ownerId: objectId('user').nullable(),
  contactIds: z.array(objectId('contact')).max(200),
  companyId: objectId('company').nullable(),
};

const createBody = z.object(fields).partial().required({ name: true }).strict();
const patchBody = z.object(fields).partial().strict().refine((b) => Object.keys(b).length > 0, 'nothing to change');
const listQuery = z.object({
  contactId: objectId('contact').optional(),
  companyId: objectId('company').optional(),
  status: z.enum(['open', 'won', 'lost']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
}).strict();
const idParam = z.object({ id: objectId('deal') });

function referenceError(err: unknown): unknown {
  return err instanceof DealReferenceError ? badRequest(err.message) : err;
}

export function dealRoutes(): Router {
  const router = Router();

  router.get('/api/deals', async (req, res) => {
    const q = listQuery.parse(req.query);
    const filter: Record<string, unknown> = {};
    if (q.contactId) filter.contactIds = q.contactId;
    if (q.companyId) filter.companyId = q.companyId;
    if (q.status) filter.status = q.status;
    const deals = await Deal.find(filter).sort({ updatedAt: -1 }).limit(q.limit).lean<DealDoc[]>();
    res.json({ deals: deals.map(dealView) });
  });

  router.post('/api/deals', async (req, res) => {
    const body = createBody.parse(req.body);
    await checkDealReferences(body).catch((err) => { throw referenceError(err); });
    const deal = (await Deal.create({ ownerId: auth(req).userId, ...body })).toObject() as DealDoc;
    await relinkDeal(deal);
    res.status(201).json(dealView(deal));
  });

  router.get('/api/deals/:id', async (req, res) => {
    const deal = await findDealOrNull(idParam.parse(req.params).id);
    if (!deal) throw notFound('deal');
    res.json(dealView(deal));
  });

  router.patch('/api/deals/:id', async (req, res) => {
    const { id } = idParam.parse(req.params);
    const body = patchBody.parse(req.body);
    await checkDealReferences(body).catch((err) => { throw referenceError(err); });
    const deal = await Deal.findOneAndUpdate({ _id: id }, { $set: body }, { new: true }).lean<DealDoc>();
    if (!deal) throw notFound('deal');
    if (body.contactIds !== undefined || body.companyId !== undefined) await relinkDeal(deal);
    res.json(dealView(deal));
  });

  router.get('/api/deals/:id/messages', async (req, res) => {
    const { id } = idParam.parse(req.params);
    if (!(await Deal.exists({ _id: id }))) throw notFound('deal');
    const page = pageQuery.parse(req.query);
    res.json(await messagePage({ dealIds: id }, await loadVisibility(auth(req).userId), page));
  });

  return router;
}

