/**
 * The sidebar's context: who these addresses are in the CRM, their company and deals, and the recent mail with
 * them that the caller may see — as the `GET /api/context` shape and as the add-ons' view model. Everything runs in
 * the caller's organisation context (the tenant plugin scopes every query).
 *
 * Performance (p99 ≤ 50 ms with 10,000 contacts and 200,000 messages, bench/context.bench.ts): a fixed number of
 * reads, each found by `_id` — the one index the embedded FerretDB has, and MongoDB's `_id` index: people through
 * the organisation's directory (its version by `_id`) and then their records by `_id`, mail through the activity
 * read model's key ranges (store/activity.ts) and then the messages and copies by `_id`, the open email by its
 * Message-ID's `_id`. Bodies are never loaded. Only the organisation's users and the caller's mailboxes are read by
 * (orgId) / (orgId, userId), which stay small.
 */
import type mongoose from 'mongoose';
import { Types } from 'mongoose';
import type {
  AddonAddress,
  AddonContextView,
  AddonMailboxHealth,
  AddonMessage,
  AddonMessageInput,
  AddonParticipant,
  AddonProvider,
  AddonThisMessage,
  AddonThread,
} from '@threadline/shared/src/api/addon-view';
import { currentOrgId } from '../db/tenant';
import { byInternetMessageId } from '../models/ids';
import { companyView, contactView, copyFor, messageSummary, type MessageSummary } from './records';
import { Company, type CompanyDoc, Contact, type ContactDoc, Deal, type DealDoc } from '../models/crm';
import { Mailbox, type MailboxDoc, type MailboxState } from '../models/mailbox';
import { Message, type MessageDoc } from '../models/message';
import type { OrgDoc } from '../models/org';
import { orgSnapshot } from '../store/org-snapshot';
import { leanByIds, leanFind, leanFindOne } from '../store/lean';
import { recordsByIds } from '../store/record-cache';
import { addressInDomains, normaliseAddress } from '../mail/address';
import { normaliseMessageId } from '../mail/message-id';
import { userFix } from '../sync/engine/policy';
import { OrgDirectory, type ReadonlyDirectory } from '../crm/directory';
import { addressSources, copiesOf, newestWith } from '../store/activity';
import { mailboxView } from './mailbox-view';
import { SUMMARY_FIELDS } from './message-listing';
import { choiceCovering } from '../sync/rules/message-choices';
import { isRoleParticipant, suggestContact } from '../crm/auto-create';
import { holdingSharing } from '../crm/message-sharing';
import { companyDomainFor, isFreeMailDomain } from '../mail/domains';
import { type Access, loadVisibility, type OrgUser, type VisibilityPolicy } from '../crm/visibility';

/** `GET /api/context` takes at most this many addresses (a large CC list is cut by the add-on route instead). */
export const MAX_CONTEXT_EMAILS = 50;
export const RECENT_MESSAGES = 10;
const MAX_DEALS = 20;

export interface Person {
  email: string;
  contact: ContactDoc | null;
  company: CompanyDoc | null;
}
export interface VisibleMessage {
  doc: MessageDoc;
  access: Exclude<Access, 'none'>;
}

const unique = <T>(items: Iterable<T>): T[] => [...new Set(items)];

/**
 * Contacts and companies for already normalised addresses, in their order. A person's company is their
 * contact's company, else the company keyed by their address's registrable domain (never free-mail), so an
 * unknown person at a known company shows that company.
 *
 * Found through the organisation's directory (crm/directory.ts: every address, domain and deal party, kept
 * per process and reloaded when the organisation's directoryVersion moves — one read by `_id`), then the records
 * themselves by `_id`: no query here grows with the number of contacts.
 */
