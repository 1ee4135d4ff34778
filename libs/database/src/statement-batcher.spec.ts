import { describe, expect, it } from '@jest/globals';
import { StatementBatcher } from './statement-batcher.js';

interface Item {
  id: number;
  value: string;
}

/** A batcher whose statement records each batch and answers `value!` per item after `delayMs`. */
function recording(delayMs = 5, maxBatch?: number, maxInFlight?: number) {
  const batches: Item[][] = [];
  let running = 0;
  let overlapped = false;
  const batcher = new StatementBatcher<Item, string>(
    async (items) => {
      batches.push(items);
      running += 1;
      if (running > 1) overlapped = true;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      running -= 1;
      return items.map((item) => `${item.value}!`);
    },
    (item) => item.id,
    maxBatch,
    maxInFlight,
  );
  return { batcher, batches, overlapped: () => overlapped };
}

describe('StatementBatcher', () => {
  it('sends the calls of one turn together and answers each its own result', async () => {
    const { batcher, batches } = recording();
    const answers = await Promise.all(
      [1, 2, 3, 4].map((id) => batcher.add({ id, value: `v${id}` })),
    );
    expect(answers).toEqual(['v1!', 'v2!', 'v3!', 'v4!']);
    expect(batches.map((batch) => batch.map((item) => item.id))).toEqual([[1, 2, 3, 4]]);
  });

  it('runs a second call for the same key only after the first one is done', async () => {
    const { batcher, batches } = recording(20);
    const order: string[] = [];
    await Promise.all([
      batcher.add({ id: 7, value: 'first' }).then((answer) => order.push(answer)),
      batcher.add({ id: 8, value: 'other' }).then((answer) => order.push(answer)),
      batcher.add({ id: 7, value: 'second' }).then((answer) => order.push(answer)),
    ]);
    expect(batches.map((batch) => batch.map((item) => item.value))).toEqual([
      ['first', 'other'],
      ['second'],
    ]);
    expect(order).toEqual(['first!', 'other!', 'second!']);
  });

  it('splits more than a batch into several, as many at once as allowed', async () => {
    const { batcher, batches, overlapped } = recording(20, 3, 2);
    const answers = await Promise.all(
      Array.from({ length: 7 }, (_, id) => batcher.add({ id, value: String(id) })),
    );
    expect(answers).toEqual(['0!', '1!', '2!', '3!', '4!', '5!', '6!']);
    expect(batches.map((batch) => batch.length)).toEqual([3, 3, 1]);
    expect(overlapped()).toBe(true);
  });

  it('gathers the calls made while the batches in flight run into the next one', async () => {
    const { batcher, batches, overlapped } = recording(20, 100, 1);
    const first = batcher.add({ id: 1, value: 'alone' });
    // Once the first batch has left, three more calls over three turns of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    const more = [2, 3, 4].map(async (id) => {
      await new Promise((resolve) => setTimeout(resolve, id));
      return batcher.add({ id, value: `v${id}` });
    });
    expect(await Promise.all([first, ...more])).toEqual(['alone!', 'v2!', 'v3!', 'v4!']);
    expect(batches.map((batch) => batch.map((item) => item.id))).toEqual([[1], [2, 3, 4]]);
    expect(overlapped()).toBe(false);
  });

  it('runs the calls of a failed batch again alone: only the bad one fails', async () => {
    const batches: string[][] = [];
    const batcher = new StatementBatcher<Item, string>(
      async (items) => {
        batches.push(items.map((item) => item.value));
        // One value the statement refuses fails the whole statement, as a column's check would.
        if (items.some((item) => item.value === 'bad')) throw new Error('value too long');
        return items.map((item) => `${item.value}!`);
      },
      (item) => item.id,
    );
    const results = await Promise.allSettled([
      batcher.add({ id: 1, value: 'a' }),
      batcher.add({ id: 2, value: 'bad' }),
      batcher.add({ id: 3, value: 'c' }),
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'a!' },
      { status: 'rejected', reason: new Error('value too long') },
      { status: 'fulfilled', value: 'c!' },
    ]);
    expect(batches).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('gives every call the error when the statement fails for all, and keeps working', async () => {
    let fail = true;
    const batcher = new StatementBatcher<Item, string>(
      async (items) => {
        if (fail) throw new Error('connection lost');
        return items.map((item) => item.value);
      },
      (item) => item.id,
    );
    const failed = await Promise.allSettled([
      batcher.add({ id: 1, value: 'a' }),
      batcher.add({ id: 2, value: 'b' }),
    ]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batcher.add({ id: 1, value: 'again' })).resolves.toBe('again');
  });
});
