import { afterAll, describe, expect, it } from '@jest/globals';
import type { MigrationInterface } from 'typeorm';
import { MIGRATIONS } from '@app/database';
import {
  databaseExists,
  dropScratchDatabase,
  query,
  scratchDatabaseUrl,
} from './support/scratch-database.js';
import {
  ENTRY,
  type Exit,
  freePort,
  getHealth,
  isListening,
  killAll,
  run,
  type Spawned,
  start,
  waitUntil,
} from './support/spawn.js';
import { testEnv } from './support/test-env.js';

/** As TypeORM records them: the instance's name, else the class name. */
const MIGRATION_NAMES = MIGRATIONS.map(
  (migration) => (new migration() as MigrationInterface).name ?? migration.name,
);
const BOOT_MS = 20_000;

/** testEnv() without the named variables, as if they had never been set. */
function envWithout(names: string[], overrides: Record<string, string> = {}) {
  const env = testEnv(overrides);
  for (const name of names) delete env[name];
  return env;
}

/** The server with testEnv() on a free port, logging at info so its log can be read. */
async function startServer(overrides: Record<string, string> = {}, unset: string[] = []) {
  const port = await freePort();
  const env = envWithout(unset, {
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'info',
    ...overrides,
  });
  return { port, server: await start(ENTRY.server, [], env) };
}

/** Waits for /api/health to answer 200 on port. */
function healthy(port: number, server: Spawned) {
  return waitUntil(
    async () => {
      const health = await getHealth(port);
      return health.status === 200 ? health : undefined;
    },
    BOOT_MS,
    server,
  );
}

/** The messages of the pino JSON lines on stdout. */
function logMessages(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => String((JSON.parse(line) as { msg?: unknown }).msg));
}

/** A refused boot: non-zero, fast, and one plain line (no stack trace) on stderr. */
function expectOneLineRefusal(exit: Exit): string {
  expect(exit.code).not.toBe(0);
  expect(exit.code).not.toBeNull();
  // About 3 s on an idle machine, nearly all of it loading modules; a retry loop (TypeORM's
  // default: 9 more attempts 3 s apart) would take 30 s. The margin is for a loaded machine.
  expect(exit.ms).toBeLessThan(15_000);
  const lines = exit.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(exit.stderr).not.toMatch(/^\s+at /m);
  return lines[0];
}

/** Stopped with SIGTERM: promptly, cleanly (exit 0, or the signal Nest re-raises after closing). */
async function expectGracefulStop(server: Spawned): Promise<Exit> {
  const exit = await server.stop('SIGTERM', 10_000);
  expect([0, 'SIGTERM']).toContain(exit.signal ?? exit.code);
  expect(exit.stderr).toBe('');
  return exit;
}

