/**
 * Graph's ChangeSource: backfill (backfill.ts), incremental delta rounds per synced folder, reconciliation lists
 * and single fetches.
 *
 * Cursor: `{ folders: { [folderId]: deltaLink }, since, at }`. currentCursor() returns one with no folders — a
 * placeholder, because a deltaLink only exists after a full round (see backfill.ts); the backfill's last page
 * carries the real one. changesSince() given a cursor without a folder starts that folder's first round (a new
 * folder, or — with the placeholder — every folder: then the round is a full re-list and `reset` is true).
 *
 * One changesSince call = one delta page of every folder whose round is still open (in parallel; the gate keeps
 * it to 4 in flight), with `Prefer: odata.maxpagesize`. Moves between synced folders: an immutable id stays the
 * same across a move (https://learn.microsoft.com/graph/outlook-immutable-id), and delta reports the move as
 * `@removed` in the old folder and an item in the new one — possibly in different pages or even rounds, since each
 * folder's round starts at its own moment. So `@removed` ids are collected over the whole round and reported as
 * deletes only on its last page, and only when the message is really gone: not seen in another folder during the
 * round, and — checked with one GET each — not present in a synced folder now. The cursor moves only on that
 * last page (nextCursor null before it), so a crash mid-round replays the round.
 *
 * Every changed item is an upsert (delta gives the full message; the engine upserts idempotently). An item that
 * existed before the previous round (createdDateTime before it) is also reported as a state change — flags, folder
 * and its current categories in `labelsAdded` (delta does not say which categories were removed; the upsert's
 * `labels` is the full set).
 *
 * Notified rounds (hints.ts): when change notifications named the messages that changed since the last round, a
 * round GETs just those (one call each) and hands the same cursor back, instead of a delta page of every folder —
 * as long as the cursor's full round is recent (`hintedRoundsForMs`), so the poll sweep's full rounds still come.
 * A notified message that is gone or outside sync scope is reported deleted, as confirmGone does for `@removed`.
 */
import {
  ProviderError,
  type BackfillPage,
  type ChangeSource,
  type RemoteMessage,
  type RemoteStateChange,
  type SyncCursor,
  type PushHints,
  type SyncPage,
} from '../port';
import { GraphBackfill, initialDeltaPath, maxPageSize, sinceFilter, type GraphCursorState } from './backfill';
import { folderPath, messagePath, query, type GraphMailboxClient, type GraphPage } from './client';
import type { FolderCatalog, FolderKind, FolderMap } from './folders';
import { completeAttachments } from './attachments';
import { ATTACHMENTS_EXPAND, flagsOf, MESSAGE_SELECT, toRemoteMessage, type GraphMessage } from './mapping';

export const DEFAULT_DELTA_PAGE_SIZE = 50;
/** How long after a full round notified rounds may stand in for the next one. */
export const DEFAULT_HINTED_ROUNDS_FOR_MS = 10 * 60_000;
const LIST_IDS_PAGE = 1000;

interface RoundFolder {
  kind: FolderKind;
  /** Next request of the round, relative to /v1.0; null once the round reached its deltaLink. */
  link: string | null;
  deltaLink: string | null;
  /** This folder's round continues from a stored deltaLink (false: its first round). */
  incremental: boolean;
}

interface RoundPosition {
  v: 1;
  startedAt: string;
  reset: boolean;
  folders: Record<string, RoundFolder>;
  removed: string[];
  seen: string[];
}

export interface GraphChangeSourceOptions {
  client: GraphMailboxClient;
  catalog: FolderCatalog;
  deltaPageSize?: number;
  now?: () => Date;
  /** Change-notification hints of this process (hints.ts), and the mailbox they are keyed by. */
  hints?: PushHints;
  mailboxId?: string;
  hintedRoundsForMs?: number;
}

function readCursor(cursor: SyncCursor): GraphCursorState {
  const s = cursor.state as Partial<GraphCursorState>;
  const folders = s.folders;
  const valid =
    cursor.v === 1 &&
    cursor.provider === 'microsoft' &&
    typeof folders === 'object' &&
    folders !== null &&
    Object.values(folders).every((l) => typeof l === 'string') &&
    (s.since === null || s.since === undefined || typeof s.since === 'string');
  if (!valid) throw new ProviderError('invalid', 'Graph: not a Graph cursor');
  return { folders: { ...folders }, since: s.since ?? null, at: typeof s.at === 'string' ? s.at : new Date(0).toISOString() };
}

export class GraphChangeSource implements ChangeSource {
  private readonly backfill: GraphBackfill;
  private readonly now: () => Date;

  constructor(private readonly opts: GraphChangeSourceOptions) {
    this.now = opts.now ?? (() => new Date());
    this.backfill = new GraphBackfill(opts.client, opts.catalog, this.now);
  }

  /** A placeholder (no folders): see the module comment and backfill.ts. Costs no call. */
  async currentCursor(): Promise<SyncCursor> {
    const state: GraphCursorState = { folders: {}, since: null, at: this.now().toISOString() };
    return { v: 1, provider: 'microsoft', state: { ...state } };
  }