export async function lookupPeople(emails: readonly string[], directory?: ReadonlyDirectory): Promise<Person[]> {
  if (emails.length === 0) return [];
  const dir = directory ?? (await OrgDirectory.shared());
  const contactOf = new Map(emails.map((e) => [e, dir.contactFor(e)]));
  const domainOf = new Map(emails.map((e) => [e, companyDomainFor(e)]));
  const contactIds = unique([...contactOf.values()].flatMap((c) => (c ? [String(c.id)] : [])));
  const companyIds = unique([
    ...[...contactOf.values()].flatMap((c) => (c?.companyId ? [String(c.companyId)] : [])),
    ...[...domainOf.values()].flatMap((d) => {
      const id = d ? dir.companyForDomain(d) : null;
      return id ? [String(id)] : [];
    }),
  ]);
  const [contacts, companies] = await Promise.all([byIds<ContactDoc>(Contact, contactIds), byIds<CompanyDoc>(Company, companyIds)]);
  const contactById = new Map(contacts.map((c) => [String(c._id), c]));
  const companyById = new Map(companies.map((c) => [String(c._id), c]));

  return emails.map((email) => {
    const contact = contactById.get(String(contactOf.get(email)?.id)) ?? null;
    const domain = domainOf.get(email);
    const viaDomain = domain ? dir.companyForDomain(domain) : null;
    const company =
      (contact?.companyId ? companyById.get(String(contact.companyId)) : undefined) ?? (viaDomain ? companyById.get(String(viaDomain)) : undefined) ?? null;
    return { email, contact, company };
  });
}

/** Records by `_id` (the `_id` index on both databases), from this process's copies where current (store/record-cache.ts). */
const byIds = <T>(model: mongoose.Model<any>, ids: readonly string[]): Promise<readonly T[]> =>
  recordsByIds<T>(
    model,
    ids.map((id) => new Types.ObjectId(id)),
  );

const changedAt = (d: DealDoc) => new Date((d as DealDoc & { updatedAt?: Date }).updatedAt ?? 0).getTime();

/** Deals of these people's contacts or companies, most recently changed first (found through the directory). */
export async function findDeals(people: readonly Person[], opts: { openOnly: boolean; limit?: number }, directory?: ReadonlyDirectory): Promise<DealDoc[]> {
  const parties = people.flatMap((p) => [p.contact?._id, p.company?._id].filter((id): id is Types.ObjectId => id != null));
  if (parties.length === 0) return [];
  const dir = directory ?? (await OrgDirectory.shared());
  const deals = await byIds<DealDoc>(Deal, dir.dealsOf(parties).map(String));
  return deals
    .filter((d) => !opts.openOnly || d.status === 'open')
    .sort((a, b) => changedAt(b) - changedAt(a))
    .slice(0, opts.limit ?? MAX_DEALS);
}

/**
 * The newest messages with any of these addresses that the caller may see at all, from the activity read model
 * (store/activity.ts): the limit counts visible messages only, so a private mailbox cannot crowd out the rest.
 */
export async function recentVisibleMessages(emails: readonly string[], policy: VisibilityPolicy, limit: number): Promise<VisibleMessage[]> {
  if (emails.length === 0) return [];
  const docs = await newestWith(
    addressSources(emails),
    limit,
    (ids) => leanByIds<MessageDoc>(Message, ids, SUMMARY_FIELDS),
    (doc) => policy.access(doc) !== 'none',
  );
  return docs.flatMap((doc) => {
    const access = policy.access(doc);
    return access === 'none' ? [] : [{ doc, access }];
  });
}

/** Contract summaries, with each message's state and labels from the caller's copy (copies found by `_id`). */
export async function summarise(messages: readonly VisibleMessage[], policy: Pick<VisibilityPolicy, 'callerId' | 'shows'>): Promise<MessageSummary[]> {
  if (messages.length === 0) return [];
  const copies = await copiesOf(messages.map((m) => m.doc));
  return messages.map(({ doc, access }) => {
    const shows = (u: Types.ObjectId) => policy.shows(u, doc);
    return messageSummary(doc, copyFor(copies.get(String(doc._id)) ?? [], policy.callerId, shows), access, shows);
  });
}

