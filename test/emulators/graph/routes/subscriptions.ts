/**
 * `/subscriptions`: create (with the validation handshake), list, get, renew (PATCH), delete, reauthorize
 * (https://learn.microsoft.com/graph/api/resources/subscription). Mail resources only: `me/messages` and
 * `me/mailFolders('{id or well-known name}')/messages` (or the `users/{id}` forms).
 */
import { Router, type Response } from 'express';
import { bodyOf, graphLocals, handle, type RouteDeps } from '../context';
import type { ChangeType, Notifier, Subscription } from '../notifications';
import { badRequest } from '../odata';
import { GraphError } from '../store';

const CHANGE_TYPES: ChangeType[] = ['created', 'updated', 'deleted'];

function render(baseUrl: string, sub: Subscription): Record<string, unknown> {
  return {
    '@odata.context': `${baseUrl}/v1.0/$metadata#subscriptions/$entity`,
    id: sub.id,
    resource: sub.resource,
    applicationId: sub.clientId,
    changeType: sub.changeTypes.join(','),
    clientState: sub.clientState,
    notificationUrl: sub.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: sub.lifecycleNotificationUrl,
    expirationDateTime: sub.expirationDateTime,
    creatorId: sub.address,
    includeResourceData: false,
    latestSupportedTlsVersion: 'v1_2',
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  };
}

export function subscriptionRoutes({ store, baseUrl }: RouteDeps, notifier: Notifier): Router {
  const router = Router();
  const mine = (res: Response, id: string): Subscription => {
    const sub = notifier.get(id);
    const { mailbox, auth } = graphLocals(res);
    if (!sub || sub.address.toLowerCase() !== mailbox.user.address.toLowerCase() || sub.clientId !== auth.clientId) {
      throw new GraphError(404, 'ResourceNotFound', `The object was not found.`);
    }
    return sub;
  };

  router.post(
    '/subscriptions',
    handle(async (req, res) => {
      const { mailbox, auth, prefs } = graphLocals(res);
      const body = bodyOf(req);
      const resource = typeof body.resource === 'string' ? body.resource : '';
      const match = /^\/?(?:me|users\/[^/]+)\/(?:mailfolders(?:\('([^']+)'\)|\/([^/]+))\/)?messages$/i.exec(resource);
      if (!match) throw badRequest(`Unsupported resource '${resource}': only me/messages and me/mailFolders('{id}')/messages are emulated.`, 'InvalidRequest');
      const folderRef = match[1] ?? match[2];
      const folderId = folderRef ? store.requireFolder(mailbox, folderRef).id : null;
      const changeTypes = String(body.changeType ?? '')
        .split(',')
        .map((s) => s.trim());
      if (!changeTypes.length || changeTypes.some((c) => !CHANGE_TYPES.includes(c as ChangeType))) {
        throw badRequest("Missing or invalid property 'changeType'.", 'InvalidRequest');
      }
      const url = (value: unknown, field: string, required: boolean): string | null => {
        if (value === undefined || value === null) {
          if (required) throw badRequest(`Missing property '${field}'.`, 'InvalidRequest');
          return null;
        }
        if (typeof value !== 'string' || !/^https?:\/\//.test(value)) throw badRequest(`Invalid '${field}'.`, 'InvalidRequest');
        return value;
      };
      const clientState = typeof body.clientState === 'string' ? body.clientState : null;
      if (clientState && clientState.length > 128) throw badRequest('clientState is limited to 128 characters.', 'InvalidRequest');
      const sub = await notifier.create({
        address: mailbox.user.address,
        tenantId: mailbox.user.tenantId,
        clientId: auth.clientId,
        resource,
        folderId,
        changeTypes: changeTypes as ChangeType[],
        notificationUrl: url(body.notificationUrl, 'notificationUrl', true) as string,
        lifecycleNotificationUrl: url(body.lifecycleNotificationUrl, 'lifecycleNotificationUrl', false),
        clientState,
        expirationDateTime: notifier.checkExpiration(body.expirationDateTime),
        immutableIds: prefs.immutableIds,
      });
      res.status(201).json(render(baseUrl(), sub));
    }),
  );
  router.get(
    '/subscriptions',
    handle((_req, res) => {
      const { mailbox, auth } = graphLocals(res);
      const value = notifier
        .list(mailbox.user.address)
        .filter((s) => s.clientId === auth.clientId)
        .map((s) => render(baseUrl(), s));
      res.json({ '@odata.context': `${baseUrl()}/v1.0/$metadata#subscriptions`, value });
    }),
  );
  router.get(
    '/subscriptions/:id',
    handle((req, res) => {
      res.json(render(baseUrl(), mine(res, req.params.id as string)));
    }),
  );
  router.patch(
    '/subscriptions/:id',
    handle((req, res) => {
      const sub = mine(res, req.params.id as string);
      sub.expirationDateTime = notifier.checkExpiration(bodyOf(req).expirationDateTime);
      // Renewing also reauthorizes (change-notifications-lifecycle-events).
      sub.needsReauthorization = false;
      res.json(render(baseUrl(), sub));
    }),
  );
  router.post(
    '/subscriptions/:id/reauthorize',
    handle((req, res) => {
      mine(res, req.params.id as string).needsReauthorization = false;
      res.status(204).end();
    }),
  );
  router.delete(
    '/subscriptions/:id',
    handle((req, res) => {
      notifier.remove(mine(res, req.params.id as string).id);
      res.status(204).end();
    }),
  );
  return router;
}
