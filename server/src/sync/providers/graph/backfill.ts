/**
 * The Graph backfill, which also builds the incremental cursor (docs/SYNC.md "Backfill").
 *
 * Why the backfill and the cursor are one job: a Graph deltaLink only exists at the end of a delta round, and a
 * folder's first round IS its enumeration (https://learn.microsoft.com/graph/delta-query-messages). Taking the
 * cursor first would mean paging through every folder once for the deltaLink and again for the content; a
 * content-less first round ($select=id) is no way out either, because the query options of the first request
 * ride along in every later deltaLink, so each new message would then cost a second call. So:
 *
 * - Each synced folder runs one delta round with the content $select, `$filter=receivedDateTime ge {since}` and
 *   `$orderby=receivedDateTime desc` — the only filter and order message delta supports
 *   (https://learn.microsoft.com/graph/api/message-delta) — so each folder comes newest first within historyDays.
 * - A filtered round returns at most 5,000 messages. When a folder reaches that cap, its older messages are read
 *   from the plain list (`/mailFolders/{id}/messages`, `$orderby=receivedDateTime desc`, `$filter` from `since` to
 *   the oldest one seen, both inclusive; the few repeats are idempotent upserts). The deltaLink is already held
 *   by then, so changes made during that fill are in the next round.
 * - Rule 1 (nothing missed during the backfill) holds because a round's deltaLink reports every change after the
 *   round began; the cursor handed back on the last page (`BackfillPage.cursor`) replaces the placeholder from
 *   currentCursor() and is replayed by changesSince.
 * - Pages alternate between folders by their frontier (the oldest receivedDateTime each has reached), so the
 *   import as a whole runs newest first too, one request per page.
 */
import { ProviderError, type BackfillPage, type RemoteMessage, type SyncCursor } from '../port';
import { folderPath, query, type GraphMailboxClient, type GraphPage } from './client';
import type { FolderCatalog, FolderKind } from './folders';
import { completeAttachments } from './attachments';
import { ATTACHMENTS_EXPAND, MESSAGE_SELECT, toRemoteMessage, type GraphMessage } from './mapping';

/** A filtered message delta round returns at most this many items (message-delta, "$filter"). */
export const FILTERED_DELTA_CAP = 5000;
/** Messages a backfill page asks for (odata.maxpagesize; Graph's own default is 10). */
export const DEFAULT_BACKFILL_PAGE_SIZE = 100;

interface FolderProgress {
  id: string;
  kind: FolderKind;
  phase: 'delta' | 'fill' | 'done';
  /** Next request, relative to /v1.0 (already checked against GRAPH_API_URL). */
  link: string | null;
  deltaLink: string | null;
  /** receivedDateTime of the oldest message this folder has given so far. */
  frontier: string | null;
  count: number;
}

export interface BackfillPosition {
  v: 1;
  since: string;
  startedAt: string;
  total: number;
  folders: FolderProgress[];
}

export interface GraphCursorState {
  folders: Record<string, string>;
  /** The history window the rounds were filtered with (new folders start their round with it); null: none. */
  since: string | null;
  /** When the rounds behind these deltaLinks began. */
  at: string;
}

export const sinceFilter = (since: string): string => `receivedDateTime ge ${since}`;

export function initialDeltaPath(folderId: string, since: string | null): string {
  return `${folderPath(folderId, '/messages/delta')}${query({
    $select: MESSAGE_SELECT,
    $expand: ATTACHMENTS_EXPAND,
    $filter: since ? sinceFilter(since) : undefined,
    $orderby: 'receivedDateTime desc',
  })}`;
}

function fillPath(folderId: string, since: string, frontier: string, pageSize: number): string {
  return `${folderPath(folderId, '/messages')}${query({
    $select: MESSAGE_SELECT,
    $expand: ATTACHMENTS_EXPAND,
    $filter: `${sinceFilter(since)} and receivedDateTime le ${frontier}`,
    $orderby: 'receivedDateTime desc',
    $top: pageSize,
  })}`;
}

export const maxPageSize = (n: number): Record<string, string> => ({ Prefer: `odata.maxpagesize=${n}` });

function parsePosition(value: unknown): BackfillPosition {
  const p = value as Partial<BackfillPosition> | null;
  if (p?.v !== 1 || typeof p.since !== 'string' || !Array.isArray(p.folders)) {
    throw new ProviderError('invalid', 'Graph: unreadable backfill position');
  }
  return structuredClone(p as BackfillPosition);
}

