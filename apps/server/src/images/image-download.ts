import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Metadata } from 'sharp';
import { loadSharp } from '../media/sharp.js';
import { retryAfterMs } from '../outbound/outbound-http.js';
import {
  type CheckedTarget,
  checkDownloadTarget,
  DownloadTargetRefused,
  DownloadTargetUnresolved,
  type Resolve,
} from './download-target.js';
import { ProviderError } from './providers/image-provider.js';
import { unreachable } from './providers/provider-http.js';

/** What we store and hand to platforms; SVG, PDF and the like are refused (scripts, surprises). */
const IMAGE_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff']);
/** Redirects followed, each checked like the first URL; a CDN needs one or two. */
export const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface DownloadOptions {
  maxBytes: number;
  /** IMAGE_MAX_PIXELS: a larger image is refused from its header, before any decoding. */
  maxPixels: number;
  /**
   * The provider's configured origin (`https://api.openai.com`): the one place a download may
   * reach even on a loopback, private or link-local address (a self-hosted WebUI, the test
   * fakes). Any other URL, first or redirected to, must resolve to public addresses only.
   */
  trustedOrigin: string | undefined;
  /** The worker's time limit, shared with the provider call: it bounds every hop of the download. */
  signal: AbortSignal;
  /** How host names are resolved (tests: without DNS). */
  resolve?: Resolve;
}

export interface ImageInfo {
  format: string;
  width: number;
  height: number;
}

/**
 * Fetches the image a provider answered with. Each hop (at most MAX_REDIRECTS redirects) is
 * checked before it connects, and connects to the address it was checked against. Streams, so
 * a huge or endless answer costs at most `maxBytes` of memory; a compressed answer is counted as
 * decompressed, so the limit also holds against compression bombs.
 */
export async function downloadImage(url: string, options: DownloadOptions): Promise<Buffer> {
  let target = imageUrl(url);
  for (let redirects = 0; ; redirects++) {
    const checked = await checkTarget(target, options);
    const response = await get(target, checked, options.signal);
    const status = response.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      response.destroy();
      const location = response.headers.location;
      if (!location)
        throw new ProviderError(`image download answered ${status} without a Location`, false);
      if (redirects === MAX_REDIRECTS) {
        throw new ProviderError(
          `image download redirected more than ${MAX_REDIRECTS} times`,
          false,
        );
      }
      target = imageUrl(location, target);
      continue;
    }
    if (status < 200 || status > 299) {
      response.destroy();
      const transient = status === 408 || status === 429 || status >= 500;
      const retryAfter = response.headers['retry-after'];
      const wait = status === 429 ? retryAfterMs(retryAfter ?? null) : undefined;
      throw new ProviderError(`image download answered ${status}`, transient, wait);
    }
    const bytes = await readBody(response, options);
    await assertImage(bytes, options.maxPixels);
    return bytes;
  }
}

/** An http(s) URL, relative ones resolved against the URL that redirected to them. */
function imageUrl(url: string, base?: URL): URL {
  let target: URL;
  try {
    target = new URL(url, base);
  } catch {
    throw new ProviderError(`image URL is not a URL: "${url.slice(0, 200)}"`, false);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new ProviderError(`image URL must be http or https (got ${target.protocol})`, false);
  }
  return target;
}

async function checkTarget(target: URL, options: DownloadOptions): Promise<CheckedTarget> {
  try {
    return await checkDownloadTarget(target, options.trustedOrigin, options.resolve);
  } catch (error) {
    if (error instanceof DownloadTargetRefused) throw new ProviderError(error.message, false);
    if (error instanceof DownloadTargetUnresolved)
      throw unreachable('image download', error.lookupError ?? error, options.signal);
    throw error;
  }
}

/**
 * One GET on a connection of its own to the checked address (the name still goes in Host and
 * SNI). Redirects are not followed here; no compression is asked for.
 */
function get(target: URL, checked: CheckedTarget, signal: AbortSignal): Promise<IncomingMessage> {
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [checked]);
    else callback(null, checked.address, checked.family);
  };
  return new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = (target.protocol === 'https:' ? https : http).request(
      target,
      {
        method: 'GET',
        agent: false,
        lookup: pinned,
        signal,
        headers: { Accept: 'image/*', 'Accept-Encoding': 'identity', 'User-Agent': 'node' },
      },
      resolve,
    );
    outgoing.on('error', reject);
    outgoing.end();
  }).catch((error: unknown) => {
    throw unreachable('image download', error, signal);
  });
}

/** The body, decompressed if the server compressed it anyway, cut off past `maxBytes`. */
async function readBody(response: IncomingMessage, options: DownloadOptions): Promise<Buffer> {
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > options.maxBytes) {
    response.destroy();
    throw tooLarge(options.maxBytes);
  }
  const body = decoded(response);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      // Leaving the loop destroys the stream, which closes the connection.
      if (total > options.maxBytes) break;
      chunks.push(chunk);
    }
  } catch (error) {
    throw unreachable('image download', error, options.signal);
  } finally {
    response.destroy();
  }
  if (total > options.maxBytes) throw tooLarge(options.maxBytes);
  return Buffer.concat(chunks, total);
}

function decoded(response: IncomingMessage): Readable {
  const encoding = response.headers['content-encoding']?.trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : undefined;
  if (!decoder) return response;
  response.on('error', (error) => decoder.destroy(error));
  return response.pipe(decoder);
}

/**
 * Bytes a provider answered (or downloaded) must decode as one of the formats we keep, within
 * `maxPixels`. Reads the header only: a truncated body is caught when the renditions are made,
 * and an image over the limit is refused before a single pixel is decoded.
 */
export async function assertImage(bytes: Buffer, maxPixels: number): Promise<ImageInfo> {
  let metadata: Metadata;
  try {
    metadata = await (await loadSharp())(bytes).metadata();
  } catch {
    throw new ProviderError(`the answer is not an image (${bytes.length} bytes)`, false);
  }
  // libvips reports AVIF as HEIF with AV1 compression; other HEIF (HEVC) it cannot decode.
  const format =
    metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : metadata.format;
  if (!IMAGE_FORMATS.has(format) || !metadata.width || !metadata.height) {
    throw new ProviderError(`the answer is not an image we accept (${format})`, false);
  }
  const pixels = metadata.width * metadata.height;
  if (pixels > maxPixels) {
    throw new ProviderError(
      `the image is ${metadata.width}×${metadata.height} (${pixels.toLocaleString('en-US')} pixels), over the pixel limit of ${maxPixels.toLocaleString('en-US')} (IMAGE_MAX_PIXELS)`,
      false,
    );
  }
  return { format, width: metadata.width, height: metadata.height };
}

function tooLarge(maxBytes: number): ProviderError {
  return new ProviderError(`image larger than ${maxBytes} bytes`, false);
}
