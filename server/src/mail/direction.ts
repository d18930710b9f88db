/**
 * Whether a message is inbound, outbound or internal from the point of view of one mailbox. Used for the
 * `excludeInternal` privacy rule and the `outbound` auto-create policy (docs/SYNC.md "Privacy first", "Linking").
 */
import { addressInDomains, normaliseAddress, normaliseDomain } from './address';
import type { ParsedMessage } from './message';

export type Direction = 'inbound' | 'outbound' | 'internal';

export interface MailboxIdentity {
  address: string;
  /** Send-as addresses and aliases of the same mailbox. */
  aliases?: string[];
}

export type DirectionInput = Pick<ParsedMessage, 'from' | 'to' | 'cc' | 'bcc'>;

/** The mailbox's own addresses in normal form. */
export function ownAddresses(mailbox: MailboxIdentity): Set<string> {
  const out = new Set<string>();
  for (const a of [mailbox.address, ...(mailbox.aliases ?? [])]) {
    const n = normaliseAddress(a);
    if (n !== null) out.add(n);
  }
  return out;
}

/** True when the message was sent by the mailbox (any From address is its own or an alias). */
export function isFromMailbox(parsed: Pick<ParsedMessage, 'from'>, mailbox: MailboxIdentity): boolean {
  const own = ownAddresses(mailbox);
  return parsed.from.some((a) => own.has(a.email));
}

/**
 * - `internal`: every participant is the mailbox itself or in an organisation domain (subdomains included). The
 *   mailbox counts as a recipient of anything it did not send, so mail that only Bcc'd it (To: undisclosed) from a
 *   colleague is internal too.
 * - `outbound`: sent by the mailbox, with at least one outside participant.
 * - `inbound`: anything else.
 * A message with no usable From is never internal: nothing shows its sender is one of us.
 */
export function classifyDirection(parsed: DirectionInput, mailbox: MailboxIdentity, orgDomains: string[]): Direction {
  const own = ownAddresses(mailbox);
  const domains = orgDomains.map(normaliseDomain).filter((d): d is string => d !== null);
  const fromMe = parsed.from.some((a) => own.has(a.email));
  const isInside = (email: string): boolean => own.has(email) || addressInDomains(email, domains);

  const participants = [...parsed.from, ...parsed.to, ...parsed.cc, ...parsed.bcc].map((a) => a.email);
  const allInside = parsed.from.length > 0 && participants.every(isInside);
  if (allInside) return 'internal';
  return fromMe ? 'outbound' : 'inbound';
}
