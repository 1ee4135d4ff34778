import { createHash } from 'node:crypto';
import type { ImageStyle } from '@app/database';
import { loadSharp } from '../../media/sharp.js';
import {
  type ImageProvider,
  type ImageRequest,
  type ImageResult,
  ProviderError,
} from './image-provider.js';

/** Bumped whenever the drawing changes, so metadata tells which pictures are comparable. */
const MODEL = 'local-svg-1';

/** How each style looks: how busy, how colourful, how light. */
const LOOKS: Record<ImageStyle, { shapes: number; saturation: number; lightness: number }> = {
  realistic: { shapes: 6, saturation: 35, lightness: 50 },
  artistic: { shapes: 10, saturation: 70, lightness: 55 },
  cartoon: { shapes: 8, saturation: 90, lightness: 60 },
  abstract: { shapes: 14, saturation: 75, lightness: 50 },
  vintage: { shapes: 7, saturation: 30, lightness: 60 },
  minimalist: { shapes: 3, saturation: 25, lightness: 75 },
  anime: { shapes: 9, saturation: 80, lightness: 65 },
  digital_art: { shapes: 12, saturation: 85, lightness: 45 },
};

/**
 * No network, no AI: a picture drawn from the prompt's hash, so development, demos and tests work
 * without a key and the same request always gives byte-identical PNGs.
 */
export class LocalProvider implements ImageProvider {
  readonly name = 'local' as const;
  /** Nothing is downloaded: the picture is drawn here. */
  readonly origin = undefined;

  /** `maxPixels`: IMAGE_MAX_PIXELS, which the drawing's decode honours like every other. */
  constructor(private readonly maxPixels: number) {}

  async generate(request: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    if (signal.aborted) throw new ProviderError('local provider request was aborted', true);
    const seed = createHash('sha256')
      .update(`${request.prompt}\n${request.width}x${request.height}\n${request.style}`)
      .digest();
    const svg = drawSvg(
      seed,
      request.width,
      request.height,
      LOOKS[request.style] ?? LOOKS.abstract,
    );
    const sharp = await loadSharp();
    const bytes = await sharp(Buffer.from(svg), { limitInputPixels: this.maxPixels })
      .png()
      .toBuffer();
    return {
      kind: 'bytes',
      bytes,
      model: MODEL,
      parameters: { seed: seed.toString('hex'), width: request.width, height: request.height },
    };
  }
}

/** A gradient sky and a few translucent shapes, every choice taken from the seed. */
function drawSvg(
  seed: Buffer,
  width: number,
  height: number,
  look: (typeof LOOKS)[ImageStyle],
): string {
  const next = numbers(seed);
  const hue = next() * 360;
  // An analogous, complementary or triadic scheme around the prompt's hue.
  const spread = [30, 180, 120][Math.floor(next() * 3)];
  const palette = [0, 1, 2, 3, 4].map((i) => {
    const h = (hue + spread * (i % 3) + next() * 20) % 360;
    const l = look.lightness + (next() - 0.5) * 30;
    return `hsl(${h.toFixed(0)},${look.saturation}%,${l.toFixed(0)}%)`;
  });
  const angle = next() * 360;
  const unit = Math.min(width, height);
  const shapes: string[] = [];
  for (let i = 0; i < look.shapes; i++) {
    const x = (next() * width).toFixed(1);
    const y = (next() * height).toFixed(1);
    const size = unit * (0.08 + next() * 0.3);
    const fill = palette[1 + Math.floor(next() * 4)];
    const opacity = (0.45 + next() * 0.45).toFixed(2);
    const rotate = (next() * 360).toFixed(0);
    const attributes = `fill="${fill}" fill-opacity="${opacity}" transform="rotate(${rotate} ${x} ${y})"`;
    const kind = Math.floor(next() * 3);
    if (kind === 0) {
      shapes.push(`<circle cx="${x}" cy="${y}" r="${(size / 2).toFixed(1)}" ${attributes}/>`);
    } else if (kind === 1) {
      const w = size.toFixed(1);
      const h = (size * (0.4 + next())).toFixed(1);
      shapes.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" ${attributes}/>`);
    } else {
      const [cx, cy] = [Number(x), Number(y)];
      const points = [0, 1, 2]
        .map((k) => {
          const a = (k * 2 * Math.PI) / 3;
          return `${(cx + Math.cos(a) * size).toFixed(1)},${(cy + Math.sin(a) * size).toFixed(1)}`;
        })
        .join(' ');
      shapes.push(`<polygon points="${points}" ${attributes}/>`);
    }
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<defs><linearGradient id="sky" gradientTransform="rotate(${angle.toFixed(0)} 0.5 0.5)">`,
    `<stop offset="0" stop-color="${palette[0]}"/><stop offset="1" stop-color="${palette[2]}"/>`,
    `</linearGradient></defs>`,
    `<rect width="100%" height="100%" fill="url(#sky)"/>`,
    ...shapes,
    `</svg>`,
  ].join('');
}

/** Numbers in [0, 1) drawn from the seed; more are made by hashing seed and counter. */
function numbers(seed: Buffer): () => number {
  let block = seed;
  let offset = 0;
  let counter = 0;
  return () => {
    if (offset + 4 > block.length) {
      counter += 1;
      block = createHash('sha256').update(seed).update(String(counter)).digest();
      offset = 0;
    }
    const value = block.readUInt32BE(offset) / 2 ** 32;
    offset += 4;
    return value;
  };
}