/** The folder to read next: unstarted folders in priority order, then the one whose frontier is newest. */
function pickNext(pos: BackfillPosition): FolderProgress | undefined {
  const open = pos.folders.filter((f) => f.phase !== 'done');
  return open.find((f) => f.frontier === null) ?? open.sort((a, b) => Date.parse(b.frontier ?? '') - Date.parse(a.frontier ?? ''))[0];
}

export function cursorOf(pos: BackfillPosition): SyncCursor {
  const folders: Record<string, string> = {};
  for (const f of pos.folders) if (f.deltaLink) folders[f.id] = f.deltaLink;
  const state: GraphCursorState = { folders, since: pos.since, at: pos.startedAt };
  return { v: 1, provider: 'microsoft', state: { ...state } };
}

export class GraphBackfill {
  constructor(
    private readonly client: GraphMailboxClient,
    private readonly catalog: FolderCatalog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async page(opts: { since: Date; position: unknown | null; pageSize?: number }): Promise<BackfillPage> {
    const pageSize = opts.pageSize ?? DEFAULT_BACKFILL_PAGE_SIZE;
    const pos = opts.position === null ? await this.start(opts.since) : parsePosition(opts.position);
    const folder = pickNext(pos);
    const upserts: RemoteMessage[] = [];
    const failed: BackfillPage['failed'] = [];
    if (folder) await this.read(folder, pos, pageSize, upserts, failed);
    const done = pos.folders.every((f) => f.phase === 'done');
    return {
      upserts,
      failed,
      nextPosition: done ? null : pos,
      totalEstimate: pos.total,
      ...(done ? { cursor: cursorOf(pos) } : {}),
    };
  }

  private async start(since: Date): Promise<BackfillPosition> {
    const map = await this.catalog.get(this.client, { force: true });
    const sinceIso = since.toISOString();
    return {
      v: 1,
      since: sinceIso,
      startedAt: this.now().toISOString(),
      // All ages: an upper bound, refined by nothing cheaper (a $count per folder and window would cost calls).
      total: map.synced.reduce((n, f) => n + f.totalItemCount, 0),
      folders: map.synced.map((f) => ({
        id: f.id,
        kind: f.kind,
        phase: 'delta',
        link: initialDeltaPath(f.id, sinceIso),
        deltaLink: null,
        frontier: null,
        count: 0,
      })),
    };
  }

  private async read(folder: FolderProgress, pos: BackfillPosition, pageSize: number, upserts: RemoteMessage[], failed: BackfillPage['failed']): Promise<void> {
    let page: GraphPage<GraphMessage>;
    try {
      page = await this.client.get<GraphPage<GraphMessage>>(folder.link ?? '', maxPageSize(pageSize));
      await completeAttachments(this.client, page.value);
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_found') {
        // The folder was deleted meanwhile: nothing left to import from it, and nothing to track.
        Object.assign(folder, { phase: 'done', link: null, deltaLink: null });
        return;
      }
      if (err instanceof ProviderError && err.code === 'cursor_expired' && folder.phase === 'delta') {
        // A skiptoken of a long backfill expired: start the folder's round again (repeats are idempotent upserts).
        Object.assign(folder, { link: initialDeltaPath(folder.id, pos.since), frontier: null, count: 0 });
        return;
      }
      throw err;
    }
    const sinceMs = Date.parse(pos.since);
    for (const item of page.value) {
      if (item['@removed']) continue;
      const receivedMs = Date.parse(item.receivedDateTime ?? '');
      if (receivedMs < sinceMs) continue;
      try {
        upserts.push(toRemoteMessage(item, folder.kind));
      } catch (err) {
        failed.push({ providerMessageId: item.id, error: new ProviderError('invalid', `Graph: cannot map message (${(err as Error).message})`) });
      }
      folder.count += 1;
      if (item.receivedDateTime && (folder.frontier === null || receivedMs < Date.parse(folder.frontier))) folder.frontier = item.receivedDateTime;
    }
    const next = page['@odata.nextLink'];
    const delta = page['@odata.deltaLink'];
    if (next) {
      folder.link = this.client.pathOf(next);
    } else if (folder.phase === 'delta' && delta) {
      this.client.pathOf(delta); // origin check now, not when the round is replayed
      folder.deltaLink = delta;
      const capped = folder.count >= FILTERED_DELTA_CAP && folder.frontier !== null;
      folder.phase = capped ? 'fill' : 'done';
      folder.link = capped ? fillPath(folder.id, pos.since, folder.frontier as string, pageSize) : null;
    } else {
      folder.phase = 'done';
      folder.link = null;
    }
  }
}
