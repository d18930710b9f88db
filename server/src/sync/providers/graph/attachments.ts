/**
 * Attachment metadata for delta items that came without it. We ask delta for `$expand=attachments(...)`, which the
 * message-delta page lists among a round's options (https://learn.microsoft.com/graph/api/message-delta), but the
 * delta overview allows `$expand` only for users' manager and groups' members (https://learn.microsoft.com/graph/delta-query-overview).
 * Under that reading the items carry no `attachments`: a message whose `hasAttachments` says it has some then has its
 * list read on its own (`GET /messages/{id}/attachments`, metadata only), so the CRM shows its files either way.
 * (`hasAttachments` leaves out inline images: their metadata is lost in that case, the files are still in the body.)
 */
import { ProviderError } from '../port';
import type { GraphMailboxClient, GraphPage } from './client';
import { messagePath, query } from './client';
import type { GraphAttachment, GraphMessage } from './mapping';

const ATTACHMENT_SELECT = 'id,name,contentType,size,isInline,contentId';

export async function completeAttachments(client: GraphMailboxClient, items: GraphMessage[]): Promise<void> {
  const missing = items.filter((m) => !m['@removed'] && m.hasAttachments === true && m.attachments === undefined);
  // In parallel: the mailbox's request gate keeps it within Graph's 4 concurrent requests.
  await Promise.all(
    missing.map(async (m) => {
      try {
        const page = await client.get<GraphPage<GraphAttachment>>(`${messagePath(m.id, '/attachments')}${query({ $select: ATTACHMENT_SELECT })}`);
        m.attachments = page.value;
      } catch (err) {
        // Gone since the delta page was made: the next round reports it removed. Never mistaken for the folder's 404.
        if (!(err instanceof ProviderError && err.code === 'not_found')) throw err;
        m.attachments = [];
      }
    }),
  );
}
