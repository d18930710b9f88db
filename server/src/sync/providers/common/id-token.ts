/**
 * The claims of an ID token received straight from a provider's token endpoint in the authorization-code
 * exchange. Over that direct TLS channel the token needs no signature check (OpenID Connect Core 1.0 §3.1.3.7,
 * item 6), so this only decodes it. Tokens from anywhere else (a browser, an add-on) are verified in
 * auth/identity.ts instead. No token, or one that does not decode, gives no claims.
 */
import { decodeJwt, type JWTPayload } from 'jose';

export function idTokenClaims(idToken: string | undefined): JWTPayload {
  if (!idToken) return {};
  try {
    return decodeJwt(idToken);
  } catch {
    return {};
  }
}
