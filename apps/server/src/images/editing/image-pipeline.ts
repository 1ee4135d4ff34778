import type { Matrix3x3, Sharp } from 'sharp';
import { loadSharp } from '../../media/sharp.js';
import {
  aspectBox,
  type CompassPoint,
  IMAGE_PRESETS,
  type ImageOperation,
  MAX_SIDE,
  OperationError,
} from './image-operations.js';

/** Raw 8-bit sRGB pixels (3 channels) between two operations. */
interface Pixels {
  data: Buffer;
  width: number;
  height: number;
}

/** The files of one version, made from its pixels. */
export interface RenderedVersion {
  master: Buffer;
  rendition: Buffer;
  thumbnail: Buffer;
  width: number;
  height: number;
}

const THUMBNAIL_SIZE = 300;
const WHITE = { r: 255, g: 255, b: 255 };
/** Rec. 709 luma in each row: three equal channels, so r = g = b exactly. */
const GRAYSCALE: Matrix3x3 = [
  [0.2126, 0.7152, 0.0722],
  [0.2126, 0.7152, 0.0722],
  [0.2126, 0.7152, 0.0722],
];
/** The classic sepia matrix (Microsoft's), as sharp's recomb takes it. */
const SEPIA: Matrix3x3 = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];

/**
 * Applies `operations` in order to `original` (a version 1 master) and renders the version's
 * files. Each operation is its own libvips pipeline over raw pixels: sharp runs the steps of one
 * pipeline in a fixed order of its own (rotate, then extract, then resize...), not in the
 * caller's. All of it runs on libuv's thread pool; the event loop only awaits.
 *
 * `firstNew` is the index of the request's first operation in the list: an error on operation
 * i names `operations[i - firstNew]`, the request's own numbering.
 */
export async function renderVersion(
  original: Buffer,
  operations: ImageOperation[],
  firstNew: number,
  maxPixels: number,
): Promise<RenderedVersion> {
  const sharp = await loadSharp();
  const header = await sharp(original).metadata();
  const pixelsIn =
    (header.autoOrient?.width ?? header.width) * (header.autoOrient?.height ?? header.height);
  if (pixelsIn > maxPixels) {
    throw new OperationError(
      0,
      operations[firstNew]?.op ?? null,
      `the image is ${header.width}×${header.height}, over the limit of ${maxPixels} pixels (IMAGE_MAX_PIXELS).`,
    );
  }
  let pixels = await raw(
    sharp(original, { limitInputPixels: maxPixels }).autoOrient().flatten({ background: WHITE }),
  );
  for (let index = 0; index < operations.length; index++) {
    const requestIndex = Math.max(0, index - firstNew);
    pixels = await applyOperation(
      pixels,
      operations[index],
      (message) => {
        throw new OperationError(requestIndex, operations[index].op, message);
      },
      maxPixels,
    );
  }
  const image = () =>
    sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } });
  // libjpeg-turbo rather than mozjpeg (which generation uses): on 1024² mozjpeg takes some 270 ms
  // of an edit's 400 for a file about a fifth smaller; the owner waits for an edit.
  const [master, rendition, thumbnail] = await Promise.all([
    image().png().toBuffer(),
    image().jpeg({ quality: 90 }).toBuffer(),
    image()
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'cover' })
      .jpeg({ quality: 85 })
      .toBuffer(),
  ]);
  return { master, rendition, thumbnail, width: pixels.width, height: pixels.height };
}

