import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { ImageGenerationHistoryQueries } from './image-generation-history.queries.js';

describe('ImageGenerationHistoryQueries', () => {
  const { dataSource, newUser } = useTestDatabase((opened, users) =>
    opened.query('DELETE FROM image_generation_history WHERE user_id = ANY($1)', [users]),
  );
  let history: ImageGenerationHistoryQueries;
  beforeAll(() => {
    history = new ImageGenerationHistoryQueries(dataSource);
  });

  it("records entries and pages the user's history newest first", async () => {
    const userId = await newUser();
    const other = await newUser();
    await history.record(userId, 1, 'requested', { style: 'realistic' });
    await history.record(userId, 1, 'generated', {});
    await history.record(userId, 2, 'deleted', { prompt: 'x' });
    await history.record(other, 3, 'requested', {});

    const page = await history.pageOfUser(userId, { offset: 0, pageSize: 2 });
    expect(page.map((entry) => [entry.imageId, entry.action])).toEqual([
      [2, 'deleted'],
      [1, 'generated'],
    ]);
    const rest = await history.pageOfUser(userId, { offset: 2, pageSize: 2 });
    expect(rest).toMatchObject([
      { imageId: 1, action: 'requested', details: { style: 'realistic' } },
    ]);
  });

  it('counts only the requests since a time (the daily limit), in the caller’s transaction', async () => {
    const userId = await newUser();
    await dataSource.query(
      `INSERT INTO image_generation_history (user_id, image_id, action, created_at)
       VALUES ($1, 1, 'requested', now() - interval '2 days')`,
      [userId],
    );
    const since = new Date(Date.now() - 60_000);
    await dataSource.transaction(async (manager) => {
      await history.record(userId, 2, 'requested', {}, manager);
      await history.record(userId, 2, 'failed', {}, manager);
      expect(await history.requestsSince(userId, since, manager)).toBe(1);
      await history.record(userId, 3, 'requested', {}, manager);
      expect(await history.requestsSince(userId, since, manager)).toBe(2);
    });
  });
});
