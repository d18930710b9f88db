/** users.messages.*: list, get, send, insert, import, modify, batchModify, trash, untrash, delete, attachments.get. */
import express, { type Request, type Response, type Router } from 'express';
import { decodeRaw, deliver, sendMessage } from './compose';
import { many, op, pageSize, param, type GmailContext } from './context';
import { invalidArgument, notFound } from './errors';
import { findPart, parseMime } from './mime';
import { parseQuery } from './query';
import { encodePageToken, pageStart, messageRef, parseAttachmentId, renderMessage, type MessageFormat } from './render';
import type { Mailbox, StoredMessage } from './store';

const FORMATS = new Set(['full', 'metadata', 'minimal', 'raw']);
/** Labels the API may not add or remove by modify: Gmail sets them itself. */
const RESERVED = new Set(['SENT', 'DRAFT', 'CHAT']);

/** A list request's filters (q, labelIds, includeSpamTrash), and what its result count depends on. */
interface ListFilter {
  accepts(m: StoredMessage): boolean;
  /** The same for every request with these filters while the mailbox is unchanged; null when they move with the clock. */
  key: string | null;
}

function listFilter(mailbox: Mailbox, query: Request['query']): ListFilter {
  const q = parseQuery(mailbox, query.q as string | undefined);
  const labelIds = many(query.labelIds);
  const withSpamTrash = String(query.includeSpamTrash) === 'true' || q.mentionsSpamTrash || labelIds.some((l) => l === 'TRASH' || l === 'SPAM');
  return {
    accepts: (m) => (withSpamTrash || (!m.labelIds.has('TRASH') && !m.labelIds.has('SPAM'))) && labelIds.every((l) => m.labelIds.has(l)) && q.matches(m),
    key: q.relativeToNow ? null : JSON.stringify([query.q ?? '', labelIds, withSpamTrash]),
  };
}

/** Messages matching list/search filters, newest first. Shared with threads.list. */
export function matching(mailbox: Mailbox, query: Request['query']): StoredMessage[] {
  return mailbox.newestFirst().filter(listFilter(mailbox, query).accepts);
}

/**
 * resultSizeEstimate ("estimated total number of results", users.messages.list): counted over the whole mailbox
 * once per mailbox change (its historyId) and filter, so paging through a large mailbox does not count it again on
 * every page; filters relative to now are counted each time.
 */
const estimates = new WeakMap<Mailbox, { key: string; historyId: number; count: number }>();
function resultSizeEstimate(mailbox: Mailbox, filter: ListFilter): number {
  const cached = estimates.get(mailbox);
  if (cached && cached.key === filter.key && cached.historyId === mailbox.historyId) return cached.count;
  let count = 0;
  for (const m of mailbox.newestFirst()) if (filter.accepts(m)) count += 1;
  if (filter.key !== null) estimates.set(mailbox, { key: filter.key, historyId: mailbox.historyId, count });
  return count;
}

function checkLabels(res: Response, mailbox: Mailbox, ids: string[], forModify: boolean): boolean {
  const bad = ids.find((id) => !mailbox.labels.has(id) || (forModify && RESERVED.has(id)));
  if (bad) invalidArgument(res, `Invalid label: ${bad}`);
  return !bad;
}

function found(res: Response, mailbox: Mailbox, id: string): StoredMessage | undefined {
  const message = mailbox.messages.get(id);
  if (!message) notFound(res);
  return message;
}

/** Body of send/insert/import: JSON `{raw, threadId, labelIds}`, or an /upload request (media or multipart). */
function readMessageRequest(req: Request): { raw?: Buffer; threadId?: string; labelIds?: string[] } {
  if (!Buffer.isBuffer(req.body)) {
    const body = (req.body ?? {}) as { raw?: string; threadId?: string; labelIds?: string[] };
    return { raw: body.raw ? decodeRaw(body.raw) : undefined, threadId: body.threadId, labelIds: body.labelIds };
  }
  if (req.query.uploadType === 'multipart') {
    // multipart/related: JSON metadata, then the message/rfc822 part.
    const contentType = req.get('content-type') ?? '';
    const tree = parseMime(Buffer.concat([Buffer.from(`Content-Type: ${contentType}\r\n\r\n`), req.body]));
    const meta = tree.parts[0] ? (JSON.parse(tree.parts[0].content.toString() || '{}') as { threadId?: string; labelIds?: string[] }) : {};
    return { raw: tree.parts[1]?.content, threadId: meta.threadId, labelIds: meta.labelIds };
  }
  return { raw: req.body };
}

