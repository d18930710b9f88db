/**
 * Gmail ChangeSource: backfill pages (messages.list + messages.get raw, in batches: batch.ts), incremental pages (history.list from
 * the stored historyId), id listing for reconciliation, and single fetches.
 * Sync guide: https://developers.google.com/gmail/api/guides/sync
 */
import type { gmail_v1 } from '@googleapis/gmail';
import { ProviderError, type BackfillPage, type ChangeSource, type RemoteMessage, type SyncCursor, type SyncPage } from '../port';
import type { BatchAnswer, GmailClient } from './client';
import { planHistory } from './history';
import type { GmailLabelCatalogue } from './label-catalogue';
import { isOutOfScope } from './labels';
import { findPayloadPart, gmailCursor, gmailPartIdFromImap, readGmailCursor, toRemoteMessage } from './message';
import { mapBounded } from '../../../async/bounded';

const USER = 'me';
const HISTORY_TYPES = ['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved'];
/** messages.list allows up to 500 ids per page; a backfill page is also a unit of persisted progress, so smaller. */
/**
 * Messages per backfill page: one messages.list and three batches of messages.get. Each page is stored in a fixed
 * number of database round trips (sync/ingest/store.ts), so a larger page costs fewer per message; 250 raw messages,
 * and the one read ahead, is what a page holds in memory.
 */
const DEFAULT_BACKFILL_PAGE = 250;
const MAX_LIST_PAGE = 500;
const HISTORY_PAGE = 100;
/** Extra attempts for one message's get inside a page (see client.ts on why reads may retry in-process). */
const FETCH_RETRIES = 3;
/** Batch requests of one page in flight at once (each up to BATCH_MAX calls). */
const BATCHES_IN_FLIGHT = 2;
/** Errors about the mailbox rather than one message: continuing the page would only fail the same way. */
const MAILBOX_LEVEL = new Set(['throttled', 'auth_revoked', 'permission']);

/** Persisted between backfill pages: the query is frozen at the first page so a restart resumes the same list. */
interface BackfillPosition {
  v: 1;
  afterSeconds: number;
  pageToken: string;
  totalEstimate: number | null;
}

interface HistoryPosition {
  v: 1;
  pageToken: string;
}

function readBackfillPosition(position: unknown): BackfillPosition | null {
  if (position === null || position === undefined) return null;
  const p = position as Partial<BackfillPosition>;
  if (p.v !== 1 || typeof p.afterSeconds !== 'number' || typeof p.pageToken !== 'string') {
    throw new ProviderError('invalid', 'Not a Gmail backfill position');
  }
  return { v: 1, afterSeconds: p.afterSeconds, pageToken: p.pageToken, totalEstimate: p.totalEstimate ?? null };
}

function readHistoryPosition(position: unknown): string | undefined {
  if (position === null || position === undefined) return undefined;
  const p = position as Partial<HistoryPosition>;
  if (p.v !== 1 || typeof p.pageToken !== 'string') throw new ProviderError('invalid', 'Not a Gmail history position');
  return p.pageToken;
}

/** `after:` in epoch seconds is exact; a date would mean midnight Pacific (Gmail filtering guide). */
const afterQuery = (afterSeconds: number) => `after:${afterSeconds}`;

export interface GmailChangeSourceOptions {
  /** Messages fetched at once within a page. */
  fetchConcurrency: number;
  labels: GmailLabelCatalogue;
}

export class GmailChangeSource implements ChangeSource {
  constructor(
    private readonly client: GmailClient,
    private readonly opts: GmailChangeSourceOptions,
  ) {}

  async currentCursor(): Promise<SyncCursor> {
    const profile = await this.client.call('users.getProfile', (api) => api.users.getProfile({ userId: USER }), { retries: FETCH_RETRIES });
    if (!profile.historyId) throw new ProviderError('invalid', 'Gmail: profile without historyId', { providerCode: 'malformedResponse' });
    return gmailCursor(String(profile.historyId));
  }

