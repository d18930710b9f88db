/**
 * The sidebar's card per sender, kept a short while in the user's cache: reopening the same email (or moving
 * between messages of one thread) does not ask the server again. A change made from the add-on (a contact
 * created, a sender excluded) evicts the sender's entry, so the next card is fresh.
 */
import type { Card } from '@threadline/shared/src/card';
import type { KeyValueCache } from './platform';

/** Short: the CRM changes under the add-on (teammates, sync) and nothing tells it so. */
export const CONTEXT_TTL_SECONDS = 120;
/** CacheService refuses keys over 250 characters and values over 100 KB; such a card is simply not cached. */
const MAX_KEY = 250;
const MAX_VALUE = 100 * 1024;
const PREFIX = 'tl.ctx.v1.';

/** 32-bit FNV-1a, hex: enough to tell apart the few senders one user has cached at a time. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export function contextKey(senderEmail: string): string {
  const email = senderEmail.trim().toLowerCase();
  const key = PREFIX + email;
  return key.length <= MAX_KEY ? key : `${PREFIX}#${fnv1a(email)}`;
}

interface Entry {
  messageId: string;
  card: Card;
}

/** The cached card, only for the same open email (the card says whether that very email is synced). */
export function cachedCard(cache: KeyValueCache, senderEmail: string, messageId: string): Card | null {
  const raw = cache.get(contextKey(senderEmail));
  if (!raw) return null;
  try {
    const entry = JSON.parse(raw) as Entry;
    return entry.messageId === messageId ? entry.card : null;
  } catch {
    return null;
  }
}

export function cacheCard(cache: KeyValueCache, senderEmail: string, messageId: string, card: Card): void {
  const value = JSON.stringify({ messageId, card } satisfies Entry);
  if (value.length * 2 > MAX_VALUE) return; // UTF-16 worst case: never let a big card fail the trigger
  cache.put(contextKey(senderEmail), value, CONTEXT_TTL_SECONDS);
}

export function evictContext(cache: KeyValueCache, emails: readonly string[]): void {
  for (const email of emails) if (email) cache.remove(contextKey(email));
}
