import { afterAll, beforeAll } from '@jest/globals';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@app/database';
import { insertUser } from '../factories/user-row.factory.js';
import { TEST_DATABASE_URL } from './test-env.js';

/** A TypeORM DataSource on this run's test database (created and migrated by global-setup.mjs). */
function testDataSource(): DataSource {
  return new DataSource(dataSourceOptions(TEST_DATABASE_URL, { extra: { max: 5 } }));
}

/**
 * A DataSource on this run's test database, initialized, for query-level tests that need no HTTP
 * and no Nest app: `new XQueries(dataSource)`.
 */
export async function openTestDatabase(): Promise<DataSource> {
  return testDataSource().initialize();
}

export interface TestDatabase {
  /** Initialized in beforeAll: use it in hooks and tests, not while the spec registers them. */
  readonly dataSource: DataSource;
  /** A user and its profile (insertUser), deleted in afterAll with all it owns by cascade. */
  newUser(profile?: { autoValidateImages?: boolean }): Promise<number>;
}

/**
 * Registers the harness of a query-level spec: beforeAll opens a DataSource on the run's database;
 * afterAll runs `cleanUp` (for rows no cascade removes), deletes the users made by newUser(),
 * then closes the DataSource. Jest runs beforeAll hooks in registration order, so call it before
 * the spec's own beforeAll: `const { dataSource, newUser } = useTestDatabase();`.
 */
export function useTestDatabase(
  cleanUp?: (dataSource: DataSource, userIds: readonly number[]) => Promise<unknown>,
): TestDatabase {
  const dataSource = testDataSource();
  const userIds: number[] = [];

  beforeAll(async () => {
    await dataSource.initialize();
  });
  afterAll(async () => {
    if (!dataSource.isInitialized) return;
    try {
      await cleanUp?.(dataSource, userIds);
      if (userIds.length > 0) {
        await dataSource.query('DELETE FROM users WHERE id = ANY($1)', [userIds]);
      }
    } finally {
      await dataSource.destroy();
    }
  });

  return {
    dataSource,
    async newUser(profile) {
      const id = await insertUser(dataSource, profile);
      userIds.push(id);
      return id;
    },
  };
}