  async backfillPage({ since, position, pageSize }: { since: Date; position: unknown | null; pageSize?: number }): Promise<BackfillPage> {
    const resumed = readBackfillPosition(position);
    const afterSeconds = resumed?.afterSeconds ?? Math.floor(since.getTime() / 1000);
    const size = Math.min(Math.max(pageSize ?? DEFAULT_BACKFILL_PAGE, 1), MAX_LIST_PAGE);
    // messages.list answers newest first; spam and trash are left out (includeSpamTrash false).
    const answer = await this.list(afterQuery(afterSeconds), size, resumed?.pageToken);
    const ids = (answer.messages ?? []).map((m) => m.id).filter((id): id is string => !!id);
    let totalEstimate = resumed?.totalEstimate ?? null;
    if (!resumed) {
      totalEstimate = typeof answer.resultSizeEstimate === 'number' ? answer.resultSizeEstimate : null;
      // resultSizeEstimate is only an estimate, and small on a first page of many: never report fewer than known.
      if (totalEstimate === null || (answer.nextPageToken && totalEstimate <= ids.length)) {
        const profile = await this.client.call('users.getProfile', (api) => api.users.getProfile({ userId: USER }), { retries: FETCH_RETRIES });
        totalEstimate = profile.messagesTotal ?? totalEstimate;
      }
    }

    const failed: BackfillPage['failed'] = [];
    const fetched = (await this.fetchMany(ids)).map((m, i) => {
      if (!(m instanceof ProviderError)) return m;
      if (MAILBOX_LEVEL.has(m.code)) throw m;
      failed.push({ providerMessageId: ids[i], error: m });
      return null;
    });
    // Drafts are listed by messages.list but are not mail yet; a 404 is mail deleted since the list.
    const upserts = fetched.filter((m): m is RemoteMessage => m !== null && !isOutOfScope(m.labels));
    return {
      upserts,
      nextPosition: answer.nextPageToken ? ({ v: 1, afterSeconds, pageToken: answer.nextPageToken, totalEstimate } satisfies BackfillPosition) : null,
      totalEstimate,
      failed,
    };
  }

  async changesSince(cursor: SyncCursor, position: unknown | null): Promise<SyncPage & { nextPosition: unknown | null }> {
    const startHistoryId = readGmailCursor(cursor);
    let answer: gmail_v1.Schema$ListHistoryResponse;
    try {
      answer = await this.client.call(
        'history.list',
        (api) =>
          api.users.history.list({
            userId: USER,
            startHistoryId,
            historyTypes: HISTORY_TYPES,
            maxResults: HISTORY_PAGE,
            pageToken: readHistoryPosition(position),
          }),
        { retries: FETCH_RETRIES },
      );
    } catch (err) {
      // "A historyId is typically valid for at least a week … you receive an HTTP 404 error response" → full sync.
      if (err instanceof ProviderError && err.code === 'not_found') {
        throw new ProviderError('cursor_expired', 'Gmail: history from this historyId is no longer available', { ...err.details });
      }
      throw err;
    }
    const plan = planHistory(answer.history ?? []);
    // Any failure other than "gone" throws the page: the cursor stays, and the engine retries it. Skipping a
    // message here would lose it until the next reconciliation.
    const fetched = (await this.fetchMany(plan.fetch)).map((m) => {
      if (m instanceof ProviderError) throw m;
      return m;
    });
    const gone = plan.fetch.filter((_, i) => fetched[i] === null);
    const upserts = fetched.filter((m): m is RemoteMessage => m !== null && !isOutOfScope(m.labels));
    const last = !answer.nextPageToken;
    if (last && !answer.historyId) throw new ProviderError('invalid', 'Gmail: history answer without historyId', { providerCode: 'malformedResponse' });
    return {
      upserts,
      deletes: [...plan.deletes, ...gone],
      stateChanges: await Promise.all(plan.stateChanges.map((change) => this.namedChange(change))),
      // The new historyId is only final once every page of this round is read (history.list docs).
      nextCursor: last ? gmailCursor(String(answer.historyId)) : null,
      nextPosition: last ? null : ({ v: 1, pageToken: answer.nextPageToken! } satisfies HistoryPosition),
      reset: false,
    };
  }

  async *listAllIds({ since }: { since: Date }): AsyncIterable<string[]> {
    const q = afterQuery(Math.floor(since.getTime() / 1000));
    let pageToken: string | undefined;
    do {
      const answer = await this.list(q, MAX_LIST_PAGE, pageToken);
      const ids = (answer.messages ?? []).map((m) => m.id).filter((id): id is string => !!id);
      if (ids.length) yield ids;
      pageToken = answer.nextPageToken ?? undefined;
    } while (pageToken);
  }

  async fetchMessage(providerMessageId: string): Promise<RemoteMessage | null> {
    const message = await this.fetchOne(providerMessageId);
    return message && !isOutOfScope(message.labels) ? message : null;
  }

  async fetchRaw(providerMessageId: string): Promise<Buffer> {
    // messages.get costs 5 units in any format; `raw` is base64url (users.messages#Message).
    const message = await this.getRaw(providerMessageId);
    if (typeof message.raw !== 'string') throw new ProviderError('invalid', 'Gmail: message answer without raw content', { providerCode: 'malformedResponse' });
    return Buffer.from(message.raw, 'base64url');
  }