const sendHandler = (ctx: GmailContext) =>
  op(ctx, 'messages.send', (req, res, mailbox) => {
    const { raw, threadId } = readMessageRequest(req);
    if (!raw?.length) return invalidArgument(res, "'raw' RFC822 payload message string or uploading message via /upload/* URL required");
    const sent = sendMessage(ctx.state, mailbox, raw, threadId);
    res.json({ id: sent.id, threadId: sent.threadId, labelIds: [...sent.labelIds] });
  });

// insert skips sending and scanning; import runs "standard email delivery scanning". Both keep the given
// labels. internalDate comes from receipt (insert's default) or the Date header (import's default).
const addHandler = (ctx: GmailContext, name: 'messages.insert' | 'messages.import') =>
  op(ctx, name, (req, res, mailbox) => {
    const { raw, threadId, labelIds = [] } = readMessageRequest(req);
    if (!raw?.length) return invalidArgument(res, "'raw' RFC822 payload message string or uploading message via /upload/* URL required");
    if (!checkLabels(res, mailbox, labelIds, false)) return;
    const source = String(req.query.internalDateSource ?? (name === 'messages.import' ? 'dateHeader' : 'receivedTime'));
    const dateHeader = Date.parse(parseMime(raw).headers.find((h) => h.name.toLowerCase() === 'date')?.value ?? '');
    const internalDate = source === 'dateHeader' && Number.isFinite(dateHeader) ? dateHeader : Date.now();
    const message =
      threadId && mailbox.threadExists(threadId) ? mailbox.add({ raw, labelIds, internalDate, threadId }) : deliver(mailbox, raw, labelIds, internalDate);
    res.json({ id: message.id, threadId: message.threadId, labelIds: [...message.labelIds] });
  });

/** Media uploads of send/insert/import (`/upload/gmail/v1/...`, what the client does when given `media`). */
export function uploadRoutes(ctx: GmailContext): Router {
  const router = express.Router();
  const base = '/users/:userId/messages';
  const upload = express.raw({ type: () => true, limit: '60mb' });
  router.post(`${base}/send`, upload, sendHandler(ctx));
  router.post(base, upload, addHandler(ctx, 'messages.insert'));
  router.post(`${base}/import`, upload, addHandler(ctx, 'messages.import'));
  return router;
}

