import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { TokenCipher } from './token-cipher.js';
import { sealedTheOldWay } from '../../../../test/support/legacy-token.js';

const CONTEXT = 'social_accounts:1:access_token';

/** The sealed value with its last dot-separated part (the auth tag) replaced. */
function withTag(sealed: string, tag: (bytes: Buffer) => Buffer): string {
  const parts = sealed.split('.');
  parts[parts.length - 1] = tag(Buffer.from(parts.at(-1)!, 'base64url')).toString('base64url');
  return parts.join('.');
}

describe('TokenCipher', () => {
  const cipher = new TokenCipher([randomBytes(32)]);

  it('round-trips, with a fresh IV each time, and never shows the plaintext', () => {
    const a = cipher.encrypt('EAAG-secret-token', CONTEXT);
    const b = cipher.encrypt('EAAG-secret-token', CONTEXT);
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret');
    expect(cipher.decrypt(a, CONTEXT)).toBe('EAAG-secret-token');
  });

  it('refuses a value moved to another row or field, altered, or sealed under another key', () => {
    const sealed = cipher.encrypt('token', CONTEXT);
    expect(() => cipher.decrypt(sealed, 'social_accounts:2:access_token')).toThrow();
    expect(() => cipher.decrypt(sealed, 'social_accounts:1:refresh_token')).toThrow();
    const parts = sealed.split('.');
    parts[parts.length - 2] = Buffer.from('tampered').toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'), CONTEXT)).toThrow();
    expect(() => new TokenCipher([randomBytes(32)]).decrypt(sealed, CONTEXT)).toThrow();
    expect(() => cipher.decrypt('garbage', CONTEXT)).toThrow();
  });

  it('refuses a truncated or altered auth tag, in the old format too', () => {
    const key = randomBytes(32);
    const ring = new TokenCipher([key]);
    for (const sealed of [ring.encrypt('token', CONTEXT), sealedTheOldWay(key, 'token', CONTEXT)]) {
      expect(ring.decrypt(sealed, CONTEXT)).toBe('token');
      // GCM checks only as many tag bytes as it is given: a prefix of the right tag would pass.
      for (const length of [15, 12, 8, 4])
        expect(() =>
          ring.decrypt(
            withTag(sealed, (tag) => tag.subarray(0, length)),
            CONTEXT,
          ),
        ).toThrow();
      expect(() =>
        ring.decrypt(
          withTag(sealed, () => Buffer.alloc(0)),
          CONTEXT,
        ),
      ).toThrow();
      expect(() =>
        ring.decrypt(
          withTag(sealed, (tag) => Buffer.concat([tag, Buffer.from([0])])),
          CONTEXT,
        ),
      ).toThrow();
      expect(() =>
        ring.decrypt(
          withTag(sealed, (tag) => Buffer.from(tag.map((byte, i) => (i === 15 ? byte ^ 1 : byte)))),
          CONTEXT,
        ),
      ).toThrow();
    }
  });

  it('opens tokens stored before key rings (no key id) with any key of the ring', () => {
    const old = randomBytes(32);
    const stored = sealedTheOldWay(old, 'EAAG-stored-last-year', CONTEXT);
    expect(new TokenCipher([old]).decrypt(stored, CONTEXT)).toBe('EAAG-stored-last-year');
    expect(new TokenCipher([randomBytes(32), old]).decrypt(stored, CONTEXT)).toBe(
      'EAAG-stored-last-year',
    );
    expect(() => new TokenCipher([randomBytes(32)]).decrypt(stored, CONTEXT)).toThrow();
    expect(new TokenCipher([old]).isSealedWithFirstKey(stored)).toBe(false);
  });

  it('encrypts with the first key of the ring, names it in the value, and opens with any', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const underA = new TokenCipher([a]).encrypt('token', CONTEXT);
    const rotated = new TokenCipher([b, a]);
    expect(rotated.decrypt(underA, CONTEXT)).toBe('token');
    expect(rotated.isSealedWithFirstKey(underA)).toBe(false);

    const underB = rotated.encrypt('token', CONTEXT);
    expect(underB.split('.')[1]).toBe(TokenCipher.keyId(b));
    expect(underA.split('.')[1]).toBe(TokenCipher.keyId(a));
    expect(rotated.isSealedWithFirstKey(underB)).toBe(true);
    expect(new TokenCipher([b]).decrypt(underB, CONTEXT)).toBe('token');
    expect(() => new TokenCipher([a]).decrypt(underB, CONTEXT)).toThrow();
  });

  it('reseals a token under the first key, bound to the same context', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const stored = sealedTheOldWay(a, 'token', CONTEXT);
    const resealed = new TokenCipher([b, a]).reseal(stored, CONTEXT);
    expect(new TokenCipher([b]).decrypt(resealed, CONTEXT)).toBe('token');
    expect(() =>
      new TokenCipher([b]).decrypt(resealed, 'social_accounts:2:access_token'),
    ).toThrow();
  });

  it('needs at least one key, each of 32 bytes, none twice', () => {
    expect(() => new TokenCipher([])).toThrow();
    expect(() => new TokenCipher([randomBytes(16)])).toThrow();
    const key = randomBytes(32);
    expect(() => new TokenCipher([key, Buffer.from(key)])).toThrow();
  });
});
