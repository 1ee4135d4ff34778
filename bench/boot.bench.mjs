// Boot and memory: from `node dist/apps/server/src/main.js` to the first 200 of /api/health, the
// admin panel's start after it (at the first request to /admin), and the process's resident memory after boot and after a short
// load, for what `npm start` runs (every role in one process), the api role alone, and the api
// role without the admin panel. Each boot is a new process against the bench database (migrations
// already applied), polled every 20 ms. Aims (issue 14): at most 3 s to healthy, at most 300 MB
// resident per process, after boot and after the bench's load.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { OWNER_PASSWORD } from './image-list.bench.mjs';
import { freePort, startNode, stop } from './lib/children.mjs';
import { request } from './lib/http.mjs';
import { OWNER_USERNAME } from './lib/image-list-seed.mjs';
import { median } from './lib/load.mjs';
import { machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'boot';
export const title = 'Boot and memory';

const BOOTS = Number(process.env.BENCH_BOOTS ?? 5);
/** Seconds of autocannon per request of the load (after boot, before the last memory reading). */
const LOAD_SECONDS = Number(process.env.BENCH_BOOT_LOAD ?? 3);
const POLL_MS = 20;
const TIMEOUT_MS = 60_000;
const AIM_BOOT_MS = 3000;
const AIM_RSS_MB = 300;

const CONFIGURATIONS = [
  { name: 'every role (npm start)', env: { APP_ROLES: 'api,worker,scheduler' }, admin: true },
  { name: 'api', env: { APP_ROLES: 'api' }, admin: true },
  {
    name: 'api, ADMIN_ENABLED=false',
    env: { APP_ROLES: 'api', ADMIN_ENABLED: 'false' },
    admin: false,
  },
];

/** Resident memory now (VmRSS) and at its peak (VmHWM) of a process in MB, from /proc (Linux). */
function memoryMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Polls url until it answers 200; the time from `started`. */
async function firstOk(url, handle, started, what) {
  for (;;) {
    if (handle.exited) throw new Error(`${what}: the process exited; see ${handle.logFile}`);
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`${what} timed out`);
    const answer = await request(url, { timeoutMs: 1000 }).catch(() => null);
    if (answer?.status === 200) return performance.now() - started;
    await sleep(POLL_MS);
  }
}

/**
 * The requests of the load: /me and the first page of the image list, as the owner of 100,000
 * images when image-list's seed is there (the list the issue measures), else as a new user.
 */
async function signIn(ctx, app, seeded) {
  if (seeded) {
    const login = await request(`${app.url}/api/auth/login/`, {
      method: 'POST',
      body: { username: OWNER_USERNAME, password: OWNER_PASSWORD },
    });
    if (login.status !== 200) throw new Error(`login answered ${login.status}: ${login.text}`);
    return login.json.access;
  }
  return (await ctx.registerUser(app)).access;
}

async function bootOnce(ctx, configuration, index, seeded) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const entry = path.join(ctx.appDist, 'apps/server/src/main.js');
  const started = performance.now();
  const handle = startNode(`boot-${index}`, [...ctx.appNodeFlags, entry], {
    cwd: ctx.root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: ctx.databaseUrl,
      REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'bench-image-automation-boot',
      MEDIA_ROOT: path.join(ctx.scratch, 'media'),
      PUBLIC_BASE_URL: 'http://localhost:3000',
      RATE_LIMIT_REGISTER_PER_HOUR: '0',
      ...ctx.secrets,
      ...configuration.env,
      PORT: String(port),
    },
    logFile: path.join(ctx.resultsDir, `boot-${index}.log`),
  });
  try {
    const bootMs = await firstOk(`${url}/api/health`, handle, started, `boot ${index}`);
    const atBoot = memoryMb(handle.child.pid);
    // The admin panel starts at the first request to /admin (this poll's first): its first 200.
    const adminMs = configuration.admin
      ? await firstOk(`${url}/admin/login`, handle, started, `boot ${index}, /admin`)
      : null;
    // A little later: what the process settles at once its first work (the scheduler's first
    // ticks, the queues' connections, the admin panel) is under way.
    await sleep(3000);
    const settled = memoryMb(handle.child.pid);
    const access = await signIn(ctx, { url }, seeded);
    const headers = { authorization: `Bearer ${access}` };
    const pid = handle.child.pid;
    for (const target of ['/api/auth/me/', '/api/images/']) {
      await ctx.hit(`${url}${target}`, { headers, duration: LOAD_SECONDS, pid });
    }
    const loaded = memoryMb(handle.child.pid);
    return {
      bootMs,
      adminMs,
      rssAtBoot: atBoot.rss,
      rssSettled: settled.rss,
      rssLoaded: loaded.rss,
      peak: loaded.peak,
    };
  } finally {
    await stop(handle);
  }
}

