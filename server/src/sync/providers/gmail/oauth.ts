/**
 * Google OAuth for connecting a Gmail mailbox: authorization URL (state + PKCE S256, offline access), code
 * exchange, refresh, revocation, and the mailbox address (https://developers.google.com/identity/protocols/oauth2/web-server).
 *
 * google-auth-library's OAuth2Client takes its endpoints as an option (`endpoints.oauth2AuthBaseUrl`,
 * `oauth2TokenUrl`, `oauth2RevokeUrl`), so GOOGLE_AUTH_URL / GOOGLE_TOKEN_URL / GOOGLE_REVOKE_URL (the emulator in
 * tests) need no plain-fetch fallback. Its token calls retry 5xx by themselves (RETRY_CONFIG), which suits
 * refresh; errors are translated by the same translator as the Gmail API's (`invalid_grant` → auth_revoked).
 */
import { auth as gmailAuth, gmail } from '@googleapis/gmail';
import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import type { Config } from '../../../config';
import { idTokenClaims } from '../common/id-token';
import { ProviderError, type ConsentingAccount, type OAuthClient, type OAuthTokens } from '../port';
import { nodeFetch } from './client';
import { asProviderError, errorFacts } from './errors';

/** Sync needs gmail.modify (read, label, trash, send; never delete for good); openid + email name the account. */
export const GMAIL_SCOPES = ['https://www.googleapis.com/auth/gmail.modify', 'openid', 'email'] as const;

export type GoogleOAuthConfig = Pick<
  Config,
  'GOOGLE_CLIENT_ID' | 'GOOGLE_CLIENT_SECRET' | 'GOOGLE_AUTH_URL' | 'GOOGLE_TOKEN_URL' | 'GOOGLE_REVOKE_URL' | 'GMAIL_API_URL'
>;

/** Exposes the library's cache-free refresh, which (unlike refreshAccessToken) keeps a rotated refresh token visible. */
class TokenClient extends OAuth2Client {
  refreshWith(refreshToken: string) {
    return this.refreshTokenNoCache(refreshToken);
  }
}

const TOKEN_TIMEOUT_MS = 30_000;

function expiry(expiryDate: number | null | undefined): Date {
  // Google sends expires_in (~3599 s); the library turns it into expiry_date. Assume the documented hour if absent.
  return new Date(expiryDate ?? Date.now() + 3600 * 1000);
}

/** The OAuth client, or null when GOOGLE_CLIENT_ID or GOOGLE_CLIENT_SECRET is unset (Google connect disabled). */
export function googleOAuth(config: GoogleOAuthConfig): OAuthClient | null {
  if (!config.GOOGLE_CLIENT_ID || !config.GOOGLE_CLIENT_SECRET) return null;
  return new GoogleOAuth({ ...config, GOOGLE_CLIENT_ID: config.GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET: config.GOOGLE_CLIENT_SECRET });
}

export class GoogleOAuth implements OAuthClient {
  private readonly client: TokenClient;

  constructor(private readonly config: GoogleOAuthConfig & { GOOGLE_CLIENT_ID: string; GOOGLE_CLIENT_SECRET: string }) {
    this.client = new TokenClient({
      clientId: config.GOOGLE_CLIENT_ID,
      clientSecret: config.GOOGLE_CLIENT_SECRET,
      endpoints: { oauth2AuthBaseUrl: config.GOOGLE_AUTH_URL, oauth2TokenUrl: config.GOOGLE_TOKEN_URL, oauth2RevokeUrl: config.GOOGLE_REVOKE_URL },
      transporterOptions: { timeout: TOKEN_TIMEOUT_MS, fetchImplementation: nodeFetch },
    });
  }

