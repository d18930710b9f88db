/**
 * Contacts and their companies as the CRM routes change them (docs/SYNC.md "Linking"): one address belongs to one
 * contact in the organisation, the company comes from the registrable domain (never a free-mail one), and every change
 * of a contact's addresses relinks the mail already synced, at once. Everything here runs in the caller's org context.
 */
import mongoose, { type Types } from 'mongoose';
import { isDuplicateKey } from '../db/errors';
import { Company, type CompanyDoc, Contact, type ContactDoc, Deal } from '../models/crm';
import { Message } from '../models/message';
import { markDirectoryChanged } from './directory';
import { relinkContact } from './link';
import { companyDomainFor, companyNameFromDomain } from '../mail/domains';

export class ContactConflictError extends Error {
  constructor(
    public readonly email: string,
    public readonly existingId: Types.ObjectId,
  ) {
    super(`${email} already belongs to a contact`);
    this.name = 'ContactConflictError';
  }
}

/** Regex metacharacters escaped, so user input only ever matches itself. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Removes a contact from every message and deal that names it (before the contact itself is deleted). */
export async function unlinkContact(contactId: Types.ObjectId): Promise<void> {
  await markDirectoryChanged();
  await Message.updateMany({ contactIds: contactId }, { $pull: { contactIds: contactId } });
  await Deal.updateMany({ contactIds: contactId }, { $pull: { contactIds: contactId } });
}

/**
 * A company newly keyed by a domain takes the mail already stored with that domain or its subdomains
 * (`jane@eu.acme.com` is Acme's). A one-off scan at creation; ingest links new mail as it arrives.
 */
async function linkCompanyByDomain(companyId: Types.ObjectId, domain: string): Promise<void> {
  await markDirectoryChanged();
  const pattern = new RegExp(`@(?:[^@]+\\.)?${escapeRegex(domain)}$`);
  await Message.updateMany({ participants: pattern }, { $addToSet: { companyIds: companyId } });
}

/**
 * The company for a new contact: found or created from the address's registrable domain; for a free-mail or
 * domain-less address only when a name is given, found or created by that name without a domain (so a later
 * gmail.com contact is never pulled into it). Null when there is nothing to go on.
 */
export async function companyForContact(email: string, companyName?: string): Promise<Types.ObjectId | null> {
  const domain = companyDomainFor(email);
  const name = companyName?.trim();
  if (domain) {
    const existing = await Company.findOne({ domains: domain }).select({ _id: 1 }).lean<Pick<CompanyDoc, '_id'>>();
    if (existing) return existing._id;
    try {
      const created = await Company.create({ name: name || companyNameFromDomain(domain) || domain, domains: [domain] });
      await linkCompanyByDomain(created._id as Types.ObjectId, domain);
      return created._id as Types.ObjectId;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Another request created it in the meantime: use theirs.
      const raced = await Company.findOne({ domains: domain }).select({ _id: 1 }).lean<Pick<CompanyDoc, '_id'>>();
      if (raced) return raced._id;
      throw err;
    }
  }
  if (!name) return null;
  const byName = await Company.findOne({ name }).select({ _id: 1 }).lean<Pick<CompanyDoc, '_id'>>();
  if (byName) return byName._id;
  try {
    const created = await Company.create({ name, domains: [] });
    return created._id as Types.ObjectId;
  } catch (err) {
    // The unique (orgId, domains) index (models/crm.ts) admits only one company with no domain per organisation:
    // an empty array is indexed as one key. Until that index is made partial, a second name-only company cannot be
    // stored, and the contact is created without one rather than failing.
    if (isDuplicateKey(err)) return null;
    throw err;
  }
}

/** Throws ContactConflictError when one of the addresses belongs to another contact. */
async function assertAddressesFree(emails: string[], except?: Types.ObjectId): Promise<void> {
  const filter: Record<string, unknown> = { emails: mongoose.trusted({ $in: emails }) };
  if (except) filter._id = mongoose.trusted({ $ne: except });
  const taken = await Contact.findOne(filter).select({ _id: 1, emails: 1 }).lean<Pick<ContactDoc, '_id' | 'emails'>>();
  if (taken) throw new ContactConflictError(emails.find((e) => taken.emails.includes(e)) ?? emails[0], taken._id);
}

