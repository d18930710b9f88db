/**
 * The one place that knows which providers exist: it builds each provider's OAuth client and adapter factory
 * from the configuration, and hands the engine a single provider-neutral factory.
 */
import type { Config } from '../../config';
import { gmailAdapterFactory } from './gmail';
import { googleOAuth } from './gmail/oauth';
import { GraphChangeHints, graphAdapterFactory, microsoftOAuth } from './graph';
import type { AdapterFactory, OAuthClient, ProviderName } from './port';

export interface Providers {
  oauth: Partial<Record<ProviderName, OAuthClient>>;
  adapterFor: AdapterFactory;
  /** A Graph change notification named a message of this mailbox (a hint for this process's workers: graph/hints.ts). */
  noteGraphChange(mailboxId: string, messageId: string): void;
}

export function buildProviders(config: Config): Providers {
  const oauth: Partial<Record<ProviderName, OAuthClient>> = {};
  if (config.GOOGLE_CLIENT_ID && config.GOOGLE_CLIENT_SECRET) oauth.google = googleOAuth(config);
  const microsoft = microsoftOAuth(config);
  if (microsoft) oauth.microsoft = microsoft;

  // Built lazily, on the first mailbox of each provider.
  let gmail: AdapterFactory | undefined;
  let graph: AdapterFactory | undefined;
  const graphHints = new GraphChangeHints();
  const adapterFor: AdapterFactory = (mailbox, tokens) => {
    if (mailbox.provider === 'google') return (gmail ??= gmailAdapterFactory(config))(mailbox, tokens);
    return (graph ??= graphAdapterFactory(config, { hints: graphHints }))(mailbox, tokens);
  };
  return { oauth, adapterFor, noteGraphChange: (mailboxId, messageId) => graphHints.add(mailboxId, messageId) };
}
