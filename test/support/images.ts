import sharp from 'sharp';

/** A small, real PNG made in memory (no fixture files): a coloured square. */
export function pngBytes(size = 32, colour = { r: 200, g: 40, b: 90 }): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/** A small, real JPEG made in memory. */
export function jpegBytes(size = 32, colour = { r: 20, g: 120, b: 200 }): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
}

/**
 * A PNG of random pixels: it does not compress, so its size grows with its side
 * (about 3 bytes a pixel), which makes it easy to go past an upload limit.
 */
export function noisyPngBytes(size: number): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(Math.random() * 256);
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer();
}

let overPixelLimit: Promise<Buffer> | undefined;
/**
 * 8000×6000 white pixels, 48 MP (over the default IMAGE_MAX_PIXELS of 40 MP) in a PNG of about
 * 150 KB: the small, highly compressed file that costs a decoder far more than its size says.
 * Made once per test file (a few seconds of CPU).
 */
export function overPixelLimitPng(): Promise<Buffer> {
  overPixelLimit ??= sharp({
    create: { width: 8000, height: 6000, channels: 3, background: '#fff' },
  })
    .png({ compressionLevel: 9 })
    .toBuffer();
  return overPixelLimit;
}
