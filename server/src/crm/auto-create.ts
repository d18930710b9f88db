/**
 * The auto-create decision (docs/SYNC.md "Linking"): whether a participant of a synced message becomes a new CRM
 * contact, and what that contact would be. Policy `none` / `outbound` (people the user wrote to) / `all`; never for
 * excluded, own, internal, role/group, bulk-mail or personal free-mail addresses.
 */
import { domainOf, localPartOf, normaliseAddress, normaliseDomain, addressInDomains } from '../mail/address';
import type { Direction } from '../mail/direction';
import type { MessageHeaders } from '../mail/message';
import { companyNameFromDomain, companyDomainFor, isFreeMailDomain } from '../mail/domains';

export type AutoCreatePolicy = 'none' | 'outbound' | 'all';

export type AutoCreateReason =
  | 'policy_none'
  | 'invalid_address'
  | 'own_address'
  | 'excluded'
  | 'internal_address'
  | 'role_address'
  | 'bulk_mail'
  | 'auto_submitted'
  | 'free_mail'
  | 'not_written_to'
  | 'outbound_recipient'
  | 'participant';

export interface AutoCreatePerson {
  email: string;
  name?: string | null;
}

export interface AutoCreateMessage {
  direction: Direction;
  /** Sent by the mailbox being synced: its other participants are people the user wrote to. */
  fromMe: boolean;
  headers: MessageHeaders;
}

export interface AutoCreateContext {
  /** Every address of the mailbox's owner (and, if the caller wishes, of all org members). */
  ownAddresses: string[];
  orgDomains: string[];
  /** The privacy rules' verdict on the address alone (see isAddressExcluded in privacy.ts). */
  excluded: (email: string) => boolean;
}

/**
 * Local parts that name a function or a machine rather than a person. Matched on the part before any `+tag`, as a
 * whole or as the first word (`noreply-billing`, `support.eu`), never as a substring (`salesforce.jane` is fine,
 * `newsom` is a person).
 */
const ROLE_LOCAL_PARTS = new Set([
  'noreply',
  'no-reply',
  'no_reply',
  'donotreply',
  'do-not-reply',
  'do_not_reply',
  'mailer-daemon',
  'postmaster',
  'bounce',
  'bounces',
  'info',
  'support',
  'sales',
  'help',
  'helpdesk',
  'contact',
  'admin',
  'administrator',
  'billing',
  'invoice',
  'invoices',
  'accounts',
  'accounting',
  'notification',
  'notifications',
  'notify',
  'alert',
  'alerts',
  'news',
  'newsletter',
  'marketing',
  'hello',
  'team',
  'office',
  'enquiries',
  'inquiries',
  'jobs',
  'careers',
  'hr',
  'press',
  'feedback',
  'service',
  'services',
  'security',
  'abuse',
  'webmaster',
  'hostmaster',
  'root',
  'calendar',
  'updates',
  'digest',
  'reply',
  'mailer',
  'daemon',
  'system',
  'robot',
  'bot',
  'list',
  'ops',
]);

export function isRoleAddress(email: string): boolean {
  const local = localPartOf(email).split('+')[0];
  if (ROLE_LOCAL_PARTS.has(local)) return true;
  const firstWord = local.split(/[._-]/)[0];
  // `no-reply` and friends contain the separator themselves; check them on the whole prefix too.
  return ROLE_LOCAL_PARTS.has(firstWord) || /^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon)(?:$|[-_.])/.test(local);
}

/** Display names of a group or a function, not a person ("Ops Team", "Sales Department", "Acme Support"). */
const GROUP_NAME_WORDS = /(?:^|[\s&/-])(?:team|group|ops|operations|support|helpdesk|desk|department|dept|staff|committee|crew|squad)(?:$|[\s&/-])/i;

/** A role address, or any address under a group's display name: not a person the sidebar should offer as a contact. */
export function isRoleParticipant(email: string, displayName: string | null | undefined): boolean {
  return isRoleAddress(email) || GROUP_NAME_WORDS.test((displayName ?? '').trim());
}