async function applyOperation(
  pixels: Pixels,
  operation: ImageOperation,
  fail: (message: string) => never,
  maxPixels: number,
): Promise<Pixels> {
  const sharp = await loadSharp();
  const { width, height } = pixels;
  const input = () => sharp(pixels.data, { raw: { width, height, channels: 3 } });
  const fitsLimit = (w: number, h: number) => {
    if (w * h > maxPixels)
      fail(`the result would be ${w}×${h}, over the limit of ${maxPixels} pixels.`);
  };
  switch (operation.op) {
    case 'crop': {
      if ('aspect' in operation) {
        const box = aspectBox(operation.aspect, width, height);
        return raw(
          input().resize(box.width, box.height, {
            fit: 'cover',
            position: operation.focus === 'attention' ? sharp.strategy.attention : 'centre',
          }),
        );
      }
      const { x, y, width: w, height: h } = operation;
      if (x + w > width || y + h > height)
        fail(`the box ${w}×${h} at (${x}, ${y}) is outside the ${width}×${height} image.`);
      return raw(input().extract({ left: x, top: y, width: w, height: h }));
    }
    case 'resize': {
      const size = resizedSize(width, height, operation);
      if (size.width > MAX_SIDE || size.height > MAX_SIDE)
        fail(`the result would be ${size.width}×${size.height}; a side is at most ${MAX_SIDE}.`);
      fitsLimit(size.width, size.height);
      return raw(
        input().resize(size.width, size.height, {
          fit: operation.fit === 'inside' ? 'fill' : operation.fit,
          background: WHITE,
          position: 'centre',
        }),
      );
    }
    case 'preset': {
      const size = IMAGE_PRESETS[operation.name];
      fitsLimit(size.width, size.height);
      return raw(
        input().resize(size.width, size.height, {
          fit: 'cover',
          position: sharp.strategy.attention,
        }),
      );
    }
    case 'rotate':
      return raw(input().rotate(operation.degrees));
    case 'flip':
      return raw(input().flip());
    case 'flop':
      return raw(input().flop());
    case 'grayscale':
      return raw(input().recomb(GRAYSCALE));
    case 'sepia':
      return raw(input().recomb(SEPIA));
    case 'blur':
      return raw(input().blur(operation.sigma));
    case 'sharpen':
      return raw(
        operation.sigma === undefined
          ? input().sharpen()
          : input().sharpen({ sigma: operation.sigma }),
      );
    case 'modulate': {
      const { brightness, saturation, hue } = operation;
      return raw(
        input().modulate({
          ...(brightness !== undefined ? { brightness } : {}),
          ...(saturation !== undefined ? { saturation } : {}),
          ...(hue !== undefined ? { hue } : {}),
        }),
      );
    }
    case 'watermark': {
      const svg = watermarkSvg(
        operation.text,
        operation.position,
        operation.opacity,
        width,
        height,
      );
      // Composited in its own pipeline (composite adds an alpha band), flattened in the next.
      const composed = await input()
        .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
        .png({ compressionLevel: 0 })
        .toBuffer();
      return raw(sharp(composed).flatten({ background: WHITE }));
    }
  }
}

/** sharp's sizes for a resize, computed here so the limits are checked before it runs. */
export function resizedSize(
  width: number,
  height: number,
  { width: w, height: h, fit }: { width?: number; height?: number; fit: string },
): { width: number; height: number } {
  if (w !== undefined && h !== undefined) {
    if (fit !== 'inside') return { width: w, height: h };
    const scale = Math.min(w / width, h / height);
    return {
      width: Math.max(1, Math.round(width * scale)),
      height: Math.max(1, Math.round(height * scale)),
    };
  }
  if (w !== undefined) return { width: w, height: Math.max(1, Math.round((height * w) / width)) };
  return { width: Math.max(1, Math.round((width * h!) / height)), height: h! };
}

async function raw(pipeline: Sharp): Promise<Pixels> {
  const { data, info } = await pipeline
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

const ANCHORS: Record<CompassPoint, { x: number; y: number }> = {
  northwest: { x: 0, y: 0 },
  north: { x: 0.5, y: 0 },
  northeast: { x: 1, y: 0 },
  west: { x: 0, y: 0.5 },
  center: { x: 0.5, y: 0.5 },
  east: { x: 1, y: 0.5 },
  southwest: { x: 0, y: 1 },
  south: { x: 0.5, y: 1 },
  southeast: { x: 1, y: 1 },
};

/**
 * The watermark as an SVG the size of the image, the text placed at the compass point with a
 * margin: white with a dark outline, readable on any picture. The text is XML-escaped.
 */
export function watermarkSvg(
  text: string,
  position: CompassPoint,
  opacity: number,
  width: number,
  height: number,
): string {
  const characters = [...text].length;
  // About 0.6 em per character in a sans-serif face: the line fits in 90% of the width.
  const fontSize = Math.max(
    6,
    Math.floor(Math.min(height / 12, (width * 0.9) / (0.6 * Math.max(characters, 1)))),
  );
  const margin = Math.round(fontSize / 2);
  const anchor = ANCHORS[position];
  const x = margin + anchor.x * (width - 2 * margin);
  const top = margin + anchor.y * (height - 2 * margin - fontSize);
  const textAnchor = anchor.x === 0 ? 'start' : anchor.x === 1 ? 'end' : 'middle';
  const escaped = text.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[character]!,
  );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<text x="${x.toFixed(1)}" y="${(top + fontSize * 0.8).toFixed(1)}" font-family="DejaVu Sans, Liberation Sans, sans-serif" ` +
    `font-size="${fontSize}" text-anchor="${textAnchor}" fill="#ffffff" stroke="#000000" ` +
    `stroke-width="${Math.max(1, fontSize / 16).toFixed(1)}" opacity="${opacity}">${escaped}</text></svg>`
  );
}