export function dealView(d: DealDoc) {
  return {
    id: String(d._id),
    name: d.name,
    stage: d.stage,
    status: d.status,
    amount: d.amount ?? null,
    currency: d.currency,
    closeDate: d.closeDate ? new Date(d.closeDate).toISOString() : null,
    ownerId: d.ownerId ? String(d.ownerId) : null,
    contactIds: (d.contactIds ?? []).map(String),
    companyId: d.companyId ? String(d.companyId) : null,
  };
}

export interface SidebarContext {
  participants: { email: string; contact: ReturnType<typeof contactView> | null; company: ReturnType<typeof companyView> | null }[];
  deals: ReturnType<typeof dealView>[];
  recentMessages: MessageSummary[];
}

/** `GET /api/context` for already normalised, deduplicated addresses: a fixed number of key reads, whatever the data size. */
export async function sidebarContext(callerId: Types.ObjectId, emails: readonly string[]): Promise<SidebarContext> {
  const [directory, policy] = await Promise.all([OrgDirectory.shared(), loadVisibility(callerId)]);
  const people = await lookupPeople(emails, directory);
  const [deals, recent] = await Promise.all([findDeals(people, { openOnly: false }, directory), recentVisibleMessages(emails, policy, RECENT_MESSAGES)]);
  return {
    participants: people.map((p) => ({
      email: p.email,
      contact: p.contact ? contactView(p.contact) : null,
      company: p.company ? companyView(p.company) : null,
    })),
    deals: deals.map(dealView),
    recentMessages: await summarise(recent, policy),
  };
}

// ---- The add-ons' view model (POST /api/addon/context) ------------------------------------------------------

/** Recent messages read to find the threads with these people; the view lists the newest RECENT_MESSAGES. */
const THREAD_WINDOW = 25;
const MAX_THREADS = 5;
const MAX_OPEN_DEALS = 10;

export interface AddonLinks {
  publicUrl: string;
}

interface HeaderPerson {
  email: string;
  displayName: string;
  role: AddonParticipant['role'];
}

/** The email's people in header order (from, to, cc), normalised and once each; unusable addresses are skipped. */
export function headerPeople(message: AddonMessageInput): HeaderPerson[] {
  const seen = new Map<string, HeaderPerson>();
  const add = (a: AddonAddress, role: HeaderPerson['role']) => {
    const email = normaliseAddress(a.email);
    if (email !== null && !seen.has(email)) seen.set(email, { email, displayName: (a.name ?? '').trim(), role });
  };
  add(message.from, 'from');
  for (const a of message.to) add(a, 'to');
  for (const a of message.cc) add(a, 'cc');
  return [...seen.values()];
}

/** The caller's addresses (sign-in address and connected mailboxes) and who in the organisation is a teammate. */
async function whoIsWho(callerId: Types.ObjectId, users: readonly OrgUser[], org: Pick<OrgDoc, 'domains'> | null) {
  // Sealed tokens and cursors stay in the database: the view needs the state only.
  const mailboxes = await leanFind<MailboxDoc>(Mailbox, { userId: callerId }, { projection: { tokens: 0, cursor: 0, push: 0 }, sort: { createdAt: 1 } });
  const me = users.find((u) => u._id.equals(callerId));
  const own = new Set([me?.email, ...mailboxes.map((m) => m.address)].flatMap((e) => normaliseAddress(e) ?? []));
  // A lone Gmail user's organisation is keyed to gmail.com: a free-mail domain never makes anyone a colleague.
  const orgDomains = (org?.domains ?? []).filter((d) => !isFreeMailDomain(d));
  const teammateEmails = new Set(users.map((u) => u.email));
  const isTeammate = (email: string) => teammateEmails.has(email) || addressInDomains(email, orgDomains);
  return { own, isTeammate, mailboxes };
}

function links(base: string) {
  const app = `${base}/app`;
  return {
    app,
    contact: (id: unknown) => `${app}/contacts/${String(id)}`,
    company: (id: unknown) => `${app}/companies/${String(id)}`,
    deal: (id: unknown) => `${app}/deals/${String(id)}`,
    message: (id: unknown) => `${app}/messages/${String(id)}`,
    thread: (id: unknown) => `${app}/threads/${String(id)}`,
  };
}
type Links = ReturnType<typeof links>;

