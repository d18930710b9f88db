/**
 * Names for attachments that arrive without one, so that a list shows what they are and a download saves under a
 * useful name. A name the sender gave is never replaced.
 *
 * - A `message/rfc822` part (a forward, or the message a bounce returns) is named after its own subject with `.eml`,
 *   as Thunderbird and Outlook save one; `message.eml` when it has no subject.
 * - The machine-readable parts of reports (RFC 3462 `multipart/report`: delivery status, RFC 8098 disposition
 *   notifications, RFC 5965 feedback reports, RFC 6522 returned headers) get a `.txt` name for what they hold.
 */
import libmime from 'libmime';
import { fixHeaderLine } from './headers';

const REPORT_PART_NAMES: Record<string, string> = {
  'message/delivery-status': 'delivery-status.txt',
  'message/global-delivery-status': 'delivery-status.txt',
  'message/disposition-notification': 'disposition-notification.txt',
  'message/global-disposition-notification': 'disposition-notification.txt',
  'message/feedback-report': 'feedback-report.txt',
  'text/rfc822-headers': 'rfc822-headers.txt',
  'message/global-headers': 'rfc822-headers.txt',
};

/** Bytes of a message/rfc822 part read to find its Subject: header blocks are far smaller than this. */
export const EML_HEAD_BYTES = 64 * 1024;
const MAX_NAME_CHARS = 150;

export const isEmbeddedMessage = (mimeType: string): boolean => mimeType === 'message/rfc822' || mimeType === 'message/global';

/** A name for an unnamed part of this type, or null when it stays unnamed (`head`: the start of a message part). */
export function nameForUnnamed(mimeType: string, head: Buffer | null): string | null {
  if (isEmbeddedMessage(mimeType)) return emlName(head ?? Buffer.alloc(0));
  return REPORT_PART_NAMES[mimeType] ?? null;
}

/** `<subject>.eml` from the start of an embedded message, its Subject decoded as the outer headers are. */
export function emlName(head: Buffer): string {
  const text = head.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text);
  const block = (end ? text.slice(0, end.index) : text).replace(/\r?\n[ \t]+/g, ' ');
  const line = /^subject:[^\n]*/im.exec(block)?.[0];
  let subject = '';
  if (line) {
    // The same reading as the outer headers (raw 8-bit bytes, UTF-7 words), then RFC 2047 words.
    const fixed = Buffer.from(fixHeaderLine(line.replace(/\r$/, ''), null).line, 'latin1').toString('utf8');
    subject = libmime.decodeWords(fixed.slice(fixed.indexOf(':') + 1));
  }
  const clean = subject
    .replace(/[\u0000-\u001f\u007f/\\]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.+$/, '');
  return `${Array.from(clean).slice(0, MAX_NAME_CHARS).join('').trimEnd() || 'message'}.eml`;
}