export function messageRoutes(ctx: GmailContext): Router {
  const router = express.Router();
  const base = '/users/:userId/messages';

  router.get(
    base,
    op(ctx, 'messages.list', (req, res, mailbox) => {
      const filter = listFilter(mailbox, req.query);
      const size = pageSize(req.query.maxResults, 100, 500);
      const sorted = mailbox.newestFirst();
      const page: StoredMessage[] = [];
      let more = false;
      for (let i = pageStart(sorted, req.query.pageToken as string | undefined); i < sorted.length; i++) {
        if (!filter.accepts(sorted[i])) continue;
        if (page.length === size) {
          more = true;
          break;
        }
        page.push(sorted[i]);
      }
      // Empty lists are left out of the answer, as Gmail does: `{"resultSizeEstimate":0}`.
      res.json({
        ...(page.length ? { messages: page.map(messageRef) } : {}),
        ...(more ? { nextPageToken: encodePageToken(page[page.length - 1]) } : {}),
        resultSizeEstimate: resultSizeEstimate(mailbox, filter),
      });
    }),
  );

  router.get(
    `${base}/:id`,
    op(ctx, 'messages.get', (req, res, mailbox) => {
      const format = String(req.query.format ?? 'full');
      if (!FORMATS.has(format)) return invalidArgument(res, `Invalid value at 'format' (${format})`);
      const message = found(res, mailbox, param(req, 'id'));
      if (message) res.json(renderMessage(message, format as MessageFormat, many(req.query.metadataHeaders)));
    }),
  );

  router.get(
    `${base}/:messageId/attachments/:id`,
    op(ctx, 'messages.attachments.get', (req, res, mailbox) => {
      const message = found(res, mailbox, param(req, 'messageId'));
      if (!message) return;
      const ref = parseAttachmentId(param(req, 'id'));
      const part = ref && ref.messageId === message.id ? findPart(message.tree, ref.partId) : undefined;
      if (!part) return invalidArgument(res, 'Invalid attachment token');
      res.json({ attachmentId: param(req, 'id'), size: part.content.length, data: part.content.toString('base64url') });
    }),
  );

  router.post(`${base}/send`, sendHandler(ctx));
  router.post(base, addHandler(ctx, 'messages.insert'));
  router.post(`${base}/import`, addHandler(ctx, 'messages.import'));

  router.post(
    `${base}/batchModify`,
    op(ctx, 'messages.batchModify', (req, res, mailbox) => {
      const { ids = [], addLabelIds = [], removeLabelIds = [] } = (req.body ?? {}) as Record<string, string[] | undefined>;
      if (ids.length > 1000) return invalidArgument(res, 'Too many ids: at most 1000 are allowed per request');
      if (!checkLabels(res, mailbox, [...addLabelIds, ...removeLabelIds], true)) return;
      for (const id of ids) mailbox.modify(id, addLabelIds, removeLabelIds);
      ctx.state.modifications.push({ mailbox: mailbox.email, method: 'messages.batchModify', ids, addLabelIds, removeLabelIds, at: Date.now() });
      res.status(204).end();
    }),
  );

  router.post(
    `${base}/:id/modify`,
    op(ctx, 'messages.modify', (req, res, mailbox) => {
      const { addLabelIds = [], removeLabelIds = [] } = (req.body ?? {}) as Record<string, string[] | undefined>;
      if (!checkLabels(res, mailbox, [...addLabelIds, ...removeLabelIds], true)) return;
      const message = mailbox.modify(param(req, 'id'), addLabelIds, removeLabelIds);
      if (!message) return notFound(res);
      ctx.state.modifications.push({ mailbox: mailbox.email, method: 'messages.modify', ids: [message.id], addLabelIds, removeLabelIds, at: Date.now() });
      res.json({ id: message.id, threadId: message.threadId, labelIds: [...message.labelIds] });
    }),
  );

  // Trash is a label change (history shows labelsAdded TRASH); delete is permanent (messagesDeleted).
  for (const [verb, add, remove] of [
    ['trash', ['TRASH'], []],
    ['untrash', [], ['TRASH']],
  ] as const) {
    router.post(
      `${base}/:id/${verb}`,
      op(ctx, `messages.${verb}`, (req, res, mailbox) => {
        const message = mailbox.modify(param(req, 'id'), [...add], [...remove]);
        if (!message) return notFound(res);
        ctx.state.modifications.push({
          mailbox: mailbox.email,
          method: `messages.${verb}`,
          ids: [message.id],
          addLabelIds: [...add],
          removeLabelIds: [...remove],
          at: Date.now(),
        });
        res.json(renderMessage(message, 'minimal'));
      }),
    );
  }

  router.delete(
    `${base}/:id`,
    op(ctx, 'messages.delete', (req, res, mailbox) => {
      if (!mailbox.remove(param(req, 'id'))) return notFound(res);
      ctx.state.modifications.push({
        mailbox: mailbox.email,
        method: 'messages.delete',
        ids: [param(req, 'id')],
        addLabelIds: [],
        removeLabelIds: [],
        at: Date.now(),
      });
      res.status(204).end();
    }),
  );

  return router;
}
