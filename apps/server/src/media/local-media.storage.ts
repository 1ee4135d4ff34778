import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { isSafeMediaKey, type MediaFile, type MediaStorage } from './media-storage.js';

interface Cached {
  file: MediaFile;
  /** The file the bytes were read from: a replaced or rewritten file differs in one of these. */
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface LocalMediaStorageOptions {
  /** Bytes of file contents kept in memory, least recently read dropped first. */
  cacheBytes?: number;
  /** Larger files are read from disk each time. */
  cacheFileBytes?: number;
}

/**
 * Files under MEDIA_ROOT. Reads are served from a small in-memory cache: a publishing burst has
 * the platforms fetch the same rendition hundreds of times a second, and reading it from disk
 * each time (open, read, close) was most of the `api` process's work then. Every read still
 * stats the file, so a deleted or replaced file is never served from the cache.
 */
export class LocalMediaStorage implements MediaStorage {
  private readonly cache = new Map<string, Cached>();
  private cachedBytes = 0;
  private readonly cacheBytes: number;
  private readonly cacheFileBytes: number;

  constructor(
    private readonly root: string,
    options: LocalMediaStorageOptions = {},
  ) {
    this.cacheBytes = options.cacheBytes ?? 64 * 1024 * 1024;
    this.cacheFileBytes = options.cacheFileBytes ?? 2 * 1024 * 1024;
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Write then rename: a reader never sees half a file.
    const temporary = `${target}.${randomUUID()}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, target);
  }

  async delete(key: string): Promise<void> {
    const target = this.pathOf(key);
    this.forget(target);
    await rm(target, { force: true });
  }

  async read(key: string): Promise<MediaFile | null> {
    const target = this.pathOf(key);
    let info;
    try {
      info = await stat(target);
    } catch {
      this.forget(target);
      return null;
    }
    if (!info.isFile()) return null;
    const cached = this.cache.get(target);
    if (
      cached &&
      cached.ino === info.ino &&
      cached.size === info.size &&
      cached.mtimeMs === info.mtimeMs
    ) {
      // Most recently used goes last: the first entries are the ones to drop.
      this.cache.delete(target);
      this.cache.set(target, cached);
      return cached.file;
    }
    return this.load(target);
  }

  /** Reads the file through one descriptor, so its bytes and the stat they are cached under agree. */
  private async load(target: string): Promise<MediaFile | null> {
    let handle;
    try {
      handle = await open(target, 'r');
    } catch {
      this.forget(target);
      return null;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) return null;
      const bytes = await handle.readFile();
      const file: MediaFile = {
        bytes,
        etag: `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`,
        modified: info.mtime,
      };
      this.forget(target);
      if (bytes.length <= this.cacheFileBytes && bytes.length === info.size) {
        this.cache.set(target, { file, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs });
        this.cachedBytes += bytes.length;
        for (const [oldest, entry] of this.cache) {
          if (this.cachedBytes <= this.cacheBytes) break;
          this.cache.delete(oldest);
          this.cachedBytes -= entry.file.bytes.length;
        }
      }
      return file;
    } finally {
      await handle.close();
    }
  }

  private forget(target: string): void {
    const entry = this.cache.get(target);
    if (!entry) return;
    this.cache.delete(target);
    this.cachedBytes -= entry.file.bytes.length;
  }

  private pathOf(key: string): string {
    if (!isSafeMediaKey(key)) throw new Error(`Unsafe media key: ${key}`);
    return path.join(this.root, key);
  }
}