  backfillPage(opts: { since: Date; position: unknown | null; pageSize?: number }): Promise<BackfillPage> {
    return this.backfill.page(opts);
  }

  async changesSince(cursor: SyncCursor, position: unknown | null): Promise<SyncPage & { nextPosition: unknown | null }> {
    const state = readCursor(cursor);
    const { client } = this.opts;
    if (position === null) {
      const notified = await this.notifiedRound(cursor, state);
      if (notified) return notified;
    }
    const round = position === null ? await this.startRound(state) : (structuredClone(position) as RoundPosition);
    if (round?.v !== 1 || typeof round.folders !== 'object') throw new ProviderError('invalid', 'Graph: unreadable delta position');
    const removed = new Set(round.removed);
    const seen = new Set(round.seen);
    const upserts: RemoteMessage[] = [];
    const stateChanges: RemoteStateChange[] = [];
    const previousRoundAt = Date.parse(state.at);
    const open = Object.entries(round.folders).filter(([, f]) => f.link !== null);
    const pages = await Promise.all(open.map(([id, f]) => this.deltaPage(id, f)));
    open.forEach(([id, folder], i) => {
      const page = pages[i];
      if (!page) {
        Object.assign(folder, { link: null, deltaLink: null });
        return;
      }
      for (const item of page.value) {
        if (item['@removed']) {
          removed.add(item.id);
          continue;
        }
        seen.add(item.id);
        upserts.push(toRemoteMessage(item, folder.kind));
        if (folder.incremental && Date.parse(item.createdDateTime ?? '') < previousRoundAt) {
          stateChanges.push({ providerMessageId: item.id, flags: flagsOf(item, folder.kind), labelsAdded: [...(item.categories ?? [])], folderId: id });
        }
      }
      const next = page['@odata.nextLink'];
      const delta = page['@odata.deltaLink'];
      if (next) folder.link = client.pathOf(next);
      else {
        if (delta) client.pathOf(delta);
        Object.assign(folder, { link: null, deltaLink: delta ?? null });
      }
    });
    round.removed = [...removed];
    round.seen = [...seen];
    if (Object.values(round.folders).some((f) => f.link !== null)) {
      return { upserts, deletes: [], stateChanges, nextCursor: null, reset: round.reset, nextPosition: round };
    }
    const gone = await this.confirmGone(
      [...removed].filter((id) => !seen.has(id)),
      stateChanges,
    );
    const folders: Record<string, string> = {};
    for (const [id, f] of Object.entries(round.folders)) if (f.deltaLink) folders[id] = f.deltaLink;
    const next: GraphCursorState = { folders, since: state.since, at: round.startedAt };
    return { upserts, deletes: gone, stateChanges, nextCursor: { v: 1, provider: 'microsoft', state: { ...next } }, reset: round.reset, nextPosition: null };
  }

  async *listAllIds(opts: { since: Date }): AsyncIterable<string[]> {
    const map = await this.opts.catalog.get(this.opts.client, { force: true });
    for (const folder of map.synced) {
      let link: string | null =
        `${folderPath(folder.id, '/messages')}${query({ $select: 'id', $filter: sinceFilter(opts.since.toISOString()), $top: LIST_IDS_PAGE })}`;
      while (link) {
        const page: GraphPage<{ id: string }> = await this.opts.client.get<GraphPage<{ id: string }>>(link);
        if (page.value.length) yield page.value.map((m) => m.id);
        link = page['@odata.nextLink'] ? this.opts.client.pathOf(page['@odata.nextLink']) : null;
      }
    }
  }

  /** The message as it is now, or null when it is gone or outside sync scope (Junk, Drafts...). */
  async fetchMessage(providerMessageId: string): Promise<RemoteMessage | null> {
    const found = await this.inScope(providerMessageId);
    return found ? toRemoteMessage(found.message, found.kind) : null;
  }

  private async inScope(providerMessageId: string): Promise<{ message: GraphMessage; kind: FolderKind } | null> {
    let message: GraphMessage;
    try {
      message = await this.opts.client.get<GraphMessage>(`${messagePath(providerMessageId)}${query({ $select: MESSAGE_SELECT, $expand: ATTACHMENTS_EXPAND })}`);
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_found') return null;
      throw err;
    }
    const folder = await this.syncedFolder(message.parentFolderId ?? null);
    return folder ? { message, kind: folder.kind } : null;
  }

