import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { MemoryCache } from '@app/common';
import {
  isSafeMediaKey,
  isSafeMediaPrefix,
  type MediaFile,
  type MediaStorage,
} from './media-storage.js';

interface Cached {
  file: MediaFile;
  /** The file the bytes were read from: a replaced or rewritten file differs in one of these. */
  ino: number;
  size: number;
  mtimeMs: number;
  /** When the file on disk was last seen to be these bytes. */
  checkedAt: number;
}

export interface LocalMediaStorageOptions {
  /** Bytes of file contents kept in memory, least recently read dropped first. */
  cacheBytes?: number;
  /** Larger files are streamed from disk each time. */
  cacheFileBytes?: number;
  /** How long cached bytes are served before the file is looked at again. */
  revalidateMs?: number;
}

/**
 * Files under MEDIA_ROOT. Reads are served from a small in-memory cache: a publishing burst has
 * the platforms fetch the same rendition hundreds of times a second, and reading it from disk
 * each time (open, read, close) was most of the `api` process's work then. A file this process
 * writes or deletes leaves the cache at once; a change made by another process (or by hand) is
 * seen within `revalidateMs` (a second), when the file is stat'ed again, as nginx's
 * open_file_cache_valid does: stat'ing on every read cost the `api` a thread-pool round trip per
 * download.
 */
export class LocalMediaStorage implements MediaStorage {
  readonly kind = 'local';
  private readonly cache: MemoryCache<Cached>;
  private readonly cacheFileBytes: number;
  private readonly revalidateMs: number;
  /** Counts this process's writes and deletes: a read that saw one happen caches nothing. */
  private writes = 0;

  constructor(
    private readonly root: string,
    options: LocalMediaStorageOptions = {},
  ) {
    this.cache = new MemoryCache<Cached>(
      options.cacheBytes ?? 64 * 1024 * 1024,
      (entry) => entry.size,
    );
    this.cacheFileBytes = options.cacheFileBytes ?? 2 * 1024 * 1024;
    this.revalidateMs = options.revalidateMs ?? 1000;
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Write then rename: a reader never sees half a file.
    const temporary = `${target}.${randomUUID()}.tmp`;
    await writeFile(temporary, bytes);
    this.writes += 1;
    await rename(temporary, target);
    this.forget(target);
  }

  /** Into a temporary file beside the target, renamed once complete; removed on any failure. */
  async putStream(key: string, source: Readable): Promise<number> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${randomUUID()}.tmp`;
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(source, counter, createWriteStream(temporary));
      this.writes += 1;
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    this.forget(target);
    return size;
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!isSafeMediaPrefix(prefix)) throw new Error(`Unsafe media prefix: ${prefix}`);
    const folder = path.join(this.root, prefix);
    this.writes += 1;
    await rm(folder, { recursive: true, force: true });
    this.cache.deletePrefix(folder);
  }

  async delete(key: string): Promise<void> {
    const target = this.pathOf(key);
    this.writes += 1;
    await rm(target, { force: true });
    this.forget(target);
  }

  async read(key: string): Promise<MediaFile | null> {
    const target = this.pathOf(key);
    const now = Date.now();
    const recent = this.cache.peek(target);
    if (recent && now - recent.checkedAt < this.revalidateMs) return this.touch(target, recent);
    let info;
    try {
      info = await stat(target);
    } catch {
      this.forget(target);
      return null;
    }
    if (!info.isFile()) return null;
    const cached = this.cache.peek(target);
    if (
      cached &&
      cached.ino === info.ino &&
      cached.size === info.size &&
      cached.mtimeMs === info.mtimeMs
    ) {
      cached.checkedAt = now;
      return this.touch(target, cached);
    }
    return this.load(target);
  }

  async readStream(key: string): Promise<Readable | null> {
    const target = this.pathOf(key);
    let handle;
    try {
      handle = await open(target, 'r');
    } catch {
      return null;
    }
    // The stream owns the descriptor: the file cannot be swapped between a check and the read.
    return handle.createReadStream();
  }

  /** Most recently used goes last: the first entries are the ones to drop. */
  private touch(target: string, entry: Cached): MediaFile {
    return this.cache.use(target, entry).file;
  }

  /**
   * Reads a small file through one descriptor, so its bytes and the stat they are cached under
   * agree; a larger one is only stat'ed, and streamed when asked.
   */
  private async load(target: string): Promise<MediaFile | null> {
    const writes = this.writes;
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
      const described = {
        size: info.size,
        etag: `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`,
        modified: info.mtime,
      };
      if (info.size > this.cacheFileBytes) {
        return { ...described, stream: () => createReadStream(target) };
      }
      const bytes = await handle.readFile();
      const file: MediaFile = { ...described, bytes, stream: () => Readable.from([bytes]) };
      // Not cached if this process wrote or deleted a file meanwhile: it may have been this one.
      if (bytes.length === info.size && writes === this.writes) {
        this.cache.set(target, {
          file,
          ino: info.ino,
          size: info.size,
          mtimeMs: info.mtimeMs,
          checkedAt: Date.now(),
        });
      }
      return file;
    } finally {
      await handle.close();
    }
  }

  private forget(target: string): void {
    this.cache.delete(target);
  }

  private pathOf(key: string): string {
    if (!isSafeMediaKey(key)) throw new Error(`Unsafe media key: ${key}`);
    return path.join(this.root, key);
  }
}
