/** Signing in and out, users, the organisation's identity realms, and mailboxes with their sync health. */
import { z } from 'zod';
import { instant, Provider, Role } from './common';

/** POST /api/session: an add-on's identity token (Google ID token, Microsoft access token for our API). */
export const SessionRequest = z.object({ provider: Provider, token: z.string().min(1).max(16_384) }).strict();
export type SessionRequest = z.input<typeof SessionRequest>;

export const Session = z.object({
  token: z.string(),
  expiresAt: instant,
  user: z.object({ id: z.string(), email: z.string(), name: z.string(), role: Role }),
  org: z.object({ id: z.string(), name: z.string() }),
});
export type Session = z.infer<typeof Session>;

/** A one-time link that opens the web console signed in: `PUBLIC_URL/app/#login=<code>`. */
export const LoginLink = z.object({ url: z.string(), expiresAt: instant });
export const RedeemRequest = z.object({ code: z.string().max(200) }).strict();

export const UserPatch = z.object({ disabled: z.boolean() }).strict();
export const UserView = z.object({ id: z.string(), email: z.string(), name: z.string(), role: Role, disabled: z.boolean() });
export type UserView = z.infer<typeof UserView>;

/** A provider's authorization URL to open in a browser (connecting a mailbox, adding a tenant). */
export const AuthorizationUrl = z.object({ authorizationUrl: z.string() });

export const Realm = z.object({
  key: z.string(),
  provider: Provider,
  via: z.enum(['sign-in', 'admin']),
  attachedAt: instant,
  verifiedAs: z.string().nullable(),
});
export type Realm = z.infer<typeof Realm>;
export const RealmList = z.object({ realms: z.array(Realm) });
export const RealmStart = z.object({ loginHint: z.string().email().max(320).optional() }).strict();

export const MAILBOX_STATES = ['backfilling', 'live', 'throttled', 'error', 'reauth_required', 'paused'] as const;
export const MailboxState = z.enum(MAILBOX_STATES);
export type MailboxState = z.infer<typeof MailboxState>;

export const MailboxConnect = z.object({ provider: Provider }).strict();

/** A mailbox with its sync health; `lastError` says what went wrong in words and `fix` what to do. */
export const Mailbox = z.object({
  id: z.string(),
  userId: z.string(),
  provider: Provider,
  address: z.string(),
  state: MailboxState,
  progress: z.object({ imported: z.number().int(), total: z.number().int() }),
  lastSyncedAt: instant.nullable(),
  lastError: z.object({ code: z.string(), message: z.string(), at: instant, fix: z.string() }).nullable(),
});
export type Mailbox = z.infer<typeof Mailbox>;
export const MailboxList = z.object({ mailboxes: z.array(Mailbox) });

export const ResyncAccepted = z.object({ id: z.string(), status: z.literal('scheduled') });
