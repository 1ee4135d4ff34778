import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { TokenCipher } from './token-cipher.js';

describe('TokenCipher', () => {
  const cipher = new TokenCipher(randomBytes(32));

  it('round-trips, with a fresh IV each time, and never shows the plaintext', () => {
    const a = cipher.encrypt('EAAG-secret-token', 'social_accounts:1:access_token');
    const b = cipher.encrypt('EAAG-secret-token', 'social_accounts:1:access_token');
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret');
    expect(cipher.decrypt(a, 'social_accounts:1:access_token')).toBe('EAAG-secret-token');
  });

  it('refuses a value moved to another row or field, altered, or sealed under another key', () => {
    const sealed = cipher.encrypt('token', 'social_accounts:1:access_token');
    expect(() => cipher.decrypt(sealed, 'social_accounts:2:access_token')).toThrow();
    expect(() => cipher.decrypt(sealed, 'social_accounts:1:refresh_token')).toThrow();
    const parts = sealed.split('.');
    parts[2] = Buffer.from('tampered').toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'), 'social_accounts:1:access_token')).toThrow();
    expect(() =>
      new TokenCipher(randomBytes(32)).decrypt(sealed, 'social_accounts:1:access_token'),
    ).toThrow();
    expect(() => cipher.decrypt('garbage', 'social_accounts:1:access_token')).toThrow();
  });

  it('needs a 32-byte key', () => {
    expect(() => new TokenCipher(randomBytes(16))).toThrow();
  });
});
