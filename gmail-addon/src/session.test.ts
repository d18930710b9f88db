import { type ApiError, AuthError } from './errors';
import { json, sessions, testPlatform } from './testing';
import { MAX_CACHE_SECONDS, sessionTtlSeconds, signOut } from './session';

describe('sessions', () => {
  it('caches a session until a minute before it expires, at most six hours', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    expect(sessionTtlSeconds('2026-03-02T11:00:00Z', now)).toBe(3540);
    expect(sessionTtlSeconds('2026-03-09T10:00:00Z', now)).toBe(MAX_CACHE_SECONDS);
    expect(sessionTtlSeconds('2026-03-02T10:00:30Z', now)).toBe(0);
    expect(sessionTtlSeconds('garbage', now)).toBe(0);
  });

  it('signs in once, then reuses the cached session', () => {
    const signIns = sessions();
    const { ctx, requests } = testPlatform((r) => (r.path === '/api/session' ? signIns(r) : json(200, { ok: r.headers.authorization })));
    expect(ctx.api.call('get', '/api/x')).toEqual({ ok: 'Bearer s1' });
    expect(ctx.api.call('get', '/api/x')).toEqual({ ok: 'Bearer s1' });
    expect(requests.filter((r) => r.path === '/api/session')).toEqual([
      expect.objectContaining({ method: 'post', body: { provider: 'google', token: 'google-id-token' } }),
    ]);
  });

  it('signs in again silently, once, when the session is refused', () => {
    const signIns = sessions();
    const { ctx, requests } = testPlatform((r) => {
      if (r.path === '/api/session') return signIns(r);
      return r.headers.authorization === 'Bearer s1' ? json(401, { error: { code: 'unauthorized', message: 'expired' } }) : json(200, { ok: true });
    });
    expect(ctx.api.call('get', '/api/x')).toEqual({ ok: true });
    expect(requests.map((r) => `${r.path} ${r.headers.authorization ?? ''}`.trim())).toEqual([
      '/api/session',
      '/api/x Bearer s1',
      '/api/session',
      '/api/x Bearer s2',
    ]);
  });

  it('gives up with an AuthError after the second refusal, and on a refused identity', () => {
    const signIns = sessions();
    const always401 = testPlatform((r) => (r.path === '/api/session' ? signIns(r) : json(401, { error: { code: 'unauthorized', message: 'no' } })));
    expect(() => always401.ctx.api.call('get', '/api/x')).toThrow(AuthError);
    const refused = testPlatform(() => json(401, { error: { code: 'unauthorized', message: 'Your domain is not allowed.' } }));
    expect(() => refused.ctx.api.call('get', '/api/x')).toThrow(new AuthError('Your domain is not allowed.'));
  });

  it('turns contract errors into ApiError with the server’s message', () => {
    const signIns = sessions();
    const { ctx } = testPlatform((r) =>
      r.path === '/api/session' ? signIns(r) : json(409, { error: { code: 'conflict', message: 'taken', details: { existingId: 'c1' } } }),
    );
    expect(() => ctx.api.call('post', '/api/contacts', {})).toThrow(expect.objectContaining({ status: 409, code: 'conflict', message: 'taken' }) as ApiError);
  });

  it('after sign-out, asks before signing in again', () => {
    const signIns = sessions();
    const { p, ctx } = testPlatform((r) => (r.path === '/api/session' ? signIns(r) : json(200, {})));
    ctx.api.call('get', '/api/x');
    signOut(p);
    expect(p.userCache.get('tl.session.v1')).toBeNull();
    expect(() => ctx.api.call('get', '/api/x')).toThrow(AuthError);
  });
});
