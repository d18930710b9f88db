/**
 * Graph change notifications: the PushChannel and its receiver (docs/SYNC.md "Push, polling and reconciliation",
 * docs/PROVIDERS.md "Microsoft Graph"). One subscription per mailbox on
 * `me/messages` (every folder; a notification is only a hint to run a sync), with a lifecycle URL for
 * `reauthorizationRequired` / `subscriptionRemoved` / `missed`, and a random clientState the webhook compares in
 * constant time. Graph validates both URLs with a handshake before it answers the POST
 * (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks), so the webhook must be up first.
 * Renewal is a PATCH of expirationDateTime (it also reauthorizes); a subscription Graph no longer knows is
 * created again.
 */
import { randomBytes } from 'node:crypto';
import { ProviderError, type PushChannel, type PushChannelInfo, type PushNotice, type PushReceipt, type PushReceiver, type PushRequest } from '../port';
import { GraphNotifications } from '@threadline/shared/src/api/push';
import type { GraphMailboxClient } from './client';

/** The paths under /webhooks/ a subscription names: its notificationUrl and its lifecycleNotificationUrl. */
export const GRAPH_PUSH_ENDPOINTS = { change: 'graph', lifecycle: 'graph/lifecycle' } as const;

export interface GraphPushOptions {
  /** PUBLIC_URL, without trailing slash. */
  publicUrl: string;
  /** GRAPH_SUBSCRIPTION_MINUTES: lifetime asked for (mail allows a little under 7 days). */
  lifetimeMinutes: number;
  now?: () => Date;
}

interface Subscription {
  id: string;
  expirationDateTime: string;
  clientState?: string | null;
}

export class GraphPush implements PushChannel {
  constructor(
    private readonly client: GraphMailboxClient,
    private readonly opts: GraphPushOptions,
  ) {}

  async start(): Promise<PushChannelInfo> {
    // 32 random bytes: unguessable, and far below Graph's 128-character limit for clientState.
    const clientState = randomBytes(32).toString('base64url');
    const base = this.opts.publicUrl.replace(/\/+$/, '');
    const sub = await this.client.post<Subscription>('/subscriptions', {
      changeType: 'created,updated,deleted',
      resource: 'me/messages',
      notificationUrl: `${base}/webhooks/${GRAPH_PUSH_ENDPOINTS.change}`,
      lifecycleNotificationUrl: `${base}/webhooks/${GRAPH_PUSH_ENDPOINTS.lifecycle}`,
      clientState,
      expirationDateTime: this.expiry(),
    });
    return { channelId: sub.id, clientState, expiresAt: new Date(sub.expirationDateTime) };
  }

  async renew(current: PushChannelInfo): Promise<PushChannelInfo> {
    if (!current.channelId) return this.start();
    try {
      const sub = await this.client.patch<Subscription>(`/subscriptions/${encodeURIComponent(current.channelId)}`, { expirationDateTime: this.expiry() });
      return { channelId: sub.id, clientState: current.clientState, expiresAt: new Date(sub.expirationDateTime) };
    } catch (err) {
      // Expired or removed on Graph's side (subscriptionRemoved): a new one, with a new clientState.
      if (err instanceof ProviderError && err.code === 'not_found') return this.start();
      throw err;
    }
  }

  async stop(current: PushChannelInfo): Promise<void> {
    if (!current.channelId) return;
    try {
      await this.client.delete(`/subscriptions/${encodeURIComponent(current.channelId)}`);
    } catch (err) {
      if (!(err instanceof ProviderError && err.code === 'not_found')) throw err;
    }
  }

  private expiry(): string {
    const now = this.opts.now?.() ?? new Date();
    return new Date(now.getTime() + this.opts.lifetimeMinutes * 60_000).toISOString();
  }
}

/**
 * Bounds on what one unauthenticated request can make us do (docs/SECURITY.md, "Push and webhooks"): at most this
 * many notifications of a request are looked at (Graph batches a few; the rest are counted and dropped), and at most
 * GRAPH_PUSH_MAX_IN_FLIGHT requests are worked on at once.
 */
export const MAX_NOTIFICATIONS_PER_REQUEST = 100;
export const GRAPH_PUSH_MAX_IN_FLIGHT = 16;

const CHANGE_TYPES = new Set(['created', 'updated', 'deleted']);
/** Lifecycle events after which the subscription must be renewed (or, when Graph no longer knows it, made again). */
const RENEW_EVENTS = new Set(['reauthorizationRequired', 'subscriptionRemoved']);

/**
 * Receives change and lifecycle notifications (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks):
 * the validation handshake (the token echoed as text/plain within 10 seconds), else 202 at once and one notice per
 * item, each vouched for by its clientState only. Every change, and a `missed` lifecycle event, means a catch-up from
 * the stored delta cursor; a checked change names its message, a hint for the round (hints.ts).
 */
export class GraphPushReceiver implements PushReceiver {
  readonly provider = 'microsoft';
  readonly endpoints = [GRAPH_PUSH_ENDPOINTS.change, GRAPH_PUSH_ENDPOINTS.lifecycle];
  readonly maxInFlight = GRAPH_PUSH_MAX_IN_FLIGHT;

  async receive(request: PushRequest): Promise<PushReceipt> {
    const validationToken = request.query.validationToken;
    if (typeof validationToken === 'string') return { kind: 'answer', status: 200, contentType: 'text/plain', body: validationToken };
    const lifecycle = request.endpoint === GRAPH_PUSH_ENDPOINTS.lifecycle;
    // Cut to the cap before validating: the rest is neither parsed nor looked up.
    const body = request.body as { value?: unknown } | null | undefined;
    const all: unknown[] = Array.isArray(body?.value) ? body.value : [];
    const dropped = { over_request_cap: Math.max(0, all.length - MAX_NOTIFICATIONS_PER_REQUEST) };
    const parsed = GraphNotifications.safeParse({ value: all.slice(0, MAX_NOTIFICATIONS_PER_REQUEST) });
    const notices = (parsed.success ? parsed.data.value : []).map((item): PushNotice => {
      const messageId = item.resourceData?.id;
      return {
        to: { channelId: item.subscriptionId, clientState: item.clientState ?? null },
        ...(lifecycle && item.lifecycleEvent && RENEW_EVENTS.has(item.lifecycleEvent) ? { renewChannel: true } : {}),
        ...(!lifecycle && messageId && item.changeType && CHANGE_TYPES.has(item.changeType) ? { hint: messageId } : {}),
      };
    });
    return { kind: 'notices', status: 202, notices, dropped };
  }
}
