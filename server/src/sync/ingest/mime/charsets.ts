/**
 * Bytes → text when the bytes do not say, or lie about, what they are. Every decode goes through iconv-lite (which
 * knows UTF-7 and the legacy Asian and Cyrillic sets that mail still carries) and ends in Windows-1252, which maps
 * every byte to a character: nothing is ever turned into U+FFFD when the bytes had a meaning.
 *
 * - Raw 8-bit header bytes (RFC 6532 allows UTF-8; Outlook 2000–2003 and many list servers sent their local charset
 *   unencoded): UTF-8 when the bytes are valid UTF-8, else the part's or message's declared charset, else Windows-1252.
 * - Bodies: the declared charset when it decodes the bytes, else what a detector (chardet) recognises, else
 *   Windows-1252.
 */
import { isUtf8 } from 'node:buffer';
import { detect } from 'chardet';
import iconv from 'iconv-lite';

/** How a piece of text was decoded when the message did not (truthfully) declare it. */
export type DecodeSource = 'utf-8' | 'declared' | 'detected' | 'windows-1252';

export interface Decoded {
  text: string;
  /** The charset actually used, lowercase. */
  charset: string;
  source: DecodeSource;
}

const FALLBACK = 'windows-1252';

/**
 * The charset iconv-lite should use for a declared label, or null when it knows none. Labels for ASCII and Latin-1
 * are read as Windows-1252, as the WHATWG Encoding Standard (and so mailparser and every browser) reads them: mail
 * labelled ISO-8859-1 routinely holds Windows-1252 quotes and euro signs.
 */
export function usableCharset(label: string | null | undefined): string | null {
  const name = (label ?? '').trim().toLowerCase().replace(/^"|"$/g, '');
  if (name === '') return null;
  if (/^(?:us-?ascii|ascii|iso-?8859-1|iso_8859-1|latin-?1|l1|cp819|ibm819|iso-ir-100)$/.test(name)) return FALLBACK;
  // ks_c_5601-1987 is what Outlook writes for Korean; iconv-lite knows it as cp949.
  if (name === 'ks_c_5601-1987') return 'cp949';
  return iconv.encodingExists(name) ? name : null;
}

const isUtf8Name = (charset: string): boolean => /^utf-?8$/.test(charset);

/** Raw 8-bit header bytes: UTF-8, else the declared charset, else Windows-1252. */
export function decodeHeaderBytes(bytes: Buffer, declared: string | null | undefined): Decoded {
  if (isUtf8(bytes)) return { text: bytes.toString('utf8'), charset: 'utf-8', source: 'utf-8' };
  const charset = usableCharset(declared);
  if (charset !== null && !isUtf8Name(charset) && !cannotHoldRawBytes(charset)) {
    return { text: iconv.decode(bytes, charset), charset, source: 'declared' };
  }
  return { text: iconv.decode(bytes, FALLBACK), charset: FALLBACK, source: 'windows-1252' };
}

/**
 * A body: the declared charset when it can decode the bytes, else a detection, else Windows-1252. A declared
 * UTF-8 (or no declaration) fails on invalid UTF-8; a single-byte charset cannot fail, so it is trusted.
 */
export function decodeBodyBytes(bytes: Buffer, declared: string | null | undefined): Decoded {
  // An ASCII label over 8-bit bytes is no declaration at all (such bytes are most often UTF-8).
  const charset = /ascii/i.test(declared ?? '') && hasHighBytes(bytes) ? null : usableCharset(declared);
  if (charset !== null && (!isUtf8Name(charset) || isUtf8(bytes))) {
    return { text: iconv.decode(bytes, charset), charset, source: 'declared' };
  }
  if (charset === null && !hasHighBytes(bytes)) {
    // Undeclared 7-bit text is US-ASCII (RFC 2045 §5.2 default): nothing was assumed.
    return { text: bytes.toString('latin1'), charset: 'us-ascii', source: 'declared' };
  }
  if (isUtf8(bytes)) return { text: bytes.toString('utf8'), charset: 'utf-8', source: 'utf-8' };
  const guess = usableCharset(detect(bytes));
  if (guess !== null && !isUtf8Name(guess)) return { text: iconv.decode(bytes, guess), charset: guess, source: 'detected' };
  return { text: iconv.decode(bytes, FALLBACK), charset: FALLBACK, source: 'windows-1252' };
}

/** A charset label's text, for an encoded word or a body: iconv-lite's decode, or null when it knows no such label. */
export function decodeWithLabel(bytes: Buffer, label: string): string | null {
  const charset = usableCharset(label);
  return charset === null ? null : iconv.decode(bytes, charset);
}

function cannotHoldRawBytes(charset: string): boolean {
  // UTF-16/32 cannot be what raw bytes in a header line are (a header line has no NULs), nor can 7-bit UTF-7.
  return /^(?:utf-?(?:16|32)|ucs-?2|utf-?7)/.test(charset);
}

export function hasHighBytes(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return true;
  return false;
}
