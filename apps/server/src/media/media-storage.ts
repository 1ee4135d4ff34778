import type { Readable } from 'node:stream';

/** A stored file, with what HTTP caching needs. */
export interface MediaFile {
  size: number;
  /** A validator that changes whenever the file is replaced (size and modification time). */
  etag: string;
  modified: Date;
  /** The bytes, when the storage keeps the file in memory; else read them with `stream()`. */
  bytes?: Buffer;
  stream(): Readable;
}

/**
 * Where media bytes live: the local disk (MEDIA_ROOT) or an S3-compatible store (MEDIA_STORAGE).
 */
export interface MediaStorage {
  /** Which MEDIA_STORAGE this is. */
  readonly kind: 'local' | 's3';
  put(key: string, bytes: Buffer): Promise<void>;
  /**
   * Writes the file from a stream of unknown length (an export's ZIP as it is built), with
   * back-pressure, and answers its size. The file appears whole or not at all: when the source
   * fails (or the write does), nothing is left under `key` and the error is thrown (on S3: a
   * multipart upload, aborted on error).
   */
  putStream(key: string, source: Readable): Promise<number>;
  /** Removes the file; a missing file is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Removes every file whose key starts with `prefix` (a folder: `images/42/`); nothing there
   * is not an error. What account deletion leaves to the store.
   */
  deletePrefix(prefix: string): Promise<void>;
  /** The file, or null when it does not exist. */
  read(key: string): Promise<MediaFile | null>;
  /**
   * The file's bytes as a stream, or null when it does not exist, kept out of any read cache:
   * for a bulk read (an export reads every file once) that must not fill the serving cache.
   */
  readStream(key: string): Promise<Readable | null>;
}

export const MEDIA_STORAGE = Symbol('MEDIA_STORAGE');

const SAFE_KEY = /^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_.-]*)*$/i;

/** A prefix is a safe key followed by `/`: never the whole store, never outside it. */
export function isSafeMediaPrefix(prefix: string): boolean {
  return prefix.endsWith('/') && isSafeMediaKey(prefix.slice(0, -1));
}

/** Keys are relative, made of plain segments: no `..`, no absolute paths, no hidden files. */
export function isSafeMediaKey(key: string): boolean {
  return (
    key.length <= 255 && SAFE_KEY.test(key) && !key.split('/').some((part) => part.startsWith('.'))
  );
}

/** Extensions the app writes (renditions, thumbnails, masters, avatars, exports). */
const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  zip: 'application/zip',
};

export function contentTypeOf(key: string): string {
  return (
    CONTENT_TYPES[key.slice(key.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream'
  );
}
