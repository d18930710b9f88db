/**
 * `GET /me/mailFolders/{id}/messages/delta` (https://learn.microsoft.com/graph/api/message-delta). Page size comes
 * from `Prefer: odata.maxpagesize` (echoed in `Preference-Applied`) or $top, default 10
 * (https://learn.microsoft.com/graph/delta-query-messages).
 */
import { Router } from 'express';
import { graphLocals, handle, type RouteDeps } from '../context';
import type { DeltaPage, DeltaQuery, DeltaTokens } from '../delta';
import { badRequest, intParam, queryString, selectList } from '../odata';
import { messageIdFor, renderMessage } from '../render';

export const DEFAULT_DELTA_PAGE_SIZE = 10;

export function deltaRoutes({ store, baseUrl }: RouteDeps, tokens: DeltaTokens): Router {
  const router = Router();
  router.get(
    '/me/mailFolders/:folderId/messages/delta',
    handle((req, res) => {
      const { mailbox, prefs } = graphLocals(res);
      const folder = store.requireFolder(mailbox, req.params.folderId as string);
      const pageSize = prefs.maxPageSize ?? intParam(req, '$top', DEFAULT_DELTA_PAGE_SIZE, 1000);
      const skipToken = queryString(req, '$skiptoken');
      const deltaToken = queryString(req, '$deltatoken');
      let page: DeltaPage;
      if (skipToken) page = tokens.continueRound(mailbox, skipToken, pageSize);
      else if (deltaToken) page = tokens.startFromWatermark(mailbox, deltaToken, pageSize);
      else {
        const changeType = queryString(req, 'changeType') ?? null;
        if (changeType !== null && changeType !== 'created' && changeType !== 'updated' && changeType !== 'deleted') {
          throw badRequest(`Invalid changeType: ${changeType}`);
        }
        if (queryString(req, '$search')) throw badRequest('$search is not supported on delta.', 'ErrorInvalidUrlQuery');
        const query: DeltaQuery = {
          select: selectList(queryString(req, '$select')),
          filter: queryString(req, '$filter'),
          changeType,
          expandAttachments: !store.ignoreDeltaExpand && /attachments/i.test(queryString(req, '$expand') ?? ''),
        };
        page = tokens.startInitial(mailbox, folder.id, query, pageSize);
      }
      const ctx = { baseUrl: baseUrl(), prefs, select: page.query.select, expandAttachments: page.query.expandAttachments };
      const value = page.entries.flatMap((entry) => {
        if (entry.kind === 'removed') {
          return [
            { '@odata.type': '#microsoft.graph.message', id: prefs.immutableIds ? entry.immutableId : entry.regularId, '@removed': { reason: 'deleted' } },
          ];
        }
        // An item that left the folder after the round began is reported as removed by the next round.
        const message = mailbox.messages.get(entry.immutableId);
        if (!message || message.folderId !== folder.id) return [];
        return [{ '@odata.type': '#microsoft.graph.message', ...renderMessage(mailbox, message, ctx), id: messageIdFor(message, prefs) }];
      });
      const link = `${baseUrl()}/v1.0/me/mailFolders('${folder.id}')/messages/delta`;
      if (prefs.maxPageSize !== null) res.set('Preference-Applied', `odata.maxpagesize=${prefs.maxPageSize}`);
      res.json({
        '@odata.context': `${baseUrl()}/v1.0/$metadata#Collection(message)`,
        ...(page.nextSkipToken ? { '@odata.nextLink': `${link}?$skiptoken=${page.nextSkipToken}` } : {}),
        ...(page.deltaToken ? { '@odata.deltaLink': `${link}?$deltatoken=${page.deltaToken}` } : {}),
        value,
      });
    }),
  );
  return router;
}
