import type { ImageProviderName } from '@app/common';
import type { ImageStyle } from '@app/database';

export type ImageQuality = 'standard' | 'hd';

/** What the worker asks a provider for: the prompt already carries the style's suffix. */
export interface ImageRequest {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  quality: ImageQuality;
  style: ImageStyle;
}

/** A provider answers with a URL to download, or with the bytes themselves. */
export type ImageResult =
  | { kind: 'url'; url: string; model: string; parameters: Record<string, unknown> }
  | { kind: 'bytes'; bytes: Buffer; model: string; parameters: Record<string, unknown> };

export interface ImageProvider {
  /** One of IMAGE_PROVIDERS, the values IMAGE_PROVIDER may take. */
  readonly name: ImageProviderName;
  /**
   * The configured API's origin (`https://api.openai.com`), from which an image may be downloaded
   * even when it is a loopback or private address; undefined for a provider without one.
   */
  readonly origin: string | undefined;
  /** Throws ProviderError; honours `signal` (the worker's time limit). */
  generate(request: ImageRequest, signal: AbortSignal): Promise<ImageResult>;
}

export const IMAGE_PROVIDER = Symbol('IMAGE_PROVIDER');

/**
 * Transient errors (timeouts, 429, 5xx, network) are retried with backoff, honouring
 * `retryAfterMs` when the provider sent Retry-After; permanent ones (other 4xx, refused content,
 * an answer that is not an image) fail the image at once with `message` as its error_message.
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
