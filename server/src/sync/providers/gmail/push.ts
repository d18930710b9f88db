/**
 * Gmail push: the channel (users.watch on the Pub/Sub topic, users.stop) and its receiver.
 * https://developers.google.com/gmail/api/guides/push — a watch lasts 7 days and must be renewed (Google
 * advises daily); calling watch again replaces the current one, so renewing is watching again. Gmail has no
 * channel id or client secret: a push is authenticated by the Pub/Sub OIDC token, checked by the receiver.
 */
import { z } from 'zod';
import { ProviderError, PushRefused, type PushChannel, type PushChannelInfo, type PushReceipt, type PushReceiver, type PushRequest } from '../port';
import { PubSubPush } from '@threadline/shared/src/api/push';
import type { GmailClient } from './client';

const USER = 'me';
/** watch and stop are idempotent (calling watch again replaces the watch): a passing failure is asked again. */
const CHANNEL_RETRIES = 2;

export class GmailPush implements PushChannel {
  constructor(
    private readonly client: GmailClient,
    private readonly topicName: string,
  ) {}

  async start(): Promise<PushChannelInfo> {
    // No labelIds filter: every change matters (state changes on archived mail too), and the engine reads
    // history anyway. labelFilterBehavior is the current name of the deprecated labelFilterAction.
    const answer = await this.client.call(
      'users.watch',
      (api) => api.users.watch({ userId: USER, requestBody: { topicName: this.topicName, labelFilterBehavior: 'include' } }),
      { retries: CHANNEL_RETRIES },
    );
    const expiration = Number(answer.expiration); // epoch ms as an int64 string
    if (!Number.isFinite(expiration) || expiration <= 0) {
      throw new ProviderError('invalid', 'Gmail: watch answer without expiration', { providerCode: 'malformedResponse' });
    }
    return { channelId: null, clientState: null, expiresAt: new Date(expiration) };
  }

  /** Watching again replaces the current watch. */
  renew(): Promise<PushChannelInfo> {
    return this.start();
  }

  async stop(): Promise<void> {
    await this.client.call('users.stop', (api) => api.users.stop({ userId: USER }), { retries: CHANNEL_RETRIES });
  }
}

/** `{emailAddress, historyId}`; the historyId may be a string or a number (https://developers.google.com/gmail/api/guides/push). */
const gmailData = z.object({ emailAddress: z.string().email(), historyId: z.union([z.string(), z.number()]) }).passthrough();

/** Checks a Pub/Sub push's OIDC token (auth/identity.ts); throws PushRefused when it is not one of ours. */
export type PushTokenVerifier = (token: string) => Promise<void>;

/** The path Pub/Sub pushes to, under /webhooks/ (the push subscription's endpoint, GOOGLE_PUSH_AUDIENCE). */
export const GMAIL_PUSH_ENDPOINT = 'gmail';

/**
 * Receives Pub/Sub pushes: the bearer token verified first (401/403 otherwise), then the mailbox named by address.
 * A push that names none (garbled, not JSON) is acknowledged all the same, or Pub/Sub would redeliver it forever.
 * The historyId is not trusted: the run reads history from its own stored cursor, which never moves backwards.
 */
export class GmailPushReceiver implements PushReceiver {
  readonly provider = 'google';
  readonly endpoints = [GMAIL_PUSH_ENDPOINT];

  /** Without a verifier, every push is refused. */
  constructor(private readonly verifyToken?: PushTokenVerifier) {}

  async receive(request: PushRequest): Promise<PushReceipt> {
    const authorization = request.headers.authorization;
    const bearer = /^Bearer\s+(\S+)$/i.exec(typeof authorization === 'string' ? authorization : '')?.[1];
    if (!bearer) throw new PushRefused(401, 'missing push token');
    if (!this.verifyToken) throw new PushRefused(401, 'push tokens cannot be checked: no verifier configured');
    await this.verifyToken(bearer);
    const parsed = PubSubPush.safeParse(request.body);
    let address: string | undefined;
    if (parsed.success) {
      try {
        const data = gmailData.safeParse(JSON.parse(Buffer.from(parsed.data.message.data, 'base64').toString('utf8')));
        if (data.success) address = data.data.emailAddress.toLowerCase();
      } catch {
        /* not JSON: acknowledged and ignored */
      }
    }
    return { kind: 'notices', status: 204, notices: address ? [{ to: { address } }] : [] };
  }
}
