import type { Metadata, OutputInfo } from 'sharp';
import { loadSharp } from '../media/sharp.js';
import { ProviderError } from './providers/image-provider.js';

export interface ImageRenditions {
  /** PNG at exactly the requested size: lossless, what a later rendition is made from. */
  master: Buffer;
  /** JPEG at the requested size for platforms: sRGB, no alpha (several refuse either). */
  rendition: Buffer;
  /** 300×300 JPEG for lists. */
  thumbnail: Buffer;
  /** As decoded: `avif` rather than libvips' `heif`. */
  originalFormat: string;
  /** As displayed, i.e. after EXIF orientation. */
  originalWidth: number;
  originalHeight: number;
}

const THUMBNAIL_SIZE = 300;
const WHITE = { r: 255, g: 255, b: 255 };

/**
 * Makes the three stored files from what the provider answered. The original is decoded, turned
 * upright and cropped once into raw sRGB pixels; each output only encodes (or shrinks) those.
 */
export async function renderImage(
  original: Buffer,
  width: number,
  height: number,
  maxPixels: number,
): Promise<ImageRenditions> {
  const sharp = await loadSharp();
  // assertImage() has refused larger headers already; this holds for a caller that did not.
  const source = sharp(original, { limitInputPixels: maxPixels });
  let metadata: Metadata;
  let upright: { data: Buffer; info: OutputInfo };
  try {
    metadata = await source.metadata();
    upright = await source
      .clone()
      .autoOrient()
      .resize(width, height, { fit: 'cover' })
      .toColourspace('srgb')
      // 16-bit inputs too: the raw pixels below are read back as 8-bit.
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    // A header that decodes over a body that does not (truncated, corrupt) is the provider's
    // answer being broken, not a passing failure: retrying would fetch the same bytes.
    throw new ProviderError(
      `the answer is not a readable image: ${(error as Error).message}`,
      false,
    );
  }
  const { data, info } = upright;
  const pixels = () =>
    sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });

  const [master, rendition, thumbnail] = await Promise.all([
    pixels().png().toBuffer(),
    pixels().flatten({ background: WHITE }).jpeg({ quality: 90, mozjpeg: true }).toBuffer(),
    pixels()
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'cover' })
      .flatten({ background: WHITE })
      .jpeg({ quality: 85, mozjpeg: true })
      .toBuffer(),
  ]);
  const format =
    metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : metadata.format;
  return {
    master,
    rendition,
    thumbnail,
    originalFormat: format,
    originalWidth: metadata.autoOrient.width,
    originalHeight: metadata.autoOrient.height,
  };
}
