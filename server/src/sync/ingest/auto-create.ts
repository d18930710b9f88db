/**
 * Auto-created contacts (and their companies) for a page of kept messages, per the organisation's policy
 * (docs/SYNC.md "Linking"; the decision itself is crm/auto-create.ts). Ids are stable per address and domain, so two
 * workers creating the same person converge on one record.
 */
import type { Types } from 'mongoose';
import { Company, Contact } from '../../models';
import { shouldAutoCreateContact, suggestContact, type ContactSuggestion } from '../../crm/auto-create';
import { insertIdempotent } from './bulk';
import type { IngestContext } from './context';
import { isFromMailbox } from '../../mail/direction';
import type { OrgDirectory } from '../../crm/directory';
import { stableId } from '../../models/ids';
import { isAddressExcluded, type MergedPrivacyRules } from './privacy';
import type { Prepared } from './prepare';

export async function autoCreateContacts(
  ctx: IngestContext,
  items: Prepared[],
  directory: OrgDirectory,
  rules: MergedPrivacyRules,
  now: Date,
): Promise<{ _id: Types.ObjectId; emails: string[]; companyId: Types.ObjectId | null }[]> {
  const policy = ctx.org.sync.autoCreateContacts;
  // Contacts are seen by the whole organisation: mail its holder keeps private never makes one (docs/SECURITY.md,
  // "Private holders"); the holder can still create a contact by hand.
  if (policy === 'none' || ctx.user.private) return [];
  const { mailbox } = ctx;
  const identity = { address: mailbox.address, aliases: ctx.user.email ? [ctx.user.email] : [] };
  const own = [mailbox.address, ...identity.aliases];
  const wanted = new Map<string, ContactSuggestion>();
  for (const { parsed, direction } of items) {
    const fromMe = isFromMailbox(parsed, identity);
    for (const person of [...parsed.from, ...parsed.to, ...parsed.cc, ...parsed.bcc]) {
      if (wanted.has(person.email) || directory.isKnownContact(person.email)) continue;
      const verdict = shouldAutoCreateContact(person, { direction, fromMe, headers: parsed.headers }, policy, {
        ownAddresses: own,
        orgDomains: ctx.org.domains,
        excluded: (e) => isAddressExcluded(e, rules),
      });
      const suggestion = verdict.create ? suggestContact(person) : null;
      if (suggestion) wanted.set(suggestion.email, suggestion);
    }
  }
  if (wanted.size === 0) return [];
  const { orgId } = mailbox;

  const newDomains = new Map<string, string>();
  for (const s of wanted.values()) {
    if (s.companyDomain && !directory.companyForDomain(s.companyDomain)) newDomains.set(s.companyDomain, s.companyName ?? s.companyDomain);
  }
  const companies = [...newDomains].map(([domain, name]) => ({
    _id: stableId(orgId, 'company', domain),
    orgId,
    name,
    domains: [domain],
    createdAt: now,
    updatedAt: now,
  }));
  const companyOutcome = await insertIdempotent(Company, companies);
  for (const i of [...companyOutcome.inserted, ...companyOutcome.existing]) {
    // An existing one may be a company someone created by hand with that domain (another id): look it up.
    const id = companyOutcome.inserted.includes(i) ? companies[i]._id : (await Company.findOne({ domains: companies[i].domains[0] }, { _id: 1 }).lean())?._id;
    if (id) directory.addCompany(id, companies[i].domains);
  }

  const contacts = [...wanted.values()].map((s) => ({
    _id: stableId(orgId, 'contact', s.email),
    orgId,
    emails: [s.email],
    name: s.name,
    title: '',
    phone: '',
    companyId: s.companyDomain ? directory.companyForDomain(s.companyDomain) : null,
    ownerId: mailbox.userId,
    source: 'auto',
    createdAt: now,
    updatedAt: now,
  }));
  const contactOutcome = await insertIdempotent(Contact, contacts);
  const created = contactOutcome.inserted.map((i) => contacts[i]);
  for (const c of created) directory.addContact(c._id, c.emails, c.companyId);
  for (const i of contactOutcome.existing) {
    const found = await Contact.findOne({ emails: contacts[i].emails[0] }, { _id: 1, emails: 1, companyId: 1 }).lean();
    if (found) directory.addContact(found._id, found.emails, found.companyId ?? null);
  }
  return created;
}
