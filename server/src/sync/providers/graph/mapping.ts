/**
 * Graph `message` JSON → RemoteMessage with `content.kind = 'parsed'`: the same ParsedMessage shape the MIME parser
 * produces (ingest/parse.ts), so everything downstream is one path for both providers. Pure.
 *
 * Graph facts used here (https://learn.microsoft.com/graph/api/resources/message):
 * - `internetMessageHeaders` is returned only when selected, and only for received mail; In-Reply-To and
 *   References come from there (absent for items composed in the mailbox: threading then relies on conversationId).
 * - `body` is HTML or text as stored; the text rendering is derived here for HTML bodies.
 * - Attachment metadata comes from `$expand=attachments($select=...)` without contentBytes; the Graph attachment id
 *   is carried in `partId`, which is what fetchAttachment takes for a Graph copy.
 */
import { createHash } from 'node:crypto';
import sanitizeHtml from 'sanitize-html';
import { normaliseAddress } from '../../../mail/address';
import type { AttachmentMeta, ParsedAddress, ParsedMessage } from '../../../mail/message';
import { normaliseMessageId } from '../../../mail/message-id';
import type { MessageFlags, RemoteMessage } from '../port';
import type { FolderKind } from './folders';

export interface GraphRecipient {
  emailAddress?: { name?: string | null; address?: string | null } | null;
}

export interface GraphAttachment {
  '@odata.type'?: string;
  id: string;
  name?: string | null;
  contentType?: string | null;
  size?: number | null;
  isInline?: boolean | null;
  contentId?: string | null;
}

export interface GraphMessage {
  id: string;
  '@removed'?: { reason?: string };
  internetMessageId?: string | null;
  conversationId?: string | null;
  subject?: string | null;
  from?: GraphRecipient | null;
  sender?: GraphRecipient | null;
  toRecipients?: GraphRecipient[] | null;
  ccRecipients?: GraphRecipient[] | null;
  bccRecipients?: GraphRecipient[] | null;
  replyTo?: GraphRecipient[] | null;
  receivedDateTime?: string | null;
  sentDateTime?: string | null;
  createdDateTime?: string | null;
  body?: { contentType?: string | null; content?: string | null } | null;
  bodyPreview?: string | null;
  isRead?: boolean | null;
  isDraft?: boolean | null;
  flag?: { flagStatus?: string | null } | null;
  categories?: string[] | null;
  parentFolderId?: string | null;
  hasAttachments?: boolean | null;
  internetMessageHeaders?: { name: string; value: string }[] | null;
  attachments?: GraphAttachment[] | null;
}

/** What every content fetch selects: the mapping below reads exactly these. */
export const MESSAGE_SELECT = [
  'id',
  'internetMessageId',
  'conversationId',
  'subject',
  'from',
  'sender',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'receivedDateTime',
  'sentDateTime',
  'createdDateTime',
  'body',
  'bodyPreview',
  'isRead',
  'isDraft',
  'flag',
  'categories',
  'parentFolderId',
  'hasAttachments',
  'internetMessageHeaders',
].join(',');
/** Metadata only: contentBytes is fetched on demand (fetchAttachment). */
export const ATTACHMENTS_EXPAND = 'attachments($select=id,name,contentType,size,isInline,contentId)';

const SNIPPET_CHARS = 200;
const MAX_REFERENCES = 100;
const MAX_TEXT_CHARS = 1_000_000;
const MAX_HTML_CHARS = 2_000_000;

function address(r: GraphRecipient | null | undefined): ParsedAddress | null {
  const email = normaliseAddress(r?.emailAddress?.address ?? null);
  if (!email) return null;
  const name = (r?.emailAddress?.name ?? '').replace(/\s+/g, ' ').trim();
  // Graph repeats the address as the name when there is none; ParsedMessage says '' for "no name".
  return { email, name: name.toLowerCase() === email ? '' : name.slice(0, 256) };
}

function addresses(list: (GraphRecipient | null | undefined)[] | null | undefined): ParsedAddress[] {
  const seen = new Set<string>();
  const out: ParsedAddress[] = [];
  for (const r of list ?? []) {
    const a = address(r);
    if (!a || seen.has(a.email)) continue;
    seen.add(a.email);
    out.push(a);
  }
  return out;
}

function header(m: GraphMessage, name: string): string | null {
  const found = (m.internetMessageHeaders ?? []).find((h) => h.name.toLowerCase() === name);
  return found ? found.value.replace(/\r?\n[ \t]+/g, ' ').trim() : null;
}

