/**
 * An in-memory mailbox implementing the provider ports, for engine tests: messages (raw RFC 5322 from the shared
 * generator), a change history with a cursor that can be expired, and failures on demand (throttled with
 * Retry-After, transient, auth_revoked, poison ids). It records every call and the highest concurrency seen.
 */
import {
  ProviderError,
  type AccessTokenSource,
  type AdapterFactory,
  type BackfillPage,
  type MailboxRef,
  type MessageFlags,
  type ProviderAdapter,
  type RemoteMessage,
  type RemoteStateChange,
  type SyncCursor,
  type SyncPage,
} from '../../server/src/sync/providers/port';

export interface FakeMessage {
  id: string;
  threadId: string | null;
  raw: Buffer;
  labels: string[];
  flags: MessageFlags;
  receivedAt: Date;
}

type HistoryEvent =
  | { seq: number; kind: 'add'; id: string }
  | { seq: number; kind: 'delete'; id: string }
  | { seq: number; kind: 'state'; id: string; change: Omit<RemoteStateChange, 'providerMessageId'> };

type Op = 'currentCursor' | 'backfillPage' | 'changesSince' | 'listAllIds' | 'fetchMessage' | 'token' | 'pushStart' | 'pushRenew' | 'pushStop';

const NO_FLAGS: MessageFlags = { read: false, starred: false, archived: false, deleted: false };

export class FakeMailbox {
  readonly messages = new Map<string, FakeMessage>();
  private history: HistoryEvent[] = [];
  private seq = 100;
  /** Cursors taken before the last expireCursors() carry an older epoch and are refused. */
  private epoch = 0;
  private readonly queued: { op: Op | '*'; error: ProviderError }[] = [];
  readonly poisonIds = new Set<string>();
  readonly calls: Op[] = [];
  private inFlight = 0;
  maxInFlight = 0;
  historyPageSize = 50;
  /** Called inside every provider call (after it starts): lets a test act "during" a backfill page. */
  onCall: ((op: Op) => void | Promise<void>) | null = null;
  /** true: the adapter has a push channel (watch / subscription) whose calls are recorded; false: polling only. */
  pushEnabled = false;

  add(m: Omit<FakeMessage, 'flags' | 'labels'> & { flags?: Partial<MessageFlags>; labels?: string[] }): void {
    this.messages.set(m.id, { ...m, labels: m.labels ?? ['INBOX'], flags: { ...NO_FLAGS, ...m.flags } });
    this.history.push({ seq: ++this.seq, kind: 'add', id: m.id });
  }

  delete(id: string): void {
    this.messages.delete(id);
    this.history.push({ seq: ++this.seq, kind: 'delete', id });
  }

  setState(id: string, change: Omit<RemoteStateChange, 'providerMessageId'>): void {
    const m = this.messages.get(id);
    if (!m) throw new Error(`no message ${id}`);
    m.flags = { ...m.flags, ...change.flags };
    m.labels = [...m.labels.filter((l) => !(change.labelsRemoved ?? []).includes(l)), ...(change.labelsAdded ?? []).filter((l) => !m.labels.includes(l))];
    this.history.push({ seq: ++this.seq, kind: 'state', id, change });
  }

  /** Every cursor taken so far stops working (Gmail 404 / Graph 410). */
  expireCursors(): void {
    this.epoch += 1;
    this.history = [];
  }

  /** The next call of `op` (or of any op, '*') throws this error. */
  failNext(op: Op | '*', error: ProviderError, times = 1): void {
    for (let i = 0; i < times; i++) this.queued.push({ op, error });
  }

  private async enter(op: Op): Promise<() => void> {
    this.calls.push(op);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const leave = () => {
      this.inFlight -= 1;
    };
    try {
      // A real provider call takes time: lets a second worker's call overlap if the engine allowed it.
      await new Promise((r) => setImmediate(r));
      const i = this.queued.findIndex((q) => q.op === op || q.op === '*');
      if (i >= 0) throw this.queued.splice(i, 1)[0].error;
      await this.onCall?.(op);
    } catch (err) {
      leave();
      throw err;
    }
    return leave;
  }

  private remote(m: FakeMessage): RemoteMessage {
    return {
      providerMessageId: m.id,
      providerThreadId: m.threadId,
      labels: [...m.labels],
      folderId: null,
      flags: { ...m.flags },
      receivedAt: m.receivedAt,
      content: { kind: 'raw', raw: m.raw },
    };
  }

  private cursor(): SyncCursor {
    return { v: 1, provider: 'google', state: { seq: this.seq, epoch: this.epoch } };
  }

