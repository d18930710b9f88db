/**
 * The signing key of the emulated Google identity: one RS256 key with a `kid`, published as a JWKS, used for
 * ID tokens (sign-in, the Gmail add-on's identity token) and for Pub/Sub push OIDC tokens alike, as Google does:
 * both are verified against https://www.googleapis.com/oauth2/v3/certs.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';

export const GOOGLE_ISSUER = 'https://accounts.google.com';

export interface GoogleJwk {
  kty: string;
  n: string;
  e: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

export interface GoogleSigner {
  jwks(): { keys: GoogleJwk[] };
  sign(claims: JWTPayload, expiresInSeconds: number): Promise<string>;
}

export function createGoogleSigner(): GoogleSigner {
  // Synchronous generation keeps the emulator factory synchronous (jose's generateKeyPair is async).
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
  // Google's kids are 40 hex characters; a SHA-1 of the modulus has that shape and is stable for the key.
  const kid = createHash('sha1').update(jwk.n).digest('hex');
  const published: GoogleJwk = { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' };
  const key: KeyObject = privateKey;
  return {
    jwks: () => ({ keys: [published] }),
    sign: (claims, expiresInSeconds) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuedAt(now)
        .setExpirationTime(now + expiresInSeconds)
        .sign(key);
    },
  };
}

/** A stable numeric `sub` per address, shaped like Google's 21-digit account ids. */
export function googleSubject(email: string): string {
  const digest = createHash('sha256').update(email.toLowerCase()).digest();
  return `1${(digest.readBigUInt64BE(0) % 10n ** 20n).toString().padStart(20, '0')}`;
}

/** Consumer domains carry no `hd` claim; any other domain is treated as a Workspace domain. */
const CONSUMER_DOMAINS = new Set(['gmail.com', 'googlemail.com']);
export function hostedDomain(email: string): string | undefined {
  const domain = email.split('@')[1]?.toLowerCase();
  return domain && !CONSUMER_DOMAINS.has(domain) ? domain : undefined;
}