function messageIds(value: string | null): string[] {
  if (!value) return [];
  const tokens = [...value.matchAll(/<[^<>]*>/g)].map((t) => t[0]);
  const ids = (tokens.length ? tokens : value.split(/[\s,]+/)).map((t) => normaliseMessageId(t)).filter((v): v is string => v !== null);
  return [...new Set(ids)];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/** HTML → readable text for snippets, dedup keys and search: block ends become line breaks, tags go, entities decode. */
export function htmlToText(html: string): string {
  const marked = html.replace(/<(br|\/p|\/div|\/tr|\/li|\/h[1-6])\b[^>]*>/gi, '$&\n');
  const stripped = sanitizeHtml(marked, {
    allowedTags: [],
    allowedAttributes: {},
    nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'head', 'title'],
  });
  return stripped
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+|#39);/gi, (whole, entity: string) => {
      if (entity[0] === '#') {
        const code = entity[1]?.toLowerCase() === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[entity.toLowerCase()] ?? whole;
    })
    .replace(/\u00a0/g, ' ')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function snippetOf(preview: string | null | undefined, text: string): string {
  const collapsed = (preview ?? text.slice(0, SNIPPET_CHARS * 8)).replace(/\s+/g, ' ').trim();
  const chars = Array.from(collapsed);
  return chars.length <= SNIPPET_CHARS ? collapsed : `${chars.slice(0, SNIPPET_CHARS).join('').trimEnd()}…`;
}

function attachmentsOf(m: GraphMessage): AttachmentMeta[] {
  return (m.attachments ?? []).map((a) => ({
    partId: a.id,
    // No bytes were fetched, so no checksum: the copy's attachments are identified by Graph id (partId).
    checksum: '',
    filename: a.name ?? null,
    mimeType: (a.contentType || 'application/octet-stream').toLowerCase(),
    size: a.size ?? 0,
    contentId: a.contentId ? a.contentId.replace(/^\s*<|>\s*$/g, '').trim() || null : null,
    inline: a.isInline === true,
  }));
}

export function toParsedMessage(m: GraphMessage): ParsedMessage {
  const messageId = normaliseMessageId(m.internetMessageId);
  let references = messageIds(header(m, 'references'));
  const warnings: ParsedMessage['warnings'] = [];
  if (references.length > MAX_REFERENCES) {
    references = [references[0] as string, ...references.slice(-(MAX_REFERENCES - 1))];
    warnings.push('references_truncated');
  }
  const isHtml = (m.body?.contentType ?? '').toLowerCase() === 'html';
  const content = m.body?.content ?? '';
  let html = isHtml ? content : null;
  if (html !== null && html.length > MAX_HTML_CHARS) {
    html = html.slice(0, MAX_HTML_CHARS);
    warnings.push('html_truncated');
  }
  let text = isHtml ? htmlToText(content) : content;
  if (text.length > MAX_TEXT_CHARS) {
    text = text.slice(0, MAX_TEXT_CHARS);
    warnings.push('text_truncated');
  }
  const sent = m.sentDateTime ? new Date(m.sentDateTime) : null;
  const received = m.receivedDateTime ? new Date(m.receivedDateTime) : null;
  const date = sent && !Number.isNaN(sent.getTime()) ? sent : received && !Number.isNaN(received.getTime()) ? received : null;
  if (!sent) warnings.push('date_missing');
  const attachments = attachmentsOf(m);
  return {
    messageId,
    inReplyTo: messageIds(header(m, 'in-reply-to'))[0] ?? null,
    references,
    subject: (m.subject ?? '').trim(),
    from: addresses([m.from ?? m.sender]),
    replyTo: addresses(m.replyTo),
    to: addresses(m.toRecipients),
    cc: addresses(m.ccRecipients),
    bcc: addresses(m.bccRecipients),
    date,
    dateSource: date === null ? 'none' : date === sent ? 'header' : 'fallback',
    text,
    html,
    snippet: snippetOf(m.bodyPreview, text),
    attachments,
    headers: {
      listId: header(m, 'list-id'),
      listUnsubscribe: header(m, 'list-unsubscribe'),
      autoSubmitted: header(m, 'auto-submitted'),
      precedence: header(m, 'precedence'),
    },
    // Graph v1.0 does not expose the MIME size: body plus attachments is the closest figure it gives.
    sizeBytes: Buffer.byteLength(content) + attachments.reduce((n, a) => n + a.size, 0),
    tooLarge: false,
    malformed: false,
    malformedReason: null,
    // The dedup key's last resort when there is no Message-ID: stable per copy (the immutable id), never shared.
    rawSha256: messageId === null ? createHash('sha256').update(`graph:${m.id}`).digest('hex') : null,
    warnings,
    // Exchange decoded the MIME itself; Graph gives text, never the bytes behind it.
    decoding: [],
  };
}

export function flagsOf(m: GraphMessage, kind: FolderKind | null): MessageFlags {
  return {
    read: m.isRead === true,
    starred: m.flag?.flagStatus === 'flagged',
    archived: kind === 'archive',
    deleted: kind === 'deleteditems',
  };
}

/** The folder's kind comes from the caller's folder map (null: a folder outside sync scope). */
export function toRemoteMessage(m: GraphMessage, kind: FolderKind | null): RemoteMessage {
  const received = m.receivedDateTime ? new Date(m.receivedDateTime) : new Date(NaN);
  return {
    providerMessageId: m.id,
    providerThreadId: m.conversationId ?? null,
    labels: [...(m.categories ?? [])],
    folderId: m.parentFolderId ?? null,
    flags: flagsOf(m, kind),
    receivedAt: Number.isNaN(received.getTime()) ? new Date(m.sentDateTime ?? m.createdDateTime ?? 0) : received,
    content: { kind: 'parsed', parsed: toParsedMessage(m) },
  };
}
