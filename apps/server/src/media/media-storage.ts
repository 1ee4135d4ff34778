/** Where media bytes live. Local disk now; an S3-compatible store can implement the same. */
export interface MediaStorage {
  put(key: string, bytes: Buffer): Promise<void>;
  /** Removes the file; a missing file is not an error. */
  delete(key: string): Promise<void>;
  /** An absolute path to stream from, or null when the file does not exist. */
  locate(key: string): Promise<string | null>;
}

export const MEDIA_STORAGE = Symbol('MEDIA_STORAGE');

const SAFE_KEY = /^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_.-]*)*$/i;

/** Keys are relative, made of plain segments: no `..`, no absolute paths, no hidden files. */
export function isSafeMediaKey(key: string): boolean {
  return (
    key.length <= 255 && SAFE_KEY.test(key) && !key.split('/').some((part) => part.startsWith('.'))
  );
}
