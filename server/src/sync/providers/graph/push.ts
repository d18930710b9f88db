/**
 * Graph change notifications as the PushChannel (DESIGN.md §4.4, §5): one subscription per mailbox on
 * `me/messages` (every folder; a notification is only a hint to run a sync), with a lifecycle URL for
 * `reauthorizationRequired` / `subscriptionRemoved` / `missed`, and a random clientState the webhook compares in
 * constant time. Graph validates both URLs with a handshake before it answers the POST
 * (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks), so the webhook must be up first.
 * Renewal is a PATCH of expirationDateTime (it also reauthorizes); a subscription Graph no longer knows is
 * created again.
 */
import { randomBytes } from 'node:crypto';
import { ProviderError, type PushChannel, type PushChannelInfo } from '../port';
import type { GraphMailboxClient } from './client';

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
      notificationUrl: `${base}/webhooks/graph`,
      lifecycleNotificationUrl: `${base}/webhooks/graph/lifecycle`,
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
