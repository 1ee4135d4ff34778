import { execSync } from 'node:child_process';
import pg from 'pg';

/**
 * Once per `npm test`: a build in dist/ (for the tests that start the server as a real process),
 * then a fresh test database with every migration applied from zero by the built code.
 * Plain JS: jest loads global setup outside its ESM transform.
 */
export default async function globalSetup() {
  const url =
    process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/image_automation_test';
  if (process.env.SKIP_BUILD !== '1') execSync('npx nest build server', { stdio: 'inherit' });
  const database = new URL(url).pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  const { runMigrations } = await import('../dist/apps/server/src/boot/migrate.js');
  await runMigrations(url);
}
