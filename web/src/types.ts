/** The API's JSON shapes the console reads (server/openapi.yaml is authoritative). */
export type Provider = 'google' | 'microsoft';
export type Role = 'admin' | 'member';

export interface Session {
  token: string;
  expiresAt: string;
  user: { id: string; email: string; name: string; role: Role };
  org: { id: string; name: string };
}

export type MailboxState = 'backfilling' | 'live' | 'throttled' | 'error' | 'reauth_required' | 'paused';
export interface Mailbox {
  id: string;
  userId: string;
  provider: Provider;
  address: string;
  state: MailboxState;
  progress: { imported: number; total: number };
  lastSyncedAt: string | null;
  lastError: { code: string; message: string; at: string; fix?: string } | null;
}

export type { Address, MessageDetail, MessageFlags, MessageSummary } from '../../shared/src/api-types';
import type { Address, MessageSummary } from '../../shared/src/api-types';
export interface MessagePage { messages: MessageSummary[]; nextCursor: string | null }

export interface Contact { id: string; emails: string[]; email: string; name: string; title: string; phone: string; companyId: string | null; source: string }
export interface Company { id: string; name: string; domains: string[] }
export interface Deal { id: string; name: string; stage: string; status: 'open' | 'won' | 'lost'; amount: number | null; currency: string; closeDate: string | null; ownerId: string | null; contactIds: string[]; companyId: string | null }

export interface Exclusions { excludedDomains: string[]; excludedAddresses: string[]; excludedLabels: string[] }
export type Visibility = 'full' | 'metadata' | 'private';
export interface OrgSettings {
  sync: Exclusions & {
    historyDays: number;
    deletionPolicy: 'mirror' | 'preserve';
    onlyKnownContacts: boolean;
    autoCreateContacts: 'none' | 'outbound' | 'all';
    excludeInternal: boolean;
  };
  sharing: { defaultVisibility: Visibility };
}
/** `POST /api/settings/preview`: what saving would remove, computed by the server. */
export interface SettingsPreview {
  removedMessages: number;
  removedCopies: number;
  reimport: boolean;
  samples: { id: string; subject: string; from: Address; date: string; rule: { kind: 'domain' | 'address' | 'label' | 'internal' | 'onlyKnownContacts'; value?: string } }[];
}
export interface UserSettings extends Exclusions { visibility: Visibility | null }

export interface WhyAnswer {
  verdict: 'synced' | 'excluded' | 'not_visible' | 'not_yet_synced';
  reasons: { code: string; message: string; detail?: Record<string, unknown> }[];
}
