/**
 * The key that makes one `messages` document per email per organisation (docs/SYNC.md "Dedup and visibility"), unique
 * on `(orgId, dedupKey)`. Copies of one email in several mailboxes must produce the same key; two different emails must
 * not.
 *
 * - `mid:<Message-ID>` whenever the message has one (normalised by normaliseMessageId: brackets and folding removed,
 *   id-right lowercased). This is what Gmail and Graph copies of one email share.
 * - `hash:<sha256>` of sender, date to the second, normalised subject and the first 512 characters of normalised
 *   text when it has none. These fields come from the MIME content, which is the same in every recipient's copy,
 *   unlike the raw bytes (each copy carries its own Received/Delivered-To headers).
 * - `raw:<sha256 of the raw bytes>` for a malformed message without a Message-ID, or one with neither sender nor
 *   date: its parsed fields are empty or unreliable, and hashing them would merge unrelated broken messages into one
 *   document. Such a copy is then only deduplicated against an identical re-fetch, never merged wrongly.
 */
import { createHash } from 'node:crypto';
import type { ParsedMessage } from '../../mail/message';

export type DedupInput = Pick<ParsedMessage, 'messageId' | 'from' | 'date' | 'subject' | 'text' | 'malformed' | 'rawSha256'>;

const TEXT_PREFIX_CHARS = 512;

export function dedupKey(parsed: DedupInput): string {
  if (parsed.messageId) return `mid:${parsed.messageId}`;
  const sender = parsed.from[0]?.email ?? '';
  const date = parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date : null;
  if (parsed.rawSha256 && (parsed.malformed || (sender === '' && date === null))) return `raw:${parsed.rawSha256}`;

  const parts = [
    sender,
    // Whole seconds: providers and MIME round-trips keep the second, not always the millisecond.
    date ? String(Math.floor(date.getTime() / 1000)) : '',
    normaliseForKey(parsed.subject),
    Array.from(normaliseForKey(parsed.text)).slice(0, TEXT_PREFIX_CHARS).join(''),
  ];
  // JSON keeps the field boundaries unambiguous (no separator a subject could contain).
  return `hash:${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
}

/**
 * Unicode NFC, whitespace runs collapsed, trimmed, lowercased: the differences a re-encoding (quoted-printable vs
 * base64, folded vs unfolded subject, CRLF vs LF) can introduce between two copies of the same content.
 */
export function normaliseForKey(s: string): string {
  // Only the start of a long text matters; bound the work for megabyte bodies.
  return s
    .slice(0, TEXT_PREFIX_CHARS * 4)
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

/**
 * Sender, date and subject of a copy that shares a Message-ID with a different stored email (ingest/store.ts
 * separateCollisions keys it `mid:<id>#<fingerprint>`): the same forged copy seen again lands on the same message.
 */
export function collisionFingerprint(parsed: Pick<ParsedMessage, 'from' | 'date' | 'subject'>): string {
  const parts = [parsed.from[0]?.email?.toLowerCase() ?? '', parsed.date ? Math.floor(parsed.date.getTime() / 1000) : '', normaliseForKey(parsed.subject)];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
