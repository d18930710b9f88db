/**
 * The typed control object tests and benchmarks steer the Microsoft emulator with, and its HTTP mirror under
 * `/__control/{method}` (POST, JSON `{"args":[...]}`; Buffers travel as `{"base64": "..."}`).
 */
import express, { Router } from 'express';
import type { FaultCounters, FaultInjector, FaultSettings } from '../common/faults';
import type { RecordedRequest, RecorderCounters, RequestRecorder } from '../common/recorder';
import type { AddinTokenClaims, AppRegistration, ConsentMode, MicrosoftIdentity } from '../oauth/microsoft';
import type { ActionLog, ActionRecord } from './context';
import type { DeltaTokens } from './delta';
import { regularIdOf } from './ids';
import type { Delivery, LifecycleEvent, Notifier, NotifierSettings, Subscription } from './notifications';
import { GraphError, notFound, type MailStore } from './store';
import type { Throttle, ThrottleLimits, ThrottleStats } from './throttle';
import type { FlagStatus, MailUser, Mailbox, StoredMessage } from './types';

export interface SeedItem {
  raw: Buffer;
  /** Folder id or well-known name (inbox, sentitems, archive...). */
  folder: string;
  isRead?: boolean;
  receivedDateTime?: string;
}

export interface MessageSummary {
  immutableId: string;
  regularId: string;
  internetMessageId: string;
  conversationId: string;
  subject: string;
  folderId: string;
  folder: string;
  isRead: boolean;
  isDraft: boolean;
  flagStatus: FlagStatus;
  categories: string[];
  receivedDateTime: string;
}

export interface MicrosoftControl {
  readonly tenantId: string;
  addUser(address: string, user?: Partial<Omit<MailUser, 'address'>>): MailUser;
  seedMailbox(address: string, items: SeedItem[]): Promise<string[]>;
  /** New mail arriving in the inbox (or another folder): a delta change and a `created` notification. */
  deliver(address: string, raw: Buffer, opts?: Omit<SeedItem, 'raw' | 'folder'> & { folder?: string }): Promise<string>;
  messages(address: string, folder?: string): MessageSummary[];
  createFolder(address: string, displayName: string, parent?: string): string;
  // Acting as the user in Outlook; `ref` is an immutable id, a current regular id or an internetMessageId.
  markRead(address: string, ref: string, isRead?: boolean): void;
  flag(address: string, ref: string, flagStatus: FlagStatus): void;
  categorize(address: string, ref: string, categories: string[]): void;
  move(address: string, ref: string, folder: string): void;
  /** What pressing Delete in Outlook does: a move to Deleted Items. */
  trash(address: string, ref: string): void;
  permanentlyDelete(address: string, ref: string): void;
  /** The mailbox keeps the internetMessageId it gives each draft, whatever a client PATCHes (types.ts Mailbox). */
  assignOwnMessageIds(address: string, on?: boolean): void;
  /** How long a sent draft is in transit before its Sent Items copy exists (store.ts MailStore.sentCopyDelayMs); 0: none (default). */
  setSentCopyDelay(ms: number): void;
  // Identity.
  registerApp(app: AppRegistration): void;
  revokeGrant(address: string, opts?: { keepAccessTokens?: boolean }): number;
  expireAccessTokens(address: string): void;
  setAccessTokenLifetime(seconds: number): void;
  setConsentMode(mode: ConsentMode): void;
  denyNextAuthorization(count?: number): void;
  /** null: used refresh tokens keep working (documented); n: they stop n seconds after first use. */
  setUsedRefreshTokenGrace(seconds: number | null): void;
  mintAddinToken(claims: AddinTokenClaims): Promise<string>;
  // Sync machinery.
  invalidateDeltaTokens(address: string, folder?: string): void;
  /** false: rounds started from now on ignore `$expand` (store.ts MailStore.ignoreDeltaExpand); true: honoured (default). */
  setDeltaExpand(honoured: boolean): void;
  setFaults(settings: FaultSettings): void;
  clearFaults(): void;
  faultCounters(): FaultCounters;
  setThrottling(limits: Partial<ThrottleLimits>): void;
  throttleStats(address: string): ThrottleStats;
  // Subscriptions.
  subscriptions(address?: string): Subscription[];
  fireLifecycle(subscriptionId: string, event: LifecycleEvent): void;
  expireSubscriptions(address?: string): number;
  setNotifierSettings(settings: Partial<NotifierSettings>): void;
  notificationDeliveries(): Delivery[];
  notificationsIdle(): Promise<void>;
  // What the product did.
  requests(filter?: { name?: string; sinceSeq?: number }): RecordedRequest[];
  requestCounters(): RecorderCounters;
  actions(action?: ActionRecord['action'], address?: string): ActionRecord[];
  clearLogs(): void;
}

