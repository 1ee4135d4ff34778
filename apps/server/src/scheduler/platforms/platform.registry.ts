import type { AppConfig } from '@app/common';
import { FacebookPlatform } from './facebook.platform.js';
import { InstagramPlatform } from './instagram.platform.js';
import { LinkedInPlatform } from './linkedin.platform.js';
import type { Platform, PlatformName } from './platform.js';
import { TikTokPlatform } from './tiktok.platform.js';
import { TwitterPlatform } from './twitter.platform.js';

/**
 * Settings AppConfig has no variable for, each with a default in its platform: LinkedIn's API
 * version and OAuth host, TikTok's privacy level, and polling pace (tests make it short).
 */
export interface PlatformExtras {
  linkedin?: { version?: string; oauthUrl?: string };
  tiktok?: { privacyLevel?: string };
  pollIntervalMs?: number;
  maxPolls?: number;
}

/** One implementation per SOCIAL_PLATFORMS value, each under its own name. */
export type Platforms = { readonly [P in PlatformName]: Platform & { readonly name: P } };

/** A platform added to SOCIAL_PLATFORMS without an implementation here does not compile. */
export function createPlatforms(config: AppConfig, extras: PlatformExtras = {}): Platforms {
  const { platforms } = config;
  const { oauth } = platforms;
  const polling = { pollIntervalMs: extras.pollIntervalMs, maxPolls: extras.maxPolls };
  return {
    instagram: new InstagramPlatform({ graphUrl: platforms.instagramGraphUrl, ...polling }),
    facebook: new FacebookPlatform({ graphUrl: platforms.facebookGraphUrl }),
    twitter: new TwitterPlatform({ apiUrl: platforms.xApiUrl, ...oauth.x }),
    linkedin: new LinkedInPlatform({
      apiUrl: platforms.linkedinApiUrl,
      ...oauth.linkedin,
      ...extras.linkedin,
    }),
    tiktok: new TikTokPlatform({
      apiUrl: platforms.tiktokApiUrl,
      ...oauth.tiktok,
      ...extras.tiktok,
      ...polling,
    }),
  };
}

export interface PlatformLimit {
  /** Characters of the whole published text, as the platform counts them. */
  maxLength: number;
  maxHashtags?: number;
}

export const PLATFORM_LIMITS: { readonly [P in PlatformName]: PlatformLimit } = {
  instagram: { maxLength: 2200, maxHashtags: 30 },
  facebook: { maxLength: 63206 },
  twitter: { maxLength: 280 },
  linkedin: { maxLength: 3000 },
  tiktok: { maxLength: 4000 },
};

/** `hashtags` as the API takes them: a space-separated string, or a list joined with spaces. */
export function hashtagText(hashtags: string | readonly string[] | null | undefined): string {
  const text = Array.isArray(hashtags)
    ? hashtags
        .map((tag) => String(tag).trim())
        .filter(Boolean)
        .join(' ')
    : String(hashtags ?? '');
  return text.trim();
}

/** The text published: caption + "\n\n" + hashtags, or the caption alone without hashtags. */
export function composeText(
  caption: string,
  hashtags: string | readonly string[] | null | undefined,
): string {
  const tags = hashtagText(hashtags);
  if (!tags) return caption;
  if (!caption.trim()) return tags;
  return `${caption}\n\n${tags}`;
}

/** X: the length a URL counts for, whatever its own length (t.co wrapping). */
export const X_URL_LENGTH = 23;
const X_URL =
  /(?:https?:\/\/|www\.)[^\s]+|\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|net|org|io|co|fr|de|uk|be|ch|es|it|eu|app|dev|ai|me|ly|info|biz|tv|us|ca)\b(?:\/[^\s]*)?/gu;
/** Code point ranges X counts as 1 (Latin, Cyrillic, ... and some punctuation); others count 2. */
const X_LIGHT: [number, number][] = [
  [0, 4351],
  [8192, 8205],
  [8208, 8223],
  [8242, 8247],
];
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;

/**
 * The length of `text` as `platform` counts it: X weighs it like twitter-text (URLs 23, CJK
 * and emoji 2); TikTok counts UTF-16 units; the others count characters (code points).
 */
export function textLength(platform: PlatformName, text: string): number {
  if (platform === 'twitter') return xLength(text);
  if (platform === 'tiktok') return text.length;
  return Array.from(text).length;
}

function xLength(text: string): number {
  let length = 0;
  const rest = text.normalize('NFC').replace(X_URL, () => {
    length += X_URL_LENGTH;
    return '';
  });
  const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
  for (const { segment } of segmenter.segment(rest)) {
    if (EMOJI.test(segment)) {
      length += 2;
      continue;
    }
    for (const char of segment) {
      const code = char.codePointAt(0) ?? 0;
      length += X_LIGHT.some(([low, high]) => code >= low && code <= high) ? 1 : 2;
    }
  }
  return length;
}

/** Hashtags as Instagram counts them: every `#word` in the whole text. */
export function countHashtags(text: string): number {
  return text.match(/#[\p{L}\p{N}_]+/gu)?.length ?? 0;
}

/** What stops caption + hashtags from being published on `platform`; empty when it fits. */
export function checkText(
  platform: PlatformName,
  caption: string,
  hashtags: string | readonly string[] | null | undefined,
): string[] {
  const text = composeText(caption, hashtags);
  const limit = PLATFORM_LIMITS[platform];
  const problems: string[] = [];
  const length = textLength(platform, text);
  if (length > limit.maxLength) {
    problems.push(
      `${platform} allows ${limit.maxLength} characters for caption and hashtags; this text counts ${length}`,
    );
  }
  const tags = countHashtags(text);
  if (limit.maxHashtags !== undefined && tags > limit.maxHashtags) {
    problems.push(`${platform} allows ${limit.maxHashtags} hashtags; this text has ${tags}`);
  }
  return problems;
}
