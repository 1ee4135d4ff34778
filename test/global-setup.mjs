import { execSync } from 'node:child_process';
import pg from 'pg';

const BASE =
  process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432/image_automation_test';

function adminClient() {
  const admin = new URL(BASE);
  admin.pathname = '/postgres';
  return new pg.Client({ connectionString: admin.toString() });
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Once per `npm test`: a build in dist/ (for the tests that start the server as a real process),
 * then a database of this run's own (so two runs on one machine never collide) with every
 * migration applied from zero by the built code. Its URL reaches the test workers through
 * TEST_DATABASE_URL. Plain JS: jest loads global setup outside its ESM transform.
 */
export default async function globalSetup() {
  if (process.env.SKIP_BUILD !== '1') execSync('npx nest build server', { stdio: 'inherit' });
  const base = new URL(BASE).pathname.slice(1);
  const name = `${base}_${process.pid}`;
  const client = adminClient();
  await client.connect();
  try {
    // Leftovers of runs that were killed before their teardown.
    const { rows } = await client.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${base}\\_%`,
    ]);
    for (const { datname } of rows) {
      const pid = Number(datname.slice(base.length + 1));
      if (Number.isInteger(pid) && !isRunning(pid)) {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
      }
    }
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(BASE);
  url.pathname = `/${name}`;
  process.env.TEST_DATABASE_URL = url.toString();
  const { runMigrations } = await import('../dist/apps/server/src/boot/migrate.js');
  await runMigrations(process.env.TEST_DATABASE_URL);
}
