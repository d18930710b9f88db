/**
 * The subset of Gmail search (`q`) the engine uses: dates, places, state, addresses and plain words.
 * https://support.google.com/mail/answer/7190 and https://developers.google.com/gmail/api/guides/filtering
 * Unknown operators match nothing rather than everything, so a typo in the engine shows up in tests.
 */
import { headerValue } from './mime';
import type { Mailbox, StoredMessage } from './store';

type Predicate = (m: StoredMessage) => boolean;

const DAY_MS = 24 * 60 * 60 * 1000;
const UNIT_MS: Record<string, number> = { d: DAY_MS, m: 30 * DAY_MS, y: 365 * DAY_MS };

/**
 * `after:2024/01/31` means midnight Pacific time, not UTC; epoch seconds are exact. Gmail's filtering guide
 * recommends seconds for that reason. Pacific is taken as UTC-8 (PST) all year: good enough for tests.
 */
function parseDate(value: string): number | undefined {
  if (/^\d{9,}$/.test(value)) return Number(value) * 1000;
  const match = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(value);
  if (!match) return undefined;
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 8);
}

function tokens(q: string): string[] {
  return q.match(/-?[a-zA-Z_]+:"[^"]*"|-?[a-zA-Z_]+:\S+|"[^"]*"|\S+/g) ?? [];
}

const unquote = (v: string): string => v.replace(/^"|"$/g, '').toLowerCase();

function labelByName(mailbox: Mailbox, name: string): string | undefined {
  const wanted = name.toLowerCase().replace(/-/g, ' ');
  for (const label of mailbox.labels.values()) {
    if (label.id.toLowerCase() === name.toLowerCase() || label.name.toLowerCase().replace(/-/g, ' ') === wanted) return label.id;
  }
  return undefined;
}

function term(mailbox: Mailbox, token: string, now: number): Predicate {
  const colon = token.indexOf(':');
  const text = (m: StoredMessage): string =>
    `${headerValue(m.tree, 'subject') ?? ''} ${headerValue(m.tree, 'from') ?? ''} ${headerValue(m.tree, 'to') ?? ''} ${m.snippet}`.toLowerCase();
  if (colon < 0) {
    const word = unquote(token);
    return (m) => text(m).includes(word);
  }
  const op = token.slice(0, colon).toLowerCase();
  const value = unquote(token.slice(colon + 1));
  const has =
    (id: string): Predicate =>
    (m) =>
      m.labelIds.has(id);
  const addressIn =
    (names: string[]): Predicate =>
    (m) =>
      names.some((n) => (headerValue(m.tree, n) ?? '').toLowerCase().includes(value));
  switch (op) {
    case 'after':
    case 'before': {
      const at = parseDate(value);
      if (at === undefined) return () => false;
      return op === 'after' ? (m) => m.internalDate >= at : (m) => m.internalDate < at;
    }
    case 'newer_than':
    case 'older_than': {
      const match = /^(\d+)([dmy])$/.exec(value);
      if (!match) return () => false;
      const at = now - Number(match[1]) * UNIT_MS[match[2]];
      return op === 'newer_than' ? (m) => m.internalDate >= at : (m) => m.internalDate < at;
    }
    case 'in':
      if (value === 'anywhere') return () => true;
      if (value === 'sent') return has('SENT');
      return has(labelByName(mailbox, value) ?? `missing:${value}`);
    case 'label':
      return has(labelByName(mailbox, value) ?? `missing:${value}`);
    case 'is':
      if (value === 'unread') return has('UNREAD');
      if (value === 'read') return (m) => !m.labelIds.has('UNREAD');
      if (value === 'starred') return has('STARRED');
      if (value === 'important') return has('IMPORTANT');
      return () => false;
    case 'category':
      return has(`CATEGORY_${value.toUpperCase()}`);
    case 'from':
      return addressIn(['from']);
    case 'to':
      return addressIn(['to', 'cc', 'bcc']);
    case 'cc':
      return addressIn(['cc']);
    case 'subject':
      return (m) => (headerValue(m.tree, 'subject') ?? '').toLowerCase().includes(value);
    case 'rfc822msgid':
      return (m) => (headerValue(m.tree, 'message-id') ?? '').toLowerCase().includes(value);
    case 'has':
      if (value === 'attachment') return (m) => /"?filename/i.test(m.raw.subarray(0, 1 << 20).toString('latin1'));
      return () => false;
    default:
      return () => false;
  }
}

export interface ParsedQuery {
  matches: Predicate;
  /** True when the query names trash, spam or anywhere itself, so they are not excluded by default. */
  mentionsSpamTrash: boolean;
  /** True when what it matches moves with the clock (newer_than, older_than), not only with the mailbox. */
  relativeToNow: boolean;
}

const RELATIVE_OPS = new Set(['newer_than', 'older_than']);

export function parseQuery(mailbox: Mailbox, q: string | undefined, now = Date.now()): ParsedQuery {
  const all = tokens(q ?? '');
  const predicates = all.map((token) => {
    const negated = token.startsWith('-') && token.length > 1;
    const predicate = term(mailbox, negated ? token.slice(1) : token, now);
    return negated ? (m: StoredMessage) => !predicate(m) : predicate;
  });
  return {
    matches: (m) => predicates.every((p) => p(m)),
    mentionsSpamTrash: /\bin:(trash|spam|anywhere)\b|\blabel:(trash|spam)\b/i.test(q ?? ''),
    relativeToNow: all.some((token) => RELATIVE_OPS.has(token.replace(/^-/, '').split(':')[0].toLowerCase())),
  };
}
