/**
 * The organisation's CRM records as linking needs them (docs/SYNC.md "Linking"): contacts by every address, companies
 * by registrable domain, deals by contact and company. Loaded once per sync run with one query per collection, then
 * answered from memory: a page of messages asks about hundreds of addresses, and one query per address (or an `$in`,
 * which the embedded FerretDB runs as a scan) would cost more than the whole page's writes.
 *
 * A record can change while a run holds the directory. Every change that relinks stored mail first moves the
 * organisation's `directoryVersion` (markDirectoryChanged), then relinks; the ingest reads the version before loading
 * and again after writing each page. Either the change moved it before that second read — the ingest reloads and
 * links the page itself — or it relinks after the page was written, and so reaches the page's messages. No window
 * is left in which a new contact's mail stays unlinked.
 */
import type { Types } from 'mongoose';
import { currentOrgId } from '../db/tenant';
import { Company, Contact, Deal, Org } from '../models';
import { companyDomainFor } from '../mail/domains';
import { normaliseAddress, normaliseDomain } from '../mail/address';
import { snapshotOrg } from '../store/org-snapshot';

export interface Links {
  contactIds: Types.ObjectId[];
  companyIds: Types.ObjectId[];
  dealIds: Types.ObjectId[];
}

interface ContactEntry {
  id: Types.ObjectId;
  companyId: Types.ObjectId | null;
}

/** What readers may ask of a shared directory (OrgDirectory.shared): look-ups only. */
export type ReadonlyDirectory = Pick<OrgDirectory, 'contactFor' | 'companyForDomain' | 'dealsOf' | 'emailsOfCompany' | 'isKnownContact' | 'linksFor'>;

/** Organisations whose directory this process keeps (the most recently loaded). */
const RECENT_DIRECTORIES = 32;
const recentDirectories = new Map<string, OrgDirectory>();

export class OrgDirectory {
  private readonly contactsByEmail = new Map<string, ContactEntry>();
  private readonly companiesByDomain = new Map<string, Types.ObjectId>();
  private readonly dealsByParty = new Map<string, Types.ObjectId[]>();

  /** The organisation's directoryVersion when this copy was loaded. */
  version = 0;

  /**
   * The directory of the organisation in context (call inside runInOrg): a copy of the one this process loaded last
   * while the organisation's directoryVersion has not moved since, else read from the database.
   */
  static async load(): Promise<OrgDirectory> {
    return (await OrgDirectory.cached()).copy();
  }

  /**
   * The same directory without the copy, for readers that never add to it (the sidebar, `why`): copying an
   * organisation's every address per request would cost more than the request's reads.
   */
  static async shared(): Promise<ReadonlyDirectory> {
    // The version as the request's snapshot holds it (store/org-snapshot.ts), not a read of its own.
    return OrgDirectory.cached((await snapshotOrg())?.directoryVersion ?? 0);
  }

  /** `knownVersion`: the organisation's directoryVersion when the caller has just read the organisation itself. */
  private static async cached(knownVersion?: number): Promise<OrgDirectory> {
    const orgKey = String(currentOrgId());
    const version = knownVersion ?? (await directoryVersion());
    const cached = recentDirectories.get(orgKey);
    if (cached && cached.version === version) return cached;
    const dir = await OrgDirectory.read(version);
    recentDirectories.delete(orgKey);
    recentDirectories.set(orgKey, dir);
    if (recentDirectories.size > RECENT_DIRECTORIES) recentDirectories.delete(recentDirectories.keys().next().value!);
    return dir;
  }

  /** A copy a run may add to (auto-created contacts) without touching the cached one. */
  private copy(): OrgDirectory {
    const dir = new OrgDirectory();
    dir.version = this.version;
    for (const [k, v] of this.contactsByEmail) dir.contactsByEmail.set(k, v);
    for (const [k, v] of this.companiesByDomain) dir.companiesByDomain.set(k, v);
    for (const [k, v] of this.dealsByParty) dir.dealsByParty.set(k, v);
    return dir;
  }

