/**
 * Privacy rules (docs/SYNC.md "Privacy first") as a pure evaluator, applied before anything is stored: excluded mail
 * leaves no body, subject or participant behind. The result names the rule that matched (and whose it was, org or user)
 * so that the product can answer "why isn't this email here?" — but never the participant that matched, so that the
 * answer itself, if logged, keeps the excluded party out of the database.
 */
import { addressInDomains, normaliseAddress, normaliseDomain } from '../../mail/address';
import type { Direction } from '../../mail/direction';

export interface PrivacyRules {
  /** Domains whose mail is never synced; subdomains included. `@acme.com` and `*.acme.com` are read as `acme.com`. */
  excludedDomains: string[];
  excludedAddresses: string[];
  /** Gmail label names or Outlook folder names; case-insensitive, nested ones (`Personal/Family`) included. */
  excludedLabels: string[];
  /** Mail whose every participant is inside the organisation. */
  excludeInternal: boolean;
  /** Only mail with at least one outside participant who is a known contact. */
  onlyKnownContacts: boolean;
}

export type RuleScope = 'org' | 'user';

export interface ScopedValue {
  value: string;
  scope: RuleScope;
}

/** Org and user rules merged, each entry remembering whose rule it is. */
export interface MergedPrivacyRules {
  excludedDomains: ScopedValue[];
  excludedAddresses: ScopedValue[];
  excludedLabels: ScopedValue[];
  /** The scope that switched the rule on (org when both did), false when off. */
  excludeInternal: RuleScope | false;
  onlyKnownContacts: RuleScope | false;
}

export type PrivacyRuleKind = 'domain' | 'address' | 'label' | 'internal' | 'onlyKnownContacts';

export type PrivacyDecision = { excluded: false } | { excluded: true; rule: { kind: PrivacyRuleKind; value?: string; scope?: RuleScope } };

export interface PrivacyMessage {
  /** Every address on the message (from, to, cc, bcc, reply-to), normalised or not. */
  participants: string[];
  labels: string[];
  direction: Direction;
}

export interface PrivacyContext {
  isKnownContact(email: string): boolean;
  orgDomains: string[];
}

export const NO_RULES: PrivacyRules = {
  excludedDomains: [],
  excludedAddresses: [],
  excludedLabels: [],
  excludeInternal: false,
  onlyKnownContacts: false,
};

/**
 * The user's rules add to the organisation's; a user can tighten but never loosen what the admin set. Values are
 * normalised and deduplicated (an entry in both keeps the org scope: it would apply without the user's rule).
 * Unusable entries (a domain that is not a domain) are dropped rather than matching everything or nothing by accident.
 */
export function mergeRules(org: PrivacyRules, user?: Partial<PrivacyRules> | null): MergedPrivacyRules {
  const u = { ...NO_RULES, ...(user ?? {}) };
  return {
    excludedDomains: scoped(org.excludedDomains, u.excludedDomains, normaliseRuleDomain),
    excludedAddresses: scoped(org.excludedAddresses, u.excludedAddresses, normaliseAddress),
    excludedLabels: scoped(org.excludedLabels, u.excludedLabels, normaliseLabel),
    excludeInternal: org.excludeInternal ? 'org' : u.excludeInternal ? 'user' : false,
    onlyKnownContacts: org.onlyKnownContacts ? 'org' : u.onlyKnownContacts ? 'user' : false,
  };
}

function scoped(org: string[], user: string[], normalise: (s: string) => string | null): ScopedValue[] {
  const out = new Map<string, ScopedValue>();
  for (const [values, scope] of [
    [org, 'org'],
    [user, 'user'],
  ] as const) {
    for (const raw of values) {
      const value = normalise(raw);
      if (value !== null && !out.has(value)) out.set(value, { value, scope });
    }
  }
  return [...out.values()];
}

function normaliseRuleDomain(s: string): string | null {
  return normaliseDomain(s.trim().replace(/^\*?\.|^@/, ''));
}

function normaliseLabel(s: string): string | null {
  const label = s.trim().replace(/\s+/g, ' ').toLowerCase();
  return label.length > 0 ? label : null;
}

/**
 * Decides whether a message may be stored. Rules are checked from the most specific to the broadest — address,
 * domain, label, internal, only-known-contacts — so the reason given is the one an admin would recognise first.
 */
export function evaluatePrivacy(msg: PrivacyMessage, rules: MergedPrivacyRules, ctx: PrivacyContext): PrivacyDecision {
  const participants = msg.participants.map(normaliseAddress).filter((a): a is string => a !== null);

  const address = rules.excludedAddresses.find((r) => participants.includes(r.value));
  if (address) return exclude('address', address);

  const domain = rules.excludedDomains.find((r) => participants.some((p) => addressInDomains(p, [r.value])));
  if (domain) return exclude('domain', domain);

  const labels = msg.labels.map(normaliseLabel).filter((l): l is string => l !== null);
  const label = rules.excludedLabels.find((r) => labels.some((l) => l === r.value || l.startsWith(`${r.value}/`)));
  if (label) return exclude('label', label);

  if (rules.excludeInternal && msg.direction === 'internal') {
    return { excluded: true, rule: { kind: 'internal', scope: rules.excludeInternal } };
  }

  if (rules.onlyKnownContacts) {
    // Colleagues are not "contacts" in this sense: mail qualifies through an outside party the CRM knows.
    const orgDomains = ctx.orgDomains.map(normaliseDomain).filter((d): d is string => d !== null);
    const outside = participants.filter((p) => !addressInDomains(p, orgDomains));
    if (!outside.some((p) => ctx.isKnownContact(p))) {
      return { excluded: true, rule: { kind: 'onlyKnownContacts', scope: rules.onlyKnownContacts } };
    }
  }
  return { excluded: false };
}

function exclude(kind: PrivacyRuleKind, rule: ScopedValue): PrivacyDecision {
  return { excluded: true, rule: { kind, value: rule.value, scope: rule.scope } };
}

/**
 * True when an address alone is excluded by the address or domain rules: what auto-create and contact suggestion
 * ask (docs/SYNC.md "Linking": never auto-create an excluded address).
 */
export function isAddressExcluded(email: string, rules: MergedPrivacyRules): boolean {
  const a = normaliseAddress(email);
  if (a === null) return false;
  return rules.excludedAddresses.some((r) => r.value === a) || rules.excludedDomains.some((r) => addressInDomains(a, [r.value]));
}
