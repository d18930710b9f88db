/**
 * Verifying tokens that providers sign (`POST /api/session` and the webhooks in server/openapi.yaml;
 * docs/SECURITY.md "Identities and organisations", "Push and webhooks"):
 * - the Gmail add-on's Google ID token,
 * - the Outlook add-in's Microsoft access token for our own API (nested app authentication),
 * - the OIDC token Pub/Sub puts on Gmail push requests.
 *
 * All are RS256 JWTs checked against the provider's JWKS, fetched lazily (no network at construction) and cached by
 * `jose`: a key set is reused for `cacheMaxAge`; a token with an unknown `kid` (the provider rotated its keys) makes
 * jose refetch, at most once per `cooldownDuration`, so a flood of made-up kids cannot turn into a flood of fetches.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Config } from '../config';
import { sameSecret } from './secrets';

export interface VerifiedIdentity {
  provider: 'google' | 'microsoft';
  /** google: 'google:'+hd, or 'google-user:'+sub without hd; microsoft: 'microsoft:'+tid, or 'microsoft-user:'+oid for a personal account */
  orgKey: string;
  orgName: string;
  /** google: sub; microsoft: tid+':'+oid */
  subject: string;
  /** lowercased */
  email: string;
  name?: string;
}

/**
 * Short machine codes. `keys_unavailable` is our side's fault (the JWKS could not be fetched); `forbidden_account`
 * is a valid token from the wrong sender; everything else means the token is not acceptable.
 */
export type AuthErrorCode =
  | 'malformed'
  | 'alg_not_allowed'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'claim_invalid'
  | 'audience_not_configured'
  | 'email_unverified'
  | 'forbidden_account'
  | 'keys_unavailable'
  /** our own session token (session-token.ts) is not acceptable, for any reason but expiry */
  | 'invalid_session';

/** An authentication failure. The message is for people and never contains the token or its values. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The HTTP status the API answers with (server/openapi.yaml: 401 bad token, 403 not allowed). */
  get status(): 401 | 403 | 503 {
    if (this.code === 'keys_unavailable') return 503;
    return this.code === 'forbidden_account' ? 403 : 401;
  }
}

/** A Microsoft ID token from our own sign-in (auth/realms.ts): the tenant, and the directory roles it names. */
export interface VerifiedMicrosoftAdmin extends VerifiedIdentity {
  tenantId: string;
  /** `wids`: role template ids of the user's tenant-wide directory roles; empty when the token carries none. */
  directoryRoles: string[];
}

export interface IdentityVerifier {
  verifyGoogleIdToken(token: string): Promise<VerifiedIdentity>;
  verifyMicrosoftAccessToken(token: string): Promise<VerifiedIdentity>;
  /**
   * The ID token our app received from the Microsoft token endpoint (authorization code flow): `aud` is
   * MICROSOFT_CLIENT_ID, the issuer names the token's tenant, and `nonce` is the one we sent.
   */
  verifyMicrosoftIdToken(token: string, nonce: string): Promise<VerifiedMicrosoftAdmin>;
  /** The push token's `email` (the Pub/Sub service account), when the token carries one. */
  verifyPubSubPushToken(token: string): Promise<{ email?: string }>;
}

export type IdentityConfig = Pick<
  Config,
  | 'GOOGLE_JWKS_URL'
  | 'GOOGLE_ID_TOKEN_AUDIENCES'
  | 'MICROSOFT_JWKS_URL'
  | 'MICROSOFT_ID_TOKEN_AUDIENCES'
  | 'GOOGLE_PUSH_AUDIENCE'
  | 'GOOGLE_PUSH_SERVICE_ACCOUNT'
> &
  Partial<Pick<Config, 'MICROSOFT_CLIENT_ID'>>;

export interface IdentityOptions {
  /** minimum time between two JWKS fetches triggered by unknown kids; jose's default 30 s */
  jwksCooldownMs?: number;
  /** how long a fetched JWKS is used before it is fetched again; jose's default 10 min */
  jwksCacheMaxAgeMs?: number;
  /** JWKS request timeout; jose's default 5 s */
  jwksTimeoutMs?: number;
  /** allowed clock skew with the provider for exp/nbf/iat */
  clockToleranceSeconds?: number;
}

// Both forms occur: https://developers.google.com/identity/gsi/web/guides/verify-google-id-token
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
const ALGORITHMS = ['RS256'];

