/**
 * Builds the RFC 2822 message the CRM sends (docs/SYNC.md "Sending from the CRM"): nodemailer's MailComposer, never by
 * hand. Pure apart from MailComposer's random MIME boundaries: the caller fixes the Message-ID and the Date, so a
 * retried send after a crash carries the same identity (the outbox stores both).
 */
import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { domainOf, normaliseDomain } from '../../mail/address';
import type { OutgoingAddress, OutgoingAttachment } from '../providers/port';

export type ComposeAddress = OutgoingAddress;

export type ComposeAttachment = OutgoingAttachment;

/** The message being answered: its normalised Message-ID, its References and subject (as stored on `messages`). */
export interface ReplyContext {
  internetMessageId: string | null;
  references: string[];
  subject: string;
}

export interface ComposeInput {
  from: ComposeAddress;
  to: ComposeAddress[];
  cc?: ComposeAddress[];
  bcc?: ComposeAddress[];
  subject: string;
  text?: string;
  html?: string;
  attachments?: ComposeAttachment[];
  /** `<id@domain>`, from newMessageId(). */
  messageId: string;
  date: Date;
  inReplyTo?: ReplyContext | null;
}

/** RFC 5322 recommends keeping References short enough to fold; the first id and the latest ones matter most. */
const MAX_REFERENCES = 20;

export class ComposeError extends Error {
  constructor(
    public readonly code: 'too_large' | 'invalid',
    public readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ComposeError';
  }
}

/** Our Message-ID: `<uuid@mailbox-domain>` (or threadline.local when the address has no usable domain). */
export function newMessageId(mailboxAddress: string, uuid: string = randomUUID()): string {
  const domain = normaliseDomain(domainOf(mailboxAddress)) ?? 'threadline.local';
  return `<${uuid}@${domain}>`;
}

/** "Re: " + the original subject, unless it already is a reply (Re:, RE:, re: …); Gmail threads on a matching subject. */
export function replySubject(original: string): string {
  const s = original.trim();
  return /^re\s*:/i.test(s) ? s : `Re: ${s}`;
}

const bracketed = (id: string): string => (id.startsWith('<') ? id : `<${id}>`);

/**
 * In-Reply-To and References for a reply (RFC 5322 §3.6.4): the parent's References followed by the parent's
 * Message-ID; when the chain is long, the first (the thread root) and the newest ones are kept.
 */
export function threadingHeaders(parent: ReplyContext): { inReplyTo: string | null; references: string[] } {
  const chain = [...parent.references, ...(parent.internetMessageId ? [parent.internetMessageId] : [])].filter((id, i, all) => id && all.indexOf(id) === i);
  const kept = chain.length > MAX_REFERENCES ? [chain[0], ...chain.slice(chain.length - (MAX_REFERENCES - 1))] : chain;
  return { inReplyTo: parent.internetMessageId ? bracketed(parent.internetMessageId) : null, references: kept.map(bracketed) };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes the request's base64 attachments and enforces the total cap before anything is composed. Buffer.from
 * silently skips characters that are not base64, so the text is checked first: a corrupt file is refused, not sent.
 */
export function decodeAttachments(list: { filename: string; contentType: string; contentBase64: string }[], capBytes: number): ComposeAttachment[] {
  let total = 0;
  return list.map((a, i) => {
    const text = a.contentBase64.replace(/\s+/g, '');
    if (text.length % 4 === 1 || !BASE64.test(text)) throw new ComposeError('invalid', `attachments.${i}.contentBase64`, 'not valid base64');
    // The decoded size follows from the text, so an oversize request is refused before anything is decoded.
    const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    total += Math.floor((text.length * 3) / 4) - padding;
    if (total > capBytes) {
      throw new ComposeError('too_large', 'attachments', `attachments may total at most ${Math.floor(capBytes / 1024 / 1024)} MiB for this mailbox`);
    }
    return { filename: a.filename, contentType: a.contentType, content: Buffer.from(text, 'base64') };
  });
}

const mailAddress = (a: ComposeAddress): Mail.Address => ({ address: a.email, name: a.name ?? '' });

/** The complete RFC 2822 message, Bcc kept (Gmail reads recipients from the headers; Graph's writer takes the fields). */
export async function composeMessage(input: ComposeInput): Promise<Buffer> {
  const threading = input.inReplyTo ? threadingHeaders(input.inReplyTo) : null;
  const options: Mail.Options = {
    from: mailAddress(input.from),
    to: input.to.map(mailAddress),
    cc: (input.cc ?? []).map(mailAddress),
    bcc: (input.bcc ?? []).map(mailAddress),
    subject: input.subject,
    messageId: input.messageId,
    date: input.date,
    ...(input.text !== undefined ? { text: input.text } : {}),
    ...(input.html !== undefined ? { html: input.html } : {}),
    ...(threading?.inReplyTo ? { inReplyTo: threading.inReplyTo } : {}),
    ...(threading?.references.length ? { references: threading.references } : {}),
    attachments: (input.attachments ?? []).map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
    // Only the bytes we pass: never let user input make the composer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  const node = new MailComposer(options).compile();
  node.keepBcc = true;
  return node.build();
}