  authorizationUrl({
    state,
    codeChallenge,
    redirectUri,
    loginHint,
  }: {
    state: string;
    codeChallenge: string;
    redirectUri: string;
    loginHint?: string;
  }): string {
    return this.client.generateAuthUrl({
      // offline: a refresh token; prompt=consent: a refresh token again on reconnect, which Google otherwise
      // only gives at the first consent (web-server guide, "Refreshing an access token (offline access)").
      access_type: 'offline',
      prompt: 'consent',
      scope: [...GMAIL_SCOPES],
      state,
      code_challenge: codeChallenge,
      code_challenge_method: CodeChallengeMethod.S256,
      redirect_uri: redirectUri,
      ...(loginHint ? { login_hint: loginHint } : {}),
    });
  }

  async exchangeCode({ code, codeVerifier, redirectUri }: { code: string; codeVerifier: string; redirectUri: string }): Promise<OAuthTokens> {
    const tokens = await this.client.getToken({ code, codeVerifier, redirect_uri: redirectUri }).then(
      (answer) => answer.tokens,
      (err: unknown) => {
        // At this step invalid_grant means a used, expired or mismatched code, not a revoked mailbox.
        if (errorFacts(err).reason === 'invalid_grant')
          throw new ProviderError('invalid', 'Google: authorization code invalid or expired', { providerCode: 'invalid_grant' });
        throw asProviderError(err);
      },
    );
    if (!tokens.access_token || !tokens.refresh_token) {
      throw new ProviderError('invalid', 'Google: token answer without access and refresh token', { providerCode: 'missing_refresh_token' });
    }
    return {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresAt: expiry(tokens.expiry_date),
      scopes: (tokens.scope ?? '').split(/\s+/).filter(Boolean),
      ...(tokens.id_token ? { idToken: tokens.id_token } : {}),
    };
  }

  async refresh(refreshToken: string): Promise<OAuthTokens> {
    try {
      const { tokens } = await this.client.refreshWith(refreshToken);
      if (!tokens.access_token) throw new ProviderError('invalid', 'Google: refresh answer without access token');
      return {
        accessToken: tokens.access_token,
        expiresAt: expiry(tokens.expiry_date),
        // Only when Google rotated it.
        ...(tokens.refresh_token && tokens.refresh_token !== refreshToken ? { refreshToken: tokens.refresh_token } : {}),
      };
    } catch (err) {
      throw asProviderError(err); // invalid_grant → auth_revoked (errors.ts)
    }
  }

  async revoke(token: string): Promise<void> {
    try {
      await this.client.revokeToken(token);
    } catch (err) {
      // Revoking is part of disconnecting: a token Google no longer knows is already as revoked as it gets.
      if (errorFacts(err).reason === 'invalid_token') return;
      throw asProviderError(err);
    }
  }

  /** The mailbox address (users.getProfile) and the consenting account (the exchange's ID token: `sub`, verified `email`). */
  async consentingAccount({ accessToken, idToken }: OAuthTokens): Promise<ConsentingAccount> {
    const claims = idTokenClaims(idToken);
    const sub = typeof claims.sub === 'string' && claims.sub ? claims.sub : null;
    const email = claims.email_verified === true && typeof claims.email === 'string' ? claims.email.toLowerCase() : null;
    return { address: await this.profileAddress(accessToken), identityKeys: sub ? [`google:${sub}`] : [], verifiedEmail: email };
  }

  private async profileAddress(accessToken: string): Promise<string> {
    // The generated client's own OAuth2Client copy (see client.ts on the two google-auth-library copies).
    const auth = new gmailAuth.OAuth2();
    auth.setCredentials({ access_token: accessToken });
    const api = gmail({
      version: 'v1',
      rootUrl: `${this.config.GMAIL_API_URL.replace(/\/+$/, '')}/`,
      auth,
      retry: false,
      timeout: TOKEN_TIMEOUT_MS,
      fetchImplementation: nodeFetch,
    });
    try {
      const { data } = await api.users.getProfile({ userId: 'me' });
      if (!data.emailAddress) throw new ProviderError('invalid', 'Gmail: profile without emailAddress');
      return data.emailAddress.toLowerCase();
    } catch (err) {
      throw asProviderError(err);
    }
  }
}
