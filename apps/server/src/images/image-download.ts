import sharp, { type Metadata } from 'sharp';
import { retryAfterMs } from '../outbound/outbound-http.js';
import { ProviderError } from './providers/image-provider.js';
import { unreachable } from './providers/provider-http.js';

/** What we store and hand to platforms; SVG, PDF and the like are refused (scripts, surprises). */
const IMAGE_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff']);

export interface DownloadOptions {
  maxBytes: number;
  /** The worker's time limit, shared with the provider call. */
  signal: AbortSignal;
}

export interface ImageInfo {
  format: string;
  width: number;
  height: number;
}

/**
 * Fetches the image a provider answered with. Streams, so a huge or endless answer costs at most
 * `maxBytes` of memory; fetch decompresses, so the limit also holds against compression bombs.
 */
export async function downloadImage(url: string, options: DownloadOptions): Promise<Buffer> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new ProviderError(`image URL is not a URL: "${url.slice(0, 200)}"`, false);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new ProviderError(`image URL must be http or https (got ${target.protocol})`, false);
  }

  let response: Response;
  try {
    response = await fetch(target, { signal: options.signal, headers: { Accept: 'image/*' } });
  } catch (error) {
    throw unreachable('image download', error, options.signal);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    const { status } = response;
    const transient = status === 408 || status === 429 || status >= 500;
    const wait = status === 429 ? retryAfterMs(response.headers.get('retry-after')) : undefined;
    throw new ProviderError(`image download answered ${status}`, transient, wait);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(options.maxBytes);
  }

  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += chunk.byteLength;
      // Leaving the loop cancels the stream, which closes the connection.
      if (total > options.maxBytes) break;
      chunks.push(Buffer.from(chunk));
    }
  } catch (error) {
    throw unreachable('image download', error, options.signal);
  }
  if (total > options.maxBytes) throw tooLarge(options.maxBytes);

  const bytes = Buffer.concat(chunks, total);
  await assertImage(bytes);
  return bytes;
}

/**
 * Bytes a provider answered (or downloaded) must decode as one of the formats we keep. Reads the
 * header only: a truncated body is caught when the renditions are made.
 */
export async function assertImage(bytes: Buffer): Promise<ImageInfo> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch {
    throw new ProviderError(`the answer is not an image (${bytes.length} bytes)`, false);
  }
  // libvips reports AVIF as HEIF with AV1 compression; other HEIF (HEVC) it cannot decode.
  const format =
    metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : metadata.format;
  if (!IMAGE_FORMATS.has(format) || !metadata.width || !metadata.height) {
    throw new ProviderError(`the answer is not an image we accept (${format})`, false);
  }
  return { format, width: metadata.width, height: metadata.height };
}

function tooLarge(maxBytes: number): ProviderError {
  return new ProviderError(`image larger than ${maxBytes} bytes`, false);
}