  /** A round made of the notified messages only (see the module comment), or null for a full round. */
  private async notifiedRound(cursor: SyncCursor, state: GraphCursorState): Promise<(SyncPage & { nextPosition: null }) | null> {
    const { hints, mailboxId } = this.opts;
    const notified = hints && mailboxId ? await hints.take(mailboxId) : null;
    if (!notified) return null;
    const fullRoundAt = Date.parse(state.at);
    const recent = this.now().getTime() - fullRoundAt < (this.opts.hintedRoundsForMs ?? DEFAULT_HINTED_ROUNDS_FOR_MS);
    // The backfill's placeholder cursor has no folders: its first round must be a full one.
    if (!recent || Object.keys(state.folders).length === 0) return null;
    const found = await Promise.all(notified.map((id) => this.inScope(id)));
    const upserts: RemoteMessage[] = [];
    const stateChanges: RemoteStateChange[] = [];
    const deletes: string[] = [];
    notified.forEach((id, i) => {
      const current = found[i];
      if (!current) return void deletes.push(id);
      const { message, kind } = current;
      upserts.push(toRemoteMessage(message, kind));
      if (Date.parse(message.createdDateTime ?? '') < fullRoundAt) {
        stateChanges.push({
          providerMessageId: message.id,
          flags: flagsOf(message, kind),
          labelsAdded: [...(message.categories ?? [])],
          ...(message.parentFolderId ? { folderId: message.parentFolderId } : {}),
        });
      }
    });
    return { upserts, deletes, stateChanges, nextCursor: cursor, reset: false, nextPosition: null };
  }

  /** The MIME of the item: GET /me/messages/{id}/$value (https://learn.microsoft.com/graph/outlook-get-mime-message). */
  async fetchRaw(providerMessageId: string): Promise<Buffer> {
    return this.opts.client.getBytes(messagePath(providerMessageId, '/$value'));
  }

  async fetchAttachment(providerMessageId: string, attachmentId: string): Promise<Buffer> {
    const attachment = await this.opts.client.get<{ '@odata.type'?: string; contentBytes?: string }>(
      messagePath(providerMessageId, `/attachments/${encodeURIComponent(attachmentId)}`),
    );
    // Only fileAttachment has contentBytes; item and reference attachments have no bytes to give.
    if (typeof attachment.contentBytes !== 'string')
      throw new ProviderError('invalid', `Graph: attachment is not a file (${attachment['@odata.type'] ?? 'unknown type'})`);
    return Buffer.from(attachment.contentBytes, 'base64');
  }

  private async startRound(state: GraphCursorState): Promise<RoundPosition> {
    const map = await this.opts.catalog.get(this.opts.client);
    const folders: Record<string, RoundFolder> = {};
    for (const f of map.synced) {
      const deltaLink = state.folders[f.id];
      folders[f.id] = deltaLink
        ? { kind: f.kind, link: this.opts.client.pathOf(deltaLink), deltaLink: null, incremental: true }
        : { kind: f.kind, link: initialDeltaPath(f.id, state.since), deltaLink: null, incremental: false };
    }
    const reset = Object.keys(state.folders).length === 0;
    return { v: 1, startedAt: this.now().toISOString(), reset, folders, removed: [], seen: [] };
  }

  private async deltaPage(folderId: string, folder: RoundFolder): Promise<GraphPage<GraphMessage> | null> {
    try {
      const page = await this.opts.client.get<GraphPage<GraphMessage>>(folder.link ?? '', maxPageSize(this.opts.deltaPageSize ?? DEFAULT_DELTA_PAGE_SIZE));
      await completeAttachments(this.opts.client, page.value);
      return page;
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      // The folder itself was deleted: its messages went with it (they show up where it went, if synced).
      if (err.code === 'not_found') return null;
      if (err.code === 'cursor_expired') {
        throw new ProviderError('cursor_expired', `Graph: the delta token of folder ${folderId} expired; re-list from currentCursor()`, err.details);
      }
      throw err;
    }
  }

  /** Of the `@removed` ids not seen elsewhere in the round, those really gone; the others become folder changes. */
  private async confirmGone(candidates: string[], stateChanges: RemoteStateChange[]): Promise<string[]> {
    const gone: string[] = [];
    let map: FolderMap | null = null;
    const where = await Promise.all(candidates.map((id) => this.currentFolder(id)));
    for (const [i, id] of candidates.entries()) {
      const folderId = where[i] ?? null;
      if (folderId === null) {
        gone.push(id);
        continue;
      }
      map ??= await this.opts.catalog.get(this.opts.client);
      let folder = map.byId.get(folderId);
      if (!folder) {
        // Perhaps a folder created since the map was taken: look once more before calling the message gone.
        map = await this.opts.catalog.get(this.opts.client, { force: true });
        folder = map.byId.get(folderId);
      }
      if (!folder)
        gone.push(id); // moved out of sync scope (Junk Email, Drafts)
      else stateChanges.push({ providerMessageId: id, folderId, flags: { archived: folder.kind === 'archive', deleted: folder.kind === 'deleteditems' } });
    }
    return gone;
  }

  private async currentFolder(id: string): Promise<string | null> {
    try {
      return (await this.opts.client.get<GraphMessage>(`${messagePath(id)}${query({ $select: 'id,parentFolderId' })}`)).parentFolderId ?? null;
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_found') return null;
      throw err;
    }
  }

  private async syncedFolder(folderId: string | null): Promise<{ kind: FolderKind } | null> {
    if (!folderId) return null;
    const map = await this.opts.catalog.get(this.opts.client);
    return map.byId.get(folderId) ?? (await this.opts.catalog.get(this.opts.client, { force: true })).byId.get(folderId) ?? null;
  }
}
