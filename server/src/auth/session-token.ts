/**
 * Our own session tokens (docs/SECURITY.md "Sessions"): short-lived HS256 JWTs signed with `JWT_SECRET`, handed out by
 * `POST /api/session` and sent back as `Authorization: Bearer …`.
 *
 * jsonwebtoken is strict only when asked: verification pins `algorithms`, `audience` and `issuer`, and checks that
 * `exp` is present, because jsonwebtoken accepts a token without one and such a token would never expire.
 */
import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AuthError } from './identity';

export type SessionRole = 'admin' | 'member';

export interface SessionClaims {
  userId: string;
  orgId: string;
  role: SessionRole;
  /** the token's `jti`, for revocation lists or logs (it is not a secret) */
  tokenId: string;
  /** ISO time */
  expiresAt: string;
  /** When the user last proved who they are at the identity provider (`auth_time`, seconds): the absolute lifetime counts from it. */
  authTime: number;
}

export interface SessionTokens {
  /**
   * `authTime`: the identity-provider sign-in this session descends from (a login link passes its session's on);
   * default now. The token expires `ttlSeconds` from now, but never later than `maxAgeSeconds` after `authTime`.
   */
  sign(claims: { userId: string; orgId: string; role: SessionRole; authTime?: number }): { token: string; expiresAt: string };
  /** Throws `AuthError` ('expired' or 'invalid_session') for anything but a valid token of ours. */
  verify(token: string): SessionClaims;
}

export interface SessionTokenOptions {
  /** `JWT_SECRET`; at least 32 characters, as the configuration requires */
  secret: string;
  /** `PUBLIC_URL` */
  issuer: string;
  ttlSeconds: number;
  /** The absolute lifetime from the identity-provider sign-in (SESSION_MAX_AGE_SECONDS); default 24 hours. */
  maxAgeSeconds?: number;
  /** the clock, in ms; tests pass their own */
  now?: () => number;
}

/** Only our API accepts these tokens; a JWT minted for anything else with the same secret is refused. */
export const SESSION_AUDIENCE = 'threadline-api';
const ALGORITHM = 'HS256';
const MIN_SECRET_CHARS = 32;
/** Several API processes may verify; allow for small clock differences between them. */
const CLOCK_TOLERANCE_SECONDS = 5;
const ROLES: readonly SessionRole[] = ['admin', 'member'];

export function createSessionTokens({ secret, issuer, ttlSeconds, maxAgeSeconds = 86_400, now = Date.now }: SessionTokenOptions): SessionTokens {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_CHARS) {
    throw new TypeError(`the session secret must be at least ${MIN_SECRET_CHARS} characters`);
  }
  if (!issuer) throw new TypeError('the session issuer (PUBLIC_URL) is required');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new TypeError('ttlSeconds must be a positive integer');
  // A KeyObject of type 'secret' also makes jsonwebtoken refuse it for asymmetric algorithms.
  const key: KeyObject = createSecretKey(Buffer.from(secret, 'utf8'));
  const nowSeconds = () => Math.floor(now() / 1000);

  return {
    sign({ userId, orgId, role, authTime }) {
      if (!userId || !orgId || !ROLES.includes(role)) throw new TypeError('userId, orgId and a known role are required');
      const iat = nowSeconds();
      const signedInAt = authTime ?? iat;
      const exp = Math.min(iat + ttlSeconds, signedInAt + maxAgeSeconds);
      if (exp <= iat) throw new AuthError('expired', 'the sign-in this session comes from is too old; sign in again');
      const token = jwt.sign({ org: orgId, role, iat, exp, auth_time: signedInAt }, key, {
        algorithm: ALGORITHM,
        audience: SESSION_AUDIENCE,
        issuer,
        subject: userId,
        jwtid: randomUUID(),
      });
      return { token, expiresAt: new Date(exp * 1000).toISOString() };
    },

    verify(token) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, key, {
          algorithms: [ALGORITHM],
          audience: SESSION_AUDIENCE,
          issuer,
          clockTimestamp: nowSeconds(),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        });
      } catch (err) {
        // By class only; jsonwebtoken's messages may quote claim values, so none is passed on.
        if (err instanceof jwt.TokenExpiredError) throw new AuthError('expired', 'the session has expired; sign in again');
        throw invalid();
      }
      if (typeof payload === 'string') throw invalid();
      const { sub, org, role, jti, exp, iat } = payload;
      if (typeof exp !== 'number') throw invalid(); // jsonwebtoken lets a token without exp through
      const authTime = typeof payload.auth_time === 'number' ? payload.auth_time : iat;
      if (typeof authTime !== 'number' || nowSeconds() > authTime + maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) {
        throw new AuthError('expired', 'the session has expired; sign in again');
      }
      if (typeof sub !== 'string' || !sub || typeof org !== 'string' || !org || !ROLES.includes(role) || typeof jti !== 'string') {
        throw invalid();
      }
      return { userId: sub, orgId: org, role: role as SessionRole, tokenId: jti, expiresAt: new Date(exp * 1000).toISOString(), authTime };
    },
  };
}

function invalid(): AuthError {
  return new AuthError('invalid_session', 'the session token is not valid; sign in again');
}
