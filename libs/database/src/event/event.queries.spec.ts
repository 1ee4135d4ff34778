import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import type { JsonObject } from '../json.js';
import { EventQueries } from './event.queries.js';

const newId = () => `evt_${randomUUID().replaceAll('-', '')}`;

describe('EventQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let queries: EventQueries;
  beforeAll(() => {
    queries = new EventQueries(dataSource);
  });

  const insert = (userId: number, type = 'image.generated', data: JsonObject = { id: 1 }) =>
    dataSource.transaction((manager) =>
      queries.insert({ id: newId(), userId, type, data }, manager),
    );

  it('inserts an event undispatched, and reads it back as written', async () => {
    const userId = await newUser();
    const event = await insert(userId, 'post.failed', { id: 7, error_code: 'outcome_unknown' });
    expect(event).toMatchObject({
      userId,
      type: 'post.failed',
      data: { id: 7, error_code: 'outcome_unknown' },
      dispatchedAt: null,
      attempts: 0,
      consumedBy: [],
      lastError: null,
    });
    expect(event.createdAt).toBeInstanceOf(Date);
    expect(await queries.findById(event.id)).toEqual(event);
    expect(await queries.findById(newId())).toBeNull();
    // The id is unique.
    await expect(
      dataSource.transaction((manager) =>
        queries.insert({ id: event.id, userId, type: 'ping', data: {} }, manager),
      ),
    ).rejects.toThrow(/duplicate key/);
  });

  it('claims an undispatched event (one attempt more), never a dispatched one', async () => {
    const userId = await newUser();
    const event = await insert(userId);
    expect(await queries.claim(event.id)).toMatchObject({ id: event.id, attempts: 1 });
    expect(await queries.claim(event.id)).toMatchObject({ id: event.id, attempts: 2 });
    await queries.recordFailure(event.id, 'x'.repeat(3000));
    expect((await queries.findById(event.id))?.lastError).toBe('x'.repeat(2000));

    const at = new Date('2030-01-01T00:00:00Z');
    expect(await queries.markDispatched(event.id, at)).toBe(true);
    expect(await queries.markDispatched(event.id, new Date())).toBe(false);
    expect(await queries.findById(event.id)).toMatchObject({ dispatchedAt: at, lastError: null });
    expect(await queries.claim(event.id)).toBeNull();
    expect(await queries.claim(newId())).toBeNull();
  });

  it('notes each consumer once', async () => {
    const userId = await newUser();
    const event = await insert(userId);
    await queries.markConsumed(event.id, 'webhooks');
    await queries.markConsumed(event.id, 'webhooks');
    await queries.markConsumed(event.id, 'email');
    expect((await queries.findById(event.id))?.consumedBy).toEqual(['webhooks', 'email']);
  });

  it('finds undispatched events created before a time, oldest first, as many as asked', async () => {
    const userId = await newUser();
    const first = await insert(userId);
    const second = await insert(userId);
    const dispatched = await insert(userId);
    await queries.markDispatched(dispatched.id, new Date());
    const after = new Date(Date.now() + 60_000);
    const ours = (await queries.undispatchedBefore(after, 10_000)).filter((event) =>
      [first.id, second.id, dispatched.id].includes(event.id),
    );
    expect(ours.map((event) => event.id)).toEqual([first.id, second.id]);
    expect(ours[0].createdAt).toEqual(first.createdAt);
    const before = new Date(first.createdAt.getTime() - 1);
    const older = await queries.undispatchedBefore(before, 10_000);
    expect(older.map((event) => event.id)).not.toContain(first.id);
    expect(await queries.undispatchedBefore(after, 1)).toHaveLength(1);
  });

  it('lists a user’s events newest first, by type, and deletes them with the user', async () => {
    const userId = await newUser();
    const generated = await insert(userId, 'image.generated');
    const failed = await insert(userId, 'image.failed');
    expect((await queries.ofUser(userId)).map((event) => event.id)).toEqual([
      failed.id,
      generated.id,
    ]);
    expect((await queries.ofUser(userId, 'image.failed')).map((event) => event.id)).toEqual([
      failed.id,
    ]);
    await dataSource.query('DELETE FROM users WHERE id = $1', [userId]);
    expect(await queries.findById(generated.id)).toBeNull();
  });

  it('plans the sweep’s scan on the partial index of undispatched events', async () => {
    const plan: { 'QUERY PLAN': string }[] = await dataSource.transaction(async (manager) => {
      await manager.query('SET LOCAL enable_seqscan = off');
      return manager.query(
        `EXPLAIN SELECT id, created_at FROM events
         WHERE dispatched_at IS NULL AND created_at < now() ORDER BY created_at, id LIMIT 10`,
      );
    });
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('events_undispatched_idx');
  });
});
