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

/** Where media bytes live. Local disk now; an S3-compatible store can implement the same. */
export interface MediaStorage {
  put(key: string, bytes: Buffer): Promise<void>;
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
