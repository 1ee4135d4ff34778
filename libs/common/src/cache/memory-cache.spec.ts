import { describe, expect, it } from '@jest/globals';
import { MemoryCache } from './memory-cache.js';

describe('MemoryCache', () => {
  const cache = () => new MemoryCache<{ size: number }>(10, (entry) => entry.size);

  it('drops the least recently used entries once the sizes pass the limit', () => {
    const c = cache();
    c.set('a', { size: 4 });
    c.set('b', { size: 4 });
    c.use('a', c.peek('a')!); // a is now the most recent: b goes first
    c.set('c', { size: 4 });
    expect([c.peek('a'), c.peek('b'), c.peek('c')]).toEqual([{ size: 4 }, undefined, { size: 4 }]);
  });

  it('counts a replaced or deleted entry out, and deletes by prefix', () => {
    const c = cache();
    c.set('images/1/a', { size: 6 });
    c.set('images/1/a', { size: 6 }); // replaced, not counted twice
    c.set('images/12/b', { size: 4 });
    expect(c.peek('images/1/a')).toBeDefined();
    c.deletePrefix('images/1/');
    expect(c.peek('images/1/a')).toBeUndefined();
    expect(c.peek('images/12/b')).toBeDefined();
    c.set('images/2/c', { size: 6 }); // 4 + 6 fit once a is gone
    expect(c.peek('images/12/b')).toBeDefined();
  });
});
