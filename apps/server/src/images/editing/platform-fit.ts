import { loadSharp } from '../../media/sharp.js';

/**
 * Shapes a platform refuses, and the rendition cropped to fit that publishing sends instead.
 * Instagram's feed takes aspect ratios from 4:5 to 1.91:1 and answers anything else with
 * OAuthException 36003 / subcode 2207009 ("The aspect ratio is not supported."), after the
 * container request: so the shape is fixed before the image URL is handed over.
 */
export const PLATFORM_ASPECTS: Record<string, { min: number; max: number } | undefined> = {
  instagram: { min: 4 / 5, max: 1.91 },
};

/** Where the fitted copy of a rendition is kept: beside it, removed with it. */
export function fittedKey(renditionKey: string): string {
  return renditionKey.replace(/\.jpg$/, '-fit.jpg');
}

/** The size to crop width×height to so that `platform` takes it, or null when it already does. */
export function fittedSize(
  platform: string,
  width: number,
  height: number,
): { width: number; height: number } | null {
  const range = PLATFORM_ASPECTS[platform];
  if (!range) return null;
  const ratio = width / height;
  // A pixel of rounding must not push the result out again: floor towards the range.
  if (ratio < range.min) return { width, height: Math.floor(width / range.min) };
  if (ratio > range.max) return { width: Math.floor(height * range.max), height };
  return null;
}

/**
 * The rendition cropped to the nearest shape the platform takes, keeping what draws the eye
 * (sharp's attention strategy); null when the rendition already fits.
 */
export async function fitForPlatform(platform: string, rendition: Buffer): Promise<Buffer | null> {
  const sharp = await loadSharp();
  const { width, height } = await sharp(rendition).metadata();
  const size = fittedSize(platform, width, height);
  if (!size) return null;
  return sharp(rendition)
    .resize(size.width, size.height, { fit: 'cover', position: sharp.strategy.attention })
    .jpeg({ quality: 90, mozjpeg: true })
    .toBuffer();
}
