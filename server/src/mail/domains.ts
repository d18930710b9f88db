/**
 * Company identity from email domains (docs/SYNC.md "Linking"): a company is keyed by its registrable domain, found
 * with the Public Suffix List (tldts), and never by a free-mail domain, found with the maintained
 * `freemail` lists (free and disposable providers). We read its data files into a Set rather than call its
 * `isFree`, which scans an array per call and resolves domains with the unmaintained tldjs.
 * (`free-email-domains` was dropped: its install script downloads its list, which fails offline.)
 */
import { domainToUnicode } from 'node:url';
import { parse } from 'tldts';
import { readFileSync } from 'node:fs';
import { domainOf, normaliseAddress, normaliseDomain } from './address';

/**
 * Consumer providers the list might miss or that exist under many country suffixes. Exact domains are checked
 * as-is; brand labels match the registrable domain under any public suffix (`yahoo.co.jp`, `gmx.at`).
 */
const EXTRA_FREE_MAIL_DOMAINS = [
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'live.com',
  'msn.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'proton.me',
  'pm.me',
  'protonmail.com',
  'protonmail.ch',
  'aol.com',
  'tutanota.com',
  'tuta.io',
  'fastmail.com',
  'hey.com',
  'zoho.com',
  'yandex.ru',
  'mail.ru',
  'web.de',
  't-online.de',
  'orange.fr',
  'free.fr',
  'libero.it',
];
const FREE_MAIL_BRANDS = new Set(['hotmail', 'yahoo', 'gmx', 'outlook', 'ymail', 'rocketmail', 'aol', 'googlemail']);

let freeMailSet: Set<string> | undefined;

/** Built on first use rather than at import, so importing this module costs nothing. */
function freeMailDomains(): Set<string> {
  if (!freeMailSet) {
    const list = ['free.txt', 'disposable.txt']
      .flatMap((file) => readFileSync(require.resolve(`freemail/data/${file}`), 'utf8').split('\n'))
      .map((d) => d.trim())
      .filter(Boolean);
    freeMailSet = new Set([...list, ...EXTRA_FREE_MAIL_DOMAINS].map((d) => d.toLowerCase()));
  }
  return freeMailSet;
}

/** A bare host from an address or a domain, in normal form; null when neither. */
function hostOf(emailOrDomain: string): string | null {
  if (emailOrDomain.includes('@')) {
    const address = normaliseAddress(emailOrDomain);
    return address === null ? null : domainOf(address);
  }
  return normaliseDomain(emailOrDomain);
}

/**
 * The registrable domain ("eTLD+1") of an address or a host: `jane@mail.acme.co.uk` → `acme.co.uk`.
 *
 * Private suffixes (the PSL's private section: `github.io`, `blogspot.com`) are honoured, so two tenants of one
 * hosting platform are two companies rather than one. When the host *is* a private suffix (`blogspot.com` itself,
 * the platform's own staff) the ICANN answer is used instead. IP literals, single-label hosts and hosts under a
 * suffix the PSL does not know (`corp.local`, `acme.internal`) give null: they name no public organisation.
 */
export function registrableDomain(emailOrDomain: string): string | null {
  const host = hostOf(emailOrDomain);
  if (host === null || host.startsWith('[')) return null;
  const withPrivate = parse(host, { allowPrivateDomains: true });
  if (withPrivate.isIp) return null;
  if (withPrivate.domain && (withPrivate.isIcann || withPrivate.isPrivate)) return withPrivate.domain;
  const icannOnly = parse(host, { allowPrivateDomains: false });
  return icannOnly.domain && icannOnly.isIcann ? icannOnly.domain : null;
}

/** True for consumer mail providers (gmail.com, hotmail.co.uk, yahoo.fr…), checked on the host and its registrable domain. */
export function isFreeMailDomain(domain: string): boolean {
  const host = hostOf(domain);
  if (host === null) return false;
  const set = freeMailDomains();
  if (set.has(host)) return true;
  const registrable = registrableDomain(host);
  if (registrable === null) return false;
  if (set.has(registrable)) return true;
  const brand = parse(registrable, { allowPrivateDomains: false }).domainWithoutSuffix;
  return brand !== null && FREE_MAIL_BRANDS.has(brand);
}

/** The domain a company would be keyed by for this address, or null for free-mail, internal or invalid ones. */
export function companyDomainFor(email: string): string | null {
  const registrable = registrableDomain(email);
  if (registrable === null || isFreeMailDomain(registrable)) return null;
  return registrable;
}

/**
 * A readable company name guessed from a domain: `acme-robotics.co.uk` → `Acme Robotics`. Only a starting value
 * for a suggested company; the user edits it. Null when the domain has no registrable part.
 */
export function companyNameFromDomain(domain: string): string | null {
  const registrable = registrableDomain(domain);
  if (registrable === null) return null;
  const label = parse(registrable, { allowPrivateDomains: true }).domainWithoutSuffix;
  if (!label) return null;
  // Punycode labels are shown decoded (`xn--bcher-kva` → `bücher`); domainToUnicode answers '' when invalid.
  const readable = label.startsWith('xn--') ? domainToUnicode(label) || label : label;
  const words = readable.split(/[-_.]+/).filter((w) => w.length > 0);
  if (words.length === 0) return null;
  return words.map((w) => w.charAt(0).toLocaleUpperCase() + w.slice(1)).join(' ');
}
