import { describe, expect, it } from '@jest/globals';
import type { Readable } from 'node:stream';
import { csvCell } from '../http/csv.js';
import { csvStream, jsonArrayStream, pagesOf } from './archive-files.js';

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function* pages<T>(...all: T[][]): AsyncGenerator<T[]> {
  for (const page of all) yield page;
}

describe('csvCell', () => {
  it.each([
    ['plain', 'plain'],
    ['a, b', '"a, b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=1+1', "'=1+1"],
    ['+33 6', "'+33 6"],
    ['-x', "'-x"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['=HYPERLINK("x"), y', `"'=HYPERLINK(""x""), y"`],
  ])('writes %j as %s', (value, cell) => expect(csvCell(value)).toBe(cell));

  it('writes numbers (negative ones as they are), booleans, null, arrays and objects', () => {
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(true)).toBe('true');
    expect(csvCell(null)).toBe('');
    expect(csvCell(['sea', 'dusk'])).toBe('sea dusk');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
  });
});

describe('jsonArrayStream', () => {
  it('writes valid JSON for no rows, one page and several, and reports each page', async () => {
    const seen: number[] = [];
    const onPage = async (n: number) => {
      seen.push(n);
    };
    expect(JSON.parse(await text(jsonArrayStream(pages(), onPage)))).toEqual([]);
    const rows = [{ id: 1 }, { id: 2, text: 'a\u2028b "q"' }, { id: 3 }];
    const written = await text(jsonArrayStream(pages(rows.slice(0, 2), rows.slice(2)), onPage));
    expect(JSON.parse(written)).toEqual(rows);
    expect(seen).toEqual([2, 1]);
  });
});

describe('csvStream', () => {
  it('writes the header, then one CRLF line per row', async () => {
    const written = await text(
      csvStream(
        ['id', 'name'] as const,
        pages([{ id: 1, name: 'a,b' }], [{ id: 2, name: 'c' }]),
        async () => undefined,
      ),
    );
    expect(written).toBe('id,name\r\n1,"a,b"\r\n2,c\r\n');
  });
});

describe('pagesOf', () => {
  it('pages by cursor until a page is empty', async () => {
    const data = [1, 2, 3, 4, 5];
    const cursors: number[] = [];
    const got: number[][] = [];
    for await (const page of pagesOf(0, async (after: number) => {
      cursors.push(after);
      const rows = data.filter((n) => n > after).slice(0, 2);
      return { rows, next: rows.at(-1) ?? after };
    }))
      got.push(page);
    expect(got).toEqual([[1, 2], [3, 4], [5]]);
    expect(cursors).toEqual([0, 2, 4, 5]);
  });
});