  private static async read(version: number): Promise<OrgDirectory> {
    const dir = new OrgDirectory();
    dir.version = version;
    const [contacts, companies, deals] = await Promise.all([
      Contact.find({}, { emails: 1, companyId: 1 }).lean(),
      Company.find({}, { domains: 1 }).lean(),
      Deal.find({}, { contactIds: 1, companyId: 1 }).lean(),
    ]);
    for (const c of contacts) dir.addContact(c._id, c.emails, c.companyId ?? null);
    for (const c of companies) dir.addCompany(c._id, c.domains);
    for (const d of deals) {
      for (const party of [...d.contactIds, ...(d.companyId ? [d.companyId] : [])]) {
        const key = String(party);
        dir.dealsByParty.set(key, [...(dir.dealsByParty.get(key) ?? []), d._id]);
      }
    }
    return dir;
  }

  addContact(id: Types.ObjectId, emails: string[], companyId: Types.ObjectId | null): void {
    for (const e of emails) {
      const email = normaliseAddress(e);
      if (email !== null) this.contactsByEmail.set(email, { id, companyId });
    }
  }

  addCompany(id: Types.ObjectId, domains: string[]): void {
    for (const d of domains) {
      const domain = normaliseDomain(d);
      if (domain !== null) this.companiesByDomain.set(domain, id);
    }
  }

  isKnownContact(email: string): boolean {
    const a = normaliseAddress(email);
    return a !== null && this.contactsByEmail.has(a);
  }

  companyForDomain(domain: string): Types.ObjectId | null {
    return this.companiesByDomain.get(domain) ?? null;
  }

  /** The contact with this normalised address, and its company. */
  contactFor(email: string): { id: Types.ObjectId; companyId: Types.ObjectId | null } | null {
    return this.contactsByEmail.get(email) ?? null;
  }

  /** The addresses of the contacts of a company. */
  emailsOfCompany(companyId: Types.ObjectId): string[] {
    const id = String(companyId);
    return [...this.contactsByEmail].filter(([, c]) => c.companyId !== null && String(c.companyId) === id).map(([email]) => email);
  }

  /** The deals of these contacts and companies. */
  dealsOf(partyIds: readonly Types.ObjectId[]): Types.ObjectId[] {
    const deals = new Map<string, Types.ObjectId>();
    for (const party of partyIds) for (const deal of this.dealsByParty.get(String(party)) ?? []) deals.set(String(deal), deal);
    return [...deals.values()];
  }

  /**
   * Contacts on any of their addresses; companies by the registrable domain of each participant (never free-mail,
   * never the organisation's own domains) and through the linked contacts; deals through both.
   */
  linksFor(participants: string[], orgDomains: string[]): Links {
    const contacts = new Map<string, Types.ObjectId>();
    const companies = new Map<string, Types.ObjectId>();
    for (const p of participants) {
      const contact = this.contactsByEmail.get(p);
      if (contact) {
        contacts.set(String(contact.id), contact.id);
        if (contact.companyId) companies.set(String(contact.companyId), contact.companyId);
      }
      const domain = companyDomainFor(p);
      if (domain === null || orgDomains.some((d) => d === domain)) continue;
      const company = this.companiesByDomain.get(domain);
      if (company) companies.set(String(company), company);
    }
    const deals = new Map<string, Types.ObjectId>();
    for (const party of [...contacts.keys(), ...companies.keys()]) {
      for (const deal of this.dealsByParty.get(party) ?? []) deals.set(String(deal), deal);
    }
    return { contactIds: [...contacts.values()], companyIds: [...companies.values()], dealIds: [...deals.values()] };
  }
}

/** The directoryVersion of the organisation in context. */
export async function directoryVersion(): Promise<number> {
  const org = await Org.findById(currentOrgId(), { directoryVersion: 1 }).lean<{ directoryVersion?: number }>();
  return org?.directoryVersion ?? 0;
}

/**
 * Call before relinking stored mail after a change of contacts, companies or deals (inside runInOrg). Returns the
 * new version.
 */
export async function markDirectoryChanged(): Promise<number> {
  const org = await Org.findOneAndUpdate({ _id: currentOrgId() }, { $inc: { directoryVersion: 1 } }, { new: true }).lean<{ directoryVersion?: number }>();
  return org?.directoryVersion ?? 0;
}
