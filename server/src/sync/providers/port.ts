/**
 * The narrow ports every provider adapter implements (docs/ARCHITECTURE.md "Sync"). The engine sees only these types:
 * a canonical sync page, a small error-code enum, and three roles — change source, mailbox writer, push
 * channel. Provider quirks (Gmail labels and historyIds, Graph folders and deltaLinks) stay behind them.
 */
import type { ParsedMessage } from '../../mail/message';

export type ProviderName = 'google' | 'microsoft';

/**
 * What a provider does differently, for the code outside its adapter that must know: one object per provider
 * (gmail/capabilities.ts, graph/capabilities.ts, found by name through capabilities.ts), so no code outside the
 * adapters asks which provider a mailbox is at.
 */
export interface ProviderCapabilities {
  /** The provider's name as people know it, for messages: "Google", "Microsoft". */
  displayName: string;
  /** The settings that let the server connect its mailboxes (its OAuth client), for the message when they are unset. */
  oauthSettings: string;
  /** The most decoded attachment bytes one send may carry. */
  sendAttachmentCapBytes: number;
  /** The labels the provider gives the copy of a message sent through it, as known before sync reads it back. */
  sentCopyLabels: readonly string[];
  /**
   * Where a copy's content comes from: `mime`, the raw message parsed by us (RemoteMessage content `raw`), or
   * `structured`, the provider's JSON mapped by the adapter (content `parsed`): no MIME was read, none to read again.
   */
  content: 'mime' | 'structured';
  /** fetchRaw gives the bytes the provider received (true), rather than a copy of them it rebuilt. */
  rawIsOriginal: boolean;
  /** MailboxWriter.send works in two steps, a draft then its sending, and reports the draft (SendHooks.prepared). */
  twoStepSend: boolean;
  /**
   * Label names a CRM label change may not use (compared ignoring case): state the provider keeps as labels, which
   * is changed through read/starred/archived and DELETE instead. Gmail's system labels; none on Graph, whose
   * categories are only ever the user's own (an Outlook category may well be called "Important").
   */
  reservedLabels: readonly string[];
}

// ---------- errors ----------
export const PROVIDER_ERROR_CODES = ['transient', 'throttled', 'cursor_expired', 'auth_revoked', 'permission', 'not_found', 'invalid'] as const;
export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

