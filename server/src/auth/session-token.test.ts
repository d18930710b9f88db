import jwt from 'jsonwebtoken';
import { AuthError } from './identity';
import { createSessionTokens, SESSION_AUDIENCE } from './session-token';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const issuer = 'https://crm.example.com';
const start = Date.UTC(2026, 0, 1, 12, 0, 0);
const user = { userId: 'user-1', orgId: 'org-1', role: 'admin' as const };

function tokens(overrides: { secret?: string; issuer?: string; ttlSeconds?: number; maxAgeSeconds?: number; now?: () => number } = {}) {
  return createSessionTokens({ secret, issuer, ttlSeconds: 3600, now: () => start, ...overrides });
}

function rejection(fn: () => unknown): AuthError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AuthError);
  return caught as AuthError;
}

/** A token signed with our secret but with claims chosen by the test (to isolate one check at a time). */
function forge(payload: object, options: jwt.SignOptions = {}, key: string = secret): string {
  return jwt.sign(payload, key, { algorithm: 'HS256', ...options });
}

const validPayload = { sub: 'user-1', org: 'org-1', role: 'member', jti: 'j1', iat: start / 1000 };

describe('session tokens', () => {
  it('round-trips the claims', () => {
    const t = tokens();
    const { token, expiresAt } = t.sign(user);
    expect(expiresAt).toBe('2026-01-01T13:00:00.000Z');
    const claims = t.verify(token);
    expect(claims).toEqual({ userId: 'user-1', orgId: 'org-1', role: 'admin', tokenId: expect.any(String), expiresAt, authTime: start / 1000 });
  });

  it('never lets renewal outlive the absolute lifetime counted from the identity-provider sign-in', () => {
    let now = start;
    const t = tokens({ ttlSeconds: 3600, maxAgeSeconds: 5400, now: () => now });
    const first = t.verify(t.sign(user).token);
    // 50 minutes later a login link renews it: the new session ends 90 minutes after the original sign-in.
    now = start + 50 * 60_000;
    const renewed = t.sign({ ...user, authTime: first.authTime });
    expect(renewed.expiresAt).toBe(new Date(start + 90 * 60_000).toISOString());
    // Past the absolute lifetime nothing renews it, and a token still carrying the old sign-in is refused.
    now = start + 91 * 60_000;
    expect(rejection(() => t.sign({ ...user, authTime: first.authTime })).code).toBe('expired');
    const forgedLong = forge({ ...validPayload, iat: now / 1000, exp: now / 1000 + 3600, auth_time: start / 1000 }, { audience: SESSION_AUDIENCE, issuer });
    expect(rejection(() => t.verify(forgedLong)).code).toBe('expired');
  });

  it('signs HS256 with a random jti, our audience and issuer', () => {
    const t = tokens();
    const a = jwt.decode(t.sign(user).token, { complete: true });
    const b = jwt.decode(t.sign(user).token, { complete: true });
    expect(a?.header.alg).toBe('HS256');
    expect(a?.payload).toMatchObject({ aud: SESSION_AUDIENCE, iss: issuer, sub: 'user-1', exp: start / 1000 + 3600 });
    expect(typeof a?.payload === 'object' && a.payload.jti).toEqual(expect.any(String));
    expect(typeof a?.payload === 'object' && typeof b?.payload === 'object' && a.payload.jti !== b.payload.jti).toBe(true);
  });

  it('rejects an expired token, and accepts it just before expiry', () => {
    const { token } = tokens().sign(user);
    expect(tokens({ now: () => start + 3599_000 }).verify(token).userId).toBe('user-1');
    const err = rejection(() => tokens({ now: () => start + 3600_000 + 10_000 }).verify(token));
    expect(err.code).toBe('expired');
    expect(err.status).toBe(401);
  });

  it('rejects alg none', () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = { ...validPayload, aud: SESSION_AUDIENCE, iss: issuer, exp: start / 1000 + 60 };
    expect(rejection(() => tokens().verify(`${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`)).code).toBe('invalid_session');
  });

  it('rejects another HMAC algorithm with the right secret', () => {
    const token = forge({ ...validPayload, exp: start / 1000 + 60 }, { algorithm: 'HS512', audience: SESSION_AUDIENCE, issuer });
    expect(rejection(() => tokens().verify(token)).code).toBe('invalid_session');
  });

  it('rejects a tampered token', () => {
    const t = tokens();
    const [header, payload, signature] = t.sign({ ...user, role: 'member' }).token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const promoted = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    expect(rejection(() => t.verify(`${header}.${promoted}.${signature}`)).code).toBe('invalid_session');
    expect(rejection(() => t.verify(`${header}.${payload}.${signature!.slice(0, -2)}AA`)).code).toBe('invalid_session');
  });

  it('rejects a wrong issuer or audience', () => {
    const exp = start / 1000 + 60;
    const otherIssuer = forge({ ...validPayload, exp }, { audience: SESSION_AUDIENCE, issuer: 'https://other.example.com' });
    const otherAudience = forge({ ...validPayload, exp }, { audience: 'another-service', issuer });
    const noAudience = forge({ ...validPayload, exp }, { issuer });
    for (const token of [otherIssuer, otherAudience, noAudience]) expect(rejection(() => tokens().verify(token)).code).toBe('invalid_session');
    // The same token is valid for the server it was issued by: the issuer is checked against ours.
    expect(tokens({ issuer: 'https://other.example.com' }).verify(otherIssuer).userId).toBe('user-1');
  });

  it('rejects a token without exp, although jsonwebtoken itself would accept it', () => {
    const token = forge(validPayload, { audience: SESSION_AUDIENCE, issuer });
    expect(() => jwt.verify(token, secret, { algorithms: ['HS256'], audience: SESSION_AUDIENCE, issuer })).not.toThrow();
    expect(rejection(() => tokens().verify(token)).code).toBe('invalid_session');
  });

  it('rejects a token signed with another secret', () => {
    const { token } = tokens({ secret: 'another-secret-that-is-also-long-enough-987' }).sign(user);
    expect(rejection(() => tokens().verify(token)).code).toBe('invalid_session');
  });

  it('rejects tokens whose claims are not ours', () => {
    const exp = start / 1000 + 60;
    const opts = { audience: SESSION_AUDIENCE, issuer };
    for (const payload of [
      { ...validPayload, exp, role: 'owner' },
      { ...validPayload, exp, org: undefined },
      { ...validPayload, exp, sub: undefined },
      { ...validPayload, exp, jti: undefined },
    ]) {
      expect(rejection(() => tokens().verify(forge(payload, opts))).code).toBe('invalid_session');
    }
  });

  it('rejects garbage without echoing it', () => {
    const err = rejection(() => tokens().verify('garbage.SECRETVALUE.x'));
    expect(err.code).toBe('invalid_session');
    expect(err.message).not.toContain('SECRETVALUE');
    expect(rejection(() => tokens().verify('')).code).toBe('invalid_session');
  });

  it('refuses a short secret and a bad ttl', () => {
    expect(() => tokens({ secret: 'short' })).toThrow(TypeError);
    expect(() => tokens({ ttlSeconds: 0 })).toThrow(TypeError);
    expect(() => tokens({ issuer: '' })).toThrow(TypeError);
  });
});
