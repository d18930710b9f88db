import { createCache } from '../../test/fakes/apps-script/services';
import { cacheCard, cachedCard, contextKey, CONTEXT_TTL_SECONDS, evictContext } from './context-cache';

const card = { header: { title: 'Jane' }, sections: [{ widgets: [{ textParagraph: { text: 'hi' } }] }] };

describe('the per-sender context cache', () => {
  it('keys by the lower-cased sender, hashing addresses too long for CacheService', () => {
    expect(contextKey(' Jane@Acme.com ')).toBe('tl.ctx.v1.jane@acme.com');
    const long = `${'x'.repeat(300)}@acme.com`;
    expect(contextKey(long)).toMatch(/^tl\.ctx\.v1\.#[0-9a-f]{8}$/);
    expect(contextKey(long)).not.toBe(contextKey(`y${long}`));
  });

  it('hits only for the same open email, expires, and is evicted after a change', () => {
    let now = 0;
    const cache = createCache(() => now);
    cacheCard(cache, 'jane@acme.com', 'm1', card);
    expect(cachedCard(cache, 'JANE@acme.com', 'm1')).toEqual(card);
    expect(cachedCard(cache, 'jane@acme.com', 'm2')).toBeNull();
    evictContext(cache, ['jane@acme.com']);
    expect(cachedCard(cache, 'jane@acme.com', 'm1')).toBeNull();
    cacheCard(cache, 'jane@acme.com', 'm1', card);
    now += CONTEXT_TTL_SECONDS * 1000;
    expect(cachedCard(cache, 'jane@acme.com', 'm1')).toBeNull();
  });

  it('does not cache a card too big for CacheService rather than failing', () => {
    const cache = createCache(() => 0);
    const big = { ...card, header: { title: 'x'.repeat(60_000) } };
    expect(() => cacheCard(cache, 'jane@acme.com', 'm1', big)).not.toThrow();
    expect(cachedCard(cache, 'jane@acme.com', 'm1')).toBeNull();
  });
});
