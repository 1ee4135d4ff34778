import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { PasswordResetTokenQueries } from './password-reset-token.queries.js';

const hash = (n: number) => n.toString(16).padStart(64, '0');

describe('PasswordResetTokenQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let resets: PasswordResetTokenQueries;
  beforeAll(() => {
    resets = new PasswordResetTokenQueries(dataSource);
  });

  it('finds a token by its hash, and spends every unused one of the user at once', async () => {
    const userId = await newUser();
    const seed = Date.now();
    await resets.insert(userId, hash(seed), new Date(Date.now() + 3_600_000));
    await resets.insert(userId, hash(seed + 1), new Date(Date.now() + 3_600_000));
    const spentAt = new Date();
    await dataSource.transaction(async (manager) => {
      const token = await resets.lockByHash(hash(seed), manager);
      expect(token).toMatchObject({ userId, usedAt: null });
      await resets.spendAllOfUser(userId, spentAt, manager);
    });
    await dataSource.transaction(async (manager) => {
      for (const value of [hash(seed), hash(seed + 1)])
        expect((await resets.lockByHash(value, manager))?.usedAt).toEqual(spentAt);
      expect(await resets.lockByHash(hash(seed + 2), manager)).toBeNull();
    });
  });

  it('purges the tokens expired before a date, used or not', async () => {
    const userId = await newUser();
    const seed = Date.now() + 100;
    await resets.insert(userId, hash(seed), new Date('2020-01-01T00:00:00Z'));
    await resets.insert(userId, hash(seed + 1), new Date(Date.now() + 3_600_000));
    expect(await resets.purgeExpired(new Date('2021-01-01T00:00:00Z'))).toBeGreaterThanOrEqual(1);
    const [{ count }] = (await dataSource.query(
      'SELECT count(*)::int AS count FROM password_reset_tokens WHERE user_id = $1',
      [userId],
    )) as { count: number }[];
    expect(count).toBe(1);
  });
});
