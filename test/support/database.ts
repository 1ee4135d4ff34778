import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@app/database';
import { TEST_DATABASE_URL } from './test-env.js';

/**
 * A TypeORM DataSource on this run's test database (created and migrated by global-setup.mjs),
 * for query-level tests that need no HTTP and no Nest app: `new XQueries(dataSource)`.
 */
export async function openTestDatabase(): Promise<DataSource> {
  const dataSource = new DataSource(dataSourceOptions(TEST_DATABASE_URL, { extra: { max: 5 } }));
  await dataSource.initialize();
  return dataSource;
}
