// What every benchmark gets from the runner: the settings, a dedicated database, and helpers to
// start the built app (or any script) as a child process and sign a user up through the API.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort, startNode, stop, waitForHttp } from './children.mjs';
import { request } from './http.mjs';
import { alternate, hit } from './load.mjs';

const integerEnv = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a positive integer`);
  return Number(raw);
};

/** Settings, overridable from the environment (BENCH_DURATION=10 npm run bench). */
export function readSettings() {
  return {
    connections: integerEnv('BENCH_CONNECTIONS', 10),
    duration: integerEnv('BENCH_DURATION', 5),
    warmup: integerEnv('BENCH_WARMUP', 3),
    rounds: integerEnv('BENCH_ROUNDS', 5),
    cpuProfile: process.env.BENCH_CPU_PROF === '1',
    /** Figures taken under the profiler or from a variant build do not belong in the docs. */
    writeDocs:
      process.env.BENCH_DOCS !== '0' &&
      process.env.BENCH_CPU_PROF !== '1' &&
      !process.env.BENCH_APP_DIST,
  };
}

async function ensureDatabase(url) {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    const { rows } = await client.query('SHOW server_version');
    return { created: rowCount === 0, serverVersion: rows[0].server_version };
  } finally {
    await client.end();
  }
}

/**
 * A private copy of the build, outside the repository (so that linters never see it): a
 * `nest build` elsewhere empties dist/ and must not pull the files from under a running
 * benchmark. A package.json says ESM and a node_modules link resolves the dependencies. If another
 * build is writing dist/ meanwhile, wait for its output and copy again.
 */
async function snapshotBuild(root) {
  const built = path.join(root, 'dist');
  const entry = 'apps/server/src/main.js';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'image-automation-bench-'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const target = path.join(dir, 'dist');
  for (let attempt = 1; ; attempt++) {
    for (let waited = 0; !existsSync(path.join(built, entry)); waited += 500) {
      if (waited >= 30_000) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`${built}/${entry} is missing: run \`npm run bench\` (it builds first)`);
      }
      await sleep(500);
    }
    try {
      rmSync(target, { recursive: true, force: true });
      cpSync(built, target, { recursive: true });
      if (existsSync(path.join(target, entry))) return { dir, appDist: target };
    } catch (error) {
      if (attempt >= 5) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
    await sleep(2000);
  }
}

/** The pool size the app gives TypeORM (`extra: { max: N }` in app.module.ts). */
function appPoolMax(root) {
  const source = readFileSync(path.join(root, 'apps/server/src/app.module.ts'), 'utf8');
  const match = /extra:\s*\{[^}]*\bmax:\s*(\d+)/.exec(source);
  if (!match) throw new Error('Cannot find the pool size (extra.max) in app.module.ts');
  return Number(match[1]);
}

/**
 * The Node flags `npm run start:prod` (package.json) gives the app, so that every benchmark runs
 * it as it is deployed (the Dockerfile's CMD has the same).
 */
function appNodeFlags(root) {
  const script = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts[
    'start:prod'
  ];
  const match = /^node((?:\s+--\S+)*)\s+dist\/apps\/server\/src\/main\.js$/.exec(script.trim());
  if (!match) {
    throw new Error(`package.json start:prod is not "node [--flags] dist/apps/server/src/main.js"`);
  }
  return match[1].trim().split(/\s+/).filter(Boolean);
}

