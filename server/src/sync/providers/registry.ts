/**
 * The one place that knows which providers exist: it builds each provider's OAuth client and adapter factory
 * from the configuration, and hands the engine a single provider-neutral factory.
 */
import type { Config } from '../../config';
import { gmailAdapterFactory } from './gmail';
import { googleOAuth } from './gmail/oauth';
import { graphAdapterFactory, microsoftOAuth, type PushHints } from './graph';
import type { AdapterFactory, OAuthClient, ProviderName } from './port';

export interface Providers {
  oauth: Partial<Record<ProviderName, OAuthClient>>;
  adapterFor: AdapterFactory;
}

/** `hints`: where Graph rounds take the messages push notifications named (the server's: engine/push-hints.ts). */
export function buildProviders(config: Config, opts: { hints?: PushHints } = {}): Providers {
  const oauth: Partial<Record<ProviderName, OAuthClient>> = {};
  if (config.GOOGLE_CLIENT_ID && config.GOOGLE_CLIENT_SECRET) oauth.google = googleOAuth(config);
  const microsoft = microsoftOAuth(config);
  if (microsoft) oauth.microsoft = microsoft;

  // Built lazily, on the first mailbox of each provider.
  let gmail: AdapterFactory | undefined;
  let graph: AdapterFactory | undefined;
  const adapterFor: AdapterFactory = (mailbox, tokens) => {
    if (mailbox.provider === 'google') return (gmail ??= gmailAdapterFactory(config))(mailbox, tokens);
    return (graph ??= graphAdapterFactory(config, { hints: opts.hints }))(mailbox, tokens);
  };
  return { oauth, adapterFor };
}
