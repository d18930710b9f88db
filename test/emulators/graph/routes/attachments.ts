/**
 * File attachments of a message: list, get (with contentBytes base64), `$value` (raw bytes), add
 * (https://learn.microsoft.com/graph/api/resources/fileattachment). Upload sessions for items over 3 MB are
 * not emulated: the product's attachments fit in one request.
 */
import { Router, type Request, type Response } from 'express';
import { attachmentFrom } from '../compose';
import { bodyOf, graphLocals, handle, type RouteDeps } from '../context';
import { renderAttachment } from '../render';
import { notFound } from '../store';
import type { StoredAttachment, StoredMessage } from '../types';

export function attachmentRoutes({ store, baseUrl, log }: RouteDeps): Router {
  const router = Router({ mergeParams: true });
  const message = (req: Request, res: Response): StoredMessage => store.requireMessage(graphLocals(res).mailbox, req.params.messageId as string);
  const attachment = (req: Request, res: Response): StoredAttachment => {
    const found = message(req, res).attachments.find((a) => a.id === req.params.attachmentId);
    if (!found) throw notFound();
    return found;
  };
  const context = (res: Response): string => `${baseUrl()}/v1.0/$metadata#users('${graphLocals(res).mailbox.user.id}')/messages/attachments`;

  router.get(
    '/',
    handle((req, res) => {
      res.json({ '@odata.context': context(res), value: message(req, res).attachments.map((a) => renderAttachment(a)) });
    }),
  );
  router.get(
    '/:attachmentId',
    handle((req, res) => {
      res.json({ '@odata.context': `${context(res)}/$entity`, ...renderAttachment(attachment(req, res)) });
    }),
  );
  router.get(
    '/:attachmentId/$value',
    handle((req, res) => {
      const found = attachment(req, res);
      res.type(found.contentType).send(found.content);
    }),
  );
  router.post(
    '/',
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const target = message(req, res);
      const added = attachmentFrom(bodyOf(req));
      store.update(mailbox, target, { attachments: [...target.attachments, added] });
      log.add({ address: mailbox.user.address, action: 'attach', messageId: target.immutableId, detail: { name: added.name, size: added.size } });
      res.status(201).json({ '@odata.context': `${context(res)}/$entity`, ...renderAttachment(added) });
    }),
  );
  return router;
}
