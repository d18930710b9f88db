/**
 * RFC 2822 in and out. Seeded and delivered mail is parsed with mailparser into the fields Graph exposes;
 * items composed through the API are turned back into MIME with nodemailer's composer for `$value`.
 */
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { newAttachmentId } from './ids';
import type { Recipient, StoredAttachment, StoredMessage } from './types';

export type ParsedFields = Pick<
  StoredMessage,
  | 'subject'
  | 'from'
  | 'sender'
  | 'toRecipients'
  | 'ccRecipients'
  | 'bccRecipients'
  | 'replyTo'
  | 'body'
  | 'text'
  | 'internetMessageHeaders'
  | 'inReplyTo'
  | 'references'
  | 'attachments'
  | 'importance'
> & { internetMessageId: string | null; sentDateTime: string | null };

function recipients(field: AddressObject | AddressObject[] | undefined): Recipient[] {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  const out: Recipient[] = [];
  const visit = (list: AddressObject['value']): void => {
    for (const entry of list) {
      if (entry.group) visit(entry.group);
      else if (entry.address) out.push({ emailAddress: { name: entry.name || entry.address, address: entry.address } });
    }
  };
  for (const object of objects) visit(object.value);
  return out;
}

function importanceOf(mail: ParsedMail): StoredMessage['importance'] {
  const raw = String(mail.headers.get('importance') ?? mail.headers.get('x-priority') ?? '').toLowerCase();
  if (raw.startsWith('high') || raw.startsWith('1') || raw.startsWith('2')) return 'high';
  if (raw.startsWith('low') || raw.startsWith('5') || raw.startsWith('4')) return 'low';
  return 'normal';
}

const asIdList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : value.split(/\s+/).filter(Boolean);

export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/p>|<\/div>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}

export async function parseRfc822(raw: Buffer): Promise<ParsedFields> {
  const mail = await simpleParser(raw, { skipTextToHtml: true });
  const attachments: StoredAttachment[] = mail.attachments.map((a) => ({
    id: newAttachmentId(),
    name: a.filename ?? 'attachment',
    contentType: a.contentType,
    size: a.size,
    isInline: a.contentDisposition === 'inline' || a.related === true,
    contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
    content: a.content,
    lastModifiedDateTime: new Date().toISOString(),
  }));
  const html = typeof mail.html === 'string' ? mail.html : null;
  const text = mail.text ?? (html ? htmlToText(html) : '');
  const from = recipients(mail.from)[0] ?? null;
  const sender = recipients(mail.headers.get('sender') as AddressObject | undefined)[0] ?? from;
  return {
    subject: mail.subject ?? '',
    from,
    sender,
    toRecipients: recipients(mail.to),
    ccRecipients: recipients(mail.cc),
    bccRecipients: recipients(mail.bcc),
    replyTo: recipients(mail.replyTo),
    body: html !== null ? { contentType: 'html', content: html } : { contentType: 'text', content: text },
    text,
    internetMessageHeaders: mail.headerLines.map(({ line }) => {
      const colon = line.indexOf(':');
      return {
        name: line.slice(0, colon).trim(),
        value: line
          .slice(colon + 1)
          .replace(/\r?\n[ \t]+/g, ' ')
          .trim(),
      };
    }),
    internetMessageId: mail.messageId ?? null,
    inReplyTo: mail.inReplyTo ?? null,
    references: asIdList(mail.references),
    attachments,
    importance: importanceOf(mail),
    sentDateTime: mail.date ? mail.date.toISOString() : null,
  };
}

const addressList = (list: Recipient[]): { name: string; address: string }[] =>
  list.map((r) => ({ name: r.emailAddress.name, address: r.emailAddress.address }));

/** MIME for `GET /messages/{id}/$value`: the original bytes when we have them, else composed from the fields. */
export async function mimeOf(message: StoredMessage): Promise<Buffer> {
  if (message.raw) return message.raw;
  const composer = new MailComposer({
    from: message.from ? addressList([message.from])[0] : undefined,
    to: addressList(message.toRecipients),
    cc: addressList(message.ccRecipients),
    bcc: addressList(message.bccRecipients),
    subject: message.subject,
    messageId: message.internetMessageId,
    inReplyTo: message.inReplyTo ?? undefined,
    references: message.references.length ? message.references : undefined,
    date: new Date(message.sentDateTime ?? message.createdDateTime),
    ...(message.body.contentType === 'html' ? { html: message.body.content, text: message.text } : { text: message.body.content }),
    attachments: message.attachments.map((a) => ({
      filename: a.name,
      contentType: a.contentType,
      content: a.content,
      cid: a.contentId ?? undefined,
    })),
  });
  return composer.compile().build();
}
