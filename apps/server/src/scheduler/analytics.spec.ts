import { describe, expect, it } from '@jest/globals';
import { toCsv } from '../http/csv.js';
import { resolveRange } from './analytics.service.js';

describe('toCsv', () => {
  it('writes a header and CRLF lines, quoting only what needs it', () => {
    const rows = [
      { id: 1, caption: 'plain', rate: 1.5, url: null },
      { id: 2, caption: 'a, b', rate: 0, url: 'https://x.test/p?a=1' },
      { id: 3, caption: 'say "hi"\nbye', rate: -2, url: undefined },
    ];
    expect(toCsv(['id', 'caption', 'rate', 'url'], rows)).toBe(
      'id,caption,rate,url\r\n' +
        '1,plain,1.5,\r\n' +
        '2,"a, b",0,https://x.test/p?a=1\r\n' +
        '3,"say ""hi""\nbye",-2,\r\n',
    );
  });

  it('defuses text a spreadsheet would run as a formula, not numbers', () => {
    const csv = toCsv(
      ['text', 'n'],
      [
        { text: '=HYPERLINK("x")', n: -1 },
        { text: '+1', n: 2 },
        { text: '@SUM(A1)', n: 3 },
        { text: '-', n: 4 },
      ],
    );
    expect(csv.split('\r\n').slice(1, 5)).toEqual([
      `"'=HYPERLINK(""x"")",-1`,
      `'+1,2`,
      `'@SUM(A1),3`,
      `'-,4`,
    ]);
  });

  it('answers only the header for no rows', () => {
    expect(toCsv(['a', 'b'], [] as { a: number; b: number }[])).toBe('a,b\r\n');
  });
});

describe('resolveRange', () => {
  const thirtyDays = (end: import('luxon').DateTime) => end.minus({ days: 29 });

  it('ends today in the user’s zone by default', () => {
    // 20:00 UTC on 7 December is already 8 December in Kolkata (+05:30) and Kiritimati (+14).
    const now = new Date('2026-12-07T20:00:00Z');
    expect(resolveRange('Asia/Kolkata', {}, thirtyDays, now)).toMatchObject({
      from: '2026-11-09',
      to: '2026-12-08',
    });
    expect(resolveRange('America/Los_Angeles', {}, thirtyDays, now)).toMatchObject({
      to: '2026-12-07',
    });
  });

  it('keeps given dates and refuses a start after the end, or over ten years', () => {
    const now = new Date('2026-12-07T00:00:00Z');
    expect(
      resolveRange('UTC', { start_date: '2026-01-01', end_date: '2026-01-01' }, null, now),
    ).toMatchObject({ from: '2026-01-01', to: '2026-01-01' });
    expect(() =>
      resolveRange('UTC', { start_date: '2026-01-02', end_date: '2026-01-01' }, null, now),
    ).toThrow(expect.objectContaining({ errors: { start_date: [expect.any(String)] } }));
    expect(() =>
      resolveRange('UTC', { start_date: '2000-01-01', end_date: '2026-01-01' }, null, now),
    ).toThrow(expect.objectContaining({ errors: { end_date: [expect.any(String)] } }));
    expect(resolveRange('UTC', { end_date: '2026-01-01' }, null, now).from).toBeUndefined();
  });
});
