/** Deals (GET|POST /api/deals, GET|PATCH /api/deals/:id) and a deal's mail. */
import { Router } from 'express';
import mongoose from 'mongoose';
import { z } from 'zod';
import { dealCreateOf, dealFieldsOf, dealListOf, dealPatchOf } from '@threadline/shared/src/api/records';
import { dealView } from '../views/context';
import { loadVisibility } from '../crm/visibility';
import { checkDealReferences, DealReferenceError, findDealOrNull, relinkDeal } from '../crm/deals';
import { Company, type CompanyDoc, Contact, type ContactDoc, Deal, type DealDoc } from '../models/crm';
import { auth } from './context';
import { badRequest, notFound } from './errors';
import { activityPage, pageQuery } from '../views/message-listing';
import { normaliseDomain } from '../mail/address';
import { OrgDirectory } from '../crm/directory';
import { addressSources, domainSources, threadSource } from '../store/activity';
import { objectId } from './params';

/** The shared schemas, with ids made ObjectIds. */
const fields = dealFieldsOf(objectId);
const createBody = dealCreateOf(fields);
const patchBody = dealPatchOf(fields);
const listQuery = dealListOf(objectId);
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
    await checkDealReferences(body).catch((err) => {
      throw referenceError(err);
    });
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
    await checkDealReferences(body).catch((err) => {
      throw referenceError(err);
    });
    const deal = await Deal.findOneAndUpdate({ _id: id }, { $set: body }, { new: true }).lean<DealDoc>();
    if (!deal) throw notFound('deal');
    if (body.contactIds !== undefined || body.companyId !== undefined) await relinkDeal(deal);
    res.json(dealView(deal));
  });

  router.get('/api/deals/:id/messages', async (req, res) => {
    const { id } = idParam.parse(req.params);
    const deal = await findDealOrNull(id);
    if (!deal) throw notFound('deal');
    const page = pageQuery.parse(req.query);
    // A deal's mail is what `messages.dealIds` links to it (crm/deals.ts keeps that exact). It is found through the
    // read model by key: the mail of its contacts' addresses, of its company (domains and contacts), of the threads
    // attached to it, and the messages attached one by one; each then checked for the link.
    const [contacts, company, directory] = await Promise.all([
      deal.contactIds.length
        ? Contact.find({ _id: mongoose.trusted({ $in: deal.contactIds }) })
            .select({ emails: 1 })
            .lean<Pick<ContactDoc, '_id' | 'emails'>[]>()
        : [],
      deal.companyId ? Company.findById(deal.companyId).select({ domains: 1 }).lean<Pick<CompanyDoc, '_id' | 'domains'>>() : null,
      OrgDirectory.shared(),
    ]);
    const sources = [
      ...addressSources(contacts.flatMap((c) => c.emails)),
      ...(company
        ? [...domainSources(company.domains.flatMap((d) => normaliseDomain(d) ?? [])), ...addressSources(directory.emailsOfCompany(company._id))]
        : []),
      ...(deal.threadIds ?? []).map(threadSource),
    ];
    res.json(
      await activityPage(sources, await loadVisibility(auth(req).userId), page, {
        belongs: (m) => (m.dealIds ?? []).some((d) => deal._id.equals(d)),
        fields: { dealIds: 1 },
        alsoIds: deal.messageIds ?? [],
      }),
    );
  });

  return router;
}
