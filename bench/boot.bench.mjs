// Boot and memory: from `node dist/apps/server/src/main.js` to the first 200 of /api/health, and
// the process's resident memory then, for what `npm start` runs (every role in one process), the
// api role alone, and the api role without the admin panel. Each boot is a new process against
// the bench database (migrations already applied), polled every 20 ms. Aims (issue 14): at most
// 3 s to healthy, at most 300 MB resident per process.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startNode, stop } from './lib/children.mjs';
import { request } from './lib/http.mjs';
import { median } from './lib/load.mjs';
import { machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'boot';
export const title = 'Boot and memory';

const BOOTS = Number(process.env.BENCH_BOOTS ?? 5);
const POLL_MS = 20;
const TIMEOUT_MS = 60_000;
const AIM_BOOT_MS = 3000;
const AIM_RSS_MB = 300;

const CONFIGURATIONS = [
  { name: 'every role (npm start)', env: { APP_ROLES: 'api,worker,scheduler' } },
  { name: 'api', env: { APP_ROLES: 'api' } },
  { name: 'api, ADMIN_ENABLED=false', env: { APP_ROLES: 'api', ADMIN_ENABLED: 'false' } },
];

/** Resident memory of a process in MB, from /proc (Linux). */
function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function bootOnce(ctx, configuration, index) {
  const port = await freePort();
  const entry = path.join(ctx.appDist, 'apps/server/src/main.js');
  const started = performance.now();
  const handle = startNode(`boot-${index}`, [entry], {
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
      ...ctx.secrets,
      ...configuration.env,
      PORT: String(port),
    },
    logFile: path.join(ctx.resultsDir, `boot-${index}.log`),
  });
  try {
    for (;;) {
      if (handle.exited) throw new Error(`boot ${index} exited; see ${handle.logFile}`);
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`boot ${index} timed out`);
      const answer = await request(`http://127.0.0.1:${port}/api/health`, {
        timeoutMs: 1000,
      }).catch(() => null);
      if (answer?.status === 200) break;
      await sleep(POLL_MS);
    }
    const bootMs = performance.now() - started;
    const rss = rssMb(handle.child.pid);
    // A little later: what the process settles at once its first work (the scheduler's first
    // ticks, the queues' connections) is under way.
    await sleep(3000);
    return { bootMs, rss, rssSettled: rssMb(handle.child.pid) };
  } finally {
    await stop(handle);
  }
}

export async function run(ctx) {
  const loadBefore = os.loadavg()[0].toFixed(1);
  const results = [];
  for (const configuration of CONFIGURATIONS) {
    const boots = [];
    for (let index = 0; index < BOOTS; index++) {
      boots.push(await bootOnce(ctx, configuration, index));
      ctx.log(
        `${configuration.name}: healthy after ${Math.round(boots.at(-1).bootMs)} ms, ` +
          `${Math.round(boots.at(-1).rss)} MB resident (${Math.round(boots.at(-1).rssSettled)} MB 3 s later)`,
      );
    }
    const times = boots.map((boot) => boot.bootMs);
    const rss = boots.map((boot) => boot.rssSettled);
    results.push({
      name: configuration.name,
      bootMedian: median(times),
      bootMax: Math.max(...times),
      rssMedian: median(rss),
      rssMax: Math.max(...rss),
    });
  }
  const loadAfter = os.loadavg()[0].toFixed(1);
  const header = [
    'Process',
    'to healthy, median',
    'slowest',
    'resident 3 s after, median',
    'largest',
  ];
  const rows = results.map((result) => [
    result.name,
    `${Math.round(result.bootMedian).toLocaleString('en-US')} ms`,
    `${Math.round(result.bootMax).toLocaleString('en-US')} ms`,
    `${Math.round(result.rssMedian)} MB`,
    `${Math.round(result.rssMax)} MB`,
  ]);
  printTable(header, rows);
  const markdown = [
    `### ${title}`,
    '',
    markdownTable(header, rows),
    '',
    `- Aims (issue 14): healthy within ${AIM_BOOT_MS.toLocaleString('en-US')} ms of \`node dist/apps/server/src/main.js\`, at most ${AIM_RSS_MB} MB resident per process.`,
    `- ${BOOTS} boots of each, each a new process with \`NODE_ENV=production\` against the bench database (migrations already applied, so the time is the boot's own), /api/health polled every ${POLL_MS} ms; resident memory (VmRSS) read 3 s after the first 200.`,
    '- Not measured yet: the resident memory of the processes after the other benchmarks’ load.',
    machineLine(ctx, { loadBefore, loadAfter }),
  ].join('\n');
  return { markdown, summary: { results } };
}
