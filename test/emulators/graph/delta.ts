/**
 * Message delta per folder (https://learn.microsoft.com/graph/delta-query-messages). A round is a snapshot taken
 * at its first request: the folder's current items (initial round) or what changed since the previous round's
 * watermark, served page by page through `$skiptoken`s, ending in a `$deltatoken` that holds the new watermark.
 * Query options given on the first request of the first round ride along in the tokens, as Graph encodes them.
 * Tokens live here, server-side; an unknown or invalidated one is a 410 `SyncStateNotFound`.
 */
import { newOpaqueToken } from './ids';
import { parseFilter } from './odata';
import { GraphError, type MailStore } from './store';
import type { Mailbox, StoredMessage } from './types';

export interface DeltaQuery {
  select: string[] | null;
  filter: string | undefined;
  changeType: 'created' | 'updated' | 'deleted' | null;
  expandAttachments: boolean;
}

export type DeltaEntry = { kind: 'item'; immutableId: string } | { kind: 'removed'; immutableId: string; regularId: string };

interface RoundState {
  address: string;
  folderId: string;
  query: DeltaQuery;
  generation: number;
  /** Watermark the round started from (null: initial round), and the mailbox sequence when it started. */
  sinceSeq: number | null;
  roundSeq: number;
  entries: DeltaEntry[];
  offset: number;
}
interface WatermarkState {
  address: string;
  folderId: string;
  query: DeltaQuery;
  generation: number;
  sinceSeq: number;
}

export interface DeltaPage {
  entries: DeltaEntry[];
  query: DeltaQuery;
  nextSkipToken: string | null;
  deltaToken: string | null;
}

/** Applying $filter to a delta round returns at most 5,000 messages (delta-query-messages). */
export const FILTERED_DELTA_CAP = 5000;

export const syncStateNotFound = (): GraphError =>
  new GraphError(410, 'SyncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.');

export class DeltaTokens {
  private readonly rounds = new Map<string, RoundState>();
  private readonly watermarks = new Map<string, WatermarkState>();
  private readonly generations = new Map<string, number>();

  constructor(private readonly store: MailStore) {}

  /** Makes every outstanding token of a mailbox (or of one folder) answer 410 from now on. */
  invalidate(address: string, folderId?: string): void {
    const key = `${address.toLowerCase()}|${folderId ?? '*'}`;
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  private generation(address: string, folderId: string): number {
    const a = address.toLowerCase();
    return (this.generations.get(`${a}|*`) ?? 0) * 1_000_000 + (this.generations.get(`${a}|${folderId}`) ?? 0);
  }

  /** A request without a token: the first page of an initial round. */
  startInitial(mailbox: Mailbox, folderId: string, query: DeltaQuery, pageSize: number): DeltaPage {
    return this.openRound(mailbox, folderId, query, null, pageSize);
  }

  continueRound(mailbox: Mailbox, skipToken: string, pageSize: number): DeltaPage {
    const round = this.rounds.get(skipToken);
    if (!round || !this.valid(mailbox, round)) throw syncStateNotFound();
    return this.page(round, pageSize);
  }

  startFromWatermark(mailbox: Mailbox, deltaToken: string, pageSize: number): DeltaPage & { folderId: string } {
    const mark = this.watermarks.get(deltaToken);
    if (!mark || !this.valid(mailbox, mark)) throw syncStateNotFound();
    return { ...this.openRound(mailbox, mark.folderId, mark.query, mark.sinceSeq, pageSize), folderId: mark.folderId };
  }

  folderOfToken(token: string): string | undefined {
    return (this.rounds.get(token) ?? this.watermarks.get(token))?.folderId;
  }

  private valid(mailbox: Mailbox, state: { address: string; folderId: string; generation: number }): boolean {
    return state.address === mailbox.user.address.toLowerCase() && state.generation === this.generation(state.address, state.folderId);
  }

  private openRound(mailbox: Mailbox, folderId: string, query: DeltaQuery, sinceSeq: number | null, pageSize: number): DeltaPage {
    const round: RoundState = {
      address: mailbox.user.address.toLowerCase(),
      folderId,
      query,
      generation: this.generation(mailbox.user.address, folderId),
      sinceSeq,
      roundSeq: mailbox.seq,
      entries: sinceSeq === null ? this.initialEntries(mailbox, folderId, query) : this.changedEntries(mailbox, folderId, query, sinceSeq),
      offset: 0,
    };
    return this.page(round, pageSize);
  }

  private initialEntries(mailbox: Mailbox, folderId: string, query: DeltaQuery): DeltaEntry[] {
    const filter = parseFilter(query.filter, { deltaOnly: true });
    let items = this.store.messagesIn(mailbox, folderId).filter((m) => !filter || filter(m));
    // Order is not guaranteed without $orderby; newest first is what a backfill wants and what we give.
    items.sort(byReceivedDesc);
    if (filter) items = items.slice(0, FILTERED_DELTA_CAP);
    return items.map((m) => ({ kind: 'item', immutableId: m.immutableId }));
  }

  private changedEntries(mailbox: Mailbox, folderId: string, query: DeltaQuery, sinceSeq: number): DeltaEntry[] {
    const filter = parseFilter(query.filter, { deltaOnly: true });
    const present = this.store.messagesIn(mailbox, folderId);
    const presentIds = new Set(present.map((m) => m.immutableId));
    const entries: DeltaEntry[] = [];
    if (query.changeType === null || query.changeType === 'deleted') {
      const seen = new Set<string>();
      for (const t of mailbox.tombstones) {
        if (t.folderId !== folderId || t.seq <= sinceSeq || presentIds.has(t.immutableId) || seen.has(t.immutableId)) continue;
        seen.add(t.immutableId);
        // Moves out and deletions both come back as reason "deleted" for messages (message-delta notes).
        entries.push({ kind: 'removed', immutableId: t.immutableId, regularId: t.regularId });
      }
    }
    const changed = present.filter((m) => m.changeSeq > sinceSeq).sort(byReceivedDesc);
    for (const m of changed) {
      const created = m.enteredFolderSeq > sinceSeq;
      if (query.changeType === 'deleted' || (query.changeType === 'created' && !created) || (query.changeType === 'updated' && created)) continue;
      // Read-state changes and the like are reported even when the item no longer matches the filter.
      if (created && filter && !filter(m)) continue;
      entries.push({ kind: 'item', immutableId: m.immutableId });
    }
    return entries;
  }

  private page(round: RoundState, pageSize: number): DeltaPage {
    const entries = round.entries.slice(round.offset, round.offset + pageSize);
    const offset = round.offset + entries.length;
    if (offset < round.entries.length) {
      const token = newOpaqueToken('');
      this.rounds.set(token, { ...round, offset });
      return { entries, query: round.query, nextSkipToken: token, deltaToken: null };
    }
    const token = newOpaqueToken('');
    this.watermarks.set(token, {
      address: round.address,
      folderId: round.folderId,
      query: round.query,
      generation: round.generation,
      sinceSeq: round.roundSeq,
    });
    return { entries, query: round.query, nextSkipToken: null, deltaToken: token };
  }
}

const byReceivedDesc = (a: StoredMessage, b: StoredMessage): number => Date.parse(b.receivedDateTime) - Date.parse(a.receivedDateTime);
