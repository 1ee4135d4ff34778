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
  put(key: string, bytes: Buffer): Promise<void>;
  /** Writes a file from a stream of unknown length, never holding it whole in memory. */
  putStream(key: string, source: Readable): Promise<void>;
  /** Removes the file; a missing file is not an error. */
  delete(key: string): Promise<void>;
  /** The file, or null when it does not exist. */
  read(key: string): Promise<MediaFile | null>;
}

export const MEDIA_STORAGE = Symbol('MEDIA_STORAGE');

const SAFE_KEY = /^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_.-]*)*$/i;

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
