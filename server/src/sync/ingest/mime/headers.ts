/**
 * One raw header line (as mailsplit hands it over: the original bytes as a latin1 string) → the same line with every
 * byte's meaning made explicit, for mailparser to decode as usual. mailparser reads raw 8-bit header bytes as UTF-8
 * (turning Latin-1 into U+FFFD) and decodes them before the encoded words, so `=?iso-8859-1?Q?Fr<0xF6>sche?=` is
 * decoded twice wrongly; and libmime refuses UTF-7 encoded words. So, before mailparser sees a line:
 *
 * - an encoded word whose payload holds raw 8-bit bytes, or whose charset libmime refuses (UTF-7), is decoded here
 *   (its bytes: UTF-8 if valid, else the word's charset, else Windows-1252) and written back as a UTF-8 B word;
 * - remaining raw 8-bit bytes are decoded (UTF-8, else the part's or message's declared charset, else Windows-1252)
 *   and written back as UTF-8 bytes, which mailparser reads correctly (RFC 6532).
 *
 * A line without 8-bit bytes or such words is returned as it is (the common case costs two regex tests).
 */
import { decodeHeaderBytes, decodeWithLabel, type DecodeSource } from './charsets';

/** RFC 2047 §2 encoded word, with an RFC 2231 §5 language suffix; the payload may (invalidly) hold raw bytes. */
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=/g;
const HIGH_BYTE = /[\x80-\xff]/;
/** Charsets libmime refuses in encoded words (it would leave `Fr+APY-sche`). */
const REFUSED_BY_LIBMIME = /^(?:(?:cs)?unicode-?1-?1-?)?utf-?7(?:-?imap)?$/i;

export interface HeaderFix {
  line: string;
  /** Set when raw bytes had to be read in something other than UTF-8. */
  assumed: { charset: string; source: Exclude<DecodeSource, 'utf-8'> } | null;
}

export function fixHeaderLine(line: string, declaredCharset: string | null): HeaderFix {
  if (!HIGH_BYTE.test(line) && !/=\?[^?]*utf-?7/i.test(line)) return { line, assumed: null };
  let assumed: HeaderFix['assumed'] = null;
  const note = (charset: string, source: DecodeSource): void => {
    if (source !== 'utf-8' && assumed === null) assumed = { charset, source };
  };

  const words = line.replace(ENCODED_WORD, (word, charset: string, encoding: string, payload: string) => {
    const rawBytes = HIGH_BYTE.test(payload);
    if (!rawBytes && !REFUSED_BY_LIBMIME.test(charset)) return word;
    const bytes = encoding.toUpperCase() === 'B' ? Buffer.from(payload.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64') : qBytes(payload);
    let text: string | null;
    if (rawBytes) {
      const decoded = decodeHeaderBytes(bytes, charset);
      note(decoded.charset, decoded.source);
      text = decoded.text;
    } else {
      text = decodeWithLabel(bytes, charset);
    }
    return text === null ? word : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
  });

  if (!HIGH_BYTE.test(words)) return { line: words, assumed };
  const decoded = decodeHeaderBytes(Buffer.from(words, 'latin1'), declaredCharset);
  note(decoded.charset, decoded.source);
  return { line: Buffer.from(decoded.text, 'utf8').toString('latin1'), assumed };
}

/** RFC 2047 §4.2 "Q": `_` is a space, `=XX` a byte; anything else (raw bytes included) stands for itself. */
function qBytes(payload: string): Buffer {
  const latin1 = payload.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(latin1, 'latin1');
}
