/**
 * Each provider's capabilities by name (port.ts ProviderCapabilities), for the code outside the adapters. Only the
 * adapters' capability tables are loaded, not the adapters.
 */
import { GMAIL_CAPABILITIES } from './gmail/capabilities';
import { GRAPH_CAPABILITIES } from './graph/capabilities';
import type { ProviderCapabilities, ProviderName } from './port';

const CAPABILITIES: Readonly<Record<ProviderName, ProviderCapabilities>> = { google: GMAIL_CAPABILITIES, microsoft: GRAPH_CAPABILITIES };

export const PROVIDER_NAMES = Object.keys(CAPABILITIES) as readonly ProviderName[];

export function capabilitiesOf(provider: ProviderName): ProviderCapabilities {
  return CAPABILITIES[provider];
}
