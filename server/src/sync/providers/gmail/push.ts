/**
 * Gmail PushChannel: users.watch on the Pub/Sub topic, users.stop.
 * https://developers.google.com/gmail/api/guides/push — a watch lasts 7 days and must be renewed (Google
 * advises daily); calling watch again replaces the current one, so renewing is watching again. Gmail has no
 * channel id or client secret: the push is authenticated by the Pub/Sub OIDC token, checked in the webhook.
 */
import { ProviderError, type PushChannel, type PushChannelInfo } from '../port';
import type { GmailClient } from './client';

const USER = 'me';

export function gmailPushChannel(client: GmailClient, topicName: string): PushChannel {
  const start = async (): Promise<PushChannelInfo> => {
    // No labelIds filter: every change matters (state changes on archived mail too), and the engine reads
    // history anyway. labelFilterBehavior is the current name of the deprecated labelFilterAction.
    const answer = await client.call('users.watch', (api) =>
      api.users.watch({ userId: USER, requestBody: { topicName, labelFilterBehavior: 'include' } }),
    );
    const expiration = Number(answer.expiration); // epoch ms as an int64 string
    if (!Number.isFinite(expiration) || expiration <= 0) {
      throw new ProviderError('invalid', 'Gmail: watch answer without expiration', { providerCode: 'malformedResponse' });
    }
    return { channelId: null, clientState: null, expiresAt: new Date(expiration) };
  };

  return {
    start,
    renew: () => start(),
    async stop(): Promise<void> {
      await client.call('users.stop', (api) => api.users.stop({ userId: USER }));
    },
  };
}
