/**
 * Messages: list (per folder and `/me/messages`), get ($select, $expand=attachments, $value), create draft,
 * patch, delete, move, copy, permanentDelete (https://learn.microsoft.com/graph/api/resources/message).
 */
import { Router, type Request, type Response } from 'express';
import { BODY_FIELDS, draftFields, newMessageFrom } from '../compose';
import { bodyOf, graphLocals, handle, type RouteDeps } from '../context';
import { regularIdOf } from '../ids';
import { mimeOf } from '../mime';
import { badRequest, intParam, parseFilter, queryString, selectList, selfLink } from '../odata';
import { renderMessage, type RenderContext } from '../render';
import { GraphError, RECOVERABLE_DELETIONS } from '../store';
import type { FlagStatus, StoredMessage } from '../types';

const FLAG_STATUSES: FlagStatus[] = ['notFlagged', 'flagged', 'complete'];
/** What PATCH may change on a message that is not a draft. */
const STATE_FIELDS = new Set(['isRead', 'flag', 'categories', 'importance', 'inferenceClassification', 'singleValueExtendedProperties']);

export function renderContext(req: Request, res: Response, baseUrl: string): RenderContext {
  const expand = queryString(req, '$expand') ?? '';
  return {
    baseUrl,
    prefs: graphLocals(res).prefs,
    select: selectList(queryString(req, '$select')),
    expandAttachments: /(^|,)\s*attachments\b/i.test(expand),
  };
}

