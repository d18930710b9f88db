/**
 * Connecting a mailbox: the OAuth authorization-code flow with state and PKCE (S256), then the tokens sealed
 * in the vault and the mailbox scheduled for its import. A state is single-use, expires after ten minutes, and
 * carries its organisation (`<orgId>.<random>`) so the callback's lookups stay tenant-scoped.
 */
import { createHash, randomBytes } from 'node:crypto';
import mongoose, { Types } from 'mongoose';
import { takeOAuthState } from '../auth/oauth-state';
import type { Vault } from '../auth/vault';
import { runInOrg } from '../db/tenant';
import { Mailbox } from '../models/mailbox';
import { OAuthState, OAuthStateDoc } from '../models/audit';
import type { OAuthClient, ProviderName } from './providers/port';

export const STATE_TTL_MS = 10 * 60_000;

export class ConnectError extends Error {
  constructor(public readonly code: 'not_configured' | 'bad_state' | 'provider_error' | 'address_taken', message: string) {
    super(message);
  }
}

export interface ConnectDeps {
  publicUrl: string;
  vault: Vault;
  oauth: Partial<Record<ProviderName, OAuthClient>>;
}

export const redirectUri = (publicUrl: string, provider: ProviderName) => `${publicUrl}/oauth/${provider}/callback`;

function client(deps: ConnectDeps, provider: ProviderName): OAuthClient {
  const c = deps.oauth[provider];
  if (!c) {
    const setting = provider === 'google' ? 'GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET' : 'MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET';
    throw new ConnectError('not_configured', `${provider === 'google' ? 'Google' : 'Microsoft'} mailboxes cannot be connected: the server has no ${setting}`);
  }
  return c;
}

/** Called inside the user's org context. */
export async function startConnect(deps: ConnectDeps, user: { userId: Types.ObjectId; orgId: Types.ObjectId; email: string }, provider: ProviderName): Promise<string> {
  const oauth = client(deps, provider);
  const state = `${user.orgId.toHexString()}.${randomBytes(24).toString('base64url')}`;
  const codeVerifier = randomBytes(48).toString('base64url');
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
  await OAuthState.create({ state, userId: user.userId, provider, codeVerifier, expiresAt: new Date(Date.now() + STATE_TTL_MS) });
  return oauth.authorizationUrl({ state, codeChallenge, redirectUri: redirectUri(deps.publicUrl, provider), loginHint: user.email });
}

/** The connect's pending state, taken for good (auth/oauth-state.ts). */
async function consumeState(provider: ProviderName, state: string): Promise<OAuthStateDoc> {
  const found = await takeOAuthState(state, { provider, purpose: 'connect' });
  if (!found) throw new ConnectError('bad_state', 'unknown, expired or already used sign-in attempt; start connecting again');
  return found;
}

/** Marks a state used when the provider answered with an error, so it cannot be replayed. */
export async function abandonConnect(provider: ProviderName, state: string | undefined): Promise<void> {
  if (state) await consumeState(provider, state).catch(() => undefined);
}

export async function completeConnect(deps: ConnectDeps, provider: ProviderName, params: { code: string; state: string }): Promise<{ mailboxId: Types.ObjectId; address: string; orgId: Types.ObjectId }> {
  const oauth = client(deps, provider);
  const st = await consumeState(provider, params.state);
  let tokens;
  let address: string;
  try {
    tokens = await oauth.exchangeCode({ code: params.code, codeVerifier: st.codeVerifier, redirectUri: redirectUri(deps.publicUrl, provider) });
    address = (await oauth.profileAddress(tokens.accessToken)).toLowerCase();
  } catch (err) {
    throw new ConnectError('provider_error', `the provider refused the connection: ${(err as Error).message}`);
  }
  return runInOrg(st.orgId, async () => {
    const existing = await Mailbox.findOne({ provider, address }).lean<{ _id: Types.ObjectId; userId: Types.ObjectId }>();
    if (existing && !existing.userId.equals(st.userId)) {
      throw new ConnectError('address_taken', `${address} is already connected by another user of your organisation`);
    }
    const mailboxId = existing?._id ?? new Types.ObjectId();
    const ctx = (field: string) => ({ orgId: st.orgId.toHexString(), mailboxId: mailboxId.toHexString(), field });
    const sealedTokens = {
      access: deps.vault.seal(tokens.accessToken, ctx('access')),
      accessExpiresAt: tokens.expiresAt,
      scopes: tokens.scopes ?? [],
      ...(tokens.refreshToken ? { refresh: deps.vault.seal(tokens.refreshToken, ctx('refresh')) } : {}),
    };
    const sealed = Object.fromEntries(Object.entries(sealedTokens).map(([k, v]) => [`tokens.${k}`, v]));
    if (existing) {
      // Reconnecting: fresh tokens, and the mailbox resumes from its stored cursor.
      await Mailbox.updateOne({ _id: mailboxId }, { $set: { ...sealed, lastError: null, failures: 0, backoffUntil: null, nextRunAt: new Date(), state: 'backfilling' } });
      await Mailbox.updateOne({ _id: mailboxId, 'backfill.completedAt': mongoose.trusted({ $ne: null }) }, { $set: { state: 'live' } });
    } else {
      // One write: a worker may take the new mailbox at once, and FerretDB runs a later update as a read then a
      // write of the whole document, which could undo that worker's lease.
      await Mailbox.create({ _id: mailboxId, userId: st.userId, provider, address, state: 'backfilling', stage: 'backfill', nextRunAt: new Date(), tokens: sealedTokens });
    }
    return { mailboxId, address, orgId: st.orgId };
  });
}
