import { beforeAll, describe, expect, it } from '@jest/globals';
import { insertImages } from '../../../../test/factories/image.factory.js';
import { useTestDatabase } from '../../../../test/support/database.js';
import { UserImageStatsQueries } from './user-image-stats.queries.js';

describe('UserImageStatsQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let stats: UserImageStatsQueries;
  beforeAll(() => {
    stats = new UserImageStatsQueries(dataSource);
  });

  it('reads the counters the triggers keep; a user without images has no row', async () => {
    const userId = await newUser();
    expect(await stats.ofUser(userId)).toBeNull();
    await insertImages({ dataSource }, userId, [
      { status: 'validated', generationTime: 2 },
      { status: 'failed', generationTime: null },
    ]);
    expect(await stats.ofUser(userId)).toMatchObject({
      total: 2,
      validated: 1,
      failed: 1,
      totalGenerationTime: 2,
      timedCount: 1,
    });
  });

  it('locks the row, creating it when missing, so a second transaction waits', async () => {
    const userId = await newUser();
    await dataSource.transaction(async (manager) => {
      expect(await stats.lockOfUser(userId, manager)).toMatchObject({ userId, total: 0 });
      await expect(
        dataSource.transaction(async (second) => {
          await second.query(`SET LOCAL lock_timeout = '200ms'`);
          await stats.lockOfUser(userId, second);
        }),
      ).rejects.toThrow(/lock timeout/);
    });
    // Free again once the first transaction ended.
    await dataSource.transaction((manager) => stats.lockOfUser(userId, manager));
    expect(await stats.ofUser(userId)).toMatchObject({ userId, total: 0 });
  });
});
