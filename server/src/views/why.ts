/**
 * "Why is (or isn't) this email here?": the answer in words, from stored facts only.
 *
 * Privacy first (docs/SYNC.md "Privacy first"): excluded mail leaves no trace, so "excluded" is never read from the
 * database. It is the CURRENT org and personal rules, judged by the same evaluator ingest uses
 * (sync/ingest/privacy.ts), applied to the address the caller gives. Nothing is written while answering, and the
 * caller's question is not logged.
 *
 * Visibility (docs/SYNC.md "Dedup and visibility"): mail the caller may not see is answered for exactly as if it were
 * not stored — the same verdict and reasons as an email nobody synced — so the route is no oracle for a teammate's
 * private mail. Holders who share privately are never named to anyone but themselves.
 *
 * The wording is built by small pure functions (exported for tests); `explainWhy` only gathers the facts.
 */
import mongoose, { Types } from 'mongoose';
import { currentOrgId } from '../db/tenant';
import { byInternetMessageId } from '../models/ids';
import { Company, type CompanyDoc, Contact, type ContactDoc, Deal, type DealDoc } from '../models/crm';
import { Mailbox, type MailboxDoc } from '../models/mailbox';
import { Message, type MessageDoc } from '../models/message';
import type { OrgDoc } from '../models/org';
import type { UserDoc } from '../models/user';
import { orgSnapshot, userIn } from '../store/org-snapshot';
import { addressInDomains, domainOf } from '../mail/address';
import { evaluatePrivacy, mergeRules, type PrivacyDecision } from '../sync/ingest/privacy';
import { userFix } from '../sync/engine/policy';
import { countWith } from '../store/activity';
import { OrgDirectory } from '../crm/directory';
import { findDeals, lookupPeople } from './context';
import { companyDomainFor, isFreeMailDomain } from '../mail/domains';
import { loadVisibility, type Access, type OrgUser, type VisibilityPolicy } from '../crm/visibility';
import { leanByIds } from '../store/lean';

export type WhyVerdict = 'synced' | 'excluded' | 'not_yet_synced';
export interface WhyReason {
  code: string;
  message: string;
  detail?: Record<string, unknown>;
}
export interface WhyAnswer {
  verdict: WhyVerdict;
  reasons: WhyReason[];
}
/** Already validated and normalised by the route; `date` is the email's own date when the client knows it. */
export interface WhyQuery {
  messageId: string | null;
  email: string | null;
  date: Date | null;
}
export interface WhyCaller {
  userId: Types.ObjectId;
  role: 'admin' | 'member';
}

const { trusted } = mongoose;
/** A mailing list can have hundreds of people: the answer explains a few, which is what a rep reads. */
const MAX_EXPLAINED = 5;
const MAX_LINKS = 10;
const DAY_MS = 24 * 60 * 60 * 1000;

const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// ---- Pure wording ----------------------------------------------------------------------------------------------

/** An excluded address: which rule, whose, and where to change it (admins and members are told different things). */
export function exclusionReasons(email: string, decision: Extract<PrivacyDecision, { excluded: true }>, role: WhyCaller['role']): WhyReason[] {
  const { kind, value, scope = 'org' } = decision.rule;
  const whose = scope === 'org' ? "your organisation's" : 'your own';
  const words: Record<typeof kind, string> = {
    address: `Mail with ${email} is never synced: the address is on ${whose} list of excluded addresses.`,
    domain: `Mail with anyone at ${value} (its subdomains included) is never synced: the domain is on ${whose} list of excluded domains.`,
    label: `Mail with the label or folder "${value}" is never synced (${whose} rule).`,
    internal: `Mail where everyone is inside your organisation is not synced: ${scope === 'org' ? 'your organisation' : 'you'} turned on "exclude internal mail", and ${email} is a colleague.`,
    onlyKnownContacts: `Only mail with a known contact outside your organisation is synced (${whose} rule), and ${email} is not a contact.`,
  };
  const reasons: WhyReason[] = [{ code: 'excluded_by_rule', message: words[kind], detail: { rule: kind, scope, ...(value ? { value } : {}) } }];
  const fix =
    scope === 'user'
      ? { message: 'You set this rule yourself: remove it in your personal settings and the mail is imported again.', settings: 'personal' }
      : role === 'admin'
        ? { message: 'You are an admin: change it in the organisation settings (sync rules) and the mail is imported again.', settings: 'organisation' }
        : { message: "Only an admin can change the organisation's sync rules: ask one if this mail should be in the CRM.", settings: 'organisation' };
  reasons.push({ code: 'how_to_change', message: fix.message, detail: { settings: fix.settings } });
  if (kind === 'onlyKnownContacts') {
    reasons.push({ code: 'create_contact', message: `Or create a contact for ${email}: their mail is then synced.` });
  }
  return reasons;
}