export interface ControlDeps {
  store: MailStore;
  identity: MicrosoftIdentity;
  deltaTokens: DeltaTokens;
  throttle: Throttle;
  notifier: Notifier;
  faults: FaultInjector;
  recorder: RequestRecorder;
  log: ActionLog;
}

export function createControl(d: ControlDeps): MicrosoftControl {
  const { store } = d;
  const resolve = (address: string, ref: string): { mailbox: Mailbox; message: StoredMessage } => {
    const mailbox = store.require(address);
    const message = store.message(mailbox, ref) ?? store.byInternetMessageId(mailbox, ref);
    if (!message) throw notFound();
    return { mailbox, message };
  };
  const summary = (mailbox: Mailbox, m: StoredMessage): MessageSummary => {
    const folder = mailbox.folders.get(m.folderId);
    return {
      immutableId: m.immutableId,
      regularId: regularIdOf(m),
      internetMessageId: m.internetMessageId,
      conversationId: m.conversationId,
      subject: m.subject,
      folderId: m.folderId,
      folder: folder?.wellKnownName ?? folder?.displayName ?? m.folderId,
      isRead: m.isRead,
      isDraft: m.isDraft,
      flagStatus: m.flag.flagStatus,
      categories: [...m.categories],
      receivedDateTime: m.receivedDateTime,
    };
  };
  const moveTo = (address: string, ref: string, folder: string): void => {
    const { mailbox, message } = resolve(address, ref);
    store.move(mailbox, message, store.requireFolder(mailbox, folder).id);
  };
  return {
    tenantId: store.defaultTenantId,
    addUser: (address, user) => store.ensure(address, user).user,
    async seedMailbox(address, items) {
      const mailbox = store.ensure(address);
      const ids: string[] = [];
      for (const item of items) {
        const folder = store.requireFolder(mailbox, item.folder);
        ids.push((await store.insertRaw(mailbox, folder.id, item.raw, { isRead: item.isRead, receivedDateTime: item.receivedDateTime })).immutableId);
      }
      return ids;
    },
    async deliver(address, raw, opts = {}) {
      const mailbox = store.ensure(address);
      const folder = store.requireFolder(mailbox, opts.folder ?? 'inbox');
      const receivedDateTime = opts.receivedDateTime ?? new Date().toISOString();
      return (await store.insertRaw(mailbox, folder.id, raw, { isRead: opts.isRead, receivedDateTime })).immutableId;
    },
    messages(address, folder) {
      const mailbox = store.require(address);
      const folderId = folder === undefined ? null : store.requireFolder(mailbox, folder).id;
      return [...mailbox.messages.values()].filter((m) => folderId === null || m.folderId === folderId).map((m) => summary(mailbox, m));
    },
    createFolder(address, displayName, parent = 'msgfolderroot') {
      const mailbox = store.ensure(address);
      return store.createFolder(mailbox, store.requireFolder(mailbox, parent).id, displayName).id;
    },
    markRead(address, ref, isRead = true) {
      const { mailbox, message } = resolve(address, ref);
      store.update(mailbox, message, { isRead });
    },
    flag(address, ref, flagStatus) {
      const { mailbox, message } = resolve(address, ref);
      store.update(mailbox, message, { flag: { flagStatus } });
    },
    categorize(address, ref, categories) {
      const { mailbox, message } = resolve(address, ref);
      store.update(mailbox, message, { categories: [...categories] });
    },
    move: moveTo,
    trash: (address, ref) => moveTo(address, ref, 'deleteditems'),
    setDeltaExpand(honoured) {
      store.ignoreDeltaExpand = !honoured;
    },
    setSentCopyDelay(ms) {
      store.sentCopyDelayMs = ms;
    },
    assignOwnMessageIds(address, on = true) {
      store.ensure(address).assignsOwnMessageIds = on;
    },
    permanentlyDelete(address, ref) {
      const { mailbox, message } = resolve(address, ref);
      store.purge(mailbox, message);
    },
    registerApp: (app) => d.identity.registerApp(app),
    revokeGrant: (address, opts) => d.identity.revokeGrants(address, opts),
    expireAccessTokens: (address) => d.identity.expireAccessTokens(address),
    setAccessTokenLifetime(seconds) {
      d.identity.accessTokenLifetimeSeconds = seconds;
    },
    setConsentMode(mode) {
      d.identity.consentMode = mode;
    },
    denyNextAuthorization: (count) => d.identity.denyNextAuthorizations(count),
    setUsedRefreshTokenGrace(seconds) {
      d.identity.usedRefreshTokenGraceSeconds = seconds;
    },
    mintAddinToken: (claims) => d.identity.mintAddinToken(claims),
    invalidateDeltaTokens(address, folder) {
      const mailbox = store.require(address);
      d.deltaTokens.invalidate(address, folder === undefined ? undefined : store.requireFolder(mailbox, folder).id);
    },
    setFaults: (settings) => d.faults.set(settings),
    clearFaults: () => d.faults.clear(),
    faultCounters: () => d.faults.counters(),
    setThrottling: (limits) => d.throttle.set(limits),
    throttleStats: (address) => d.throttle.stats(address),
    subscriptions: (address) => d.notifier.list(address),
    fireLifecycle: (id, event) => d.notifier.fireLifecycle(id, event),
    expireSubscriptions: (address) => d.notifier.expire(address),
    setNotifierSettings(settings) {
      d.notifier.settings = { ...d.notifier.settings, ...settings };
    },
    notificationDeliveries: () => [...d.notifier.deliveries],
    notificationsIdle: () => d.notifier.idle(),
    requests: (filter) => d.recorder.entries(filter),
    requestCounters: () => d.recorder.counters(),
    actions: (action, address) => (action ? d.log.of(action, address) : [...d.log.records]),
    clearLogs() {
      d.recorder.clear();
      d.log.records.length = 0;
      d.notifier.deliveries.length = 0;
    },
  };
}

/** JSON can't carry Buffers: `{"base64": "..."}` anywhere in the arguments becomes one. */
function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (Object.keys(record).length === 1 && typeof record.base64 === 'string') return Buffer.from(record.base64, 'base64');
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

export function controlRouter(control: MicrosoftControl): Router {
  const router = Router();
  router.use(express.json({ limit: '200mb' }));
  router.get('/', (_req, res) => {
    res.json({ methods: Object.keys(control).filter((k) => typeof control[k as keyof MicrosoftControl] === 'function') });
  });
  router.post('/:method', async (req, res) => {
    const method = control[req.params.method as keyof MicrosoftControl];
    if (typeof method !== 'function') return void res.status(404).json({ error: { code: 'UnknownControlMethod', message: req.params.method } });
    const args = revive((req.body as { args?: unknown[] } | undefined)?.args ?? []) as unknown[];
    try {
      const result: unknown = await (method as (...a: unknown[]) => unknown).apply(control, args);
      res.json({ result: result ?? null });
    } catch (err) {
      const status = err instanceof GraphError ? err.status : 500;
      res.status(status).json({ error: { code: err instanceof GraphError ? err.code : 'ControlError', message: String((err as Error).message) } });
    }
  });
  return router;
}
