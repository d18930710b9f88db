/**
 * Which mail folders are synced (docs/PROVIDERS.md "Microsoft Graph"): Inbox, Sent Items, Archive, Deleted Items and the user's own
 * folders, with their child folders at any depth; never Junk Email, Drafts, or the other system folders (Outbox,
 * Conversation History, Sync Issues, Scheduled). v1.0 mailFolder has no wellKnownName property, so the well-known
 * folders are resolved by name (`/me/mailFolders/{name}`, https://learn.microsoft.com/graph/api/resources/mailfolder)
 * once per mailbox, and the tree is listed from the root (`/me/mailFolders` + `childFolders`).
 */
import { ProviderError } from '../port';
import { folderPath, query, type GraphMailboxClient, type GraphPage } from './client';

export type FolderKind = 'inbox' | 'sentitems' | 'archive' | 'deleteditems' | 'user';

export interface SyncedFolder {
  id: string;
  kind: FolderKind;
  /** Items in the folder (all ages): for the backfill's progress estimate. */
  totalItemCount: number;
}

export interface FolderMap {
  /** In backfill priority order: inbox, sent items, archive, user folders, deleted items. */
  synced: SyncedFolder[];
  byId: Map<string, SyncedFolder>;
  wellKnown: Partial<Record<'inbox' | 'sentitems' | 'archive' | 'deleteditems', string>>;
}

const SYNCED_WELL_KNOWN = ['inbox', 'sentitems', 'archive', 'deleteditems'] as const;
const EXCLUDED_WELL_KNOWN = ['drafts', 'junkemail', 'outbox', 'conversationhistory', 'syncissues', 'scheduled'] as const;
const PRIORITY: Record<FolderKind, number> = { inbox: 0, sentitems: 1, archive: 2, user: 3, deleteditems: 4 };

interface GraphFolder {
  id: string;
  parentFolderId?: string;
  childFolderCount?: number;
  totalItemCount?: number;
}

export interface WellKnownIds {
  synced: Partial<Record<(typeof SYNCED_WELL_KNOWN)[number], string>>;
  excluded: Set<string>;
}

/** Resolves the well-known folder ids; a folder the mailbox does not have (404) is simply absent. */
export async function resolveWellKnown(client: GraphMailboxClient): Promise<WellKnownIds> {
  const lookup = async (name: string): Promise<string | null> => {
    try {
      return (await client.get<GraphFolder>(`${folderPath(name)}${query({ $select: 'id' })}`)).id;
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_found') return null;
      throw err;
    }
  };
  const synced: WellKnownIds['synced'] = {};
  const excluded = new Set<string>();
  await Promise.all([
    ...SYNCED_WELL_KNOWN.map(async (name) => {
      const id = await lookup(name);
      if (id) synced[name] = id;
    }),
    ...EXCLUDED_WELL_KNOWN.map(async (name) => {
      const id = await lookup(name);
      if (id) excluded.add(id);
    }),
  ]);
  return { synced, excluded };
}

async function listAll(client: GraphMailboxClient, path: string): Promise<GraphFolder[]> {
  const out: GraphFolder[] = [];
  let next: string | null = `${path}${query({ $top: 250, $select: 'id,parentFolderId,childFolderCount,totalItemCount' })}`;
  while (next) {
    const page: GraphPage<GraphFolder> = await client.get<GraphPage<GraphFolder>>(next);
    out.push(...page.value);
    next = page['@odata.nextLink'] ? client.pathOf(page['@odata.nextLink']) : null;
  }
  return out;
}

/**
 * Lists the folder tree and classifies it. A top-level folder that is not a known system folder is the user's;
 * every descendant of a synced folder is synced and inherits its kind (an Archive subfolder is archived, a folder
 * deleted into Deleted Items is deleted).
 */
export async function discoverFolders(client: GraphMailboxClient, known: WellKnownIds): Promise<FolderMap> {
  const kindOfTop = new Map<string, FolderKind>();
  for (const [name, id] of Object.entries(known.synced)) kindOfTop.set(id, name as FolderKind);
  const synced: SyncedFolder[] = [];
  let level: { folder: GraphFolder; kind: FolderKind }[] = [];
  for (const folder of await listAll(client, '/me/mailFolders')) {
    if (known.excluded.has(folder.id)) continue;
    level.push({ folder, kind: kindOfTop.get(folder.id) ?? 'user' });
  }
  // Breadth first; each level's child lists run in parallel (the gate keeps them to 4 in flight).
  while (level.length) {
    for (const { folder, kind } of level) synced.push({ id: folder.id, kind, totalItemCount: folder.totalItemCount ?? 0 });
    const parents = level.filter(({ folder }) => (folder.childFolderCount ?? 0) > 0);
    const children = await Promise.all(parents.map(({ folder }) => listAll(client, folderPath(folder.id, '/childFolders'))));
    level = parents.flatMap(({ kind }, i) => (children[i] ?? []).filter((f) => !known.excluded.has(f.id)).map((folder) => ({ folder, kind })));
  }
  synced.sort((a, b) => PRIORITY[a.kind] - PRIORITY[b.kind]);
  return { synced, byId: new Map(synced.map((f) => [f.id, f])), wellKnown: { ...known.synced } };
}

/**
 * The mailbox's folder map, cached: well-known ids for the life of the process (they never change), the tree for
 * `refreshMs` (new folders are picked up at the next round after that, or at once when `force`d — the change
 * source forces a refresh before it reports a delete, so a move into a brand-new folder is not taken for one).
 * One catalog per mailbox, shared by its adapter instances; the client is passed per call (it carries the token).
 */
export class FolderCatalog {
  private known: Promise<WellKnownIds> | null = null;
  private map: { value: FolderMap; at: number } | null = null;

  constructor(private readonly opts: { refreshMs: number; now?: () => number }) {}

  async get(client: GraphMailboxClient, opts: { force?: boolean } = {}): Promise<FolderMap> {
    const now = (this.opts.now ?? Date.now)();
    if (!opts.force && this.map && now - this.map.at < this.opts.refreshMs) return this.map.value;
    this.known ??= resolveWellKnown(client).catch((err: unknown) => {
      this.known = null;
      throw err;
    });
    const value = await discoverFolders(client, await this.known);
    this.map = { value, at: now };
    return value;
  }
}
