import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '@app/common';
import { SOCIAL_PLATFORMS as PLATFORMS } from '@app/database';
import {
  checkText,
  composeText,
  countHashtags,
  createPlatforms,
  PLATFORM_LIMITS,
  textLength,
} from './platform.registry.js';

describe('composeText', () => {
  it('joins caption and hashtags with a blank line', () => {
    expect(composeText('Hello', '#a #b')).toBe('Hello\n\n#a #b');
  });

  it('joins a list of hashtags with spaces', () => {
    expect(composeText('Hello', ['#a', ' #b ', ''])).toBe('Hello\n\n#a #b');
  });

  it('gives the caption alone without hashtags', () => {
    expect(composeText('Hello', '')).toBe('Hello');
    expect(composeText('Hello', '   ')).toBe('Hello');
    expect(composeText('Hello', [])).toBe('Hello');
    expect(composeText('Hello', null)).toBe('Hello');
    expect(composeText('Hello', undefined)).toBe('Hello');
  });

  it('gives the hashtags alone without a caption', () => {
    expect(composeText('', '#a')).toBe('#a');
  });
});

describe('textLength', () => {
  it('counts characters (code points) on Instagram, Facebook and LinkedIn', () => {
    expect(textLength('instagram', 'héllo 👋')).toBe(7);
    expect(textLength('facebook', 'abc')).toBe(3);
    expect(textLength('linkedin', '日本')).toBe(2);
  });

  it('counts UTF-16 units on TikTok', () => {
    expect(textLength('tiktok', 'a👋')).toBe(3);
  });

  it('counts every URL as 23 on X, whatever its length', () => {
    expect(textLength('twitter', 'see https://example.com/a/very/long/path?with=query')).toBe(
      4 + 23,
    );
    expect(textLength('twitter', 'http://a.co')).toBe(23);
    expect(textLength('twitter', 'visit example.com now')).toBe(6 + 23 + 4);
    expect(textLength('twitter', 'www.example.org')).toBe(23);
  });

  it('counts CJK and emoji as 2 on X, Latin as 1', () => {
    expect(textLength('twitter', 'abc')).toBe(3);
    expect(textLength('twitter', '日本')).toBe(4);
    expect(textLength('twitter', '👋')).toBe(2);
    expect(textLength('twitter', '👨‍👩‍👧')).toBe(2);
    expect(textLength('twitter', 'café')).toBe(4);
  });
});

describe('checkText', () => {
  it('accepts text within every limit', () => {
    for (const platform of PLATFORMS) expect(checkText(platform, 'Hello', '#a #b')).toEqual([]);
  });

  it('counts the whole text, caption plus blank line plus hashtags', () => {
    const caption = 'x'.repeat(2200 - 4); // + '\n\n#a' = 2200
    expect(checkText('instagram', caption, '')).toEqual([]);
    expect(checkText('instagram', caption, '#a')).toEqual([]);
    expect(checkText('instagram', caption, '#ab')).toHaveLength(1);
  });

  it('limits Instagram to 30 hashtags, caption included', () => {
    const tags = Array.from({ length: 30 }, (_, index) => `#t${index}`);
    expect(checkText('instagram', 'Hi', tags)).toEqual([]);
    expect(checkText('instagram', 'Hi #extra', tags)).toEqual([
      'instagram allows 30 hashtags; this text has 31',
    ]);
    expect(checkText('facebook', 'Hi #extra', tags)).toEqual([]);
  });

  it('applies each platform’s length', () => {
    for (const platform of PLATFORMS) {
      const { maxLength } = PLATFORM_LIMITS[platform];
      expect(checkText(platform, 'a'.repeat(maxLength), '')).toEqual([]);
      expect(checkText(platform, 'a'.repeat(maxLength + 1), '')).toEqual([
        `${platform} allows ${maxLength} characters for caption and hashtags; this text counts ${maxLength + 1}`,
      ]);
    }
    expect(PLATFORM_LIMITS).toEqual({
      instagram: { maxLength: 2200, maxHashtags: 30 },
      facebook: { maxLength: 63206 },
      twitter: { maxLength: 280 },
      linkedin: { maxLength: 3000 },
      tiktok: { maxLength: 4000 },
    });
  });

  it('lets a long URL fit on X', () => {
    const caption = `${'a'.repeat(250)} https://example.com/${'p'.repeat(200)}`;
    expect(checkText('twitter', caption, '')).toEqual([]);
  });

  it('counts hashtags with letters, digits and underscores', () => {
    expect(countHashtags('#été #a_b #1 # #')).toBe(3);
  });
});

describe('createPlatforms', () => {
  it('builds one platform per name from the configured URLs', () => {
    const platforms = createPlatforms(loadConfig({}));
    expect(Object.keys(platforms).sort()).toEqual([...PLATFORMS].sort());
    for (const name of PLATFORMS) expect(platforms[name].name).toBe(name);
  });
});
