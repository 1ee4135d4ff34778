import { DateTime } from 'luxon';

const PLATFORM_NAMES: Record<string, string> = {
  instagram: 'Instagram',
  facebook: 'Facebook',
  twitter: 'X',
  linkedin: 'LinkedIn',
  tiktok: 'TikTok',
};

export function platformName(platform: unknown): string {
  return typeof platform === 'string' ? (PLATFORM_NAMES[platform] ?? platform) : 'the platform';
}

/**
 * An instant as its reader reads it: in their time zone, named by its IANA name (the short
 * names, CET or GMT+1, depend on the ICU data the Node build carries).
 */
export function localTime(value: unknown, zone: string): string {
  const instant =
    value instanceof Date
      ? DateTime.fromJSDate(value)
      : typeof value === 'string'
        ? DateTime.fromISO(value)
        : null;
  if (!instant?.isValid) return 'an unknown time';
  let local = instant.setZone(zone);
  if (!local.isValid) local = instant.setZone('UTC');
  return `${local.toFormat('cccc d LLLL yyyy, HH:mm')} (${local.zoneName})`;
}

/** Only web links are shown as links: a value from a platform could say `javascript:`. */
export function webUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : null;
  } catch {
    return null;
  }
}

/** A caption cut for a mail line. */
export function excerpt(value: unknown, max = 140): string {
  const text = typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() : '';
  if (text === '') return '(no caption)';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : fallback;
}

/** Bytes for people: `52.4 MB`. */
export function byteSize(value: unknown): string {
  const bytes = typeof value === 'number' && Number.isFinite(value) ? value : 0;
  if (bytes < 1000) return `${bytes} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let amount = bytes / 1000;
  let unit = 0;
  while (amount >= 1000 && unit < units.length - 1) {
    amount /= 1000;
    unit++;
  }
  return `${amount.toFixed(1)} ${units[unit]}`;
}