export type MailboxFacts = Pick<MailboxDoc, 'address' | 'state' | 'backfill' | 'lastError' | 'lastSyncedAt' | 'backoffUntil' | 'nextRunAt'>;

/** Why the caller's mailboxes do not hold the email (yet), one reason per mailbox; `date` sharpens the live case. */
export function mailboxReasons(mailboxes: readonly MailboxFacts[], opts: { historyDays: number; date: Date | null; now: Date }): WhyReason[] {
  if (mailboxes.length === 0) {
    return [
      {
        code: 'no_mailbox',
        message: "You have not connected a mailbox, so only mail from your teammates' mailboxes is in the CRM. Connect yours to sync your own mail.",
      },
    ];
  }
  return mailboxes.map((m) => mailboxReason(m, opts));
}

function mailboxReason(m: MailboxFacts, { historyDays, date, now }: { historyDays: number; date: Date | null; now: Date }): WhyReason {
  const address = m.address;
  switch (m.state) {
    case 'backfilling': {
      const { imported = 0, total = 0 } = m.backfill ?? {};
      const progress = total > 0 ? `: ${imported} of ${total} emails imported so far` : '';
      return {
        code: 'backfilling',
        message: `${address} is still importing past mail${progress}. The email appears when the import reaches it.`,
        detail: { address, imported, total },
      };
    }
    case 'throttled': {
      const until = m.backoffUntil ?? m.nextRunAt ?? null;
      const resume = until && until > now ? `; syncing resumes at ${when(until)}` : '; syncing resumes shortly';
      return {
        code: 'throttled',
        message: `The provider asked Threadline to slow down for ${address}${resume}. Nothing is lost.`,
        detail: { address, until: until?.toISOString() ?? null },
      };
    }
    case 'error': {
      const code = m.lastError?.code ?? 'transient';
      const what = m.lastError?.message ?? 'Syncing stopped after an error.';
      return {
        code: 'mailbox_error',
        message: `${address}: ${what} ${userFix(code)}`,
        detail: { address, error: code, at: m.lastError?.at?.toISOString() ?? null, fix: userFix(code) },
      };
    }
    case 'reauth_required':
      return {
        code: 'reauth_required',
        message: `Threadline lost access to ${address}. Reconnect the mailbox to resume syncing.`,
        detail: { address, fix: userFix('auth_revoked') },
      };
    case 'paused':
      return { code: 'paused', message: `Syncing of ${address} is paused. Resume it from the mailbox settings.`, detail: { address } };
    default:
      return liveReason(m, { historyDays, date, now });
  }
}

function liveReason(m: MailboxFacts, { historyDays, date, now }: { historyDays: number; date: Date | null; now: Date }): WhyReason {
  const address = m.address;
  const since = new Date(now.getTime() - historyDays * DAY_MS);
  const last = m.lastSyncedAt ?? null;
  const detail = { address, historyDays, since: since.toISOString(), lastSyncedAt: last?.toISOString() ?? null };
  if (date && date < since) {
    return {
      code: 'older_than_history',
      message: `${address} syncs mail from the last ${plural(historyDays, 'day')} (since ${when(since)}); this email is older, so it is not imported.`,
      detail,
    };
  }
  if (date && (!last || date > last)) {
    return {
      code: 'arriving_shortly',
      message: `${address} was last synced ${last ? `at ${when(last)}` : 'a moment ago'}; this email is newer and will arrive shortly.`,
      detail,
    };
  }
  if (date) {
    return {
      code: 'not_in_mailbox',
      message: `${address} is up to date for this email's date, but the email is not in it. It may be in a folder Threadline does not sync (junk, drafts), or only in someone else's mailbox.`,
      detail,
    };
  }
  const lastWords = last ? ` (last synced ${when(last)})` : '';
  return {
    code: 'live',
    message: `${address} is up to date${lastWords}. It imports mail from the last ${plural(historyDays, 'day')}: an older email is not imported, and one newer than the last sync arrives shortly.`,
    detail,
  };
}

