/**
 * Graph `message` JSON from a request body (create draft, sendMail, createReply's `message`) → stored fields.
 * Validates what Graph validates early enough to matter to a client: recipient shape and attachment payloads.
 */
import { newAttachmentId } from './ids';
import { htmlToText } from './mime';
import { badRequest } from './odata';
import type { NewMessage } from './store';
import type { Recipient, StoredAttachment, StoredMessage } from './types';

function recipients(value: unknown, field: string): Recipient[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`${field} must be a collection of recipients.`, 'ErrorInvalidRecipients');
  return value.map((entry: unknown) => {
    const email = (entry as { emailAddress?: { address?: unknown; name?: unknown } } | null)?.emailAddress;
    if (typeof email?.address !== 'string' || !email.address.includes('@')) {
      throw badRequest('At least one recipient is not valid.', 'ErrorInvalidRecipients');
    }
    return { emailAddress: { address: email.address, name: typeof email.name === 'string' ? email.name : email.address } };
  });
}

export function attachmentFrom(value: unknown): StoredAttachment {
  const a = (value ?? {}) as Record<string, unknown>;
  if (a['@odata.type'] !== '#microsoft.graph.fileAttachment' && a['@odata.type'] !== '#Microsoft.Graph.FileAttachment') {
    throw badRequest('Only #microsoft.graph.fileAttachment is emulated.', 'ErrorInvalidRequest');
  }
  if (typeof a.name !== 'string' || typeof a.contentBytes !== 'string') {
    throw badRequest('A file attachment needs name and contentBytes.', 'ErrorInvalidRequest');
  }
  const content = Buffer.from(a.contentBytes, 'base64');
  return {
    id: newAttachmentId(),
    name: a.name,
    contentType: typeof a.contentType === 'string' ? a.contentType : 'application/octet-stream',
    size: content.length,
    isInline: a.isInline === true,
    contentId: typeof a.contentId === 'string' ? a.contentId : null,
    content,
    lastModifiedDateTime: new Date().toISOString(),
  };
}

/** What PATCH may change on a draft only (https://learn.microsoft.com/graph/api/message-update: "Updatable only if isDraft = true"). */
export const BODY_FIELDS = [
  'subject',
  'body',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'importance',
  'internetMessageHeaders',
  'internetMessageId',
] as const;

/** The draft-editable fields present in a body, as a partial StoredMessage (for create and PATCH of drafts). */
export function draftFields(input: Record<string, unknown>): Partial<StoredMessage> {
  const out: Partial<StoredMessage> = {};
  if (typeof input.subject === 'string') out.subject = input.subject;
  const body = input.body as { contentType?: unknown; content?: unknown } | undefined;
  if (body && typeof body.content === 'string') {
    const html = String(body.contentType ?? 'text').toLowerCase() === 'html';
    out.body = { contentType: html ? 'html' : 'text', content: body.content };
    out.text = html ? htmlToText(body.content) : body.content;
  }
  if ('toRecipients' in input) out.toRecipients = recipients(input.toRecipients, 'toRecipients');
  if ('ccRecipients' in input) out.ccRecipients = recipients(input.ccRecipients, 'ccRecipients');
  if ('bccRecipients' in input) out.bccRecipients = recipients(input.bccRecipients, 'bccRecipients');
  if ('replyTo' in input) out.replyTo = recipients(input.replyTo, 'replyTo');
  if (input.importance === 'low' || input.importance === 'normal' || input.importance === 'high') out.importance = input.importance;
  if (Array.isArray(input.internetMessageHeaders)) {
    // Graph only accepts custom x- headers here (https://learn.microsoft.com/graph/api/resources/internetmessageheader).
    out.internetMessageHeaders = input.internetMessageHeaders.map((h: unknown) => {
      const header = h as { name?: unknown; value?: unknown };
      if (typeof header.name !== 'string' || !/^x-/i.test(header.name) || typeof header.value !== 'string') {
        throw badRequest('The internet message header name should start with x- or X-.', 'InvalidInternetMessageHeader');
      }
      return { name: header.name, value: header.value };
    });
  }
  if (Array.isArray(input.singleValueExtendedProperties)) {
    // https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties
    out.extendedProperties = {};
    for (const p of input.singleValueExtendedProperties as { id?: unknown; value?: unknown }[]) {
      if (typeof p?.id !== 'string' || typeof p.value !== 'string')
        throw badRequest('An extended property needs a string id and value.', 'ErrorInvalidExtendedProperty');
      out.extendedProperties[p.id.toLowerCase()] = p.value;
    }
  }
  return out;
}

/**
 * A new draft (or a sendMail message) from JSON, sent from the mailbox owner.
 *
 * `internetMessageId` in the body is deliberately ignored: the store assigns the draft its own, as Exchange does
 * for items it creates. Microsoft's documentation was searched for a statement that Graph keeps a client-set
 * internetMessageId on JSON draft creation and none was found (the message resource only describes it as "the
 * message ID in the format specified by RFC2822"; https://learn.microsoft.com/graph/api/user-post-messages and
 * .../resources/message say nothing of keeping it), so this emulates the stricter reading: only a PATCH of the
 * draft sets it ("Updatable only if isDraft = true", https://learn.microsoft.com/graph/api/message-update). What the documentation does
 * promise, and what this emulator does: with `Prefer: IdType="ImmutableId"` a draft keeps its immutable id when
 * it is sent and moves to Sent Items, `isDraft` true before and false after ("Immutable ID with sending mail",
 * https://learn.microsoft.com/graph/outlook-immutable-id; the distinction by isDraft:
 * https://learn.microsoft.com/graph/outlook-create-send-messages). Senders therefore recover by that id.
 */
export function newMessageFrom(input: Record<string, unknown>, owner: Recipient): NewMessage {
  const fields = draftFields(input);
  const attachments = Array.isArray(input.attachments) ? input.attachments.map(attachmentFrom) : [];
  return {
    subject: fields.subject ?? '',
    from: owner,
    sender: owner,
    toRecipients: fields.toRecipients ?? [],
    ccRecipients: fields.ccRecipients ?? [],
    bccRecipients: fields.bccRecipients ?? [],
    replyTo: fields.replyTo ?? [],
    body: fields.body ?? { contentType: 'text', content: '' },
    text: fields.text ?? '',
    internetMessageHeaders: fields.internetMessageHeaders ?? [],
    inReplyTo: null,
    references: [],
    attachments,
    importance: fields.importance ?? 'normal',
    isRead: true,
    isDraft: true,
    ...(fields.extendedProperties ? { extendedProperties: fields.extendedProperties } : {}),
  };
}
