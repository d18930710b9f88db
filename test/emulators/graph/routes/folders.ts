/**
 * `/me` and mail folders: list, get by id or well-known name, childFolders, create
 * (https://learn.microsoft.com/graph/api/resources/mailfolder).
 */
import { Router } from 'express';
import { bodyOf, graphLocals, handle, type RouteDeps } from '../context';
import { badRequest, intParam, selfLink } from '../odata';
import { renderFolder } from '../render';

export function folderRoutes({ store, baseUrl }: RouteDeps): Router {
  const router = Router();

  router.get(
    '/me',
    handle((_req, res) => {
      const { user } = graphLocals(res).mailbox;
      res.json({
        '@odata.context': `${baseUrl()}/v1.0/$metadata#users/$entity`,
        id: user.id,
        displayName: user.displayName,
        mail: user.address,
        userPrincipalName: user.address,
        givenName: user.displayName.split(' ')[0] ?? null,
        surname: user.displayName.split(' ').slice(1).join(' ') || null,
        jobTitle: null,
        officeLocation: null,
        preferredLanguage: 'en-US',
        businessPhones: [],
        mobilePhone: null,
      });
    }),
  );

  const list = (parentRef: string | null) =>
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const root = store.requireFolder(mailbox, 'msgfolderroot');
      const parent = parentRef === null ? root : store.requireFolder(mailbox, req.params[parentRef] as string);
      const folders = store.childFolders(mailbox, parent.id);
      const top = intParam(req, '$top', 10, 1000);
      const skip = intParam(req, '$skip', 0, Number.MAX_SAFE_INTEGER);
      const page = folders.slice(skip, skip + top);
      res.json({
        '@odata.context': `${baseUrl()}/v1.0/$metadata#users('${mailbox.user.id}')/mailFolders`,
        value: page.map((f) => renderFolder(mailbox, f)),
        ...(skip + top < folders.length ? { '@odata.nextLink': selfLink(req, baseUrl(), { $skip: String(skip + top) }) } : {}),
      });
    });

  const create = (parentRef: string | null) =>
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const parent = store.requireFolder(mailbox, parentRef === null ? 'msgfolderroot' : (req.params[parentRef] as string));
      const displayName = bodyOf(req).displayName;
      if (typeof displayName !== 'string' || !displayName.trim()) throw badRequest('displayName is required.', 'ErrorInvalidRequest');
      const folder = store.createFolder(mailbox, parent.id, displayName.trim());
      res
        .status(201)
        .json({ '@odata.context': `${baseUrl()}/v1.0/$metadata#users('${mailbox.user.id}')/mailFolders/$entity`, ...renderFolder(mailbox, folder) });
    });

  router.get('/me/mailFolders', list(null));
  router.post('/me/mailFolders', create(null));
  router.get('/me/mailFolders/:folderId/childFolders', list('folderId'));
  router.post('/me/mailFolders/:folderId/childFolders', create('folderId'));
  router.get(
    '/me/mailFolders/:folderId',
    handle((req, res) => {
      const { mailbox } = graphLocals(res);
      const folder = store.requireFolder(mailbox, req.params.folderId as string);
      res.json({ '@odata.context': `${baseUrl()}/v1.0/$metadata#users('${mailbox.user.id}')/mailFolders/$entity`, ...renderFolder(mailbox, folder) });
    }),
  );
  return router;
}
