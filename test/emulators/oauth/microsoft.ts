/**
 * Microsoft identity platform v2.0 emulator: authorize (auth code + PKCE), token (authorization_code,
 * refresh_token), JWKS and OpenID discovery, under /{tenant}/ for `common`, `organizations` or a tenant id.
 * Graph access tokens are opaque here (only this emulator reads them, as only Graph reads real ones); id tokens and
 * the add-in's own API tokens are RS256 JWTs verifiable against the JWKS, with the real issuer
 * `https://login.microsoftonline.com/{tid}/v2.0` (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose';
import { newOpaqueToken } from '../graph/ids';
import type { MailUser } from '../graph/types';

export type ConsentMode = 'auto' | 'deny' | 'page';

export interface IdentityDirectory {
  /** The user for a sign-in hint; an unknown address gets an empty mailbox. */
  userFor(address: string | undefined): MailUser;
}

export interface AccessTokenInfo {
  user: MailUser;
  clientId: string;
  scopes: string[];
  expiresAt: number;
  grantId: string;
  /** Set by revokeGrants({keepAccessTokens}): the token lives on until it expires, as without CAE. */
  survivesRevocation?: boolean;
}

export interface AppRegistration {
  clientId: string;
  clientSecret?: string;
  redirectUris?: string[];
  /**
   * The manifest's groupMembershipClaims: with "DirectoryRole" or "All", tokens carry the user's directory roles
   * in `wids` (https://learn.microsoft.com/entra/identity-platform/optional-claims). Default "None".
   */
  groupMembershipClaims?: 'None' | 'SecurityGroup' | 'DirectoryRole' | 'ApplicationGroup' | 'All';
}

export interface AddinTokenClaims {
  /** The add-in API's audience: its client id (v2.0 tokens) or application ID URI. */
  aud: string;
  tid: string;
  oid: string;
  preferred_username: string;
  scp?: string;
  name?: string;
  /** Seconds from now; negative mints an already expired token. */
  expiresInSeconds?: number;
  /** Extra or overriding claims, for negative tests (a wrong iss, a missing tid...). */
  extra?: Record<string, unknown>;
}

interface AuthCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  challenge: string | null;
  challengeMethod: string;
  user: MailUser;
  nonce: string | null;
  expiresAt: number;
  redeemed: boolean;
}
interface RefreshToken {
  grantId: string;
  clientId: string;
  user: MailUser;
  scopes: string[];
  usedAt: number | null;
}
interface Grant {
  id: string;
  address: string;
  clientId: string;
  revoked: boolean;
}

const REAL_AUTHORITY = 'https://login.microsoftonline.com';
const TENANT_PATTERN = /^(common|organizations|consumers|[0-9a-f-]{36}|[\w.-]+\.[a-z]{2,})$/i;

