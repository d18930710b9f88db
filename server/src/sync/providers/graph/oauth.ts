/**
 * Microsoft identity platform v2.0, authorization code + PKCE (S256), for connecting an Outlook mailbox
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow). Plain fetch against
 * MICROSOFT_AUTHORITY + /oauth2/v2.0/{authorize,token}.
 *
 * - Refresh tokens rotate: every refresh returns a new one, which the caller must store
 *   (https://learn.microsoft.com/entra/identity-platform/refresh-tokens). `invalid_grant` means the grant is gone
 *   (revoked, password reset, consent removed) → ProviderError('auth_revoked').
 * - There is no revocation endpoint for these tokens. Disconnecting therefore forgets them (the sealed tokens are
 *   deleted, so nothing can refresh any more), stops the Graph subscription, and the access token lapses within
 *   its lifetime (about an hour). A user or admin who wants the grant itself gone removes the app's consent
 *   (My Apps / Enterprise applications), or an admin revokes sessions (`revokeSignInSessions`). So `revoke` is a
 *   documented no-op.
 */
import type { Config } from '../../../config';
import { ProviderError, type ConsentingAccount, type OAuthClient, type OAuthTokens } from '../port';
import { parseRetryAfter } from '../../../async/retry';
import { idTokenClaims } from '../common/id-token';

export const MICROSOFT_SCOPES = ['offline_access', 'Mail.ReadWrite', 'Mail.Send', 'User.Read', 'openid', 'email', 'profile'];

export interface MicrosoftOAuthOptions {
  clientId: string;
  clientSecret?: string;
  /** MICROSOFT_AUTHORITY, e.g. https://login.microsoftonline.com/common. */
  authority: string;
  /** GRAPH_API_URL (for /me). */
  graphApiUrl: string;
  fetch?: typeof fetch;
  now?: () => number;
}

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  id_token?: string;
  error?: string;
  error_codes?: number[];
}

function httpFailure(service: string, status: number, oauthError: string | undefined, retryAfter: string | null): ProviderError {
  const details = { status, ...(oauthError ? { providerCode: oauthError } : {}) };
  if (oauthError === 'invalid_grant' || oauthError === 'interaction_required')
    return new ProviderError('auth_revoked', `${service}: the grant is no longer valid (${oauthError})`, details);
  if (status === 429) return new ProviderError('throttled', `${service}: throttled`, { ...details, retryAfterMs: parseRetryAfter(retryAfter) ?? 1000 });
  if (status === 401) return new ProviderError('auth_revoked', `${service}: unauthorised`, details);
  if (status === 403) return new ProviderError('permission', `${service}: forbidden`, details);
  if (status >= 500 || status === 408) return new ProviderError('transient', `${service}: HTTP ${status}`, details);
  return new ProviderError('invalid', `${service}: HTTP ${status}${oauthError ? ` (${oauthError})` : ''}`, details);
}

export type MicrosoftOAuthConfig = Pick<Config, 'MICROSOFT_CLIENT_ID' | 'MICROSOFT_CLIENT_SECRET' | 'MICROSOFT_AUTHORITY' | 'GRAPH_API_URL'>;

/** The OAuth client, or null when MICROSOFT_CLIENT_ID is unset (Microsoft connect disabled). */
export function microsoftOAuth(config: MicrosoftOAuthConfig, deps: { fetch?: typeof fetch } = {}): OAuthClient | null {
  if (!config.MICROSOFT_CLIENT_ID) return null;
  return new MicrosoftOAuth({
    clientId: config.MICROSOFT_CLIENT_ID,
    clientSecret: config.MICROSOFT_CLIENT_SECRET,
    authority: config.MICROSOFT_AUTHORITY,
    graphApiUrl: config.GRAPH_API_URL,
    fetch: deps.fetch,
  });
}

export class MicrosoftOAuth implements OAuthClient {
  private readonly base: string;

  constructor(private readonly opts: MicrosoftOAuthOptions) {
    this.base = opts.authority.replace(/\/+$/, '');
  }