async function ownerSeeded(ctx) {
  const client = new pg.Client({ connectionString: ctx.databaseUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM users WHERE username = $1', [
      OWNER_USERNAME,
    ]);
    return rowCount > 0;
  } finally {
    await client.end();
  }
}

const ms = (value) => `${Math.round(value).toLocaleString('en-US')} ms`;
const mb = (value) => `${Math.round(value)} MB`;

export async function run(ctx) {
  const loadBefore = os.loadavg()[0].toFixed(1);
  const seeded = await ownerSeeded(ctx);
  const bootsOf = new Map(CONFIGURATIONS.map((configuration) => [configuration, []]));
  // The configurations take turns (one boot each, then again), so that a change in what else the
  // machine runs weighs on all of them alike.
  for (let index = 0; index < BOOTS; index++) {
    for (const configuration of CONFIGURATIONS) {
      const boot = await bootOnce(ctx, configuration, index, seeded);
      bootsOf.get(configuration).push(boot);
      ctx.log(
        `${configuration.name}: healthy after ${Math.round(boot.bootMs)} ms` +
          (boot.adminMs === null ? '' : `, /admin after ${Math.round(boot.adminMs)} ms`) +
          `; resident ${Math.round(boot.rssAtBoot)} MB at healthy, ${Math.round(boot.rssSettled)} MB 3 s later, ` +
          `${Math.round(boot.rssLoaded)} MB after the load (peak ${Math.round(boot.peak)} MB)`,
      );
    }
  }
  const results = [];
  for (const [configuration, boots] of bootsOf) {
    const of = (key) => boots.map((boot) => boot[key]);
    results.push({
      name: configuration.name,
      bootMedian: median(of('bootMs')),
      bootMax: Math.max(...of('bootMs')),
      adminMedian: configuration.admin ? median(of('adminMs')) : null,
      rssSettledMedian: median(of('rssSettled')),
      rssLoadedMedian: median(of('rssLoaded')),
      peakMax: Math.max(...of('peak')),
      boots,
    });
  }
  const loadAfter = os.loadavg()[0].toFixed(1);
  const header = [
    'Process',
    'to healthy, median',
    'slowest',
    '/admin answers, median',
    'resident after boot, median',
    'after the load, median',
    'peak, largest',
  ];
  const rows = results.map((result) => [
    result.name,
    ms(result.bootMedian),
    ms(result.bootMax),
    result.adminMedian === null ? '(no panel)' : ms(result.adminMedian),
    mb(result.rssSettledMedian),
    mb(result.rssLoadedMedian),
    mb(result.peakMax),
  ]);
  printTable(header, rows);
  const markdown = [
    `### ${title}`,
    '',
    markdownTable(header, rows),
    '',
    `- Aims (issue 14): healthy within ${AIM_BOOT_MS.toLocaleString('en-US')} ms of \`${['node', ...ctx.appNodeFlags, 'dist/apps/server/src/main.js'].join(' ')}\` (\`npm run start:prod\`), at most ${AIM_RSS_MB} MB resident per process after boot and after load.`,
    `- ${BOOTS} boots of each, the three taking turns, each a new process with \`NODE_ENV=production\` against the bench database (migrations already applied, so the time is the boot's own), /api/health polled every ${POLL_MS} ms. The admin panel starts at the first request to /admin (see docs/decisions.md), here the poll of /admin/login that follows the first healthy answer: "/admin answers" is its first 200, from the same start.`,
    `- Resident memory (VmRSS from /proc): "after boot" 3 s after the panel answers (or after healthy, without it); "after the load" once ${LOAD_SECONDS} s of autocannon (${ctx.settings.connections} connections) on \`GET /api/auth/me/\` then ${LOAD_SECONDS} s on \`GET /api/images/\` have run, ${seeded ? 'as the owner of 100,000 images of image-list’s seed' : 'as a new user (image-list’s seed was not there: an empty list)'}; "peak" is VmHWM then.`,
    machineLine(ctx, { loadBefore, loadAfter }),
  ].join('\n');
  return {
    markdown,
    summary: { results: results.map(({ boots, ...rest }) => ({ ...rest, boots })) },
  };
}