export async function createContext({ root, log }) {
  const settings = readSettings();
  const resultsDir = path.join(root, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  // BENCH_APP_DIST=<dir> runs an existing build tree as it is (to compare a variant).
  const snapshot = process.env.BENCH_APP_DIST ? null : await snapshotBuild(root);
  const appDist = snapshot?.appDist ?? path.resolve(process.env.BENCH_APP_DIST);
  const scratch = snapshot?.dir ?? mkdtempSync(path.join(os.tmpdir(), 'image-automation-bench-'));
  const appEntry = path.join(appDist, 'apps/server/src/main.js');
  // Whatever happens next, the copy goes when the runner does.
  process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

  const databaseUrl =
    process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/image_automation_bench';
  const database = await ensureDatabase(databaseUrl);
  if (database.created) log(`created database ${new URL(databaseUrl).pathname.slice(1)}`);

  // Fresh secrets each run: nothing signed by a benchmark is valid anywhere else.
  const secrets = {
    JWT_SECRET: randomBytes(32).toString('hex'),
    SESSION_SECRET: randomBytes(32).toString('hex'),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  };
  const appFlags = appNodeFlags(root);
  const profileDir = path.join(resultsDir, 'profiles');
  const nodeFlags = () =>
    settings.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];

  /** Starts `node script` on a free port (PORT) and waits until its healthPath answers 200. */
  async function startScript(name, script, env, healthPath = '/api/health', flags = []) {
    const port = await freePort();
    const handle = startNode(name, [...nodeFlags(), ...flags, script], {
      cwd: root,
      env: { ...process.env, ...env, PORT: String(port) },
      logFile: path.join(resultsDir, `${name}.log`),
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}${healthPath}`, handle);
    return { name, url, port, handle, stop: () => stop(handle) };
  }

  const createdUsers = [];

  return {
    root,
    settings,
    resultsDir,
    /** The build the app runs from (the copy of dist/, or BENCH_APP_DIST). */
    appDist,
    /** A temporary directory of this run, removed at the end. */
    scratch,
    log,
    databaseUrl,
    postgresVersion: database.serverVersion,
    poolMax: appPoolMax(root),
    secrets,
    /** Node's flags for the app, as `npm run start:prod` gives them. */
    appNodeFlags: appFlags,

    /** The built app (dist/ as built by `npm run bench`), serving the api role only. */
    startApp(name, env = {}) {
      return startScript(
        name,
        appEntry,
        {
          NODE_ENV: 'production',
          APP_ROLES: 'api',
          LOG_LEVEL: 'warn',
          DATABASE_URL: databaseUrl,
          REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
          REDIS_PREFIX: 'bench-image-automation',
          JWT_ACCESS_TTL: '2h',
          // Runs register their users from 127.0.0.1 under one Redis prefix: no per-address limit.
          RATE_LIMIT_REGISTER_PER_HOUR: '0',
          MEDIA_ROOT: path.join(scratch, 'media'),
          PUBLIC_BASE_URL: 'http://localhost:3000',
          ...secrets,
          ...env,
        },
        '/api/health',
        appFlags,
      );
    },

    startScript,

    /** A new account through POST /api/auth/register/; returns its user and access token. */
    async registerUser(app) {
      const username = `bench_${randomUUID().slice(0, 8)}`;
      const password = `Copper-Meadow-Violin-${randomBytes(4).toString('hex')}`;
      const response = await request(`${app.url}/api/auth/register/`, {
        method: 'POST',
        body: {
          username,
          email: `${username}@example.com`,
          password,
          password2: password,
          first_name: 'Bench',
          last_name: 'Runner',
        },
      });
      if (response.status !== 201 || !response.json?.tokens?.access) {
        throw new Error(`register answered ${response.status}: ${response.text.slice(0, 300)}`);
      }
      createdUsers.push(response.json.user.id);
      return { user: response.json.user, access: response.json.tokens.access, password };
    },

    /**
     * Deletes the users the run signed up (their profile, tokens, images, posts and counters go
     * with them), and the copy. A user who has images cannot be deleted as it is: the counter
     * trigger on generated_images, fired by the cascade, upserts the user_image_stats row of a
     * user already gone (a foreign key violation). Then, in one transaction, the triggers of
     * generated_images are off for the delete: the users' counters rows go with them anyway.
     */
    async cleanup() {
      rmSync(scratch, { recursive: true, force: true });
      if (createdUsers.length === 0) return;
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      const remove = () =>
        client.query('DELETE FROM users WHERE id = ANY($1::int[])', [createdUsers]);
      try {
        try {
          await remove();
        } catch (error) {
          if (error.code !== '23503') throw error;
          await client.query('BEGIN');
          try {
            await client.query('ALTER TABLE generated_images DISABLE TRIGGER USER');
            await remove();
            await client.query('ALTER TABLE generated_images ENABLE TRIGGER USER');
            await client.query('COMMIT');
          } catch (retryError) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw retryError;
          }
        }
        createdUsers.length = 0;
      } finally {
        await client.end();
      }
    },

    /** One autocannon run (warm-ups, single measurements). */
    hit: (url, options) =>
      hit(url, { connections: settings.connections, duration: settings.duration, ...options }),

    /** Alternating rounds over several targets, with medians. */
    alternate: (targets, options = {}) =>
      alternate(targets, {
        rounds: settings.rounds,
        connections: settings.connections,
        duration: settings.duration,
        ...options,
      }),
  };
}
