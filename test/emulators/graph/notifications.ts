/**
 * Change notifications over webhooks (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks):
 * the validation handshake on create (POST `?validationToken=` to notificationUrl and lifecycleNotificationUrl,
 * 200 text/plain echo within 10 s), change notifications after mailbox changes, lifecycle notifications
 * (reauthorizationRequired, subscriptionRemoved, missed) on demand, and expiry. Every POST is logged for tests.
 */
import { randomUUID } from 'node:crypto';
import { regularIdOf } from './ids';
import { GraphError, RECOVERABLE_DELETIONS, type MailStore } from './store';
import type { MailChange, Mailbox } from './types';

export type ChangeType = 'created' | 'updated' | 'deleted';
export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

export interface Subscription {
  id: string;
  address: string;
  tenantId: string;
  clientId: string;
  resource: string;
  /** null: the whole mailbox (`me/messages`); else the folder id the resource names. */
  folderId: string | null;
  changeTypes: ChangeType[];
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: string;
  /** Created with `Prefer: IdType="ImmutableId"`: notifications then carry immutable ids. */
  immutableIds: boolean;
  needsReauthorization: boolean;
}

export interface Delivery {
  at: string;
  kind: 'validation' | 'change' | 'lifecycle';
  url: string;
  body: unknown;
  status: number | null;
  durationMs: number;
  error?: string;
}

export interface NotifierSettings {
  /** Outlook message subscriptions: 10,080 minutes (under 7 days) in the current subscription reference. */
  maxLifetimeMinutes: number;
  validationTimeoutMs: number;
  /** Notification endpoints should answer within 3 s; slower answers are logged as slow. */
  slowAfterMs: number;
  /** Redeliveries after a failed change notification (Graph retries with back-off for hours). */
  retries: number;
  retryDelayMs: number;
}

export class Notifier {
  settings: NotifierSettings = { maxLifetimeMinutes: 10_080, validationTimeoutMs: 10_000, slowAfterMs: 3000, retries: 2, retryDelayMs: 500 };
  readonly deliveries: Delivery[] = [];
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly queued = new Map<string, unknown[]>();
  private readonly inFlight = new Set<Promise<void>>();
  private flushScheduled = false;

  constructor(private readonly store: MailStore) {
    store.onChange((change) => this.onChange(change));
  }

  list(address?: string): Subscription[] {
    this.dropExpired();
    return [...this.subscriptions.values()].filter((s) => !address || s.address.toLowerCase() === address.toLowerCase());
  }

  get(id: string): Subscription | undefined {
    this.dropExpired();
    return this.subscriptions.get(id);
  }

