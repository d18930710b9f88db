/** users.getProfile, users.watch/stop, users.history.list, users.labels.*, users.threads.get/list. */
import express, { type Router } from 'express';
import { many, op, pageSize, param, type GmailContext } from './context';
import { invalidArgument, notFound, sendGoogleError } from './errors';
import { matching } from './routes-messages';
import { renderMessage, type MessageFormat } from './render';
import type { HistoryKind, HistoryRecord, Mailbox } from './store';

const HISTORY_FIELDS: Record<HistoryKind, 'messagesAdded' | 'messagesDeleted' | 'labelsAdded' | 'labelsRemoved'> = {
  messageAdded: 'messagesAdded',
  messageDeleted: 'messagesDeleted',
  labelAdded: 'labelsAdded',
  labelRemoved: 'labelsRemoved',
};

/** A record as history.list returns it, keeping only the requested kinds; undefined when nothing is left. */
function shapeRecord(record: HistoryRecord, kinds: HistoryKind[], labelId?: string) {
  const fields = (kinds.length ? kinds : (Object.keys(HISTORY_FIELDS) as HistoryKind[])).map((k) => HISTORY_FIELDS[k]);
  const out: Record<string, unknown> = { id: String(record.id), messages: record.messages };
  let any = false;
  for (const field of fields) {
    const entries = (record[field] ?? []).filter(
      (e) => !labelId || e.message.labelIds.includes(labelId) || ('labelIds' in e && (e.labelIds as string[]).includes(labelId)),
    );
    if (entries.length) {
      out[field] = entries;
      any = true;
    }
  }
  return any ? out : undefined;
}

function labelCounts(mailbox: Mailbox, labelId: string) {
  const messages = [...mailbox.messages.values()].filter((m) => m.labelIds.has(labelId));
  const unread = messages.filter((m) => m.labelIds.has('UNREAD'));
  return {
    messagesTotal: messages.length,
    messagesUnread: unread.length,
    threadsTotal: new Set(messages.map((m) => m.threadId)).size,
    threadsUnread: new Set(unread.map((m) => m.threadId)).size,
  };
}

