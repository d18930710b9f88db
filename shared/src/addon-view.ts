/**
 * The sidebar's view model: what `POST /api/addon/context` answers for the email open in Gmail or Outlook.
 * The server computes it once (server/src/crm/context.ts) and both add-ons only render it, so the two cannot
 * drift apart. Plain JSON types only: this file is bundled into Apps Script and the Outlook task pane, so it
 * must not import anything from the server or from Node.
 */
import type { MessageChoices } from './api-types';
import type { Card } from './card';

export type AddonProvider = 'gmail' | 'outlook';

/** An address as a mail client shows it. */
export interface AddonAddress {
  email: string;
  name: string;
}

/** The email open beside the add-on, as the add-on read it from the client (no body: metadata scope only). */
export interface AddonMessageInput {
  internetMessageId?: string;
  subject?: string;
  from: AddonAddress;
  to: AddonAddress[];
  cc: AddonAddress[];
}

export interface AddonContextRequest {
  provider: AddonProvider;
  message: AddonMessageInput;
}

export interface AddonContact {
  id: string;
  name: string;
  title: string;
  phone: string;
  emails: string[];
  openUrl: string;
}

export interface AddonCompany {
  id: string;
  name: string;
  domains: string[];
  openUrl: string;
}

/**
 * What "Create contact" would create for an unknown person: the display name (or a guess from the address) and
 * the company from the address's domain. `companyName` is null for free-mail addresses (gmail.com…): those people
 * get no company. When a company with that domain is already in the CRM, its name is used.
 */
export interface AddonContactSuggestion {
  email: string;
  name: string;
  companyName: string | null;
  companyDomain: string | null;
  /**
   * The address names a function or a group rather than a person (`info@`, `noreply@`, "Ops Team"): the sidebars
   * do not offer it as a contact unless the user asks. Absent from older servers: read as false.
   */
  roleAddress?: boolean;
}

/**
 * One person on the open email. Exactly one of these holds: `contact` is set (known to the CRM); `teammate` is
 * true (a user of the organisation: never suggested as a contact); or `suggestion` is set (unknown).
 * `company` may be set for an unknown person too, when their domain already belongs to a company.
 */
export interface AddonParticipant {
  email: string;
  /** The display name from the email header ('' when there was none). */
  displayName: string;
  role: 'from' | 'to' | 'cc';
  teammate: boolean;
  contact: AddonContact | null;
  company: AddonCompany | null;
  suggestion: AddonContactSuggestion | null;
}

export interface AddonDeal {
  id: string;
  name: string;
  stage: string;
  amount: number | null;
  currency: string;
  closeDate: string | null;
  openUrl: string;
}

/**
 * A message with these people, at the caller's access level: `metadata` (a teammate shares headers only) has
 * an empty snippet; messages the caller may not see at all are never listed.
 */
export interface AddonMessage {
  id: string;
  threadId: string | null;
  subject: string;
  from: AddonAddress;
  date: string;
  direction: 'inbound' | 'outbound' | 'internal';
  snippet: string;
  access: 'full' | 'metadata';
  openUrl: string;
}

/** A conversation with these people, summarised from the recent messages the caller may see. */
export interface AddonThread {
  id: string;
  subject: string;
  lastMessageAt: string;
  /** How many of the recent messages belong to it (not the thread's full length). */
  recentCount: number;
  openUrl: string;
}

export interface AddonSyncedBy {
  userId: string;
  name: string;
  email: string;
  isYou: boolean;
}

/**
 * Whether the open email is in the CRM. `not_visible`: it is stored, but only its holders may see it (a private
 * mailbox); who holds it is not said. `unknown`: the client gave no Message-ID to look it up by.
 */
export interface AddonThisMessage {
  internetMessageId: string | null;
  status: 'synced' | 'not_synced' | 'not_visible' | 'unknown';
  messageId: string | null;
  syncedBy: AddonSyncedBy[];
  openUrl: string | null;
  /**
   * "This email, my choice": whether the user chose not to log it (or its thread), and what teammates get of their
   * copy — computed by the server, so the add-ons only show it and call the routes back. Null when the email has no
   * Message-ID; absent from older servers.
   */
  choices?: MessageChoices | null;
}

export interface AddonMailboxHealth {
  id: string;
  provider: 'google' | 'microsoft';
  address: string;
  state: 'backfilling' | 'live' | 'throttled' | 'error' | 'reauth_required' | 'paused';
  progress: { imported: number; total: number };
  lastSyncedAt: string | null;
  /** What is wrong and what to do about it, in words; null while all is well. */
  problem: { code: string; message: string; fix: string } | null;
}

/** The caller's own mailboxes: `not_connected` means mail is not synced in the background yet. */
export interface AddonSyncHealth {
  status: 'ok' | 'attention' | 'not_connected';
  mailboxes: AddonMailboxHealth[];
  connectUrl: string;
}

export interface AddonContextView {
  provider: AddonProvider;
  participants: AddonParticipant[];
  /** People left out because the email had more than the add-on shows. */
  participantsOmitted: number;
  deals: AddonDeal[];
  recentMessages: AddonMessage[];
  threads: AddonThread[];
  thisMessage: AddonThisMessage;
  sync: AddonSyncHealth;
  links: { crm: string };
}

/** The answer of `POST /api/addon/context`: the view, and for Gmail the same content as a card description. */
export interface AddonContextResponse {
  view: AddonContextView;
  card?: Card;
}

/** Action names the card's buttons call back (the Gmail add-on's action table implements them). */
export const ADDON_ACTIONS = {
  createContact: 'createContact',
  whyNotHere: 'whyNotHere',
  neverLogSender: 'neverLogSender',
  attachToDeal: 'attachToDeal',
  newDeal: 'newDeal',
  addNote: 'addNote',
  addTask: 'addTask',
  dontLog: 'dontLog',
  logAgain: 'logAgain',
  setSharing: 'setSharing',
} as const;