  /** Resolves once every queued and in-flight POST has been answered (or given up). */
  async idle(): Promise<void> {
    while (this.queued.size || this.inFlight.size || this.flushScheduled) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.all([...this.inFlight]);
    }
  }

  checkExpiration(value: unknown): string {
    const at = typeof value === 'string' ? Date.parse(value) : NaN;
    if (Number.isNaN(at)) throw new GraphError(400, 'InvalidRequest', "Missing or invalid property 'expirationDateTime'.");
    if (at <= Date.now()) throw new GraphError(400, 'InvalidRequest', 'Subscription expiration must be in the future.');
    const max = this.settings.maxLifetimeMinutes;
    if (at > Date.now() + max * 60_000) {
      throw new GraphError(
        400,
        'ExtensionError',
        `Operation: Create; Exception: [Status Code: BadRequest; Reason: Subscription expiration can only be ${max} minutes in the future.]`,
      );
    }
    return new Date(at).toISOString();
  }

  async create(sub: Omit<Subscription, 'id' | 'needsReauthorization'>): Promise<Subscription> {
    for (const url of [sub.notificationUrl, sub.lifecycleNotificationUrl]) {
      if (url) await this.validate(url);
    }
    const created: Subscription = { ...sub, id: randomUUID(), needsReauthorization: false };
    this.subscriptions.set(created.id, created);
    return created;
  }

  remove(id: string): boolean {
    return this.subscriptions.delete(id);
  }

  /** Sets every matching subscription's expiry in the past: Graph then stops notifying and forgets it. */
  expire(address?: string): number {
    const matching = this.list(address);
    for (const s of matching) s.expirationDateTime = new Date(Date.now() - 1000).toISOString();
    this.dropExpired();
    return matching.length;
  }

  fireLifecycle(id: string, lifecycleEvent: LifecycleEvent): void {
    const sub = this.subscriptions.get(id);
    if (!sub) throw new GraphError(404, 'ResourceNotFound', `Subscription '${id}' not found.`);
    if (lifecycleEvent === 'reauthorizationRequired') sub.needsReauthorization = true;
    if (lifecycleEvent === 'subscriptionRemoved') this.subscriptions.delete(id);
    if (!sub.lifecycleNotificationUrl) return;
    this.enqueue(sub.lifecycleNotificationUrl, 'lifecycle', {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: sub.expirationDateTime,
      tenantId: sub.tenantId,
      clientState: sub.clientState,
      lifecycleEvent,
    });
  }

  private async validate(url: string): Promise<void> {
    // Graph's token is opaque and contains spaces and colons: a receiver that does not URL-decode it fails here.
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = new URL(url);
    target.searchParams.set('validationToken', token);
    const started = Date.now();
    const record: Delivery = { at: new Date().toISOString(), kind: 'validation', url, body: null, status: null, durationMs: 0 };
    this.deliveries.push(record);
    let failure: GraphError | null = null;
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        signal: AbortSignal.timeout(this.settings.validationTimeoutMs),
      });
      const text = await res.text();
      record.status = res.status;
      if (res.status !== 200) {
        failure = new GraphError(
          400,
          'ValidationError',
          'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
        );
      } else if (text !== token || !(res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/plain')) {
        failure = new GraphError(
          400,
          'ValidationError',
          'Subscription validation request failed. Response must exactly match validationToken query parameter.',
        );
      }
    } catch (err) {
      record.error = String(err);
      failure =
        (err as Error).name === 'TimeoutError'
          ? new GraphError(400, 'InvalidRequest', 'Subscription validation request timed out.')
          : new GraphError(400, 'InvalidRequest', 'Subscription validation request failed. Notification endpoint is unreachable.');
    }
    record.durationMs = Date.now() - started;
    if (failure) throw failure;
  }

  /**
   * Every change, as it happens, to the subscriptions that exist at that moment: a subscription notifies changes made
   * after it was created, never the state before it (https://learn.microsoft.com/graph/change-notifications-overview;
   * that is for delta to bring), and a notification goes out whatever requests of the client are in flight.
   */
  private onChange(change: MailChange): void {
    const { mailbox, message, kind } = change;
    const deletions = this.store.folder(mailbox, RECOVERABLE_DELETIONS)?.id;
    for (const sub of this.list(mailbox.user.address)) {
      let changeType: ChangeType | null = null;
      let id = sub.immutableIds ? message.immutableId : regularIdOf(message);
      if (kind === 'created' || kind === 'updated') {
        if (sub.folderId === null || sub.folderId === message.folderId) changeType = kind;
      } else if (kind === 'deleted' || (kind === 'moved' && message.folderId === deletions)) {
        if (sub.folderId === null || sub.folderId === change.fromFolderId) changeType = 'deleted';
      } else if (sub.folderId === null) {
        changeType = 'updated';
      } else if (sub.folderId === message.folderId) {
        changeType = 'created';
      } else if (sub.folderId === change.fromFolderId) {
        changeType = 'deleted';
      }
      if (changeType === 'deleted' && !sub.immutableIds && change.fromRegularId) id = change.fromRegularId;
      if (!changeType || !sub.changeTypes.includes(changeType)) continue;
      this.enqueue(sub.notificationUrl, 'change', this.changeNotification(sub, mailbox, changeType, id, message.changeKey));
    }
  }

  private changeNotification(sub: Subscription, mailbox: Mailbox, changeType: ChangeType, id: string, changeKey: string): unknown {
    const resource = `Users/${mailbox.user.id}/Messages/${id}`;
    return {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: sub.expirationDateTime,
      changeType,
      resource,
      resourceData: { '@odata.type': '#Microsoft.Graph.Message', '@odata.id': resource, '@odata.etag': `W/"${changeKey}"`, id },
      clientState: sub.clientState,
      tenantId: sub.tenantId,
    };
  }

  /** Notifications for one URL raised in the same tick go out together, as Graph batches them in `value`. */
  private enqueue(url: string, kind: 'change' | 'lifecycle', item: unknown): void {
    const key = `${kind} ${url}`;
    this.queued.set(key, [...(this.queued.get(key) ?? []), item]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const [queuedKey, value] of this.queued) {
        const [queuedKind, ...rest] = queuedKey.split(' ');
        const task = this.post(rest.join(' '), queuedKind as 'change' | 'lifecycle', { value }, 0);
        this.inFlight.add(task);
        void task.finally(() => this.inFlight.delete(task));
      }
      this.queued.clear();
    });
  }

  private async post(url: string, kind: 'change' | 'lifecycle', body: unknown, attempt: number): Promise<void> {
    const started = Date.now();
    const record: Delivery = { at: new Date().toISOString(), kind, url, body, status: null, durationMs: 0 };
    this.deliveries.push(record);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      await res.arrayBuffer();
      record.status = res.status;
    } catch (err) {
      record.error = String(err);
    }
    record.durationMs = Date.now() - started;
    if (record.durationMs > this.settings.slowAfterMs) record.error ??= 'slow: answered after the 3 s Graph allows';
    const ok = record.status !== null && record.status >= 200 && record.status < 300;
    if (!ok && attempt < this.settings.retries) {
      await new Promise((resolve) => setTimeout(resolve, this.settings.retryDelayMs * 2 ** attempt));
      await this.post(url, kind, body, attempt + 1);
    }
  }

  private dropExpired(): void {
    const now = Date.now();
    for (const [id, sub] of this.subscriptions) if (Date.parse(sub.expirationDateTime) <= now) this.subscriptions.delete(id);
  }
}