/** Why an address links to no contact or company: none with that address, a free-mail domain, or no company yet. */
export function unlinkedReasons(email: string, companyExists: boolean): WhyReason[] {
  const reasons: WhyReason[] = [
    {
      code: 'no_contact',
      message: `No contact has the address ${email}. Create one and the mail already synced with ${email} is linked at once.`,
      detail: { email },
    },
  ];
  const domain = domainOf(email);
  if (isFreeMailDomain(domain)) {
    reasons.push({ code: 'free_mail_domain', message: `${domain} is a free-mail domain, so it never makes a company.`, detail: { email, domain } });
  } else if (!companyExists) {
    const keyed = companyDomainFor(email);
    if (keyed)
      reasons.push({
        code: 'no_company',
        message: `No company has the domain ${keyed}; creating a contact for ${email} creates it.`,
        detail: { email, domain: keyed },
      });
  }
  return reasons;
}

export function linkReasons(links: {
  contacts: Pick<ContactDoc, '_id' | 'name' | 'emails'>[];
  companies: Pick<CompanyDoc, '_id' | 'name'>[];
  deals: Pick<DealDoc, '_id' | 'name' | 'stage'>[];
}): WhyReason[] {
  return [
    ...links.contacts.map((c) => ({
      code: 'linked_contact',
      message: `Linked to the contact ${c.name || c.emails[0]} (${c.emails.join(', ')}).`,
      detail: { contactId: String(c._id) },
    })),
    ...links.companies.map((c) => ({ code: 'linked_company', message: `Linked to the company ${c.name}.`, detail: { companyId: String(c._id) } })),
    ...links.deals.map((d) => ({ code: 'linked_deal', message: `Linked to the deal ${d.name} (${d.stage}).`, detail: { dealId: String(d._id) } })),
  ];
}

// ---- Facts -----------------------------------------------------------------------------------------------------

type StoredMessage = Pick<MessageDoc, '_id' | 'syncedBy' | 'levelOverrides' | 'participants' | 'contactIds' | 'companyIds' | 'dealIds'>;