  async fetchAttachment(providerMessageId: string, attachmentId: string): Promise<Buffer> {
    const partId = gmailPartIdFromImap(attachmentId);
    if (partId === null) throw new ProviderError('invalid', `Gmail: attachment id must be an IMAP part number, got "${attachmentId}"`);
    // format=full carries the MIME tree with per-part attachmentIds (fresh ones on every read).
    const full = await this.client.call('messages.get', (api) => api.users.messages.get({ userId: USER, id: providerMessageId, format: 'full' }), {
      retries: FETCH_RETRIES,
    });
    const part = findPayloadPart(full.payload ?? undefined, partId);
    if (!part?.body) throw new ProviderError('not_found', `Gmail: no part ${attachmentId} in message`);
    if (part.body.data) return Buffer.from(part.body.data, 'base64url');
    const gmailAttachmentId = part.body.attachmentId;
    if (!gmailAttachmentId) return Buffer.alloc(0);
    const body = await this.client.call(
      'messages.attachments.get',
      (api) => api.users.messages.attachments.get({ userId: USER, messageId: providerMessageId, id: gmailAttachmentId }),
      { retries: FETCH_RETRIES },
    );
    return Buffer.from(body.data ?? '', 'base64url');
  }

  /** Label ids → names (label-catalogue.ts): the engine and the CRM speak the names people see in Gmail. */
  private async named(message: RemoteMessage): Promise<RemoteMessage> {
    return { ...message, labels: await this.opts.labels.namesOf(message.labels) };
  }

  private async namedChange(change: SyncPage['stateChanges'][number]): Promise<SyncPage['stateChanges'][number]> {
    const { labels } = this.opts;
    return {
      ...change,
      ...(change.labelsAdded ? { labelsAdded: await labels.namesOf(change.labelsAdded) } : {}),
      ...(change.labelsRemoved ? { labelsRemoved: await labels.namesOf(change.labelsRemoved) } : {}),
    };
  }

  private getRaw(id: string, retries = FETCH_RETRIES) {
    return this.client.call('messages.get', (api) => api.users.messages.get({ userId: USER, id, format: 'raw' }), { retries });
  }

  /** Raw fetch of one listed id; a 404 means it went away since it was listed. */
  private async fetchOne(id: string): Promise<RemoteMessage | null> {
    try {
      return await this.named(toRemoteMessage(await this.getRaw(id)));
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_found') return null;
      throw err;
    }
  }

  /**
   * The raw messages of listed ids, in their order: each a message, null (gone since it was listed), or its
   * ProviderError. Batches of up to BATCH_MAX (batch.ts; GmailClient.batchSize), two in flight, while they pay
   * (GmailClient.batchPays: not when the quota is the limit); a call the batch answered with an error other
   * than 404 is fetched again on its own (with the single call's retries), as is a batch that failed for a
   * passing reason and everything when the API has no batch endpoint. Errors other than the provider's are thrown.
   */
  private async fetchMany(ids: readonly string[]): Promise<(RemoteMessage | null | ProviderError)[]> {
    const { client } = this;
    const { fetchConcurrency } = this.opts;
    const single = (id: string) =>
      this.fetchOne(id).catch((err: unknown) => {
        if (err instanceof ProviderError) return err;
        throw err;
      });
    const size = client.batchSize('messages.get');
    if (ids.length < 2 || size < 2) return mapBounded(ids, fetchConcurrency, single);
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += size) chunks.push(ids.slice(i, i + size));
    const answered = await mapBounded(chunks, BATCHES_IN_FLIGHT, async (chunk) => {
      if (!client.batchPays('messages.get', chunk.length)) return mapBounded(chunk, fetchConcurrency, single);
      let answers: BatchAnswer[] | null;
      try {
        answers = await client.getMany(
          'messages.get',
          chunk.map((id) => `/gmail/v1/users/${USER}/messages/${encodeURIComponent(id)}?format=raw`),
        );
      } catch (err) {
        // A batch that failed as a whole for a passing reason: its calls one by one, each with its own retries.
        if (!(err instanceof ProviderError) || err.code !== 'transient') throw err;
        answers = null;
      }
      if (answers === null) return mapBounded(chunk, fetchConcurrency, single);
      return mapBounded(answers, fetchConcurrency, async (answer, i) => {
        if ('json' in answer) {
          let message: RemoteMessage;
          try {
            message = toRemoteMessage(answer.json() as gmail_v1.Schema$Message);
          } catch (err) {
            // A part that is not JSON, or not a raw message: asked again on its own, like a failed call.
            if (!(err instanceof ProviderError)) throw err;
            return single(chunk[i]);
          }
          return this.named(message);
        }
        if (answer.error.code === 'not_found') return null;
        // Any other failure of one call is asked again on its own: its answer (or its retries) decide.
        return single(chunk[i]);
      });
    });
    return answered.flat();
  }

  private list(q: string, maxResults: number, pageToken: string | undefined) {
    return this.client.call('messages.list', (api) => api.users.messages.list({ userId: USER, q, maxResults, pageToken, includeSpamTrash: false }), {
      retries: FETCH_RETRIES,
    });
  }
}