/** The open email in the CRM: by its normalised Message-ID, the same `mid:` key ingest stores it under. */
async function thisMessage(
  callerId: Types.ObjectId,
  rawId: string | undefined,
  policy: VisibilityPolicy,
  users: readonly OrgUser[],
  to: Links,
): Promise<AddonThisMessage> {
  const internetMessageId = normaliseMessageId(rawId);
  const none = { internetMessageId, messageId: null, syncedBy: [], openUrl: null };
  if (internetMessageId === null) return { ...none, status: 'unknown', choices: null };
  const doc = await leanFindOne<Pick<MessageDoc, '_id' | 'dedupKey' | 'syncedBy' | 'levelOverrides'>>(
    Message,
    byInternetMessageId(currentOrgId(), internetMessageId),
    { dedupKey: 1, syncedBy: 1, levelOverrides: 1 },
  );
  // That a teammate holds it privately is itself private: answered as if it were not synced (no oracle), and the
  // caller's own choice about it is looked up by its Message-ID alone, as for an email not stored.
  if (!doc || policy.access(doc) === 'none') {
    return { ...none, status: 'not_synced', choices: { notLogged: await choiceCovering(callerId, { internetMessageId }), sharing: null } };
  }
  // Private holders are named only to themselves.
  const shown = doc.syncedBy.filter((id) => policy.shows(id, doc));
  const notLogged = await choiceCovering(callerId, doc);
  const byId = new Map(users.map((u) => [String(u._id), u]));
  return {
    internetMessageId,
    status: 'synced',
    messageId: String(doc._id),
    syncedBy: shown.map((id) => ({
      userId: String(id),
      name: byId.get(String(id))?.name ?? '',
      email: byId.get(String(id))?.email ?? '',
      isYou: id.equals(callerId),
    })),
    openUrl: to.message(doc._id),
    choices: { notLogged, sharing: holdingSharing(policy, doc) },
  };
}

const STATE_PROBLEMS: Partial<Record<MailboxState, { code: string; message: string; fix?: string }>> = {
  reauth_required: { code: 'auth_revoked', message: 'Threadline no longer has access to this mailbox.' },
  throttled: { code: 'throttled', message: 'The provider asked Threadline to slow down.' },
  error: { code: 'transient', message: 'Syncing stopped after an error.' },
  paused: { code: 'paused', message: 'Syncing of this mailbox is paused.', fix: 'Resume it from the mailbox settings in the CRM.' },
};

/**
 * Sync health in words (docs/SYNC.md "Failures are visible"): the last error while the mailbox is not healthy, else its
 * state's meaning.
 */
export function mailboxHealth(m: MailboxDoc): AddonMailboxHealth {
  const v = mailboxView(m);
  const known = STATE_PROBLEMS[m.state];
  const problem = !known
    ? null
    : v.lastError
      ? { code: v.lastError.code, message: v.lastError.message, fix: v.lastError.fix }
      : { code: known.code, message: known.message, fix: known.fix ?? userFix(known.code) };
  return { id: v.id, provider: v.provider, address: v.address, state: v.state, progress: v.progress, lastSyncedAt: v.lastSyncedAt, problem };
}

function participantView(p: HeaderPerson, person: Person | undefined, teammate: boolean, to: Links): AddonParticipant {
  const contact = person?.contact ?? null;
  const company = person?.company ?? null;
  let suggestion: AddonParticipant['suggestion'] = null;
  if (!contact && !teammate) {
    const s = suggestContact({ email: p.email, name: p.displayName });
    // A company already keyed by the domain keeps its own name rather than a guess from the domain.
    if (s) {
      suggestion = {
        email: s.email,
        name: s.name,
        companyName: company?.name ?? s.companyName,
        companyDomain: s.companyDomain,
        roleAddress: isRoleParticipant(s.email, p.displayName),
      };
    }
  }
  return {
    email: p.email,
    displayName: p.displayName,
    role: p.role,
    teammate,
    contact: contact && {
      id: String(contact._id),
      name: contact.name,
      title: contact.title,
      phone: contact.phone,
      emails: [...contact.emails],
      openUrl: to.contact(contact._id),
    },
    company: company && { id: String(company._id), name: company.name, domains: [...company.domains], openUrl: to.company(company._id) },
    suggestion,
  };
}