/** Holders the caller may be told about: themselves, and anyone who does not keep this message private. */
function holderReason(doc: StoredMessage, policy: VisibilityPolicy, callerId: Types.ObjectId, users: readonly OrgUser[]): WhyReason {
  const named = doc.syncedBy.filter((h) => policy.shows(h, doc));
  const byId = new Map(users.map((u) => [String(u._id), u]));
  const holders = named.map((id) => ({
    userId: String(id),
    name: byId.get(String(id))?.name ?? '',
    email: byId.get(String(id))?.email ?? '',
    isYou: id.equals(callerId),
  }));
  const words = holders.map((h) => (h.isYou ? 'you' : h.name ? `${h.name} (${h.email})` : h.email));
  const list = words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}` : (words[0] ?? 'a teammate');
  return { code: 'synced_by', message: `In the CRM from the ${holders.length > 1 ? 'mailboxes' : 'mailbox'} of ${list}.`, detail: { holders } };
}

/** Outside people (not users, not the organisation's domains) on the message, the ones a rep expects linked. */
function outsiders(participants: string[], orgDomains: string[], users: readonly OrgUser[]): string[] {
  const colleagues = new Set(users.map((u) => u.email));
  return participants.filter((p) => !colleagues.has(p) && !addressInDomains(p, orgDomains));
}

async function storedMessageAnswer(
  doc: StoredMessage,
  access: Exclude<Access, 'none'>,
  q: WhyQuery,
  policy: VisibilityPolicy,
  callerId: Types.ObjectId,
  orgDomains: string[],
  users: readonly OrgUser[],
): Promise<WhyAnswer> {
  const reasons = [holderReason(doc, policy, callerId, users)];
  if (access === 'metadata')
    reasons.push({ code: 'metadata_only', message: 'Its holder shares headers only: you see who and when, not the body or attachments.' });
  // By `_id`, and not at all when the message names none (an empty `$in` is still a round trip).
  const [contacts, companies] = await Promise.all([
    doc.contactIds.length === 0
      ? []
      : Contact.find({ _id: trusted({ $in: doc.contactIds }) })
          .select({ name: 1, emails: 1 })
          .limit(MAX_LINKS)
          .lean<Pick<ContactDoc, '_id' | 'name' | 'emails'>[]>(),
    doc.companyIds.length === 0
      ? []
      : Company.find({ _id: trusted({ $in: doc.companyIds }) })
          .select({ name: 1, domains: 1 })
          .limit(MAX_LINKS)
          .lean<Pick<CompanyDoc, '_id' | 'name' | 'domains'>[]>(),
  ]);
  // Deals reach mail through their contacts and company, besides any stored directly on the message: found through
  // the organisation's directory, then by `_id`.
  const directory = await OrgDirectory.shared();
  const dealIds = [...new Set([...(doc.dealIds ?? []), ...directory.dealsOf([...doc.contactIds, ...doc.companyIds])].map(String))];
  const deals =
    dealIds.length === 0
      ? []
      : (
          await Deal.find({ _id: trusted({ $in: dealIds.map((id) => new Types.ObjectId(id)) }) })
            .select({ name: 1, stage: 1, updatedAt: 1 })
            .lean<(Pick<DealDoc, '_id' | 'name' | 'stage'> & { updatedAt?: Date })[]>()
        )
          .sort((a, b) => new Date(b.updatedAt ?? 0).getTime() - new Date(a.updatedAt ?? 0).getTime())
          .slice(0, MAX_LINKS)
          .map(({ _id, name, stage }) => ({ _id, name, stage }));
  reasons.push(...linkReasons({ contacts, companies, deals }));

  if (contacts.length === 0 && companies.length === 0 && deals.length === 0) {
    reasons.push({ code: 'not_linked', message: 'It is linked to no contact, company or deal.' });
  }
  // Unlinked people are explained when nobody is linked, or when the caller asked about one of them.
  const linkedEmails = new Set(contacts.flatMap((c) => c.emails));
  const asked = q.email && doc.participants.includes(q.email) ? [q.email] : [];
  const candidates = contacts.length === 0 ? outsiders(doc.participants, orgDomains, users) : asked;
  const unexplained = candidates.filter((e) => !linkedEmails.has(e)).slice(0, MAX_EXPLAINED);
  for (const email of unexplained) {
    const domain = companyDomainFor(email);
    reasons.push(...unlinkedReasons(email, domain !== null && directory.companyForDomain(domain) !== null));
  }
  return { verdict: 'synced', reasons };
}

/** Mail with an address (no Message-ID asked): how much the caller can see, and what the address is linked to. */
async function addressAnswer(email: string, policy: VisibilityPolicy): Promise<WhyAnswer | null> {
  // Counted from the activity read model: a cost that grows with this address's mail, not the organisation's.
  const visible = await countWith(
    email,
    (ids) => leanByIds<Pick<MessageDoc, '_id' | 'syncedBy' | 'levelOverrides'>>(Message, ids, { syncedBy: 1, levelOverrides: 1 }),
    (m) => policy.access(m) !== 'none',
  );
  // None the caller may see: answered as if none were stored (see the module comment).
  if (visible === 0) return null;
  const reasons: WhyReason[] = [
    { code: 'stored', message: `${plural(visible, 'email')} with ${email} ${visible === 1 ? 'is' : 'are'} in the CRM for you.`, detail: { count: visible } },
  ];
  const directory = await OrgDirectory.shared();
  const [person] = await lookupPeople([email], directory);
  const deals = await findDeals([person], { openOnly: false, limit: MAX_LINKS }, directory);
  const contacts = person.contact ? [person.contact] : [];
  const companies = person.company ? [person.company] : [];
  reasons.push(...linkReasons({ contacts, companies, deals }));
  if (!person.contact) reasons.push(...unlinkedReasons(email, person.company !== null));
  return { verdict: 'synced', reasons };
}

/** The current rules applied to one address: the org's and the caller's own, merged as ingest merges them. */
async function exclusionOf(email: string, org: Pick<OrgDoc, 'settings'>, me: Pick<UserDoc, 'settings'> | null, orgDomains: string[]): Promise<PrivacyDecision> {
  const rules = mergeRules(org.settings.sync, me?.settings ?? null);
  // Only-known-contacts asks the contacts; the other rules need nothing stored.
  const known = rules.onlyKnownContacts ? (await OrgDirectory.shared()).isKnownContact(email) : false;
  const direction = addressInDomains(email, orgDomains) ? 'internal' : 'inbound';
  return evaluatePrivacy({ participants: [email], labels: [], direction }, rules, { isKnownContact: () => known, orgDomains });
}

/** The answer for one question, inside the caller's organisation context. Reads only; never writes. */
export async function explainWhy(caller: WhyCaller, q: WhyQuery, now = new Date()): Promise<WhyAnswer> {
  // The organisation, its users and the caller, from the request's snapshot (store/org-snapshot.ts): no read of
  // their own. The policy is only built when there is something to judge.
  const snapshot = await orgSnapshot();
  let loaded: Promise<VisibilityPolicy> | null = null;
  const policy = () => (loaded ??= loadVisibility(caller.userId));
  const org = snapshot.org;
  const me = userIn(snapshot, caller.userId) ?? null;
  if (!org) throw new Error('the caller’s organisation is missing');
  // A lone Gmail user's organisation is keyed to gmail.com: a free-mail domain never makes anyone a colleague.
  const orgDomains = (org.domains ?? []).filter((d) => !isFreeMailDomain(d));

  if (q.messageId) {
    const doc = await Message.findOne(byInternetMessageId(currentOrgId(), q.messageId))
      .select({ syncedBy: 1, levelOverrides: 1, participants: 1, contactIds: 1, companyIds: 1, dealIds: 1 })
      .lean<StoredMessage>();
    if (doc) {
      const access = (await policy()).access(doc);
      // Not for the caller's eyes: answered below as if it were not stored (see the module comment).
      if (access !== 'none') return storedMessageAnswer(doc, access, q, await policy(), caller.userId, orgDomains, snapshot.users);
    }
  }

  const reasons: WhyReason[] = [];
  if (q.email) {
    const decision = await exclusionOf(q.email, org, me, orgDomains);
    if (decision.excluded) return { verdict: 'excluded', reasons: exclusionReasons(q.email, decision, caller.role) };
    if (!q.messageId) {
      const stored = await addressAnswer(q.email, await policy());
      if (stored) return stored;
    }
    reasons.push({ code: 'not_excluded', message: `No exclusion rule covers ${q.email}: its mail is synced once a mailbox holding it is read.` });
  } else {
    reasons.push({ code: 'rules_not_checked', message: 'Give the sender’s address as well to check it against the exclusion rules.' });
  }
  reasons.unshift({ code: 'not_stored', message: q.messageId ? 'This email is not in the CRM yet.' : `No mail with ${q.email} is in the CRM yet.` });

  // Sealed tokens and cursors stay in the database: the explanation needs the sync state only.
  const mailboxes = await Mailbox.find({ userId: caller.userId })
    .select({ address: 1, state: 1, backfill: 1, lastError: 1, lastSyncedAt: 1, backoffUntil: 1, nextRunAt: 1 })
    .sort({ createdAt: 1 })
    .lean<MailboxFacts[]>();
  reasons.push(...mailboxReasons(mailboxes, { historyDays: org.settings.sync.historyDays, date: q.date, now }));
  return { verdict: 'not_yet_synced', reasons };
}
