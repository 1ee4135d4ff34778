import { Readable } from 'node:stream';
import { csvLine } from '../http/csv.js';

/** A keyset-paged source: each call answers the page after `cursor`, and the next cursor. */
export type PageReader<T, C> = (cursor: C) => Promise<{ rows: T[]; next: C }>;

/** Every row of a paged source, one page in memory at a time. */
export async function* pagesOf<T, C>(first: C, read: PageReader<T, C>): AsyncGenerator<T[]> {
  let cursor = first;
  for (;;) {
    const { rows, next } = await read(cursor);
    if (rows.length === 0) return;
    yield rows;
    cursor = next;
  }
}

/**
 * A JSON array written as it is read: `[`, each element as the API answers it, `]`. One Buffer
 * per page, so the stream's chunks stay few and its memory that of one page.
 */
export function jsonArrayStream<T>(
  pages: AsyncIterable<T[]>,
  onPage: (rows: number) => Promise<void>,
): Readable {
  async function* chunks() {
    let first = true;
    yield Buffer.from('[');
    for await (const page of pages) {
      const parts: string[] = [];
      for (const row of page) {
        parts.push(`${first ? '\n' : ',\n'}${JSON.stringify(row)}`);
        first = false;
      }
      yield Buffer.from(parts.join(''));
      await onPage(page.length);
    }
    yield Buffer.from(first ? ']\n' : '\n]\n');
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** A JSON document of one value (profile.json). */
export function jsonStream(value: unknown): Readable {
  return Readable.from([Buffer.from(`${JSON.stringify(value, null, 2)}\n`)], { objectMode: false });
}

/** A CSV file with a header row of `columns`, then one line per row read. */
export function csvStream<T extends object>(
  columns: readonly (keyof T & string)[],
  pages: AsyncIterable<T[]>,
  onPage: (rows: number) => Promise<void>,
): Readable {
  async function* chunks() {
    yield Buffer.from(`${columns.join(',')}\r\n`);
    for await (const page of pages) {
      yield Buffer.from(page.map((row) => csvLine(columns, row)).join(''));
      await onPage(page.length);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
