import { describe, expect, it } from '@jest/globals';

import { checkPassword, quickRatio } from './password-policy.js';

const STRONG = 'Corr3ct-Horse-Battery';
const TOO_SHORT = 'This password is too short. It must contain at least 8 characters.';
const TOO_COMMON = 'This password is too common.';
const NUMERIC = 'This password is entirely numeric.';

describe('checkPassword', () => {
  it('accepts a strong password, with or without user attributes', () => {
    expect(checkPassword(STRONG, {})).toEqual([]);
    expect(
      checkPassword(STRONG, {
        username: 'johnsmith',
        email: 'alice.wonder@example.com',
        first_name: 'John',
        last_name: 'Smith',
      }),
    ).toEqual([]);
  });

  it('rejects passwords shorter than 8 characters', () => {
    expect(checkPassword('Xq7#pL2', {})).toEqual([TOO_SHORT]);
    expect(checkPassword('Xq7#pL2w', {})).toEqual([]);
  });

  it('counts code points, not UTF-16 units, like Python len()', () => {
    expect(checkPassword('🔒🔑🚪🔒🔑', {})).toEqual([TOO_SHORT]);
  });

  describe('user attribute similarity', () => {
    it('rejects a password too similar to the username', () => {
      expect(checkPassword('johnsmith1', { username: 'johnsmith' })).toEqual([
        'The password is too similar to the username.',
      ]);
    });

    it('compares against the parts of the email address', () => {
      expect(checkPassword('alicewonder', { email: 'alice.wonder@example.com' })).toEqual([
        'The password is too similar to the email address.',
      ]);
    });

    it('ignores letter case and uses the verbose names', () => {
      expect(checkPassword('Bartholomew', { first_name: 'bartholomew' })).toEqual([
        'The password is too similar to the first name.',
      ]);
      expect(checkPassword('Featherstonehaugh', { last_name: 'Featherstonehaugh' })).toEqual([
        'The password is too similar to the last name.',
      ]);
    });

    it('reports only the first similar attribute, as Django does', () => {
      expect(
        checkPassword('johnsmith1', { username: 'johnsmith', email: 'johnsmith@x.io' }),
      ).toEqual(['The password is too similar to the username.']);
    });

    it('uses quick_ratio, so a reordering of the username is still too similar', () => {
      expect(checkPassword('htimsnhoj', { username: 'johnsmith' })).toEqual([
        'The password is too similar to the username.',
      ]);
    });
  });

  it('rejects common passwords, case-insensitively and ignoring surrounding spaces', () => {
    expect(checkPassword('password1', {})).toEqual([TOO_COMMON]);
    expect(checkPassword('Password', {})).toEqual([TOO_COMMON]);
    expect(checkPassword('  QWERTYUIOP ', {})).toEqual([TOO_COMMON]);
  });

  it('does not treat the empty password as common', () => {
    expect(checkPassword('', {})).toEqual([TOO_SHORT]);
  });

  it('rejects entirely numeric passwords', () => {
    expect(checkPassword('12345678901', {})).toEqual([NUMERIC]);
    expect(checkPassword('1234567890a', {})).toEqual([]);
  });

  it('returns every message that applies', () => {
    expect(checkPassword('123456', {})).toEqual([TOO_SHORT, TOO_COMMON, NUMERIC]);
    expect(checkPassword('jsmith', { username: 'jsmith' })).toEqual([
      'The password is too similar to the username.',
      TOO_SHORT,
    ]);
  });
});

describe('quickRatio', () => {
  it.each([
    ['abcd', 'bcde', 0.75],
    ['johnsmith1', 'johnsmith', 18 / 19],
    ['alicewonder', 'wonder', 12 / 17],
    ['aab', 'abb', 2 / 3],
    ['dcba', 'abcd', 1],
    ['abc', '', 0],
    ['', '', 1],
  ])('quickRatio(%j, %j) matches difflib (%p)', (a, b, expected) => {
    expect(quickRatio(a, b)).toBeCloseTo(expected, 12);
  });
});