/**
 * Mailing-list and bulk mail (RFC 2369 List-* headers, the de facto `Precedence: bulk|list|junk`): nobody on it was
 * written to personally, so nobody on it is auto-created. List-Unsubscribe counts too: one-to-many marketing mail
 * from a person's address carries it without a List-Id.
 */
function isBulkMail(headers: MessageHeaders): boolean {
  if (headers.listId || headers.listUnsubscribe) return true;
  return /^(?:bulk|list|junk)$/i.test((headers.precedence ?? '').trim());
}

/** RFC 3834: any Auto-Submitted value other than `no` marks a machine-sent message (auto-replies, notifications). */
function isAutoSubmitted(headers: MessageHeaders): boolean {
  const value = (headers.autoSubmitted ?? '').trim().toLowerCase();
  return value !== '' && value !== 'no';
}

export function shouldAutoCreateContact(
  person: AutoCreatePerson,
  msg: AutoCreateMessage,
  policy: AutoCreatePolicy,
  ctx: AutoCreateContext,
): { create: boolean; reason: AutoCreateReason } {
  const no = (reason: AutoCreateReason) => ({ create: false, reason });
  if (policy === 'none') return no('policy_none');
  const email = normaliseAddress(person.email);
  if (email === null) return no('invalid_address');

  const own = new Set(ctx.ownAddresses.map(normaliseAddress).filter((a): a is string => a !== null));
  if (own.has(email)) return no('own_address');
  if (ctx.excluded(email)) return no('excluded');
  const orgDomains = ctx.orgDomains.map(normaliseDomain).filter((d): d is string => d !== null);
  if (addressInDomains(email, orgDomains)) return no('internal_address');
  if (isRoleAddress(email)) return no('role_address');
  if (isBulkMail(msg.headers)) return no('bulk_mail');
  if (isAutoSubmitted(msg.headers)) return no('auto_submitted');
  if (isFreeMailDomain(domainOf(email))) return no('free_mail');

  if (msg.fromMe) return { create: true, reason: 'outbound_recipient' };
  if (policy === 'outbound') return no('not_written_to');
  return { create: true, reason: 'participant' };
}

export interface ContactSuggestion {
  email: string;
  name: string;
  /** Company domain for the contact (null for free-mail or domains without a registrable part). */
  companyDomain: string | null;
  companyName: string | null;
}

/**
 * What a new contact would look like: the display name when it is a real one, else a readable guess from the local
 * part (`jane.doe` → `Jane Doe`); the company from the domain unless it is free-mail. Null for an unusable address.
 */
export function suggestContact(person: AutoCreatePerson): ContactSuggestion | null {
  const email = normaliseAddress(person.email);
  if (email === null) return null;
  const companyDomain = companyDomainFor(email);
  return {
    email,
    name: nameFromDisplay(person.name, email) ?? nameFromLocalPart(localPartOf(email)),
    companyDomain,
    companyName: companyDomain === null ? null : companyNameFromDomain(companyDomain),
  };
}

function nameFromDisplay(display: string | null | undefined, email: string): string | null {
  if (!display) return null;
  let name = display
    .replace(/\s+/g, ' ')
    .replace(/^["'\s]+|["'\s]+$/g, '')
    .trim();
  // Many clients put the address itself (or an address-like string) in the display name.
  if (name.length === 0 || name.includes('@') || normaliseAddress(name) === email) return null;
  // Directory style `Doe, Jane` (Exchange's default) reads better as `Jane Doe`.
  const comma = /^([\p{L}'’-]+(?: [\p{L}'’-]+)?), ([\p{L}'’-]+(?: [\p{L}'’.-]+)?)$/u.exec(name);
  if (comma) name = `${comma[2]} ${comma[1]}`;
  return name;
}

function nameFromLocalPart(local: string): string {
  const base = local.split('+')[0];
  const words = base
    .split(/[._-]+/)
    .map((w) => w.replace(/\d+/g, ''))
    .filter((w) => w.length > 0);
  if (words.length === 0) return base || local;
  return words.map((w) => w.charAt(0).toLocaleUpperCase() + w.slice(1)).join(' ');
}