  authorizationUrl(o: { state: string; codeChallenge: string; redirectUri: string; loginHint?: string }): string {
    const url = new URL(`${this.base}/oauth2/v2.0/authorize`);
    const params: Record<string, string> = {
      client_id: this.opts.clientId,
      response_type: 'code',
      redirect_uri: o.redirectUri,
      response_mode: 'query',
      scope: MICROSOFT_SCOPES.join(' '),
      state: o.state,
      code_challenge: o.codeChallenge,
      code_challenge_method: 'S256',
      ...(o.loginHint ? { login_hint: o.loginHint } : {}),
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  exchangeCode(o: { code: string; codeVerifier: string; redirectUri: string }): Promise<OAuthTokens> {
    return this.token({ grant_type: 'authorization_code', code: o.code, redirect_uri: o.redirectUri, code_verifier: o.codeVerifier });
  }

  refresh(refreshToken: string): Promise<OAuthTokens> {
    return this.token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  /** No revocation endpoint exists for these tokens (see the module comment): forgetting them is the caller's part. */
  async revoke(_token: string): Promise<void> {}

  /**
   * The mailbox address and the consenting account: Graph `/me` gives the address and the user's object id (`id`,
   * the `oid` of their tokens: https://learn.microsoft.com/graph/api/user-get), the exchange's ID token the tenant
   * (`tid`, and its own `oid`). For personal accounts `/me` answers the 16-hex-digit account id while tokens carry it
   * as `00000000-0000-0000-xxxx-xxxxxxxxxxxx`, so both forms are offered. Microsoft does not vouch for the address
   * claims, so `verifiedEmail` stays null.
   */
  async consentingAccount(tokens: OAuthTokens): Promise<ConsentingAccount> {
    const res = await this.send(`${this.opts.graphApiUrl.replace(/\/+$/, '')}/v1.0/me?$select=id,mail,userPrincipalName`, {
      headers: { authorization: `Bearer ${tokens.accessToken}`, accept: 'application/json' },
    });
    const body = (await res.json().catch(() => ({}))) as { id?: string; mail?: string | null; userPrincipalName?: string; error?: { code?: string } };
    if (!res.ok) throw httpFailure('Graph /me', res.status, body.error?.code, res.headers.get('retry-after'));
    // `mail` is null for some accounts without an Exchange address attribute; the UPN is then the sign-in address.
    const address = body.mail || body.userPrincipalName;
    if (!address) throw new ProviderError('invalid', 'Graph /me: no mail or userPrincipalName');
    const { tid, oid } = idTokenClaims(tokens.idToken);
    const ids = typeof tid === 'string' && tid ? [body.id, oid].filter((id): id is string => typeof id === 'string' && id.length > 0) : [];
    const identityKeys = [...new Set(ids.map((id) => `microsoft:${tid}:${id.toLowerCase()}`))];
    return { address: address.toLowerCase(), identityKeys, verifiedEmail: null };
  }

  private async token(form: Record<string, string>): Promise<OAuthTokens> {
    const body = new URLSearchParams({ client_id: this.opts.clientId, scope: MICROSOFT_SCOPES.join(' '), ...form });
    if (this.opts.clientSecret) body.set('client_secret', this.opts.clientSecret);
    const res = await this.send(`${this.base}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
    });
    const json = (await res.json().catch(() => ({}))) as TokenResponse;
    if (!res.ok || !json.access_token) throw httpFailure('Microsoft token endpoint', res.status, json.error, res.headers.get('retry-after'));
    const now = this.opts.now?.() ?? Date.now();
    return {
      accessToken: json.access_token,
      ...(json.refresh_token ? { refreshToken: json.refresh_token } : {}),
      expiresAt: new Date(now + (json.expires_in ?? 3600) * 1000),
      ...(json.scope ? { scopes: json.scope.split(/\s+/).filter(Boolean) } : {}),
      ...(json.id_token ? { idToken: json.id_token } : {}),
    };
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await (this.opts.fetch ?? globalThis.fetch)(url, init);
    } catch (err) {
      throw new ProviderError('transient', `Microsoft identity: network failure (${(err as Error).message})`);
    }
  }
}
