/**
 * Entries by key, least recently used dropped first once their sizes add up to more than
 * `maxBytes` (a size of 1 per entry makes it a count). The media storages keep small files' bytes
 * in one, the image list its answers, the token service its verified tokens; how an entry is
 * checked against its source (a stat, an ETag, a version) is each user's own business: this only
 * holds and evicts.
 */
export class MemoryCache<V> {
  private readonly entries = new Map<string, V>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (entry: V) => number,
  ) {}

  /** The entry, without changing its place. */
  peek(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Marks the entry most recently used (it goes last: the first ones are dropped first). */
  use(key: string, entry: V): V {
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: V): void {
    this.delete(key);
    this.entries.set(key, entry);
    this.bytes += this.sizeOf(entry);
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= this.sizeOf(old);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= this.sizeOf(entry);
  }

  /** Drops every entry whose key starts with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.delete(key);
  }
}
