/**
 * Google identity emulator: the OAuth 2.0 authorization and token endpoints, revocation, JWKS, and helpers that
 * mint Google-signed ID tokens (add-on identity) and Pub/Sub push OIDC tokens.
 *
 * Shapes follow https://developers.google.com/identity/protocols/oauth2/web-server and
 * https://developers.google.com/identity/openid-connect/openid-connect. Errors at the token endpoint are the
 * OAuth JSON form `{"error","error_description"}`; the Gmail API's own errors are a different shape.
 */
import { createHash, randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { createGoogleSigner, GOOGLE_ISSUER, googleSubject, hostedDomain } from './google-keys';
import { consentPage } from './google-consent';

export interface GoogleIdentityOptions {
  clientId: string;
  clientSecret: string;
  /** Signed in when the authorization request has no `login_hint`. */
  defaultUser?: string;
  accessTokenTtlSeconds?: number;
  /** Called on every sign-in so the Gmail side can create an empty mailbox for a new address. */
  onUser?(email: string): void;
}

/** auto: consent at once; deny: answer error=access_denied; page: show a small Allow/Deny HTML page. */
export type ConsentMode = 'auto' | 'deny' | 'page';

interface Grant {
  id: number;
  email: string;
  clientId: string;
  scopes: string[];
  refreshToken?: string;
  revoked: boolean;
}

interface PendingCode {
  grant: Grant;
  redirectUri: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  issueRefreshToken: boolean;
  expiresAt: number;
}

export interface IdTokenClaims {
  email: string;
  /** Default: the OAuth client id. */
  aud?: string | string[];
  email_verified?: boolean;
  /** Default: the address's domain unless it is a consumer domain; pass null to omit. */
  hd?: string | null;
  sub?: string;
  name?: string;
  iss?: string;
  expiresInSeconds?: number;
  [claim: string]: unknown;
}

export interface GoogleIdentityCounters {
  codesIssued: number;
  accessTokensIssued: number;
  refreshes: number;
  revocations: number;
  invalidGrants: number;
}

const random = (bytes: number): string => randomBytes(bytes).toString('base64url');

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

export function createGoogleIdentity(options: GoogleIdentityOptions) {
  const signer = createGoogleSigner();
  const ttlSeconds = options.accessTokenTtlSeconds ?? 3599;
  const grants: Grant[] = [];
  const codes = new Map<string, PendingCode>();
  const refreshTokens = new Map<string, Grant>();
  const accessTokens = new Map<string, { grant: Grant; expiresAt: number }>();
  let consent: ConsentMode = 'auto';
  const counters: GoogleIdentityCounters = { codesIssued: 0, accessTokensIssued: 0, refreshes: 0, revocations: 0, invalidGrants: 0 };

  const mintIdToken = (claims: IdTokenClaims): Promise<string> => {
    const { expiresInSeconds = 3600, hd, iss = GOOGLE_ISSUER, aud = options.clientId, ...rest } = claims;
    const domain = hd === null ? undefined : (hd ?? hostedDomain(claims.email));
    return signer.sign(
      {
        azp: options.clientId,
        sub: googleSubject(claims.email),
        email_verified: true,
        ...rest,
        iss,
        aud,
        ...(domain ? { hd: domain } : {}),
      },
      expiresInSeconds,
    );
  };

  const issueAccessToken = (grant: Grant): { access_token: string; expires_in: number } => {
    const token = `ya29.${random(48)}`;
    accessTokens.set(token, { grant, expiresAt: Date.now() + ttlSeconds * 1000 });
    counters.accessTokensIssued += 1;
    return { access_token: token, expires_in: ttlSeconds };
  };

  const tokenAnswer = async (grant: Grant, refreshToken?: string) => ({
    ...issueAccessToken(grant),
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    scope: grant.scopes.join(' '),
    token_type: 'Bearer',
    ...(grant.scopes.includes('openid') ? { id_token: await mintIdToken({ email: grant.email }) } : {}),
  });

  const revokeGrant = (grant: Grant): void => {
    if (grant.revoked) return;
    grant.revoked = true;
    counters.revocations += 1;
    for (const [token, entry] of accessTokens) if (entry.grant === grant) accessTokens.delete(token);
  };

  /** Builds the redirect back to the client after the user's decision. */
  const decide = (query: Record<string, string>, allow: boolean): string => {
    const target = new URL(query.redirect_uri);
    if (query.state !== undefined) target.searchParams.set('state', query.state);
    if (!allow) {
      target.searchParams.set('error', 'access_denied');
      return target.toString();
    }
    const email = (query.login_hint || options.defaultUser || 'user@example.com').toLowerCase();
    options.onUser?.(email);
    const scopes = (query.scope ?? '').split(/[\s+]+/).filter(Boolean);
    const live = grants.find((g) => g.email === email && g.clientId === query.client_id && !g.revoked);
    const grant: Grant = live ?? { id: grants.length + 1, email, clientId: query.client_id, scopes, revoked: false };
    if (!live) grants.push(grant);
    grant.scopes = [...new Set([...grant.scopes, ...scopes])];
    // Google returns a refresh token only for offline access, and only at first consent unless the app forces
    // the consent screen again (prompt=consent): https://developers.google.com/identity/protocols/oauth2/web-server#offline
    const offline = query.access_type === 'offline';
    const forced = (query.prompt ?? '').split(' ').includes('consent');
    const code = `4/0${random(32)}`;
    codes.set(code, {
      grant,
      redirectUri: query.redirect_uri,
      codeChallenge: query.code_challenge,
      codeChallengeMethod: query.code_challenge_method,
      issueRefreshToken: offline && (!grant.refreshToken || forced),
      expiresAt: Date.now() + 10 * 60 * 1000,
    });
    counters.codesIssued += 1;
    target.searchParams.set('code', code);
    target.searchParams.set('scope', grant.scopes.join(' '));
    return target.toString();
  };

  const router = express.Router();
  const form = express.urlencoded({ extended: false });

  router.get('/o/oauth2/v2/auth', (req: Request, res: Response) => {
    const query = req.query as Record<string, string>;
    // Google shows its own error page (no redirect) when the client or redirect URI is wrong.
    if (query.client_id !== options.clientId) return void res.status(401).type('text').send('Error 401: invalid_client');
    if (!query.redirect_uri || !/^https?:\/\//.test(query.redirect_uri)) {
      return void res.status(400).type('text').send('Error 400: redirect_uri_mismatch');
    }
    if (query.response_type !== 'code') return void res.status(400).type('text').send('Error 400: unsupported_response_type');
    if (consent === 'page') return void res.type('html').send(consentPage(query));
    res.redirect(302, decide(query, consent === 'auto'));
  });

  // The consent page's buttons land here; `decision` is allow or deny.
  router.get('/o/oauth2/v2/auth/decide', (req: Request, res: Response) => {
    const query = req.query as Record<string, string>;
    if (query.client_id !== options.clientId || !query.redirect_uri) return void res.status(400).send('bad request');
    res.redirect(302, decide(query, query.decision === 'allow'));
  });

  router.post('/token', form, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, string>;
    let clientId = body.client_id;
    let clientSecret = body.client_secret;
    const basic = /^Basic (.+)$/i.exec(req.get('authorization') ?? '');
    if (basic) [clientId, clientSecret] = Buffer.from(basic[1], 'base64').toString().split(':');
    if (clientId !== options.clientId || clientSecret !== options.clientSecret) {
      return oauthError(res, 401, 'invalid_client', 'Unauthorized');
    }
    if (body.grant_type === 'authorization_code') {
      const pending = body.code ? codes.get(body.code) : undefined;
      if (body.code) codes.delete(body.code); // single use, even when the exchange fails
      if (!pending || pending.expiresAt < Date.now() || pending.grant.revoked) {
        counters.invalidGrants += 1;
        return oauthError(res, 400, 'invalid_grant', 'Malformed auth code.');
      }
      if (body.redirect_uri !== pending.redirectUri) return oauthError(res, 400, 'redirect_uri_mismatch', 'Bad Request');
      if (pending.codeChallenge) {
        if (!body.code_verifier) return oauthError(res, 400, 'invalid_grant', 'Missing code verifier.');
        const computed = pending.codeChallengeMethod === 'S256' ? createHash('sha256').update(body.code_verifier).digest('base64url') : body.code_verifier;
        if (computed !== pending.codeChallenge) {
          counters.invalidGrants += 1;
          return oauthError(res, 400, 'invalid_grant', 'Invalid code verifier.');
        }
      }
      let refreshToken: string | undefined;
      if (pending.issueRefreshToken) {
        refreshToken = `1//0${random(40)}`;
        pending.grant.refreshToken = refreshToken;
        refreshTokens.set(refreshToken, pending.grant);
      }
      return void res.json(await tokenAnswer(pending.grant, refreshToken));
    }
    if (body.grant_type === 'refresh_token') {
      const grant = body.refresh_token ? refreshTokens.get(body.refresh_token) : undefined;
      if (!grant || grant.revoked) {
        counters.invalidGrants += 1;
        return oauthError(res, 400, 'invalid_grant', 'Token has been expired or revoked.');
      }
      counters.refreshes += 1;
      return void res.json(await tokenAnswer(grant));
    }
    oauthError(res, 400, 'unsupported_grant_type', `Invalid grant_type: ${body.grant_type ?? ''}`);
  });

  // Revoking either token of a grant revokes the whole grant (refresh token and its access tokens):
  // https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
  router.all('/revoke', form, (req: Request, res: Response) => {
    const token = ((req.body as Record<string, string> | undefined)?.token ?? req.query.token) as string | undefined;
    const grant = token ? (refreshTokens.get(token) ?? accessTokens.get(token)?.grant) : undefined;
    if (!grant || grant.revoked) return oauthError(res, 400, 'invalid_token', 'Token expired or revoked');
    revokeGrant(grant);
    res.json({});
  });

  router.get('/oauth2/v3/certs', (_req: Request, res: Response) => {
    res.set('Cache-Control', 'public, max-age=300').json(signer.jwks());
  });

  return {
    router,
    /** The grant behind a Bearer access token, or undefined when unknown, expired or revoked. */
    authenticate(accessToken: string): { email: string; scopes: string[] } | undefined {
      const entry = accessTokens.get(accessToken);
      if (!entry || entry.grant.revoked || entry.expiresAt <= Date.now()) return undefined;
      return { email: entry.grant.email, scopes: entry.grant.scopes };
    },
    setConsent(mode: ConsentMode): void {
      consent = mode;
    },
    /** Revokes every grant of the user, as "Remove access" in the Google account does. Returns how many. */
    revokeUser(email: string): number {
      const live = grants.filter((g) => g.email === email.toLowerCase() && !g.revoked);
      live.forEach(revokeGrant);
      return live.length;
    },
    /** Makes current access tokens expired (all, or one user's), to drive the refresh path. */
    expireAccessTokens(email?: string): void {
      for (const entry of accessTokens.values()) if (!email || entry.grant.email === email.toLowerCase()) entry.expiresAt = 0;
    },
    grants: () => grants.map((g) => ({ email: g.email, scopes: [...g.scopes], revoked: g.revoked, hasRefreshToken: !!g.refreshToken })),
    counters: (): GoogleIdentityCounters => ({ ...counters }),
    jwks: signer.jwks,
    /** An ID token as Google signs it (sign-in, or the Gmail add-on's `ScriptApp.getIdentityToken()`). */
    mintIdToken,
    /** The OIDC token Pub/Sub puts on a push: aud = the push endpoint (or configured audience), email = service account. */
    mintPushToken(audience: string, serviceAccountEmail: string, expiresInSeconds = 3600): Promise<string> {
      return signer.sign(
        {
          iss: GOOGLE_ISSUER,
          aud: audience,
          azp: googleSubject(serviceAccountEmail),
          sub: googleSubject(serviceAccountEmail),
          email: serviceAccountEmail,
          email_verified: true,
        },
        expiresInSeconds,
      );
    },
  };
}

export type GoogleIdentity = ReturnType<typeof createGoogleIdentity>;
