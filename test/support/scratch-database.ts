import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../../apps/server/src/boot/migrate.js';
import { TEST_DATABASE_URL } from './test-env.js';

/** One query on its own connection, closed afterwards. */
export async function query<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * A URL to a database that does not exist yet (on the test server), for a process to create;
 * dropScratchDatabase() removes it.
 */
export function scratchDatabaseUrl(prefix = 'image_automation_scratch'): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  return url.toString();
}

export async function databaseExists(url: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const rows = await query(adminUrl(url), 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length === 1;
}

/** Drops it even while connections remain (a killed process may leave some behind). */
export async function dropScratchDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await query(adminUrl(url), `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}

function adminUrl(url: string): string {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  return admin.toString();
}

/**
 * A database of the test's own with every migration applied: for tests whose sweeps look at
 * every row (the shared run database holds other files' rows). Drop it with dropScratchDatabase().
 */
export async function migratedScratchDatabase(
  prefix = 'image_automation_scratch',
): Promise<string> {
  const url = scratchDatabaseUrl(prefix);
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await query(adminUrl(url), `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await runMigrations(url);
  return url;
}