  /** Newest first, ties by id: the backfill order, and stable while mail arrives. */
  private ordered(since: Date): FakeMessage[] {
    return [...this.messages.values()]
      .filter((m) => m.receivedAt.getTime() >= since.getTime())
      .sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || (a.id < b.id ? -1 : 1));
  }

  adapter(): ProviderAdapter {
    const self = this;
    return {
      changeSource: {
        async currentCursor() {
          const leave = await self.enter('currentCursor');
          leave();
          return self.cursor();
        },
        async backfillPage({ since, position, pageSize = 50 }): Promise<BackfillPage> {
          const leave = await self.enter('backfillPage');
          try {
            const after = position as { t: number; id: string } | null;
            const all = self.ordered(since);
            const rest = after ? all.filter((m) => m.receivedAt.getTime() < after.t || (m.receivedAt.getTime() === after.t && m.id > after.id)) : all;
            const page = rest.slice(0, pageSize);
            const last = page[page.length - 1];
            return {
              upserts: page.filter((m) => !self.poisonIds.has(m.id)).map((m) => self.remote(m)),
              failed: page
                .filter((m) => self.poisonIds.has(m.id))
                .map((m) => ({ providerMessageId: m.id, error: new ProviderError('invalid', 'cannot fetch') })),
              nextPosition: rest.length > page.length ? { t: last.receivedAt.getTime(), id: last.id } : null,
              totalEstimate: all.length,
            };
          } finally {
            leave();
          }
        },
        async changesSince(cursor, position): Promise<SyncPage & { nextPosition: unknown | null }> {
          const leave = await self.enter('changesSince');
          try {
            const from = (position as number | null) ?? (cursor.state.seq as number);
            if (cursor.state.epoch !== self.epoch) throw new ProviderError('cursor_expired', 'history expired');
            const events = self.history.filter((e) => e.seq > from);
            const page = events.slice(0, self.historyPageSize);
            const upserts: RemoteMessage[] = [];
            const failed: { providerMessageId: string; error: ProviderError }[] = [];
            const deletes: string[] = [];
            const stateChanges: RemoteStateChange[] = [];
            for (const e of page) {
              const m = self.messages.get(e.id);
              if (e.kind === 'delete') deletes.push(e.id);
              else if (!m) continue;
              else if (e.kind === 'add' && self.poisonIds.has(e.id))
                failed.push({ providerMessageId: e.id, error: new ProviderError('invalid', 'cannot fetch') });
              else if (e.kind === 'add') upserts.push(self.remote(m));
              else stateChanges.push({ providerMessageId: e.id, ...e.change });
            }
            const more = events.length > page.length;
            return {
              upserts,
              deletes,
              stateChanges,
              failed,
              reset: false,
              nextCursor: more ? null : { v: 1, provider: 'google', state: { seq: page.length ? page[page.length - 1].seq : from, epoch: self.epoch } },
              nextPosition: more ? page[page.length - 1].seq : null,
            };
          } finally {
            leave();
          }
        },
        async *listAllIds({ since }) {
          const leave = await self.enter('listAllIds');
          const ids = self.ordered(since).map((m) => m.id);
          leave();
          for (let i = 0; i < ids.length; i += 100) yield ids.slice(i, i + 100);
        },
        async fetchMessage(id) {
          const leave = await self.enter('fetchMessage');
          try {
            if (self.poisonIds.has(id)) throw new ProviderError('invalid', 'cannot fetch');
            const m = self.messages.get(id);
            return m ? self.remote(m) : null;
          } finally {
            leave();
          }
        },
        async fetchAttachment() {
          return Buffer.alloc(0);
        },
        async fetchRaw(id) {
          const m = self.messages.get(id);
          const remote = m ? self.remote(m) : null;
          if (remote?.content.kind !== 'raw') throw new ProviderError('not_found', 'no such message');
          return remote.content.raw;
        },
      },
      writer: {
        async send() {
          throw new Error('not in the fake');
        },
        async findByInternetMessageId() {
          return null;
        },
        async modify() {},
        async trash() {},
      },
      push: self.pushEnabled
        ? {
            async start() {
              (await self.enter('pushStart'))();
              return { channelId: 'fake-channel', clientState: 'fake-state', expiresAt: new Date(Date.now() + 7 * 86_400_000) };
            },
            async renew(current) {
              (await self.enter('pushRenew'))();
              return { ...current, expiresAt: new Date(Date.now() + 7 * 86_400_000) };
            },
            async stop() {
              (await self.enter('pushStop'))();
            },
          }
        : null,
    };
  }
}

/** An AdapterFactory over fake mailboxes by mailbox id; it asks the token source first, like a real adapter would. */
export function fakeAdapterFactory(boxes: Map<string, FakeMailbox>): AdapterFactory {
  return (ref: MailboxRef, tokens: AccessTokenSource) => {
    const box = boxes.get(ref.id);
    if (!box) throw new Error(`no fake mailbox ${ref.id}`);
    const inner = box.adapter();
    const authed =
      <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        await tokens.accessToken();
        return fn(...a);
      };
    const cs = inner.changeSource;
    return {
      ...inner,
      changeSource: {
        currentCursor: authed(cs.currentCursor),
        backfillPage: authed(cs.backfillPage),
        changesSince: authed(cs.changesSince),
        listAllIds: cs.listAllIds,
        fetchMessage: authed(cs.fetchMessage),
        fetchAttachment: cs.fetchAttachment,
        fetchRaw: authed(cs.fetchRaw),
      },
    };
  };
}