export function createIdentityVerifier(config: IdentityConfig, options: IdentityOptions = {}): IdentityVerifier {
  const jwksOptions = {
    cooldownDuration: options.jwksCooldownMs,
    cacheMaxAge: options.jwksCacheMaxAgeMs,
    timeoutDuration: options.jwksTimeoutMs,
  };
  // One key set per URL: ID tokens and push tokens are both signed with Google's keys, so they share a cache.
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const keySet = (url: string) => {
    let set = keySets.get(url);
    if (!set) keySets.set(url, (set = createRemoteJWKSet(new URL(url), jwksOptions)));
    return set;
  };
  const googleKeys = keySet(config.GOOGLE_JWKS_URL);
  const microsoftKeys = keySet(config.MICROSOFT_JWKS_URL);
  const clockTolerance = options.clockToleranceSeconds ?? 30;

  async function verify(
    token: string,
    keys: ReturnType<typeof createRemoteJWKSet>,
    audiences: string[],
    checks: Pick<JWTVerifyOptions, 'issuer' | 'requiredClaims'>,
  ): Promise<JWTPayload> {
    // With no audience configured, nothing can be accepted; refuse before any network call.
    if (audiences.length === 0) throw new AuthError('audience_not_configured', 'no accepted audience is configured for this kind of token');
    if (typeof token !== 'string' || token.length === 0) throw new AuthError('malformed', 'no token');
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ALGORITHMS, // pinned: rejects alg "none" and HS256-signed-with-our-public-key confusion
        audience: audiences,
        clockTolerance,
        ...checks,
        requiredClaims: ['exp', ...(checks.requiredClaims ?? [])],
      });
      return payload;
    } catch (err) {
      throw toAuthError(err);
    }
  }

  return {
    async verifyGoogleIdToken(token) {
      const claims = await verify(token, googleKeys, config.GOOGLE_ID_TOKEN_AUDIENCES, {
        issuer: GOOGLE_ISSUERS,
        requiredClaims: ['sub', 'email'],
      });
      const sub = requireString(claims, 'sub');
      const email = requireString(claims, 'email').toLowerCase();
      if (!isTrue(claims.email_verified)) throw new AuthError('email_unverified', 'the Google account address is not verified');
      const hd = optionalString(claims, 'hd')?.toLowerCase();
      return {
        provider: 'google',
        // The Workspace domain is the organisation; a consumer account is an organisation of one.
        orgKey: hd ? `google:${hd}` : `google-user:${sub}`,
        orgName: hd ?? email,
        subject: sub,
        email,
        ...nameOf(claims),
      };
    },

    async verifyMicrosoftAccessToken(token) {
      const claims = await verify(token, microsoftKeys, config.MICROSOFT_ID_TOKEN_AUDIENCES, { requiredClaims: ['tid', 'oid'] });
      requireAddinAccessToken(claims);
      return microsoftIdentity(claims);
    },

    async verifyMicrosoftIdToken(token, nonce) {
      const audiences = config.MICROSOFT_CLIENT_ID ? [config.MICROSOFT_CLIENT_ID] : [];
      const claims = await verify(token, microsoftKeys, audiences, { requiredClaims: ['tid', 'oid', 'nonce'] });
      if (typeof claims.nonce !== 'string' || !sameSecret(claims.nonce, nonce)) {
        throw new AuthError('claim_invalid', 'the "nonce" claim is missing or not acceptable');
      }
      const identity = microsoftIdentity(claims);
      // `wids` lists the tenant-wide directory roles (role template ids) when the app registration asks for them
      // (groupMembershipClaims "DirectoryRole" or "All"): https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
      const wids = Array.isArray(claims.wids) ? claims.wids.filter((w): w is string => typeof w === 'string') : [];
      return { ...identity, tenantId: requireString(claims, 'tid'), directoryRoles: wids };
    },

    async verifyPubSubPushToken(token) {
      const audience = config.GOOGLE_PUSH_AUDIENCE ? [config.GOOGLE_PUSH_AUDIENCE] : [];
      // https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions
      const claims = await verify(token, googleKeys, audience, { issuer: GOOGLE_ISSUERS });
      const email = optionalString(claims, 'email')?.toLowerCase();
      const expected = config.GOOGLE_PUSH_SERVICE_ACCOUNT?.trim().toLowerCase();
      if (expected && email !== expected) throw new AuthError('forbidden_account', 'the push token is not from the configured service account');
      // A sender named by an address Google does not vouch for is no sender at all, configured or not.
      if (email && !isTrue(claims.email_verified)) throw new AuthError('email_unverified', 'the push service account address is not verified');
      return email ? { email } : {};
    },
  };
}

