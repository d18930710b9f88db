/**
 * Who is in the demo: Acme Robotics (a Google Workspace organisation, two Gmail users) and Olivia at Kite Resellers,
 * Acme's reseller on Microsoft 365 (one Outlook user), working the same customers.
 *
 * Why Olivia is in an organisation of her own: Threadline keys an organisation on the identity provider's tenant
 * (Google `hd`, Microsoft `tid`; server/src/auth/identity.ts), so a Microsoft sign-in can never join a Google
 * Workspace organisation. The demo shows that as it is rather than faking one organisation out of both.
 */
import type { CustomerOrg, Identity } from '../../test/emulators/common/generate';

export type Provider = 'google' | 'microsoft';

export interface DemoUser extends Identity {
  key: 'ada' | 'bob' | 'olivia';
  provider: Provider;
  /** Generated mailbox size: full demo and `--small`. */
  count: { full: number; small: number };
}

export const ADA: DemoUser = { key: 'ada', email: 'ada@acme-robotics.com', name: 'Ada Lovelace', provider: 'google', count: { full: 300, small: 30 } };
export const BOB: DemoUser = { key: 'bob', email: 'bob@acme-robotics.com', name: 'Bob Builder', provider: 'google', count: { full: 240, small: 25 } };
export const OLIVIA: DemoUser = {
  key: 'olivia',
  email: 'olivia@kite-resellers.com',
  name: 'Olivia Kite',
  provider: 'microsoft',
  count: { full: 200, small: 25 },
};
export const USERS: readonly DemoUser[] = [ADA, BOB, OLIVIA];

/** Kite Resellers' Microsoft 365 tenant and Olivia's object id there (any fixed GUIDs do). */
export const KITE_TENANT = '5d2c7b1e-8a4f-4e6d-9c3b-1f0e2d3c4b5a';
export const OLIVIA_OID = '9e8d7c6b-5a49-4838-a727-161514131211';

/** The customers all three write with; the CRM records below are made for some of them. */
export const CUSTOMERS: CustomerOrg[] = [
  {
    domain: 'initech.com',
    people: [
      { email: 'bill@initech.com', name: 'Bill Lumbergh' },
      { email: 'peter@initech.com', name: 'Peter Gibbons' },
    ],
  },
  {
    domain: 'globex-logistics.com',
    people: [
      { email: 'hank@globex-logistics.com', name: 'Hank Scorpio' },
      { email: 'mindy@globex-logistics.com', name: 'Mindy Simmons' },
    ],
  },
  { domain: 'brightlane-health.org', people: [{ email: 'nia.okafor@brightlane-health.org', name: 'Nia Okafor' }] },
  { domain: 'nordlicht-maschinenbau.de', people: [{ email: 'juergen.weiss@nordlicht-maschinenbau.de', name: 'Jürgen Weiß' }] },
  { domain: 'vinterbyte.se', people: [{ email: 'soren@vinterbyte.se', name: 'Søren Andersen' }] },
];
export const CUSTOMER_PEOPLE: Identity[] = CUSTOMERS.flatMap((c) => c.people);

/** Contacts (with their companies) and deals the demo creates in each organisation. */
export const ACME_CONTACTS = [
  { email: 'bill@initech.com', name: 'Bill Lumbergh', companyName: 'Initech', title: 'VP Operations' },
  { email: 'hank@globex-logistics.com', name: 'Hank Scorpio', companyName: 'Globex Logistics', title: 'CEO' },
  { email: 'nia.okafor@brightlane-health.org', name: 'Nia Okafor', companyName: 'Brightlane Health', title: 'Head of Facilities' },
  { email: 'juergen.weiss@nordlicht-maschinenbau.de', name: 'Jürgen Weiß', companyName: 'Nordlicht Maschinenbau', title: 'Einkauf' },
];
export const ACME_DEALS = [
  { name: 'Initech – warehouse pilot', contact: 'bill@initech.com', stage: 'Proposal', amount: 48_000, currency: 'EUR' },
  { name: 'Globex – fleet renewal', contact: 'hank@globex-logistics.com', stage: 'Negotiation', amount: 120_000, currency: 'USD' },
  { name: 'Brightlane – disinfection robots', contact: 'nia.okafor@brightlane-health.org', stage: 'Qualified', amount: 35_000, currency: 'USD' },
];
export const KITE_CONTACTS = [
  { email: 'bill@initech.com', name: 'Bill Lumbergh', companyName: 'Initech', title: 'VP Operations' },
  { email: 'soren@vinterbyte.se', name: 'Søren Andersen', companyName: 'Vinterbyte', title: 'CTO' },
];
export const KITE_DEALS = [{ name: 'Vinterbyte – resale, 10 units', contact: 'soren@vinterbyte.se', stage: 'Proposal', amount: 22_000, currency: 'EUR' }];

const NAMES = new Map<string, string>([...USERS, ...CUSTOMER_PEOPLE].map((p) => [p.email.toLowerCase(), p.name]));
export function nameOf(email: string): string {
  return NAMES.get(email.toLowerCase()) ?? '';
}
export function rememberName(who: Identity): void {
  if (!NAMES.has(who.email.toLowerCase())) NAMES.set(who.email.toLowerCase(), who.name);
}
