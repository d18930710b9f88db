/**
 * A minimal local identity provider for API tests: RSA keys served as a JWKS over real HTTP, and
 * functions that sign Google ID tokens and Microsoft v2.0 access tokens the way the add-ons get them.
 * (The full OAuth emulators live in test/emulators/; this is for tests that only need signed tokens.)
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWK, type JWTPayload } from 'jose';

export const GOOGLE_AUD = 'test-client.apps.googleusercontent.com';
export const MICROSOFT_AUD = 'api://threadline.test/add-in';

export interface TestIdp {
  googleJwksUrl: string;
  microsoftJwksUrl: string;
  googleToken(claims?: JWTPayload, opts?: { key?: 'google' | 'stranger'; kid?: string }): Promise<string>;
  microsoftToken(claims?: JWTPayload): Promise<string>;
  /** The public key, for RS/HS confusion tests. */
  googlePublicPem: string;
  close(): Promise<void>;
}

function rsaKey(kid: string): { kid: string; privateKey: KeyObject; publicKey: KeyObject; jwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS256', use: 'sig' } };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function startTestIdp(): Promise<TestIdp> {
  const google = rsaKey('g1');
  const microsoft = rsaKey('m1');
  const stranger = rsaKey('s1');
  const server = http.createServer((req, res) => {
    const keys = req.url === '/google' ? [google.jwk] : req.url === '/microsoft' ? [microsoft.jwk] : null;
    if (!keys) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sign = (key: { privateKey: KeyObject }, kid: string, claims: JWTPayload) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key.privateKey);

  return {
    googleJwksUrl: `${base}/google`,
    microsoftJwksUrl: `${base}/microsoft`,
    googlePublicPem: google.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    googleToken: (claims = {}, opts = {}) =>
      sign(opts.key === 'stranger' ? stranger : google, opts.kid ?? google.kid, {
        iss: 'https://accounts.google.com',
        aud: GOOGLE_AUD,
        sub: '1001',
        email: 'ada@acme.test',
        email_verified: true,
        hd: 'acme.test',
        name: 'Ada Lovelace',
        iat: nowSeconds(),
        exp: nowSeconds() + 3600,
        ...claims,
      }),
    microsoftToken: (claims = {}) => {
      const tid = (claims.tid as string) ?? '11111111-2222-3333-4444-555555555555';
      return sign(microsoft, microsoft.kid, {
        iss: `https://login.microsoftonline.com/${tid}/v2.0`,
        aud: MICROSOFT_AUD,
        tid,
        oid: 'oid-1',
        preferred_username: 'grace@contoso.test',
        name: 'Grace Hopper',
        scp: 'access_as_user',
        ver: '2.0',
        iat: nowSeconds(),
        exp: nowSeconds() + 3600,
        ...claims,
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
