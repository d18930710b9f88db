/**
 * Connecting a mailbox: the OAuth authorization-code flow with state and PKCE (S256), then the tokens sealed
 * in the vault and the mailbox scheduled for its import. A state is single-use, expires after ten minutes, and
 * carries its organisation (`<orgId>.<random>`) so the callback's lookups stay tenant-scoped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { takeOAuthState } from '../../auth/oauth-state';
import type { Vault } from '../../auth/vault';
import { runInOrg } from '../../db/tenant';
import { Mailbox } from '../../models/mailbox';
import { signalDue } from '../engine/scheduler';
import { OAuthState, type OAuthStateDoc } from '../../models/audit';
import { User, type UserDoc } from '../../models/user';
import { capabilitiesOf } from '../providers/capabilities';
import type { ConsentingAccount, OAuthClient, OAuthTokens, ProviderName } from '../providers/port';

export const STATE_TTL_MS = 10 * 60_000;

export class ConnectError extends Error {
  constructor(
    public readonly code: 'not_configured' | 'bad_state' | 'provider_error' | 'address_taken' | 'not_own_account',
    message: string,
  ) {
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
    const { displayName, oauthSettings } = capabilitiesOf(provider);
    throw new ConnectError('not_configured', `${displayName} mailboxes cannot be connected: the server has no ${oauthSettings}`);
  }
  return c;
}

/** Called inside the user's org context. */
export async function startConnect(
  deps: ConnectDeps,
  user: { userId: Types.ObjectId; orgId: Types.ObjectId; email: string },
  provider: ProviderName,
): Promise<string> {
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

/**
 * Whether the account that consented is the signed-in user's own (docs/SECURITY.md, "Connecting a mailbox"). Signed
 * in with the same provider: one of the account's stable ids must equal the user's identity (Google, without an ID
 * token: its verified address). Signed in with the other provider, there is no id to compare: the mailbox address
 * must be the address the user signed in with (Google's verified one; for Microsoft, `/me`'s). A connect link opened
 * by anyone else — a colleague, a customer — therefore never stores their mailbox under the user who started it.
 */
export function isOwnAccount(user: Pick<UserDoc, 'identityKey' | 'email'>, account: ConsentingAccount, provider: ProviderName): boolean {
  const own = user.identityKey.toLowerCase();
  if (account.identityKeys.some((key) => key.toLowerCase() === own)) return true;
  const sameProvider = own.startsWith(`${provider}:`);
  if (sameProvider && account.identityKeys.length > 0) return false;
  const address = account.verifiedEmail ?? (sameProvider ? null : account.address.toLowerCase());
  return address !== null && address === user.email.toLowerCase();
}

/** Revokes what a refused connect obtained (best effort: the refusal stands either way). */
async function discardTokens(oauth: OAuthClient, tokens: OAuthTokens): Promise<void> {
  await oauth.revoke(tokens.refreshToken ?? tokens.accessToken).catch(() => undefined);
}

export async function completeConnect(
  deps: ConnectDeps,
  provider: ProviderName,
  params: { code: string; state: string },
): Promise<{ mailboxId: Types.ObjectId; address: string; orgId: Types.ObjectId }> {
  const oauth = client(deps, provider);
  const st = await consumeState(provider, params.state);
  let tokens: OAuthTokens;
  let account: ConsentingAccount;
  try {
    tokens = await oauth.exchangeCode({ code: params.code, codeVerifier: st.codeVerifier, redirectUri: redirectUri(deps.publicUrl, provider) });
  } catch (err) {
    throw new ConnectError('provider_error', `the provider refused the connection: ${(err as Error).message}`);
  }
  try {
    account = await oauth.consentingAccount(tokens);
  } catch (err) {
    await discardTokens(oauth, tokens);
    throw new ConnectError('provider_error', `the provider refused the connection: ${(err as Error).message}`);
  }
  const starter = await runInOrg(st.orgId, () => User.findById(st.userId).lean<UserDoc>());
  if (!starter || !isOwnAccount(starter, account, provider)) {
    await discardTokens(oauth, tokens);
    // Names neither mailbox: the page is seen by whoever opened the link.
    throw new ConnectError(
      'not_own_account',
      'This connect link belongs to another Threadline user, so nothing was stored and the permission just given was withdrawn. To connect your own mailbox, sign in to Threadline yourself and connect from there.',
    );
  }
  const address = account.address.toLowerCase();
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
      // Reconnecting: fresh tokens, and the mailbox resumes from its stored cursor. It is `live` again only once a
      // run has push up and has read from that cursor (engine/runner.ts).
      await Mailbox.updateOne(
        { _id: mailboxId },
        { $set: { ...sealed, lastError: null, failures: 0, backoffUntil: null, nextRunAt: new Date(), state: 'backfilling' } },
      );
    } else {
      // One write: a worker may take the new mailbox at once, and FerretDB runs a later update as a read then a
      // write of the whole document, which could undo that worker's lease.
      await Mailbox.create({
        _id: mailboxId,
        userId: st.userId,
        provider,
        address,
        state: 'backfilling',
        stage: 'backfill',
        nextRunAt: new Date(),
        tokens: sealedTokens,
      });
    }
    await signalDue();
    return { mailboxId, address, orgId: st.orgId };
  });
}
