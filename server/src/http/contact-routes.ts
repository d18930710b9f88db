/**
 * Contacts and companies (server/openapi.yaml): search, create (with duplicate detection and at-once
 * relinking of past mail), read, edit, delete, and the newest-first mail of a contact or a company. Ids of other
 * organisations are simply not found: every query runs in the caller's organisation (db/tenant.ts).
 */
import { Router } from 'express';
import { z } from 'zod';
import { Types } from 'mongoose';
import { contactCreateOf, contactEmail, contactPatchOf, ContactSearch } from '@threadline/shared/src/api/records';
import { ContactConflictError, createContact, deleteContact, searchContacts, updateContact } from '../crm/contacts';
import { loadVisibility } from '../crm/visibility';
import { Company, type CompanyDoc, Contact, type ContactDoc } from '../models/crm';
import { normaliseAddress, normaliseDomain } from '../mail/address';
import { auth } from './context';
import { badRequest, conflict, notFound } from './errors';
import { activityPage, pageQuery } from '../views/message-listing';
import { addressSources, domainSources } from '../store/activity';
import { OrgDirectory } from '../crm/directory';
import { objectId } from './params';
import { companyView, contactView } from '../views/records';
import { recordsByIds } from '../store/record-cache';

const idParam = (what: string) => z.object({ id: objectId(what) });
const address = (field: string) =>
  contactEmail.transform((s, ctx) => {
    const a = normaliseAddress(s);
    if (a === null) ctx.addIssue({ code: 'custom', message: `${field} is not a valid email address` });
    return a ?? '';
  });
const searchQuery = ContactSearch;
const createBody = contactCreateOf(address('email'));
const patchBody = contactPatchOf(address('emails'), objectId('company'));

function conflictFrom(err: unknown): unknown {
  if (err instanceof ContactConflictError) {
    return conflict(`${err.email} already belongs to a contact`, { existingId: String(err.existingId), email: err.email });
  }
  return err;
}

export function contactRoutes(): Router {
  const router = Router();

  router.get('/api/contacts', async (req, res) => {
    const { q, limit } = searchQuery.parse(req.query);
    const contacts = await searchContacts(q ?? '', limit);
    res.json({ contacts: contacts.map(contactView) });
  });

  router.post('/api/contacts', async (req, res) => {
    const body = createBody.parse(req.body);
    try {
      const contact = await createContact({ ...body, ownerId: auth(req).userId });
      res.status(201).json(contactView(contact));
    } catch (err) {
      throw conflictFrom(err);
    }
  });

  router.get('/api/contacts/:id', async (req, res) => {
    const { id } = idParam('contact').parse(req.params);
    const contact = await Contact.findById(id).lean<ContactDoc>();
    if (!contact) throw notFound('contact');
    res.json(contactView(contact));
  });

  router.patch('/api/contacts/:id', async (req, res) => {
    const { id } = idParam('contact').parse(req.params);
    const changes = patchBody.parse(req.body);
    if (changes.companyId && !(await Company.exists({ _id: changes.companyId }))) throw badRequest('companyId: no such company');
    let updated: ContactDoc | null;
    try {
      updated = await updateContact(id, changes);
    } catch (err) {
      throw conflictFrom(err);
    }
    if (!updated) throw notFound('contact');
    res.json(contactView(updated));
  });

  router.delete('/api/contacts/:id', async (req, res) => {
    const { id } = idParam('contact').parse(req.params);
    if (!(await deleteContact(id))) throw notFound('contact');
    res.status(204).end();
  });

  router.get('/api/contacts/:id/messages', async (req, res) => {
    const { id } = idParam('contact').parse(req.params);
    const page = pageQuery.parse(req.query);
    const [contact] = await recordsByIds<ContactDoc>(Contact, [new Types.ObjectId(id)]);
    if (!contact) throw notFound('contact');
    const addresses = contact.emails.flatMap((e) => normaliseAddress(e) ?? []);
    res.json(await activityPage(addressSources(addresses), await loadVisibility(auth(req).userId), page));
  });

  router.get('/api/companies/:id', async (req, res) => {
    const { id } = idParam('company').parse(req.params);
    const company = await Company.findById(id).lean<CompanyDoc>();
    if (!company) throw notFound('company');
    res.json(companyView(company));
  });

  router.get('/api/companies/:id/messages', async (req, res) => {
    const { id } = idParam('company').parse(req.params);
    const page = pageQuery.parse(req.query);
    const company = await Company.findById(id).select({ domains: 1 }).lean<Pick<CompanyDoc, '_id' | 'domains'>>();
    if (!company) throw notFound('company');
    // Mail is linked to a company through its domains and through its contacts (whatever their addresses' domains).
    const directory = await OrgDirectory.shared();
    const sources = [...domainSources(company.domains.flatMap((d) => normaliseDomain(d) ?? [])), ...addressSources(directory.emailsOfCompany(company._id))];
    res.json(await activityPage(sources, await loadVisibility(auth(req).userId), page));
  });

  return router;
}