async function conflictFromRace(emails: string[], except?: Types.ObjectId): Promise<never> {
  await assertAddressesFree(emails, except);
  throw new Error('duplicate key without a conflicting contact');
}

export interface NewContact {
  email: string;
  name?: string;
  companyName?: string;
  title?: string;
  phone?: string;
  ownerId?: Types.ObjectId;
}

/** `email` must already be normalised. Links the new contact to past mail before answering. */
export async function createContact(input: NewContact): Promise<ContactDoc> {
  await assertAddressesFree([input.email]);
  const companyId = await companyForContact(input.email, input.companyName);
  let doc;
  try {
    doc = await Contact.create({
      emails: [input.email],
      name: input.name ?? '',
      title: input.title ?? '',
      phone: input.phone ?? '',
      companyId,
      ownerId: input.ownerId ?? null,
      source: 'manual',
    });
  } catch (err) {
    if (isDuplicateKey(err)) await conflictFromRace([input.email]);
    throw err;
  }
  const contact = doc.toObject() as ContactDoc;
  await relinkContact(contact);
  return contact;
}

export interface ContactChanges {
  emails?: string[];
  name?: string;
  title?: string;
  phone?: string;
  companyId?: Types.ObjectId | null;
}

/** `emails` must already be normalised and deduplicated. Null when the contact does not exist. */
export async function updateContact(id: Types.ObjectId, changes: ContactChanges): Promise<ContactDoc | null> {
  const existing = await Contact.findById(id).lean<ContactDoc>();
  if (!existing) return null;
  if (changes.emails) await assertAddressesFree(changes.emails, id);
  const set: Record<string, unknown> = {};
  for (const key of ['emails', 'name', 'title', 'phone', 'companyId'] as const) if (changes[key] !== undefined) set[key] = changes[key];
  let updated: ContactDoc | null;
  try {
    updated = await Contact.findOneAndUpdate({ _id: id }, { $set: set }, { new: true, runValidators: true }).lean<ContactDoc>();
  } catch (err) {
    if (isDuplicateKey(err) && changes.emails) await conflictFromRace(changes.emails, id);
    throw err;
  }
  if (!updated) return null;
  const addressesChanged = changes.emails !== undefined && changes.emails.join('\n') !== existing.emails.join('\n');
  const companyChanged = changes.companyId !== undefined && String(changes.companyId) !== String(existing.companyId);
  if (addressesChanged || companyChanged) await relinkContact(updated);
  return updated;
}

/** Deletes the contact and unlinks it from mail and deals. False when it did not exist. */
export async function deleteContact(id: Types.ObjectId): Promise<boolean> {
  const existing = await Contact.findById(id).select({ _id: 1 }).lean<Pick<ContactDoc, '_id'>>();
  if (!existing) return false;
  // Deleted first, unlinked after: a sync run that reloads its directory because of the unlink no longer finds it.
  await Contact.deleteOne({ _id: id });
  await unlinkContact(id);
  return true;
}

/**
 * Name, address or domain search: a case-insensitive substring of the name or of any address (so `acme.com` finds
 * everyone at Acme). The input is escaped: it is text to find, never a pattern.
 */
export async function searchContacts(q: string, limit: number): Promise<ContactDoc[]> {
  const term = q.trim().toLowerCase();
  if (term.length === 0) return Contact.find({}).sort({ name: 1, _id: 1 }).limit(limit).lean<ContactDoc[]>();
  const pattern = new RegExp(escapeRegex(term), 'i');
  return Contact.find({ $or: [{ name: pattern }, { emails: pattern }] })
    .sort({ name: 1, _id: 1 })
    .limit(limit)
    .lean<ContactDoc[]>();
}
