/**
 * The Gmail adapter behind the ports (docs/ARCHITECTURE.md "Sync"): `gmailAdapterFactory(config)` gives the engine an
 * AdapterFactory. Nothing starts at import; the factory keeps one quota pacer and one request gate (calls in
 * flight, Retry-After pause) per mailbox, so every adapter the engine builds for the same mailbox shares the same per-user budget.
 */
import type { Config } from '../../../config';
import type { AdapterFactory, MailboxRef, ProviderAdapter } from '../port';
import { GmailChangeSource } from './change-source';
import { GmailClient } from './client';
import { RequestGate } from '../common/gate';
import { QuotaPacer, systemClock, type PacerClock } from './pacer';
import { GmailPush } from './push';
import { GmailWriter } from './writer';
import { GmailLabelCatalogue } from './label-catalogue';

export type GmailAdapterConfig = Pick<Config, 'GMAIL_API_URL' | 'GMAIL_QUOTA_UNITS_PER_SECOND' | 'GOOGLE_PUBSUB_TOPIC'>;

export interface GmailAdapterOptions {
  /** Calls in flight per mailbox. Default 10: enough to use the quota at real-world latencies. */
  maxInFlight?: number;
  /** Messages fetched at once within a page (bounded again by maxInFlight). Default 10. */
  fetchConcurrency?: number;
  timeoutMs?: number;
  maxRetryWaitMs?: number;
  /** See QuotaPacerOptions.settleGuardMs. */
  settleGuardMs?: number;
  clock?: PacerClock;
}

interface MailboxPacing {
  pacer: QuotaPacer;
  gate: RequestGate;
  handedOutAt: number;
}

/** A mailbox's pacer is forgotten only when idle and not handed to an adapter for this long. */
const PACING_IDLE_MS = 10 * 60 * 1000;

export function gmailAdapterFactory(config: GmailAdapterConfig, options: GmailAdapterOptions = {}): AdapterFactory {
  const now = () => (options.clock ?? systemClock).now();
  const pacing = new Map<string, MailboxPacing>();
  const pacingFor = (mailbox: MailboxRef): MailboxPacing => {
    const key = `${mailbox.orgId}:${mailbox.id}`;
    let entry = pacing.get(key);
    if (!entry) {
      // Forget long-idle mailboxes so the map does not grow with every mailbox ever synced. The delay keeps an
      // adapter built a moment ago from ever sharing its mailbox's quota with a second, fresh pacer.
      for (const [k, v] of pacing) {
        if (now() - v.handedOutAt > PACING_IDLE_MS && v.pacer.idle() && v.gate.inFlight() === 0 && v.gate.blockedForMs() === 0) pacing.delete(k);
      }
      entry = {
        pacer: new QuotaPacer({ unitsPerSecond: config.GMAIL_QUOTA_UNITS_PER_SECOND, settleGuardMs: options.settleGuardMs, clock: options.clock }),
        gate: new RequestGate({ maxInFlight: options.maxInFlight ?? 10 }),
        handedOutAt: now(),
      };
      pacing.set(key, entry);
    }
    entry.handedOutAt = now();
    return entry;
  };

  return (mailbox, tokens): ProviderAdapter => {
    const { pacer, gate } = pacingFor(mailbox);
    const client = new GmailClient({
      apiUrl: config.GMAIL_API_URL,
      tokens,
      pacer,
      gate,
      timeoutMs: options.timeoutMs,
      maxRetryWaitMs: options.maxRetryWaitMs,
    });
    const labels = new GmailLabelCatalogue(client);
    return {
      changeSource: new GmailChangeSource(client, { fetchConcurrency: options.fetchConcurrency ?? 10, labels }),
      writer: new GmailWriter(client, labels),
      push: config.GOOGLE_PUBSUB_TOPIC ? new GmailPush(client, config.GOOGLE_PUBSUB_TOPIC) : null,
    };
  };
}

export { translateGmailError } from './errors';
export { googleOAuth } from './oauth';
export { GmailPushReceiver } from './push';