export function messageRoutes({ store, baseUrl, log }: RouteDeps): Router {
  const router = Router();
  const single = (req: Request, res: Response, message: StoredMessage, status = 200): void => {
    const { mailbox } = graphLocals(res);
    res.status(status).json({
      '@odata.context': `${baseUrl()}/v1.0/$metadata#users('${mailbox.user.id}')/messages/$entity`,
      ...renderMessage(mailbox, message, renderContext(req, res, baseUrl())),
    });
  };

  const list = (folderParam: string | null) =>
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const folder = folderParam === null ? null : store.requireFolder(mailbox, req.params[folderParam] as string);
      const hidden = new Set([...mailbox.folders.values()].filter((f) => f.isHidden).map((f) => f.id));
      let items = [...mailbox.messages.values()].filter((m) => (folder ? m.folderId === folder.id : !hidden.has(m.folderId)));
      const filter = parseFilter(queryString(req, '$filter'));
      if (filter) items = items.filter(filter);
      const order = (queryString(req, '$orderby') ?? 'receivedDateTime desc').trim();
      const match = /^(receivedDateTime|sentDateTime|createdDateTime|lastModifiedDateTime)(\s+(asc|desc))?$/i.exec(order);
      if (!match) throw badRequest(`Unsupported $orderby: ${order}`);
      const key = (match[1] ?? 'receivedDateTime') as 'receivedDateTime';
      const sign = match[3]?.toLowerCase() === 'asc' ? 1 : -1;
      items.sort((a, b) => sign * (Date.parse(a[key] ?? '') - Date.parse(b[key] ?? '')));
      // Default page size for messages is 10; $top goes up to 1000 (https://learn.microsoft.com/graph/paging).
      const top = intParam(req, '$top', graphLocals(res).prefs.maxPageSize ?? 10, 1000);
      const skip = intParam(req, '$skip', 0, Number.MAX_SAFE_INTEGER);
      const ctx = renderContext(req, res, baseUrl());
      res.json({
        '@odata.context': `${baseUrl()}/v1.0/$metadata#users('${mailbox.user.id}')/messages`,
        ...(queryString(req, '$count') === 'true' ? { '@odata.count': items.length } : {}),
        value: items.slice(skip, skip + top).map((m) => renderMessage(mailbox, m, ctx)),
        ...(skip + top < items.length ? { '@odata.nextLink': selfLink(req, baseUrl(), { $skip: String(skip + top) }) } : {}),
      });
    });

  const createDraft = (folderParam: string | null) =>
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const folder = store.requireFolder(mailbox, folderParam === null ? 'drafts' : (req.params[folderParam] as string));
      const owner = { emailAddress: { name: mailbox.user.displayName, address: mailbox.user.address } };
      const message = store.insert(mailbox, folder.id, newMessageFrom(bodyOf(req), owner));
      log.add({ address: mailbox.user.address, action: 'createDraft', messageId: message.immutableId, internetMessageId: message.internetMessageId });
      single(req, res, message, 201);
    });

  router.get('/me/messages', list(null));
  router.post('/me/messages', createDraft(null));
  router.get('/me/mailFolders/:folderId/messages', list('folderId'));
  router.post('/me/mailFolders/:folderId/messages', createDraft('folderId'));

  // The same item routes answer under /me/messages/{id} and /me/mailFolders/{folder}/messages/{id}.
  const item = Router({ mergeParams: true });
  const found = (req: Request, res: Response): StoredMessage => store.requireMessage(graphLocals(res).mailbox, req.params.messageId as string);

  item.get(
    '/',
    handle((req, res) => single(req, res, found(req, res))),
  );
  item.get(
    '/$value',
    handle(async (req, res) => {
      res.type('message/rfc822').send(await mimeOf(found(req, res)));
    }),
  );
  item.patch(
    '/',
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const message = found(req, res);
      const input = bodyOf(req);
      const patch: Partial<StoredMessage> = message.isDraft ? draftFields(input) : {};
      // Extended properties may be set on any item; PATCHing them adds or replaces those named, the others stay.
      const extended = draftFields({ singleValueExtendedProperties: input.singleValueExtendedProperties }).extendedProperties;
      if (extended) patch.extendedProperties = { ...message.extendedProperties, ...extended };
      for (const key of Object.keys(input)) {
        if (!STATE_FIELDS.has(key) && !(message.isDraft && (BODY_FIELDS as readonly string[]).includes(key))) {
          throw new GraphError(400, 'ErrorInvalidPropertyUpdateSentMessage', `Update operation is not supported for property '${key}' on this item.`);
        }
      }
      if ('isRead' in input) {
        if (typeof input.isRead !== 'boolean') throw badRequest('isRead must be a boolean.');
        patch.isRead = input.isRead;
      }
      if ('flag' in input) {
        const status = (input.flag as { flagStatus?: unknown } | null)?.flagStatus;
        if (!FLAG_STATUSES.includes(status as FlagStatus)) throw badRequest(`Invalid flagStatus: ${String(status)}`);
        patch.flag = { flagStatus: status as FlagStatus };
      }
      if ('categories' in input) {
        if (!Array.isArray(input.categories) || input.categories.some((c) => typeof c !== 'string')) throw badRequest('categories must be strings.');
        patch.categories = [...(input.categories as string[])];
      }
      if (input.importance === 'low' || input.importance === 'normal' || input.importance === 'high') patch.importance = input.importance;
      // internetMessageId: "Updatable only if isDraft = true" (https://learn.microsoft.com/graph/api/message-update);
      // on a sent item the loop above already refused it, as Exchange refuses any draft-only property there.
      if ('internetMessageId' in input) {
        if (typeof input.internetMessageId !== 'string' || !/^<[^<>\s]+@[^<>\s]+>$/.test(input.internetMessageId.trim())) {
          throw badRequest('internetMessageId must be a Message-ID in the RFC 2822 form <id@domain>.', 'ErrorInvalidInternetMessageId');
        }
        if (!mailbox.assignsOwnMessageIds) patch.internetMessageId = input.internetMessageId.trim();
      }
      store.update(mailbox, message, patch);
      log.add({ address: mailbox.user.address, action: 'patch', messageId: message.immutableId, internetMessageId: message.internetMessageId, detail: input });
      single(req, res, message);
    }),
  );
  item.delete(
    '/',
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const message = found(req, res);
      store.move(mailbox, message, store.requireFolder(mailbox, RECOVERABLE_DELETIONS).id);
      log.add({ address: mailbox.user.address, action: 'delete', messageId: message.immutableId, internetMessageId: message.internetMessageId });
      res.status(204).end();
    }),
  );
  item.post(
    '/permanentDelete',
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const message = found(req, res);
      store.purge(mailbox, message);
      log.add({ address: mailbox.user.address, action: 'permanentDelete', messageId: message.immutableId, internetMessageId: message.internetMessageId });
      res.status(204).end();
    }),
  );
  for (const action of ['move', 'copy'] as const) {
    item.post(
      `/${action}`,
      handle((req, res) => {
        const { mailbox } = graphLocals(res);
        const message = found(req, res);
        const destinationId = bodyOf(req).destinationId ?? bodyOf(req).DestinationId;
        if (typeof destinationId !== 'string') throw badRequest('destinationId is required.', 'ErrorInvalidRequest');
        const destination = store.requireFolder(mailbox, destinationId);
        const fromRegularId = regularIdOf(message);
        const result = action === 'move' ? store.move(mailbox, message, destination.id) : store.copy(mailbox, message, destination.id);
        log.add({
          address: mailbox.user.address,
          action,
          messageId: message.immutableId,
          internetMessageId: message.internetMessageId,
          detail: { destinationId: destination.id, wellKnownName: destination.wellKnownName, fromRegularId },
        });
        // Both answer 201 with the item as it now stands in the destination folder.
        single(req, res, result, 201);
      }),
    );
  }
  router.use('/me/messages/:messageId', item);
  router.use('/me/mailFolders/:folderId/messages/:messageId', item);
  return router;
}
