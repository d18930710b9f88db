/**
 * One normal form for email addresses, used by every ingest and CRM rule so that "the same person" compares equal
 * whether the address came from a MIME header, a provider API, a privacy rule typed by an admin or a contact record.
 *
 * Choices (docs/SYNC.md "Linking": participants match contacts case-insensitively):
 * - The whole address is lowercased. RFC 5321 §2.4 lets a server treat the local part as case-sensitive, but no
 *   mainstream provider does, and treating `Jane@` and `jane@` as two people splits contacts for no gain.
 * - Plus-addressing is kept as-is: `jane+crm@acme.com` stays distinct from `jane@acme.com`. Sub-addressing is a
 *   convention of some providers, not a standard (on other hosts `+` is an ordinary character), so folding it here
 *   could merge two real mailboxes. Matching a contact on the base address is the CRM's job, not the normaliser's.
 * - Dots in Gmail local parts are kept for the same reason: that folding is Gmail's rule, not the address's.
 * - Internationalised domains are stored in their ASCII (punycode) form, so `bücher.de` and `xn--bcher-kva.de`
 *   compare equal; an internationalised local part (RFC 6531) is accepted as typed.
 * - Validation is deliberately rough: enough to drop garbage from headers (`undisclosed-recipients`, bare names,
 *   `@`-less strings), not a full RFC 5322 grammar. Quoted local parts are refused: they are vanishingly rare in
 *   business mail and make every downstream comparison harder.
 */
import { domainToASCII } from 'node:url';

/** RFC 5321 §4.5.3.1: 64 octets for the local part, 254 for a whole forward-path address. */
const MAX_LOCAL_LENGTH = 64;
const MAX_ADDRESS_LENGTH = 254;

// Atom characters of RFC 5322 §3.2.3 plus any non-ASCII letter (RFC 6531). Dots are checked separately.
const LOCAL_PART = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]+$/u;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4_LITERAL = /^\[(?:\d{1,3}\.){3}\d{1,3}\]$/;
const IPV6_LITERAL = /^\[ipv6:[0-9a-f:.]+\]$/;

// Characters that never belong in an address but do turn up in headers: controls (including NUL) and bidi marks.
const JUNK_CHARACTERS = /[\u0000-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Normalises one address, or returns null when it is not usable as an address.
 * Accepts `jane@acme.com`, `<Jane@Acme.com>`, `mailto:jane@acme.com?subject=x` and `Jane Doe <jane@acme.com>`.
 */
export function normaliseAddress(input: string | null | undefined): string | null {
  if (typeof input !== 'string') return null;
  let s = input.replace(JUNK_CHARACTERS, '').trim();
  if (s.length === 0 || s.length > 4 * MAX_ADDRESS_LENGTH) return null;

  // `Name <addr>`: the address is what the brackets hold (the last pair, as the name may contain brackets).
  const bracketed = /<([^<>]*)>\s*$/.exec(s);
  if (bracketed) s = bracketed[1].trim();

  if (/^mailto:/i.test(s)) {
    s = s.slice('mailto:'.length);
    const query = s.indexOf('?');
    if (query >= 0) s = s.slice(0, query);
    try {
      s = decodeURIComponent(s);
    } catch {
      return null;
    }
    s = s.trim();
  }

  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) return null;
  const local = s.slice(0, at).toLowerCase();
  const domain = normaliseDomain(s.slice(at + 1));
  if (domain === null || !isValidLocalPart(local)) return null;

  const address = `${local}@${domain}`;
  return address.length <= MAX_ADDRESS_LENGTH ? address : null;
}

/**
 * Normalises a bare domain (as typed in a privacy rule or taken from an address): lowercased, trailing root dot
 * dropped, internationalised names in punycode, IP literals kept in brackets. Null when it is not a domain.
 */
export function normaliseDomain(input: string | null | undefined): string | null {
  if (typeof input !== 'string') return null;
  let d = input.replace(JUNK_CHARACTERS, '').trim().toLowerCase();
  if (d.endsWith('.')) d = d.slice(0, -1);
  if (d.length === 0 || d.length > 253) return null;
  if (d.startsWith('[')) return IPV4_LITERAL.test(d) || IPV6_LITERAL.test(d) ? d : null;

  // domainToASCII answers '' for anything that is not a valid host name under WHATWG URL rules.
  const ascii = /^[\x21-\x7e]+$/.test(d) ? d : domainToASCII(d);
  if (!ascii) return null;
  const labels = ascii.split('.');
  // A single-label domain (`localhost`, `intranet`) is not deliverable on the public internet; refusing it keeps
  // header garbage such as `undisclosed-recipients@` fragments out of participant lists.
  if (labels.length < 2) return null;
  if (!labels.every((label) => DOMAIN_LABEL.test(label))) return null;
  // The top-level label is never all digits (that would be a dotted IP written without brackets).
  if (/^\d+$/.test(labels[labels.length - 1])) return null;
  return ascii;
}

function isValidLocalPart(local: string): boolean {
  if (local.length === 0 || local.length > MAX_LOCAL_LENGTH) return false;
  if (!LOCAL_PART.test(local)) return false;
  return !local.startsWith('.') && !local.endsWith('.') && !local.includes('..');
}

/** The domain of an already normalised address (the text after the last `@`), or '' when there is none. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1) : '';
}

/** The local part of an already normalised address (the text before the last `@`). */
export function localPartOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(0, at) : address;
}

/**
 * True when `domain` is `pattern` or one of its subdomains: `example.com` covers `mail.example.com` but never
 * `notexample.com`. Both are expected in normal form (see normaliseDomain); the comparison is on whole labels.
 */
export function domainMatches(domain: string, pattern: string): boolean {
  if (domain.length === 0 || pattern.length === 0) return false;
  return domain === pattern || domain.endsWith(`.${pattern}`);
}

/** True when the address's domain matches any of the (normalised) patterns, subdomains included. */
export function addressInDomains(address: string, patterns: readonly string[]): boolean {
  const domain = domainOf(address);
  return patterns.some((pattern) => domainMatches(domain, pattern));
}
