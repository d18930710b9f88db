/**
 * The one place that knows which providers exist: it builds each provider's OAuth client, adapter factory and push
 * receiver from the configuration, and hands the engine a single provider-neutral factory and the webhooks a list of
 * receivers.
 */
import { AuthError, type IdentityVerifier } from '../../auth/identity';
import type { Config } from '../../config';
import { gmailAdapterFactory, GmailPushReceiver, googleOAuth } from './gmail';
import { graphAdapterFactory, GraphPushReceiver, microsoftOAuth } from './graph';
import { PushRefused, type AdapterFactory, type OAuthClient, type ProviderName, type PushHints, type PushReceiver } from './port';

export interface Providers {
  oauth: Partial<Record<ProviderName, OAuthClient>>;
  adapterFor: AdapterFactory;
  /** How each provider's pushes are received (the webhooks serve every endpoint of each). */
  push: readonly PushReceiver[];
}

export interface ProvidersOptions {
  /** Where change sources take the messages push notifications named (the server's: engine/push-hints.ts). */
  hints?: PushHints;
  /** Checks Gmail's Pub/Sub push tokens; without it every Gmail push is refused. */
  identity?: Pick<IdentityVerifier, 'verifyPubSubPushToken'>;
}

export function buildProviders(config: Config, opts: ProvidersOptions = {}): Providers {
  const oauth: Partial<Record<ProviderName, OAuthClient>> = {};
  const google = googleOAuth(config);
  if (google) oauth.google = google;
  const microsoft = microsoftOAuth(config);
  if (microsoft) oauth.microsoft = microsoft;

  // Built lazily, on the first mailbox of each provider.
  let gmail: AdapterFactory | undefined;
  let graph: AdapterFactory | undefined;
  const adapterFor: AdapterFactory = (mailbox, tokens) => {
    if (mailbox.provider === 'google') return (gmail ??= gmailAdapterFactory(config))(mailbox, tokens);
    // Gmail's history read is one call whatever changed: only Graph's rounds take hints.
    return (graph ??= graphAdapterFactory(config, { hints: opts.hints }))(mailbox, tokens);
  };

  const { identity } = opts;
  const verifyPubSubToken =
    identity &&
    (async (token: string) => {
      try {
        await identity.verifyPubSubPushToken(token);
      } catch (err) {
        if (err instanceof AuthError) throw new PushRefused(err.status === 403 ? 403 : 401, err.message);
        throw err;
      }
    });
  return { oauth, adapterFor, push: [new GmailPushReceiver(verifyPubSubToken), new GraphPushReceiver()] };
}