/**
 * The tenant id every personal Microsoft account (outlook.com, hotmail.com, live.com) carries
 * (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference, `tid`). It is not an
 * organisation: each such account is an organisation of its own (docs/SECURITY.md, "Organisations").
 */
export const MICROSOFT_CONSUMER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

/**
 * A session is made only from an access token issued for our API's `access_as_user` scope. An ID token (it has no
 * `scp`, may carry a `nonce`, and is for the client, not an API) or a token for another scope is refused, as are
 * app-only tokens (`idtyp` "app": https://learn.microsoft.com/entra/identity-platform/optional-claims-reference)
 * and v1.0 tokens (`ver` "1.0": their claims and issuer differ; https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
 */
function requireAddinAccessToken(claims: JWTPayload): void {
  const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ') : [];
  if (!scopes.includes('access_as_user'))
    throw new AuthError('claim_invalid', 'the "scp" claim is missing or not acceptable: the token must be an access token for the access_as_user scope');
  if (claims.idtyp !== undefined && claims.idtyp !== 'user') throw new AuthError('claim_invalid', 'the "idtyp" claim is missing or not acceptable');
  if (claims.ver !== '2.0') throw new AuthError('claim_invalid', 'the "ver" claim is missing or not acceptable');
  if (claims.nonce !== undefined) throw new AuthError('claim_invalid', 'the "nonce" claim is missing or not acceptable: an ID token is not a session');
}

/** A verified Microsoft token (access token for our API, or ID token) → the identity it names. */
function microsoftIdentity(claims: JWTPayload): VerifiedIdentity {
  const tid = requireString(claims, 'tid');
  const oid = requireString(claims, 'oid');
  // The common JWKS signs for every tenant, so the issuer must name the token's own tenant: a token whose iss
  // and tid disagree is refused (https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-the-issuer).
  if (claims.iss !== `https://login.microsoftonline.com/${tid}/v2.0`) {
    throw new AuthError('claim_invalid', 'unexpected "iss": must be the v2.0 issuer of the token\'s own tenant');
  }
  const address = optionalString(claims, 'preferred_username') ?? optionalString(claims, 'email');
  if (!address) throw new AuthError('claim_invalid', 'the token carries neither "preferred_username" nor "email"');
  const email = address.toLowerCase();
  const personal = tid.toLowerCase() === MICROSOFT_CONSUMER_TENANT;
  return {
    provider: 'microsoft',
    // Personal accounts share one tenant id, never one organisation.
    orgKey: personal ? `microsoft-user:${oid.toLowerCase()}` : `microsoft:${tid}`,
    // Access tokens carry no tenant name; the address's domain is the best readable stand-in.
    orgName: personal ? email : email.includes('@') ? email.slice(email.lastIndexOf('@') + 1) : tid,
    subject: `${tid}:${oid}`,
    email,
    ...nameOf(claims),
  };
}

/** Maps jose's errors by class (never by message) to our codes; jose messages are not passed on. */
function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof errors.JWTExpired) return new AuthError('expired', 'the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    // The claim name is safe to show; its value is not echoed.
    return new AuthError('claim_invalid', `the "${err.claim}" claim is missing or not acceptable`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new AuthError('alg_not_allowed', 'the token must be signed with RS256');
  if (err instanceof errors.JWKSNoMatchingKey) return new AuthError('unknown_key', "the token's signing key is not in the provider's key set");
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new AuthError('bad_signature', 'the token signature does not verify');
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return new AuthError('malformed', 'the token is not a well-formed signed JWT');
  }
  // What is left: the JWKS could not be fetched or parsed (timeouts, network, non-200, bad JSON).
  return new AuthError('keys_unavailable', "the provider's signing keys could not be fetched");
}

function requireString(claims: JWTPayload, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value.length === 0) throw new AuthError('claim_invalid', `the "${name}" claim is missing or not acceptable`);
  return value;
}

function optionalString(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Google has sent `email_verified` both as a boolean and as the string "true". */
function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

function nameOf(claims: JWTPayload): { name?: string } {
  const name = optionalString(claims, 'name');
  return name ? { name } : {};
}