/** The built server (`npm run start:prod`) as a real process, as an operator would start it. */
describe('server boot', () => {
  const scratchDatabases: string[] = [];
  afterAll(async () => {
    await killAll();
    for (const url of scratchDatabases) await dropScratchDatabase(url);
  });

  describe('refuses to start, saying why in one line', () => {
    it('when PostgreSQL is not there', async () => {
      const exit = await run(
        ENTRY.server,
        [],
        testEnv({
          PORT: String(await freePort()),
          DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x',
        }),
      );
      const line = expectOneLineRefusal(exit);
      expect(line).toMatch(/PostgreSQL/);
      expect(line).toContain('127.0.0.1:1');
      expect(line).toContain('DATABASE_URL');
      expect(line).toMatch(/ECONNREFUSED/);
      expect(line).toMatch(/Start it \(`docker compose up -d postgres`/);
    });

    it('when Redis is not there', async () => {
      const exit = await run(
        ENTRY.server,
        [],
        testEnv({ PORT: String(await freePort()), REDIS_URL: 'redis://127.0.0.1:1' }),
      );
      const line = expectOneLineRefusal(exit);
      expect(line).toMatch(/Redis/);
      expect(line).toContain('127.0.0.1:1');
      expect(line).toContain('REDIS_URL');
      expect(line).toMatch(/ECONNREFUSED/);
      expect(line).toMatch(/Start it \(`docker compose up -d redis`/);
    });

    it('when a variable has a bad value, naming it', async () => {
      const exit = await run(ENTRY.server, [], testEnv({ JWT_ACCESS_TTL: 'abc' }));
      expect(exit.code).toBe(1);
      expect(exit.stderr).toMatch(/^Cannot start: Invalid configuration/);
      expect(exit.stderr).toMatch(/JWT_ACCESS_TTL .*"abc"/);
      expect(exit.stderr).not.toMatch(/^\s+at /m);
    });

    it('with TRUST_PROXY=true, which lets any client pick its address, naming the forms to use', async () => {
      const exit = await run(ENTRY.server, [], testEnv({ TRUST_PROXY: 'true' }));
      expect(exit.code).toBe(1);
      expect(exit.stderr).toMatch(/^Cannot start: Invalid configuration/);
      expect(exit.stderr).toMatch(/TRUST_PROXY .*hop count .*comma-separated list/);
    });

    it('in production without its secrets, naming each', async () => {
      const exit = await run(
        ENTRY.server,
        [],
        envWithout(['JWT_SECRET', 'SESSION_SECRET', 'TOKEN_ENCRYPTION_KEY'], {
          NODE_ENV: 'production',
        }),
      );
      expect(exit.code).toBe(1);
      for (const name of ['JWT_SECRET', 'SESSION_SECRET', 'TOKEN_ENCRYPTION_KEY']) {
        expect(exit.stderr).toContain(`${name} is required in production`);
      }
      expect(exit.stderr).not.toMatch(/^\s+at /m);
    });
  });

  it('creates a missing database, migrates it, serves HTTP, and stops on SIGTERM', async () => {
    const databaseUrl = scratchDatabaseUrl('image_automation_boot');
    scratchDatabases.push(databaseUrl);
    const { port, server } = await startServer({ DATABASE_URL: databaseUrl }, ['APP_ROLES']);

    const health = await healthy(port, server);
    expect(health.body).toMatchObject({
      status: 'ok',
      details: { database: { status: 'up' }, redis: { status: 'up' } },
    });
    // The first request to /admin starts the panel: 503 with Retry-After until it is up.
    const adminLogin = await waitUntil(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/admin/login`);
        if (response.status === 503) {
          expect(response.headers.get('retry-after')).toBe('2');
          return undefined;
        }
        return { status: response.status, text: await response.text() };
      },
      BOOT_MS,
      server,
    );
    expect(adminLogin.status).toBe(200);
    expect(adminLogin.text).toContain('Username or email');

    expect(await databaseExists(databaseUrl)).toBe(true);
    const applied = await query<{ name: string }>(databaseUrl, 'SELECT name FROM migrations');
    expect(applied.map((row) => row.name).sort()).toEqual([...MIGRATION_NAMES].sort());
    const [tables] = await query<{ users: string | null; profiles: string | null }>(
      databaseUrl,
      `SELECT to_regclass('public.users')::text AS users, to_regclass('public.profiles')::text AS profiles`,
    );
    expect(tables).toEqual({ users: 'users', profiles: 'profiles' });

    const exit = await expectGracefulStop(server);
    const messages = logMessages(exit.stdout);
    expect(messages).toContainEqual(expect.stringMatching(/did not exist: created it/));
    expect(messages).toContainEqual(expect.stringMatching(/^Applied migrations: /));
    expect(messages).toContainEqual(expect.stringMatching(/using the local provider/));
    expect(messages).toContainEqual(
      `Serving roles api,worker,scheduler on http://127.0.0.1:${port} (API docs at /api/docs)`,
    );
    expect(messages).toContainEqual(
      expect.stringMatching(/^Admin panel ready at \/admin in \d+ ms$/),
    );
  });

  it('serves no HTTP without the api role, yet keeps running until SIGTERM', async () => {
    // A database of its own: its scheduler's sweeps must not touch other test files' rows.
    const databaseUrl = scratchDatabaseUrl('image_automation_boot');
    scratchDatabases.push(databaseUrl);
    const { port, server } = await startServer({
      APP_ROLES: 'worker,scheduler',
      DATABASE_URL: databaseUrl,
    });

    await waitUntil(
      async () => (server.stdout.includes('Running roles worker,scheduler') ? true : undefined),
      BOOT_MS,
      server,
    );
    expect(await isListening(port)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.isRunning).toBe(true);
    expect(await isListening(port)).toBe(false);

    const exit = await expectGracefulStop(server);
    expect(logMessages(exit.stdout)).toContainEqual(
      'Running roles worker,scheduler (no HTTP: the api role is not one of them)',
    );
  });

  it('lets two processes boot at once on a new database, migrating it once', async () => {
    const databaseUrl = scratchDatabaseUrl('image_automation_boot');
    scratchDatabases.push(databaseUrl);
    const first = await startServer({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
    const second = await startServer({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });

    await Promise.all([healthy(first.port, first.server), healthy(second.port, second.server)]);

    const rows = await query<{ name: string; times: number }>(
      databaseUrl,
      'SELECT name, count(*)::int AS times FROM migrations GROUP BY name ORDER BY name',
    );
    expect(rows).toEqual([...MIGRATION_NAMES].sort().map((name) => ({ name, times: 1 })));
    const migratedBy = [first.server, second.server].filter((server) =>
      logMessages(server.stdout).some((message) => message.startsWith('Applied migrations:')),
    );
    expect(migratedBy).toHaveLength(1);

    await Promise.all([expectGracefulStop(first.server), expectGracefulStop(second.server)]);
  }, 45_000);
});