/** AAD error bodies carry the AADSTS code in the description plus error_codes, trace and correlation ids. */
function aadError(res: Response, status: number, error: string, code: number, description: string): void {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = `${new Date().toISOString().replace('T', ' ').slice(0, 19)}Z`;
  res.status(status).json({
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${REAL_AUTHORITY}/error?code=${code}`,
  });
}

const s256 = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');
const safeEqual = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export class MicrosoftIdentity {
  consentMode: ConsentMode = 'auto';
  accessTokenLifetimeSeconds = 3599;
  /**
   * The platform hands out a new refresh token on every use but does not revoke the old one
   * (https://learn.microsoft.com/entra/identity-platform/refresh-tokens). null keeps that documented behaviour;
   * a number makes a used token stop working that many seconds after its first use, to prove the product stores
   * the rotated token.
   */
  usedRefreshTokenGraceSeconds: number | null = null;
  private denyNext = 0;
  private readonly key: Promise<{ privateKey: KeyLike; jwk: JWK }>;
  private readonly kid = newOpaqueToken('emu-').slice(0, 24);
  private readonly apps = new Map<string, AppRegistration>();
  private readonly codes = new Map<string, AuthCode>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly accessTokens = new Map<string, AccessTokenInfo>();
  private readonly grants = new Map<string, Grant>();

  constructor(private readonly directory: IdentityDirectory) {
    this.key = generateKeyPair('RS256', { extractable: true }).then(async ({ privateKey, publicKey }) => ({
      privateKey,
      jwk: { ...(await exportJWK(publicKey)), kid: this.kid, use: 'sig', alg: 'RS256' },
    }));
  }

  registerApp(app: AppRegistration): void {
    this.apps.set(app.clientId, app);
  }

  /** Answers the next `count` authorizations with error=access_denied, whatever the consent mode. */
  denyNextAuthorizations(count = 1): void {
    this.denyNext += count;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [(await this.key).jwk] };
  }

  /** Looks up a Graph access token: its info, 'expired', or undefined when unknown or revoked. */
  resolveAccessToken(token: string): AccessTokenInfo | 'expired' | undefined {
    const info = this.accessTokens.get(token);
    if (!info || (this.grants.get(info.grantId)?.revoked && !info.survivesRevocation)) return undefined;
    return info.expiresAt <= Date.now() ? 'expired' : info;
  }

  /**
   * Revokes every grant of a user (as an admin revoking sessions would). Access tokens die too unless
   * `keepAccessTokens`: with continuous access evaluation Graph rejects them at once after a critical event.
   */
  revokeGrants(address: string, opts: { keepAccessTokens?: boolean } = {}): number {
    let count = 0;
    for (const grant of this.grants.values()) {
      if (grant.address.toLowerCase() !== address.toLowerCase() || grant.revoked) continue;
      grant.revoked = true;
      count += 1;
    }
    if (opts.keepAccessTokens) {
      for (const info of this.accessTokens.values()) {
        if (info.user.address.toLowerCase() === address.toLowerCase()) info.survivesRevocation = true;
      }
    }
    return count;
  }

  /** Makes the user's current access tokens expired, so the next Graph call answers 401 and forces a refresh. */
  expireAccessTokens(address: string): void {
    for (const info of this.accessTokens.values()) if (info.user.address.toLowerCase() === address.toLowerCase()) info.expiresAt = 0;
  }

  /** A v2.0 access token for the add-in's own API, as nested app authentication would issue it. */
  async mintAddinToken(claims: AddinTokenClaims): Promise<string> {
    const { privateKey } = await this.key;
    const now = Math.floor(Date.now() / 1000);
    const body = {
      aud: claims.aud,
      iss: `${REAL_AUTHORITY}/${claims.tid}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + (claims.expiresInSeconds ?? 3600),
      azp: claims.aud,
      azpacr: '0',
      name: claims.name ?? claims.preferred_username,
      oid: claims.oid,
      preferred_username: claims.preferred_username,
      scp: claims.scp ?? 'access_as_user',
      sub: createHash('sha256').update(`${claims.tid}:${claims.oid}:${claims.aud}`).digest('base64url').slice(0, 43),
      tid: claims.tid,
      uti: newOpaqueToken('').slice(0, 22),
      ver: '2.0',
      ...claims.extra,
    };
    return new SignJWT(body).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid }).sign(privateKey);
  }

  router(baseUrl: () => string): Router {
    const router = express.Router();
    router.use(express.urlencoded({ extended: false }));
    router.param('tenant', (_req, res, next, tenant: string) => {
      if (TENANT_PATTERN.test(tenant)) next();
      else aadError(res, 400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
    });
    router.get('/:tenant/v2.0/.well-known/openid-configuration', (req, res) => {
      const base = `${baseUrl()}/${req.params.tenant}`;
      res.json({
        issuer: `${REAL_AUTHORITY}/{tenantid}/v2.0`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['plain', 'S256'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      });
    });
    router.get('/:tenant/discovery/v2.0/keys', async (_req, res) => {
      res.json(await this.jwks());
    });
    router.get('/:tenant/oauth2/v2.0/authorize', (req, res) => this.authorize(req, res, req.query as Record<string, string>));
    router.post('/:tenant/oauth2/v2.0/authorize', (req, res) => this.authorize(req, res, req.body as Record<string, string>));
    router.post('/:tenant/oauth2/v2.0/token', (req, res, next) => {
      this.token(req, res).catch(next);
    });
    return router;
  }

  private authorize(_req: Request, res: Response, params: Record<string, string>): void {
    const { client_id: clientId, redirect_uri: redirectUri, response_type: responseType, state } = params;
    const app = clientId ? this.apps.get(clientId) : undefined;
    // Errors found before the redirect URI is trusted are shown to the user, never sent to the URI.
    if (!clientId) return void res.status(400).type('html').send('<h1>AADSTS900144: The request body must contain the following parameter: client_id.</h1>');
    if (!redirectUri || (app?.redirectUris && !app.redirectUris.includes(redirectUri))) {
      return void res
        .status(400)
        .type('html')
        .send('<h1>AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.</h1>');
    }
    const back = (query: Record<string, string>): void => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries({ ...query, ...(state !== undefined ? { state } : {}) })) url.searchParams.set(k, v);
      res.redirect(302, url.toString());
    };
    if (responseType !== 'code') return back({ error: 'unsupported_response_type', error_description: 'AADSTS700054: response_type is not supported.' });
    const method = params.code_challenge_method ?? 'plain';
    if (params.code_challenge && method !== 'S256' && method !== 'plain') {
      return back({ error: 'invalid_request', error_description: 'AADSTS501491: Invalid size of Code_Challenge parameter.' });
    }
    const decision = params.__decision;
    const denied = decision === 'deny' || (decision === undefined && (this.denyNext > 0 || this.consentMode === 'deny'));
    if (denied) {
      if (this.denyNext > 0 && decision === undefined) this.denyNext -= 1;
      return back({ error: 'access_denied', error_description: 'AADSTS65004: User declined to consent to access the app.' });
    }
    if (decision === undefined && this.consentMode === 'page') return void res.type('html').send(this.consentPage(params));
    const user = this.directory.userFor(params.login_hint);
    const code = newOpaqueToken('0.AAAA');
    this.codes.set(code, {
      clientId,
      redirectUri,
      scopes: (params.scope ?? '').split(/\s+/).filter(Boolean),
      challenge: params.code_challenge ?? null,
      challengeMethod: method,
      user,
      nonce: params.nonce ?? null,
      // Authorization codes are short-lived: about ten minutes.
      expiresAt: Date.now() + 10 * 60 * 1000,
      redeemed: false,
    });
    back({ code, session_state: randomUUID() });
  }

  private consentPage(params: Record<string, string>): string {
    const hidden = Object.entries(params)
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('');
    const who = escapeHtml(params.login_hint ?? 'the default user');
    return `<!doctype html><html><head><title>Permissions requested</title></head><body>
<h1>Permissions requested</h1><p>Signed in as <span id="user">${who}</span>. The app asks for: ${escapeHtml(params.scope ?? '')}</p>
<form method="post">${hidden}<button id="accept" name="__decision" value="accept">Accept</button>
<button id="cancel" name="__decision" value="deny">Cancel</button></form></body></html>`;
  }

  private clientOk(req: Request, clientId: string): boolean {
    const app = this.apps.get(clientId);
    if (!app?.clientSecret) return true;
    const basic = /^Basic (.+)$/i.exec(req.header('authorization') ?? '');
    const fromHeader = basic?.[1] ? Buffer.from(basic[1], 'base64').toString().split(':').slice(1).join(':') : undefined;
    const secret = (req.body as Record<string, string>).client_secret ?? fromHeader ?? '';
    return safeEqual(decodeURIComponent(secret), app.clientSecret);
  }

  private async token(req: Request, res: Response): Promise<void> {
    const body = (req.body ?? {}) as Record<string, string>;
    const clientId = body.client_id ?? '';
    if (!clientId) return aadError(res, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    if (!this.clientOk(req, clientId)) return aadError(res, 401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    if (body.grant_type === 'authorization_code') return this.redeemCode(res, body, clientId);
    if (body.grant_type === 'refresh_token') return this.redeemRefreshToken(res, body, clientId);
    return aadError(res, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
  }

  private async redeemCode(res: Response, body: Record<string, string>, clientId: string): Promise<void> {
    const entry = body.code ? this.codes.get(body.code) : undefined;
    if (!entry) return aadError(res, 400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    if (entry.redeemed)
      return aadError(
        res,
        400,
        'invalid_grant',
        54005,
        'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
      );
    if (entry.expiresAt <= Date.now())
      return aadError(res, 400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity.');
    if (entry.clientId !== clientId) return aadError(res, 400, 'invalid_grant', 70000, 'The provided authorization code was issued to a different client.');
    if (body.redirect_uri !== entry.redirectUri) {
      return aadError(res, 400, 'invalid_grant', 50148, 'The redirect_uri does not match the one used to obtain the authorization code.');
    }
    if (entry.challenge !== null) {
      const verifier = body.code_verifier ?? '';
      const computed = entry.challengeMethod === 'S256' ? s256(verifier) : verifier;
      if (!verifier || !safeEqual(computed, entry.challenge)) {
        return aadError(res, 400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.');
      }
    }
    entry.redeemed = true;
    const grant = this.grantFor(entry.user.address, clientId);
    res.json(await this.issue(grant, clientId, entry.user, entry.scopes, entry.nonce));
  }

  private async redeemRefreshToken(res: Response, body: Record<string, string>, clientId: string): Promise<void> {
    const entry = body.refresh_token ? this.refreshTokens.get(body.refresh_token) : undefined;
    if (!entry) return aadError(res, 400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    if (this.grants.get(entry.grantId)?.revoked) {
      return aadError(
        res,
        400,
        'invalid_grant',
        50173,
        'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
      );
    }
    const grace = this.usedRefreshTokenGraceSeconds;
    if (entry.usedAt !== null && grace !== null && Date.now() - entry.usedAt > grace * 1000) {
      return aadError(res, 400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity.');
    }
    if (entry.clientId !== clientId) return aadError(res, 400, 'invalid_grant', 70000, 'The refresh token was issued to a different client.');
    entry.usedAt ??= Date.now();
    const scopes = body.scope ? body.scope.split(/\s+/).filter(Boolean) : entry.scopes;
    res.json(await this.issue(this.grants.get(entry.grantId) as Grant, clientId, entry.user, scopes, null));
  }

  /** The user's live grant to this client; consenting again after a revocation starts a fresh one. */
  private grantFor(address: string, clientId: string): Grant {
    for (const grant of this.grants.values()) {
      if (!grant.revoked && grant.clientId === clientId && grant.address.toLowerCase() === address.toLowerCase()) return grant;
    }
    const grant: Grant = { id: randomUUID(), address, clientId, revoked: false };
    this.grants.set(grant.id, grant);
    return grant;
  }

  private async issue(grant: Grant, clientId: string, user: MailUser, scopes: string[], nonce: string | null): Promise<Record<string, unknown>> {
    const accessToken = newOpaqueToken('EwB');
    this.accessTokens.set(accessToken, {
      user,
      clientId,
      scopes,
      expiresAt: Date.now() + this.accessTokenLifetimeSeconds * 1000,
      grantId: grant.id,
    });
    const out: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: scopes.filter((s) => s !== 'offline_access').join(' '),
      expires_in: this.accessTokenLifetimeSeconds,
      ext_expires_in: this.accessTokenLifetimeSeconds,
      access_token: accessToken,
    };
    if (scopes.includes('offline_access')) {
      const refreshToken = newOpaqueToken('M.C5');
      this.refreshTokens.set(refreshToken, { grantId: grant.id, clientId, user, scopes, usedAt: null });
      out.refresh_token = refreshToken;
    }
    if (scopes.includes('openid')) out.id_token = await this.idToken(clientId, user, nonce);
    return out;
  }

  private emitsDirectoryRoles(clientId: string): boolean {
    const claims = this.apps.get(clientId)?.groupMembershipClaims;
    return claims === 'DirectoryRole' || claims === 'All';
  }

  private async idToken(clientId: string, user: MailUser, nonce: string | null): Promise<string> {
    const { privateKey } = await this.key;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      aud: clientId,
      iss: `${REAL_AUTHORITY}/${user.tenantId}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      name: user.displayName,
      oid: user.id,
      preferred_username: user.address,
      email: user.address,
      sub: createHash('sha256').update(`${user.id}:${clientId}`).digest('base64url').slice(0, 43),
      tid: user.tenantId,
      ver: '2.0',
      ...(nonce ? { nonce } : {}),
      ...(this.emitsDirectoryRoles(clientId) && user.directoryRoles?.length ? { wids: [...user.directoryRoles] } : {}),
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .sign(privateKey);
  }
}
