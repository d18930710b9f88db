/** Message-IDs in one normal form, so that the copies of one email and the replies naming it agree. */
const NUL = /\u0000/g;

/**
 * Message-ID normal form. RFC 5322 §3.6.4: `msg-id = "<" id-left "@" id-right ">"`; the id-right is a domain, so it is
 * compared case-insensitively, while the id-left is opaque and case-sensitive (lowercasing it could merge two
 * messages). So: take the first `<…>` (or the bare token when a broken mailer omitted the brackets), remove folding
 * whitespace, lowercase only what follows the last `@`. Null when nothing usable remains.
 */
export function normaliseMessageId(value: string | null | undefined): string | null {
  return messageIdTokens(value ?? '')[0] ?? null;
}

/** Every Message-ID in a header value (References, In-Reply-To), each in normal form. */
export function messageIdTokens(value: string): string[] {
  const cleaned = value.replace(NUL, '');
  const bracketed = [...cleaned.matchAll(/<([^<>]*)>/g)].map((m) => m[1]);
  const raw = bracketed.length > 0 ? bracketed : cleaned.split(/[\s,]+/);
  const out: string[] = [];
  for (const token of raw) {
    const id = token.replace(/\s+/g, '');
    // 998 is the RFC 5322 line limit: anything longer is not an id anyone will reference.
    if (id.length === 0 || id.length > 998) continue;
    const at = id.lastIndexOf('@');
    out.push(at > 0 ? id.slice(0, at) + id.slice(at).toLowerCase() : id);
  }
  return out;
}