export function mailboxRoutes(ctx: GmailContext): Router {
  const router = express.Router();

  router.get(
    '/users/:userId/profile',
    op(ctx, 'users.getProfile', (_req, res, mailbox) => {
      res.json({
        emailAddress: mailbox.email,
        messagesTotal: mailbox.messages.size,
        threadsTotal: mailbox.threadsTotal(),
        historyId: String(mailbox.historyId),
      });
    }),
  );

  router.post(
    '/users/:userId/watch',
    op(ctx, 'users.watch', (req, res, mailbox) => {
      const body = (req.body ?? {}) as { topicName?: string; labelIds?: string[]; labelFilterAction?: string; labelFilterBehavior?: string };
      if (!body.topicName || !/^projects\/[^/]+\/topics\/[^/]+$/.test(body.topicName)) {
        return invalidArgument(res, 'Invalid topicName does not match projects/SOME-PROJECT/topics/SOME-TOPIC');
      }
      const watch = ctx.push.watch(mailbox, { ...body, topicName: body.topicName });
      res.json({ historyId: String(mailbox.historyId), expiration: String(watch.expiration) });
    }),
  );

  router.post(
    '/users/:userId/stop',
    op(ctx, 'users.stop', (_req, res, mailbox) => {
      ctx.push.stop(mailbox.email);
      res.status(204).end();
    }),
  );

  router.get(
    '/users/:userId/history',
    op(ctx, 'history.list', (req, res, mailbox) => {
      const start = Number(req.query.startHistoryId);
      if (!req.query.startHistoryId || !Number.isSafeInteger(start)) {
        return invalidArgument(res, 'Invalid startHistoryId');
      }
      // An id older than the kept history answers 404 notFound: the client must do a full sync.
      if (start < mailbox.historyFloor) return notFound(res);
      const kinds = many(req.query.historyTypes) as HistoryKind[];
      if (kinds.some((k) => !(k in HISTORY_FIELDS))) return invalidArgument(res, `Invalid value for historyTypes`);
      const size = pageSize(req.query.maxResults, 100, 500);
      const after = req.query.pageToken ? Number(Buffer.from(String(req.query.pageToken), 'base64url').toString()) : start;
      if (!Number.isSafeInteger(after)) return invalidArgument(res, 'Invalid pageToken');
      const labelId = req.query.labelId as string | undefined;
      const page: Array<Record<string, unknown>> = [];
      let lastId = after;
      let more = false;
      for (const record of mailbox.history) {
        if (record.id <= after) continue;
        if (page.length === size) {
          more = true;
          break;
        }
        lastId = record.id;
        const shaped = shapeRecord(record, kinds, labelId);
        if (shaped) page.push(shaped);
      }
      res.json({
        ...(page.length ? { history: page } : {}),
        ...(more ? { nextPageToken: Buffer.from(String(lastId)).toString('base64url') } : {}),
        historyId: String(mailbox.historyId),
      });
    }),
  );

  router.get(
    '/users/:userId/labels',
    op(ctx, 'labels.list', (_req, res, mailbox) => {
      res.json({ labels: [...mailbox.labels.values()] });
    }),
  );

  router.get(
    '/users/:userId/labels/:id',
    op(ctx, 'labels.get', (req, res, mailbox) => {
      const label = mailbox.labels.get(param(req, 'id'));
      if (!label) return notFound(res);
      res.json({ ...label, ...labelCounts(mailbox, label.id) });
    }),
  );

  router.post(
    '/users/:userId/labels',
    op(ctx, 'labels.create', (req, res, mailbox) => {
      const body = (req.body ?? {}) as {
        name?: string;
        messageListVisibility?: 'show' | 'hide';
        labelListVisibility?: 'labelShow' | 'labelShowIfUnread' | 'labelHide';
      };
      if (!body.name?.trim()) return invalidArgument(res, 'Invalid label name');
      const label = mailbox.createLabel(body.name.trim(), body);
      if (!label) return sendGoogleError(res, 409, 'Label name exists or conflicts', { reason: 'conflict' });
      res.json(label);
    }),
  );

  router.get(
    '/users/:userId/threads',
    op(ctx, 'threads.list', (req, res, mailbox) => {
      const seen = new Set<string>();
      const threads = matching(mailbox, req.query).filter((m) => !seen.has(m.threadId) && seen.add(m.threadId));
      const size = pageSize(req.query.maxResults, 100, 500);
      const offset = req.query.pageToken ? Number(Buffer.from(String(req.query.pageToken), 'base64url').toString()) : 0;
      const page = threads.slice(offset, offset + size).map((m) => {
        const all = mailbox.thread(m.threadId);
        const latest = all[all.length - 1];
        return { id: m.threadId, snippet: latest.snippet, historyId: String(Math.max(...all.map((x) => x.historyId))) };
      });
      res.json({
        ...(page.length ? { threads: page } : {}),
        ...(offset + size < threads.length ? { nextPageToken: Buffer.from(String(offset + size)).toString('base64url') } : {}),
        resultSizeEstimate: threads.length,
      });
    }),
  );

  router.get(
    '/users/:userId/threads/:id',
    op(ctx, 'threads.get', (req, res, mailbox) => {
      const messages = mailbox.thread(param(req, 'id'));
      if (messages.length === 0) return notFound(res);
      const format = String(req.query.format ?? 'full') as MessageFormat;
      res.json({
        id: param(req, 'id'),
        historyId: String(Math.max(...messages.map((m) => m.historyId))),
        messages: messages.map((m) => renderMessage(m, format, many(req.query.metadataHeaders))),
      });
    }),
  );

  return router;
}
