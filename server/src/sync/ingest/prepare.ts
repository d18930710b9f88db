/**
 * The pure half of storing a page: parse, classify, apply privacy, and shape the documents. Nothing here touches the
 * database, and an excluded message leaves this stage as a rule name only (docs/SYNC.md "Privacy first").
 */
import { mapBounded } from '../../async/bounded';
import type { RemoteMessage } from '../providers/port';
import { normaliseAddress } from '../../mail/address';
import { dedupKey } from './dedup-key';
import { classifyDirection, type Direction } from '../../mail/direction';
import type { ParsedMessage } from '../../mail/message';
import { PARSER_VERSION } from './parse';
import { parseRaw } from './parse-pool';
import { evaluatePrivacy, type MergedPrivacyRules, type PrivacyRuleKind, type RuleScope } from './privacy';
import { sanitizeEmailHtml } from './sanitize';

/** A malformed message's raw bytes are kept for a later re-parse; capped well under MongoDB's 16 MB document limit. */
export const MAX_RAW_KEPT_BYTES = 8 * 1024 * 1024;
const PARSE_CONCURRENCY = 16;

export interface Prepared {
  remote: RemoteMessage;
  parsed: ParsedMessage;
  participants: string[];
  direction: Direction;
  dedupKey: string;
}

export type Screened = { kind: 'kept'; item: Prepared } | { kind: 'excluded'; providerMessageId: string; rule: { kind: PrivacyRuleKind; scope?: RuleScope } };

/** Parses begun before their page is stored (parseAhead), found again by the message they are of. */
const begun = new WeakMap<RemoteMessage, Promise<ParsedMessage>>();

const parseOne = (r: RemoteMessage): Promise<ParsedMessage> =>
  r.content.kind === 'parsed' ? Promise.resolve(r.content.parsed) : parseRaw(r.content.raw, { fallbackDate: r.receivedAt });

export function parseAll(remote: RemoteMessage[]): Promise<ParsedMessage[]> {
  // parseMessage never rejects (a bad message comes back flagged); parseRaw runs it on the parse threads, if started.
  return mapBounded(remote, PARSE_CONCURRENCY, (r) => {
    const ahead = begun.get(r);
    begun.delete(r); // used once: a page stored again (a retry) parses again
    return ahead ?? parseOne(r);
  });
}

/**
 * Starts parsing a page that will be stored next (one read ahead while the page before it is stored), so that its
 * store finds its first messages parsed instead of waiting for them. Only memory is spent: nothing is stored, and a
 * page that is dropped (the run ended first) takes its parses with it. Answers the parses (as parseAll would).
 */
export function parseAhead(remote: readonly RemoteMessage[]): Promise<ParsedMessage[]> {
  // Each message's parse is registered at once (parseAll finds it, started or not), and started within the same
  // bound as parseAll's, so parsing ahead on the event loop (SYNC_PARSE_THREADS=0) never runs a whole page at once.
  const fresh = remote.filter((r) => !begun.has(r));
  const starts = fresh.map((r) => {
    let start!: () => void;
    const parsing = new Promise<void>((resolve) => {
      start = resolve;
    }).then(() => parseOne(r));
    begun.set(r, parsing);
    return { start, parsing };
  });
  void mapBounded(starts, PARSE_CONCURRENCY, async ({ start, parsing }) => {
    start();
    await parsing.catch(() => undefined); // the failure is the store's to see, through parseAll
  });
  return Promise.all(remote.map((r) => begun.get(r)!));
}

export function participantsOf(p: ParsedMessage): string[] {
  const all = [...p.from, ...p.replyTo, ...p.to, ...p.cc, ...p.bcc].map((a) => normaliseAddress(a.email));
  return [...new Set(all.filter((a): a is string => a !== null))];
}

export function screen(
  remote: RemoteMessage,
  parsed: ParsedMessage,
  mailbox: { address: string },
  orgDomains: string[],
  rules: MergedPrivacyRules,
  isKnownContact: (email: string) => boolean,
): Screened {
  const participants = participantsOf(parsed);
  const direction = classifyDirection(parsed, mailbox, orgDomains);
  const labels = remote.folderId !== null ? [...remote.labels, remote.folderId] : remote.labels;
  const decision = evaluatePrivacy({ participants, labels, direction }, rules, { isKnownContact, orgDomains });
  if (decision.excluded) {
    // The matched value (an address or domain) is deliberately dropped: it may be the excluded party itself.
    return { kind: 'excluded', providerMessageId: remote.providerMessageId, rule: { kind: decision.rule.kind, scope: decision.rule.scope } };
  }
  return { kind: 'kept', item: { remote, parsed, participants, direction, dedupKey: dedupKey(parsed) } };
}

const address = (a: { email: string; name: string }) => ({ email: a.email, name: a.name.slice(0, 256) });

/** The `messages` document's content fields (everything but ids, links, thread and holders). */
export function messageContent(item: Prepared): Record<string, unknown> {
  const p = item.parsed;
  const raw = item.remote.content.kind === 'raw' ? item.remote.content.raw : null;
  return {
    dedupKey: item.dedupKey,
    internetMessageId: p.messageId,
    inReplyTo: p.inReplyTo,
    references: p.references,
    subject: p.subject,
    from: p.from[0] ? address(p.from[0]) : null,
    to: p.to.map(address),
    cc: p.cc.map(address),
    bcc: p.bcc.map(address),
    date: p.date ?? item.remote.receivedAt,
    direction: item.direction,
    snippet: p.snippet,
    text: p.text,
    html: p.html !== null ? sanitizeEmailHtml(p.html).html : '',
    hasAttachments: p.attachments.some((a) => !a.inline),
    attachments: attachmentDocs(p),
    participants: item.participants,
    // Kept raw and flagged, never dropped (docs/SYNC.md "Failures are visible"): the raw bytes allow a re-parse by a
    // fixed parser.
    malformed: p.malformed && raw !== null ? { reason: p.malformedReason ?? 'unparsable', raw: raw.subarray(0, MAX_RAW_KEPT_BYTES) } : null,
    decoding: decodingDocs(p),
    parserVersion: raw !== null ? PARSER_VERSION : null,
  };
}

/** The stored attachment metadata: the id is what the change source's fetchAttachment takes (or `uu<N>`). */
export function attachmentDocs(
  p: ParsedMessage,
): { id: string; filename: string; mimeType: string; size: number; contentId: string | null; inline: boolean }[] {
  return p.attachments.map((a, i) => ({
    id: a.partId ?? String(i + 1),
    filename: a.filename ?? '',
    mimeType: a.mimeType,
    size: a.size,
    contentId: a.contentId,
    inline: a.inline,
  }));
}

/** The `decoding` notes as stored (models/message.ts). */
export const decodingDocs = (p: ParsedMessage) => p.decoding.map((d) => ({ where: d.where, declared: d.declared, charset: d.charset, source: d.source }));

/** The thread root: first References entry, else In-Reply-To, else the message's own id. */
export function threadRoot(p: ParsedMessage): { rootKey: string | null; fromReferences: boolean } {
  if (p.references.length > 0) return { rootKey: p.references[0], fromReferences: true };
  if (p.inReplyTo !== null) return { rootKey: p.inReplyTo, fromReferences: true };
  return { rootKey: p.messageId, fromReferences: false };
}
