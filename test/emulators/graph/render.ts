/**
 * Stored items → Graph v1.0 JSON (https://learn.microsoft.com/graph/api/resources/message,
 * .../resources/mailfolder, .../resources/fileattachment). `uniqueBody` and `internetMessageHeaders` are only
 * returned when selected, as in Graph; `id` is always returned whatever $select says.
 */
import { regularIdOf } from './ids';
import type { Preferences } from './odata';
import type { MailFolder, Mailbox, StoredAttachment, StoredMessage } from './types';

export interface RenderContext {
  baseUrl: string;
  prefs: Preferences;
  select: string[] | null;
  expandAttachments?: boolean;
}

export const messageIdFor = (message: StoredMessage, prefs: Preferences): string => (prefs.immutableIds ? message.immutableId : regularIdOf(message));

const ONLY_WHEN_SELECTED = new Set(['uniqueBody', 'internetMessageHeaders']);

export function renderAttachment(a: StoredAttachment, withContent = true): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': a.contentType,
    id: a.id,
    lastModifiedDateTime: a.lastModifiedDateTime,
    name: a.name,
    contentType: a.contentType,
    size: a.size,
    isInline: a.isInline,
    contentId: a.contentId,
    contentLocation: null,
    ...(withContent ? { contentBytes: a.content.toString('base64') } : {}),
  };
}

export function renderMessage(mailbox: Mailbox, message: StoredMessage, ctx: RenderContext): Record<string, unknown> {
  const id = messageIdFor(message, ctx.prefs);
  const body = ctx.prefs.textBody && message.body.contentType === 'html' ? { contentType: 'text', content: message.text } : message.body;
  const full: Record<string, unknown> = {
    '@odata.etag': `W/"${message.changeKey}"`,
    id,
    createdDateTime: message.createdDateTime,
    lastModifiedDateTime: message.lastModifiedDateTime,
    changeKey: message.changeKey,
    categories: message.categories,
    receivedDateTime: message.receivedDateTime,
    sentDateTime: message.sentDateTime,
    hasAttachments: message.attachments.some((a) => !a.isInline),
    internetMessageId: message.internetMessageId,
    subject: message.subject,
    bodyPreview: message.text.replace(/\s+/g, ' ').trim().slice(0, 255),
    importance: message.importance,
    parentFolderId: message.folderId,
    conversationId: message.conversationId,
    conversationIndex: message.conversationIndex,
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: message.isRead,
    isDraft: message.isDraft,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    body,
    sender: message.sender,
    from: message.from,
    toRecipients: message.toRecipients,
    ccRecipients: message.ccRecipients,
    bccRecipients: message.bccRecipients,
    replyTo: message.replyTo,
    flag: message.flag,
    uniqueBody: body,
    internetMessageHeaders: message.internetMessageHeaders,
  };
  const keys = ctx.select ? ['@odata.etag', 'id', ...ctx.select.filter((k) => k in full)] : Object.keys(full).filter((k) => !ONLY_WHEN_SELECTED.has(k));
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = full[key];
  if (ctx.expandAttachments) {
    out['attachments@odata.context'] = `${ctx.baseUrl}/v1.0/$metadata#users('${mailbox.user.id}')/messages('${id}')/attachments`;
    out.attachments = message.attachments.map((a) => renderAttachment(a));
  }
  return out;
}

export function renderFolder(mailbox: Mailbox, folder: MailFolder): Record<string, unknown> {
  const inFolder = [...mailbox.messages.values()].filter((m) => m.folderId === folder.id);
  const children = [...mailbox.folders.values()].filter((f) => f.parentFolderId === folder.id && !f.isHidden);
  return {
    id: folder.id,
    displayName: folder.displayName,
    parentFolderId: folder.parentFolderId,
    childFolderCount: children.length,
    unreadItemCount: inFolder.filter((m) => !m.isRead).length,
    totalItemCount: inFolder.length,
    sizeInBytes: inFolder.reduce((n, m) => n + (m.raw?.length ?? m.body.content.length), 0),
    isHidden: folder.isHidden,
  };
}