/** What an adapter's error translator throws; the engine's policy table decides from `code` alone. */
export class ProviderError extends Error {
  constructor(
    public readonly code: ProviderErrorCode,
    message: string,
    public readonly details: { retryAfterMs?: number; status?: number; providerCode?: string } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

// ---------- the mailbox as the adapters see it ----------
export interface MailboxRef {
  id: string;
  orgId: string;
  provider: ProviderName;
  address: string;
}

/** Gives an adapter a valid access token (refreshing it once per mailbox when needed). */
export interface AccessTokenSource {
  accessToken(): Promise<string>;
  /** Called after a 401: forget the cached token; the next accessToken() refreshes. */
  invalidate(): void;
}

// ---------- canonical content ----------
export type MessageFlags = { read: boolean; starred: boolean; archived: boolean; deleted: boolean };

/**
 * One message copy as the provider holds it. Gmail gives the raw RFC 2822 (`raw`); Graph gives structured
 * JSON that its adapter maps to `parsed` (the same shape the MIME parser produces), so the ingest stages
 * downstream are one path for both.
 */
export interface RemoteMessage {
  providerMessageId: string;
  providerThreadId: string | null;
  /** Gmail label ids / Graph categories, plus the folder for Graph. */
  labels: string[];
  folderId: string | null;
  flags: MessageFlags;
  /** When the provider received it (Gmail internalDate, Graph receivedDateTime). */
  receivedAt: Date;
  content: { kind: 'raw'; raw: Buffer } | { kind: 'parsed'; parsed: ParsedMessage };
}

/** A change to flags or labels of a copy the engine already has, without refetching the content. */
export interface RemoteStateChange {
  providerMessageId: string;
  flags?: Partial<MessageFlags>;
  labelsAdded?: string[];
  labelsRemoved?: string[];
  folderId?: string;
}

/** A cursor is versioned and tagged with its provider, and validated when read back. */
export interface SyncCursor {
  v: 1;
  provider: ProviderName;
  /** Gmail: { historyId: string }; Graph: { folders: Record<folderId, deltaLink> }. Opaque to the engine. */
  state: Record<string, unknown>;
}

/** The one canonical page every change source returns. */
export interface SyncPage {
  upserts: RemoteMessage[];
  /** Provider message ids that are gone from the mailbox (permanently deleted, or moved out of sync scope). */
  deletes: string[];
  stateChanges: RemoteStateChange[];
  /** Store the page first, then persist this; null while more pages of the same round follow in `position`. */
  nextCursor: SyncCursor | null;
  /** True when the cursor expired and this round is a full re-list: reconcile (upsert what exists, delete what is gone). */
  reset: boolean;
  /**
   * Optional: messages of this page that could not be fetched (poison), as in BackfillPage. The engine records them,
   * retries each alone on later runs and skips it after a few tries, so one bad message never pins the cursor.
   * An adapter that throws the whole page instead stays correct but lets a permanently failing message stall sync.
   */
  failed?: { providerMessageId: string; error: ProviderError }[];
}

/** A page of the initial import (backfill), newest first, within the history window. */
export interface BackfillPage {
  upserts: RemoteMessage[];
  /** Opaque position to resume from after a crash; null when the backfill is complete. */
  nextPosition: unknown | null;
  /** Best estimate of the total to import, for progress. */
  totalEstimate: number | null;
  /** Ids listed on this page that could not be fetched as messages (poison): the engine records them. */
  failed: { providerMessageId: string; error: ProviderError }[];
  /**
   * Optional, on the last page only (nextPosition null): the incremental cursor the backfill itself produced,
   * which replaces the one from currentCursor(). Graph sets it: its first delta round per folder IS the
   * enumeration, so the deltaLinks exist only once the backfill has paged through it (graph/change-source.ts).
   * Sources whose cursor exists up front (Gmail historyId) leave it undefined.
   */
  cursor?: SyncCursor;
}

// ---------- the three roles ----------
export interface ChangeSource {
  /** The incremental cursor as of now: taken BEFORE the backfill lists anything, so nothing is missed. */
  currentCursor(): Promise<SyncCursor>;
  backfillPage(opts: { since: Date; position: unknown | null; pageSize?: number }): Promise<BackfillPage>;
  /** The next page of changes after `cursor`; throws ProviderError('cursor_expired') when it is too old. */
  changesSince(cursor: SyncCursor, position: unknown | null): Promise<SyncPage & { nextPosition: unknown | null }>;
  /** All provider message ids currently in sync scope (for reconciliation and cursor-expiry recovery). */
  listAllIds(opts: { since: Date }): AsyncIterable<string[]>;
  /** Fetch one message by id (reconciliation repairs, cursor-expiry re-list, poison retries). */
  fetchMessage(providerMessageId: string): Promise<RemoteMessage | null>;
  /** Fetch attachment bytes on demand. */
  fetchAttachment(providerMessageId: string, attachmentId: string): Promise<Buffer>;
  /**
   * The copy's whole RFC 5322 message as the provider keeps it (Gmail `format=raw`, Graph `$value`), for what the
   * stored fields cannot give: uuencoded files inside the text, and re-parsing stored mail
   * (sync/refetch/reparse.ts).
   * A copy that is gone throws ProviderError('not_found').
   */
  fetchRaw(providerMessageId: string): Promise<Buffer>;
}

export interface OutgoingAddress {
  email: string;
  name?: string;
}

export interface OutgoingAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** What a message to send says, as fields: for providers that build it from JSON rather than MIME (Graph drafts). */
export interface OutgoingFields {
  from: OutgoingAddress;
  to: OutgoingAddress[];
  cc: OutgoingAddress[];
  bcc: OutgoingAddress[];
  subject: string;
  /** At least one of text and html. */
  text?: string;
  html?: string;
  attachments: OutgoingAttachment[];
}

export interface OutgoingMessage {
  /** The complete RFC 2822 message built by the outbound stage (nodemailer's composer) from `fields`. */
  raw: Buffer;
  /** The same message as fields, so that no adapter parses our own MIME back; the threading headers are in `raw` only. */
  fields: OutgoingFields;
  internetMessageId: string;
  /** For replies: the provider ids of the message replied to in this mailbox. */
  replyTo?: { providerMessageId: string; providerThreadId: string | null };
}

export interface SentResult {
  providerMessageId: string;
  providerThreadId: string | null;
  /**
   * The Message-ID the provider's copy of the sent message carries, read back after sending (undefined when the
   * adapter could not tell). It can differ from the one we composed (Exchange may assign its own): the CRM then
   * adopts it, or replies and teammates' copies would not join the message (outbound/outbox.ts).
   */
  internetMessageId?: string | null;
}

/** Callbacks a caller passes to MailboxWriter.send to learn of intermediate steps it must persist. */
export interface SendHooks {
  /**
   * Called by an adapter that sends in two steps (Graph: draft or createReply, then send) once the draft is
   * complete — content, recipients and attachments in place — and BEFORE it is sent, with the draft's immutable
   * provider id. The caller persists the id; a retry after a crash then hands it to `resumePrepared` instead of
   * looking for the message by Message-ID (which a provider may rewrite). If the hook throws, nothing is sent and
   * the error propagates (the draft stays, unsent). One-step adapters (Gmail `messages.send`) never call it.
   */
  prepared?(draft: { providerMessageId: string }): Promise<void>;
}

export interface MailboxWriter {
  send(message: OutgoingMessage, hooks?: SendHooks): Promise<SentResult>;
  /**
   * Optional, for adapters that call `hooks.prepared`: finishes a send whose draft id was recorded, without ever
   * sending twice. The draft still a draft (where the adapter created it) → send it now and return its ids; no
   * longer a draft (it was sent: Graph keeps the immutable id when the draft moves to Sent Items) → return its
   * ids without sending; gone from the mailbox, or discarded by the user → 'gone' (nothing is sent: the caller
   * decides, rather than sending blind).
   */
  resumePrepared?(providerMessageId: string): Promise<SentResult | 'gone'>;
  /**
   * Looks for a message with this Message-ID already in the mailbox (crash between send and record, when no
   * prepared draft id was recorded). Only sent messages count: an unsent draft is not found.
   */
  findByInternetMessageId(internetMessageId: string): Promise<SentResult | null>;
  modify(providerMessageId: string, change: { flags?: Partial<MessageFlags>; labelsAdded?: string[]; labelsRemoved?: string[] }): Promise<void>;
  trash(providerMessageId: string): Promise<void>;
}

export interface PushChannelInfo {
  channelId: string | null;
  clientState: string | null;
  expiresAt: Date;
}

export interface PushChannel {
  /** Start (or re-create) push for the mailbox; returns what must be stored to renew and verify it. */
  start(): Promise<PushChannelInfo>;
  renew(current: PushChannelInfo): Promise<PushChannelInfo>;
  stop(current: PushChannelInfo): Promise<void>;
}

// ---------- receiving push ----------
/** A request to one of a provider's push endpoints, as much of it as its receiver reads. */
export interface PushRequest {
  /** Which of PushReceiver.endpoints it came to. */
  endpoint: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  query: Readonly<Record<string, unknown>>;
  body: unknown;
}

/**
 * Whom a notification is for. By `address`: the request was authenticated as a whole (Gmail's Pub/Sub OIDC token).
 * By `channelId`: only the secret the channel was made with vouches for it (Graph's clientState), so it must match
 * the mailbox's stored one (compared in constant time) before anything is done.
 */
export type PushAddressee = { address: string } | { channelId: string; clientState: string | null };

/** What one checked notification asks of its mailbox: a run (always), and perhaps more. */
export interface PushNotice {
  to: PushAddressee;
  /** The channel must be renewed now (Graph's reauthorizationRequired and subscriptionRemoved). */
  renewChannel?: boolean;
  /** A message the notification names: a hint for the mailbox's next round (PushHints). */
  hint?: string;
}

export type PushReceipt =
  /** Answered with exactly this, nothing else done (Graph's validation handshake). */
  | { kind: 'answer'; status: number; contentType: string; body: string }
  /**
   * Acknowledged with `status` at once (providers redeliver what is not acknowledged in time, and nothing in a
   * notification is trusted as data); the notices are acted on after the answer. `dropped`: notices left unread,
   * by reason, for the metrics.
   */
  | { kind: 'notices'; status: number; notices: PushNotice[]; dropped?: Readonly<Record<string, number>> };

/** A push request that is not authentic: answered with `status` (401 no or bad token, 403 not the allowed sender). */
export class PushRefused extends Error {
  constructor(
    public readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
    this.name = 'PushRefused';
  }
}

/** How a provider's pushes are received: verified, parsed, and the handshakes answered, by the provider's adapter. */
export interface PushReceiver {
  provider: ProviderName;
  /** The paths under /webhooks/ the provider pushes to. */
  endpoints: readonly string[];
  /**
   * Requests of this provider worked on at once after their answer; beyond it, their notices are counted and dropped
   * (a notification is only a hint: the poll catches up). Unset: unbounded, for requests authenticated as a whole.
   */
  maxInFlight?: number;
  /** Throws PushRefused for a request that is not authentic. */
  receive(request: PushRequest): Promise<PushReceipt>;
}

/** More messages named before a round than this: the round reads everything instead (cheaper than many fetches). */
export const MAX_HINTED_MESSAGES = 20;

/**
 * Where a change source takes the messages push notifications named since the mailbox's last round (the server keeps
 * them in MongoDB with the due-mark: engine/push-hints.ts): the ids, or null for a full round (none, or too many).
 * A source whose incremental read is cheap anyway ignores them.
 */
export interface PushHints {
  take(mailboxId: string): Promise<string[] | null>;
}

export interface ProviderAdapter {
  changeSource: ChangeSource;
  writer: MailboxWriter;
  /** null when push is not configured (polling only). */
  push: PushChannel | null;
}

/** Builds an adapter for one mailbox. One factory per provider, chosen by the engine from `mailbox.provider`. */
export type AdapterFactory = (mailbox: MailboxRef, tokens: AccessTokenSource) => ProviderAdapter;

// ---------- connecting a mailbox ----------
export interface OAuthTokens {
  accessToken: string;
  /** Absent on a refresh that did not rotate it. */
  refreshToken?: string;
  expiresAt: Date;
  scopes?: string[];
  /**
   * The OpenID Connect ID token of the code exchange (both providers send one for the `openid` scope). It came
   * straight from the token endpoint over TLS, so its claims name the consenting account without a signature check
   * (OpenID Connect Core 1.0 §3.1.3.7, item 6).
   */
  idToken?: string;
}

/**
 * The account that consented, as the connect checks it against the signed-in user (docs/SECURITY.md, "Connecting
 * a mailbox"): `identityKeys` are shaped like a user's (`google:<sub>`, `microsoft:<tid>:<oid>`) — every form the
 * provider named the account by, none when it named no stable id; `verifiedEmail` only when the provider vouches
 * for the address.
 */
export interface ConsentingAccount {
  address: string;
  identityKeys: string[];
  verifiedEmail: string | null;
}

/** The provider's OAuth 2.0 authorization-code flow with PKCE, as the connect routes and token source use it. */
export interface OAuthClient {
  authorizationUrl(opts: { state: string; codeChallenge: string; redirectUri: string; loginHint?: string }): string;
  exchangeCode(opts: { code: string; codeVerifier: string; redirectUri: string }): Promise<OAuthTokens>;
  /** invalid_grant → ProviderError('auth_revoked'). */
  refresh(refreshToken: string): Promise<OAuthTokens>;
  /** Best effort: providers without a revocation endpoint make this a no-op (documented in the adapter). */
  revoke(token: string): Promise<void>;
  /** The mailbox address (Gmail users.getProfile, Graph /me) and who consented (the exchange's ID token, Graph /me). */
  consentingAccount(tokens: OAuthTokens): Promise<ConsentingAccount>;
}