function messageView(m: VisibleMessage, to: Links): AddonMessage {
  // The contract summary decides what each access level shows (metadata: no snippet); we only pick from it.
  const s = messageSummary(m.doc, null, m.access);
  return {
    id: s.id,
    threadId: s.threadId,
    subject: s.subject,
    from: s.from,
    date: s.date,
    direction: s.direction,
    snippet: s.snippet,
    access: m.access,
    openUrl: to.message(s.id),
  };
}

/** Threads summarised from the visible messages only, so no hidden message lends a subject or a date. */
function threadsOf(messages: AddonMessage[], to: Links): AddonThread[] {
  const threads = new Map<string, AddonThread>();
  for (const m of messages) {
    if (!m.threadId) continue;
    const t = threads.get(m.threadId);
    if (t) t.recentCount += 1;
    else threads.set(m.threadId, { id: m.threadId, subject: m.subject, lastMessageAt: m.date, recentCount: 1, openUrl: to.thread(m.threadId) });
  }
  return [...threads.values()].slice(0, MAX_THREADS);
}

/** The sidebar's view model for the email open in a client: a fixed number of reads, whatever the data size. */
export async function addonContext(
  callerId: Types.ObjectId,
  input: { provider: AddonProvider; message: AddonMessageInput },
  deps: AddonLinks,
): Promise<AddonContextView> {
  const to = links(deps.publicUrl);
  const everyone = headerPeople(input.message);
  const { org, users } = await orgSnapshot();
  const [who, policy, directory] = await Promise.all([whoIsWho(callerId, users, org), loadVisibility(callerId), OrgDirectory.shared()]);
  const others = everyone.filter((p) => !who.own.has(p.email));
  const shown = others.slice(0, MAX_CONTEXT_EMAILS);
  // Mail and deals are about the people outside the organisation; an all-internal email falls back to everyone.
  const outside = shown.filter((p) => !who.isTeammate(p.email));
  const subjects = (outside.length > 0 ? outside : shown).map((p) => p.email);
  const [looked, recent, here] = await Promise.all([
    lookupPeople(
      shown.map((p) => p.email),
      directory,
    ),
    recentVisibleMessages(subjects, policy, THREAD_WINDOW),
    thisMessage(callerId, input.message.internetMessageId, policy, users, to),
  ]);
  const personByEmail = new Map(looked.map((p) => [p.email, p]));
  const participants = shown.map((p) => participantView(p, personByEmail.get(p.email), who.isTeammate(p.email), to));
  const deals = await findDeals(
    subjects.flatMap((e) => personByEmail.get(e) ?? []),
    { openOnly: true, limit: MAX_OPEN_DEALS },
    directory,
  );
  const messages = recent.map((m) => messageView(m, to));
  const mailboxes = who.mailboxes.map(mailboxHealth);
  return {
    provider: input.provider,
    participants,
    participantsOmitted: others.length - shown.length,
    deals: deals
      .map(dealView)
      .map((d) => ({ id: d.id, name: d.name, stage: d.stage, amount: d.amount, currency: d.currency, closeDate: d.closeDate, openUrl: to.deal(d.id) })),
    recentMessages: messages.slice(0, RECENT_MESSAGES),
    threads: threadsOf(messages, to),
    thisMessage: here,
    sync: {
      status: mailboxes.length === 0 ? 'not_connected' : mailboxes.some((m) => m.problem) ? 'attention' : 'ok',
      mailboxes,
      connectUrl: `${to.app}/settings/mailboxes`,
    },
    links: { crm: to.app },
  };
}
