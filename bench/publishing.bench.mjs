// Publishing: lateness (posted_at − scheduled_time) of 100 posts spread over a minute, and a burst
// of 1,000 posts due at the same second with one and with two worker processes, against the
// loopback fake of the Graph API (Facebook page photos: one call per post, and the fake fetches
// the signed image URL from the app, as Meta does). The fake is the tests' own, compiled. During
// each burst, the CPU time of every process involved is read from /proc (Linux), per post.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { httpExchangeCpuMicrosInNewProcess } from './lib/calibrate.mjs';
import { freePort, startNode, stop, waitForHttp } from './lib/children.mjs';
import { request } from './lib/http.mjs';
import { machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'publishing';
export const title = 'Publishing: lateness and a burst';

const LATENESS_POSTS = 100;
const LATENESS_SPREAD_MS = 60_000;
const BURST_POSTS = 1000;
const WORKER_CONCURRENCY = Number(process.env.BENCH_PUBLISH_CONCURRENCY ?? 50);
/**
 * `instant`: a Graph stand-in that answers each photo post at once without fetching the image,
 * to see what the app alone sustains (a diagnostic: not the aim's setting, docs left alone).
 */
const PLATFORM = process.env.BENCH_PUBLISHING_PLATFORM ?? 'graph-fake';

/** test/fakes/graph.fake.ts, compiled as it is (no type check) into the run's scratch folder. */
export async function loadGraphFake(ctx) {
  const out = path.join(ctx.scratch, 'fakes');
  mkdirSync(out, { recursive: true });
  execFileSync(
    process.execPath,
    [
      path.join(ctx.root, 'node_modules/typescript/bin/tsc'),
      '--ignoreConfig',
      '--noCheck',
      '--outDir',
      out,
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2023',
      // The fakes import test/support/: the folders keep their places under outDir.
      '--rootDir',
      path.join(ctx.root, 'test'),
      path.join(ctx.root, 'test/fakes/graph.fake.ts'),
    ],
    { stdio: 'inherit' },
  );
  writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(path.join(ctx.root, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  return import(pathToFileURL(path.join(out, 'fakes/graph.fake.js')).href);
}

/** A Graph API that creates a page photo post per call, at once, and fetches nothing. */
async function startInstantGraph() {
  const pagePosts = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(pagePosts.length + 1);
      pagePosts.push(id);
      const body = JSON.stringify({ id, post_id: `123_${id}` });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    graphUrl: `http://127.0.0.1:${server.address().port}/v21.0`,
    pageId: '123',
    token: 'instant-token',
    pagePosts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) of a process so far, in ms; undefined once it is gone. */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Busy CPU time of the whole machine so far (all CPUs, idle and iowait excluded), in ms. */
export function machineBusyMs() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / TICKS_PER_SECOND;
}

/**
 * A snapshot of the CPU time of what a burst involves: the worker and api processes, this
 * runner (the fake lives in it), the PostgreSQL processes of the bench database (its backends
 * and autovacuum) and the shared ones (WAL writer, checkpointer...), Redis, and the machine.
 */
async function cpuSnapshot(db, processes) {
  const { rows } = await db.query(
    `SELECT pid, datname IS NOT NULL AS own FROM pg_stat_activity
     WHERE datname = current_database() OR datname IS NULL`,
  );
  const redis = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis-server');
      } catch {
        return false;
      }
    });
  const usage = process.cpuUsage();
  return {
    at: Date.now(),
    machine: machineBusyMs(),
    runner: (usage.user + usage.system) / 1000,
    processes: Object.fromEntries(
      Object.entries(processes).map(([name, pids]) => [
        name,
        new Map(pids.map((pid) => [pid, processCpuMs(pid)])),
      ]),
    ),
    postgres: new Map(rows.filter((row) => row.own).map((row) => [row.pid, processCpuMs(row.pid)])),
    postgresShared: new Map(
      rows.filter((row) => !row.own).map((row) => [row.pid, processCpuMs(row.pid)]),
    ),
    redis: new Map(redis.map((pid) => [pid, processCpuMs(pid)])),
  };
}

/** CPU ms per post of each part between two snapshots (a process missing before counts from 0). */
function cpuPerPost(before, after, posts) {
  const delta = (a, b) => {
    let sum = 0;
    for (const [pid, end] of b) if (end !== undefined) sum += end - (a.get(pid) ?? 0);
    return sum;
  };
  const parts = {};
  for (const name of Object.keys(after.processes)) {
    parts[name] = delta(before.processes[name], after.processes[name]);
  }
  parts['runner + fake'] = after.runner - before.runner;
  parts.PostgreSQL = delta(before.postgres, after.postgres);
  parts['PostgreSQL, shared'] = delta(before.postgresShared, after.postgresShared);
  parts.Redis = delta(before.redis, after.redis);
  const ours = Object.values(parts).reduce((sum, value) => sum + value, 0);
  const seconds = (after.at - before.at) / 1000;
  return {
    perPost: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v / posts])),
    totalPerPost: ours / posts,
    /** Share of one CPU used by everything else on the machine meanwhile (other people's work). */
    othersCpuShare: Math.max(0, after.machine - before.machine - ours) / 1000 / seconds,
    seconds,
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** "1 worker, first after start" / "2 workers, warm". */
const burstLabel = ({ workers, warm }) =>
  `${workers} worker${workers > 1 ? 's' : ''}, ${warm ? 'warm' : 'first after start'}`;

const ms = (value) => `${Math.round(value).toLocaleString('en-US')} ms`;

export async function run(ctx) {
  if (PLATFORM !== 'graph-fake' && PLATFORM !== 'instant')
    throw new Error('BENCH_PUBLISHING_PLATFORM is graph-fake (default) or instant');
  if (PLATFORM === 'instant') ctx.settings.writeDocs = false;
  // Before anything of the app runs: the machine's yardstick (see lib/calibrate.mjs).
  const exchangeCpuMicros = httpExchangeCpuMicrosInNewProcess();
  ctx.log(`publishing: yardstick: ${exchangeCpuMicros.toFixed(0)} µs of CPU per HTTP exchange`);
  const fake =
    PLATFORM === 'instant' ? await startInstantGraph() : await (await loadGraphFake(ctx)).start();
  const measureCpu = existsSync('/proc/stat');
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const appEnv = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: ctx.databaseUrl,
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `bench-publishing-${Date.now()}`,
    MEDIA_ROOT: path.join(ctx.scratch, 'media'),
    PUBLIC_BASE_URL: publicUrl,
    FACEBOOK_GRAPH_URL: fake.graphUrl,
    INSTAGRAM_GRAPH_URL: fake.graphUrl,
    IMAGE_PROVIDER: 'local',
    PUBLISH_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
    ...ctx.secrets,
  };
  const entry = path.join(ctx.appDist, 'apps/server/src/main.js');
  const profileFlags = ctx.settings.cpuProfile
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ctx.resultsDir, 'profiles')}`]
    : [];
  const api = startNode('publishing-api', [...profileFlags, ...ctx.appNodeFlags, entry], {
    cwd: ctx.root,
    env: { ...appEnv, APP_ROLES: 'api', PORT: String(port) },
    logFile: path.join(ctx.resultsDir, 'publishing-api.log'),
  });
  const workers = [];
  const startWorker = async () => {
    const worker = startNode(
      `publishing-worker-${workers.length + 1}`,
      [...profileFlags, ...ctx.appNodeFlags, entry],
      {
        cwd: ctx.root,
        env: { ...appEnv, APP_ROLES: 'worker' },
        logFile: path.join(ctx.resultsDir, `publishing-worker-${workers.length + 1}.log`),
      },
    );
    workers.push(worker);
    await sleep(2500); // a worker process has no HTTP: give it its boot time
    if (worker.exited) throw new Error(`worker exited: see ${worker.logFile}`);
  };
  const db = new pg.Pool({ connectionString: ctx.databaseUrl, max: 2 });
  try {
    await waitForHttp(`${publicUrl}/api/health`, api);
    await startWorker();
    const app = { url: publicUrl };
    const { access } = await ctx.registerUser(app);
    const auth = { authorization: `Bearer ${access}` };
    const call = async (method, url, body) => {
      const response = await request(`${publicUrl}${url}`, {
        method,
        headers: auth,
        body,
        timeoutMs: 15_000,
      });
      if (response.status >= 300)
        throw new Error(`${method} ${url}: ${response.status} ${response.text.slice(0, 300)}`);
      return response.json;
    };
    await call('PATCH', '/api/auth/profile/', { auto_validate_images: true });
    const image = (
      await call('POST', '/api/images/generate/', {
        prompt: 'Bench post',
        width: 1024,
        height: 1024,
      })
    ).image;
    for (let i = 0; ; i++) {
      if ((await call('GET', `/api/images/${image.id}/`)).status === 'validated') break;
      if (i > 200) throw new Error('the bench image was not generated');
      await sleep(100);
    }
    const account = await call('POST', '/api/scheduler/accounts/', {
      platform: 'facebook',
      account_id: fake.pageId,
      access_token: fake.token,
      display_name: 'Bench page',
    });

    const schedule = async (times) => {
      const ids = [];
      // Scheduled through the API, a few at a time, as clients would.
      for (let start = 0; start < times.length; start += 20) {
        const batch = times.slice(start, start + 20).map((time, index) =>
          call('POST', '/api/scheduler/schedule/', {
            image: image.id,
            platform: 'facebook',
            account: account.id,
            caption: `Bench post ${start + index}`,
            scheduled_time: new Date(time).toISOString(),
          }),
        );
        for (const created of await Promise.all(batch)) ids.push(created.post.id);
      }
      return ids;
    };
    const settle = async (ids, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      // Polls a count (the rows are read once, at the end): the poll shares the burst's CPUs.
      for (;;) {
        const { rows } = await db.query(
          `SELECT count(*)::int AS open FROM scheduled_posts
           WHERE id = ANY($1::int[]) AND status IN ('scheduled', 'processing')`,
          [ids],
        );
        if (rows[0].open === 0 || Date.now() > deadline) break;
        await sleep(200);
      }
      const { rows } = await db.query(
        `SELECT status, extract(epoch FROM posted_at - scheduled_time) * 1000 AS late_ms, posted_at, scheduled_time
         FROM scheduled_posts WHERE id = ANY($1::int[])`,
        [ids],
      );
      return rows;
    };

    // 1. Lateness: 100 posts spread over a minute, one worker. (BENCH_PUBLISHING=burst skips it.)
    const withLateness = process.env.BENCH_PUBLISHING !== 'burst';
    ctx.log(`publishing: scheduling ${LATENESS_POSTS} posts over ${LATENESS_SPREAD_MS / 1000} s`);
    const begin = Date.now() + 10_000;
    const spread = Array.from(
      { length: withLateness ? LATENESS_POSTS : 0 },
      (_, i) => begin + Math.round((i * LATENESS_SPREAD_MS) / LATENESS_POSTS),
    );
    const latenessRows = await settle(await schedule(spread), LATENESS_SPREAD_MS + 60_000);
    const late = latenessRows
      .filter((row) => row.status === 'posted')
      .map((row) => Number(row.late_ms))
      .sort((a, b) => a - b);
    const lateness = {
      posted: late.length,
      failed: latenessRows.filter((row) => row.status === 'failed').length,
      p50: percentile(late, 50),
      p99: percentile(late, 99),
      max: late[late.length - 1],
    };
    if (withLateness)
      ctx.log(
        `publishing: lateness p50 ${ms(lateness.p50)}, p99 ${ms(lateness.p99)}, max ${ms(lateness.max)}`,
      );

    // 2. Bursts of 1,000 posts due at the same second, with one then two workers: each first
    // right after a worker started, then again once warm. A process just started spends its
    // first burst compiling its hot paths (V8 optimises them after it has run them a while),
    // which a long-running worker did long ago: the warm bursts are the steady state.
    const bursts = [];
    const runs = [
      { workerCount: 1, warm: false },
      { workerCount: 1, warm: true },
      { workerCount: 2, warm: false },
      { workerCount: 2, warm: true },
    ];
    for (const { workerCount, warm } of runs) {
      while (workers.length < workerCount) await startWorker();
      // The database is reused from run to run, and autovacuum may be off (it is on the machine
      // the figures come from): without this, every burst wades through the dead rows of the
      // last ones (100,000 after a few runs), and the settle query's scans dominate PostgreSQL.
      await db.query('VACUUM (ANALYZE) scheduled_posts, social_accounts, generated_images');
      const scheduleStart = Date.now();
      const due = Date.now() + 20_000;
      const ids = await schedule(Array.from({ length: BURST_POSTS }, () => due));
      const scheduledIn = Date.now() - scheduleStart;
      ctx.log(`publishing: burst of ${BURST_POSTS} due at ${new Date(due).toISOString()}`);
      if (Date.now() > due) throw new Error('scheduling the burst took longer than its lead time');
      const mediaBefore = fake.pagePosts.length;
      // Quiet until just before the due second, then the CPU counters, until all are settled.
      await sleep(Math.max(0, due - Date.now() - 200));
      const loadBefore = os.loadavg()[0].toFixed(1);
      const processes = {
        'worker(s)': workers.map((worker) => worker.child.pid),
        api: [api.child.pid],
      };
      const cpuBefore = measureCpu ? await cpuSnapshot(db, processes) : undefined;
      const rows = await settle(ids, 120_000);
      const cpu = cpuBefore
        ? cpuPerPost(cpuBefore, await cpuSnapshot(db, processes), BURST_POSTS)
        : undefined;
      const loadAfter = os.loadavg()[0].toFixed(1);
      const posted = rows.filter((row) => row.status === 'posted');
      const times = posted
        .map((row) => new Date(row.posted_at).getTime() - due)
        .sort((a, b) => a - b);
      const span = times[times.length - 1];
      bursts.push({
        workers: workerCount,
        warm,
        posts: BURST_POSTS,
        posted: posted.length,
        failed: rows.filter((row) => row.status === 'failed').length,
        fakePosts: fake.pagePosts.length - mediaBefore,
        allPostedWithinMs: span,
        firstPostedMs: times[0],
        halfPostedMs: percentile(times, 50),
        postsPerSecond: posted.length / (Math.max(1, span) / 1000),
        scheduledInMs: scheduledIn,
        loadBefore,
        loadAfter,
        cpu,
      });
      ctx.log(
        `publishing: ${burstLabel({ workers: workerCount, warm })}: ${posted.length}/${BURST_POSTS} posted within ${ms(span)}` +
          ` (load ${loadBefore} → ${loadAfter})`,
      );
      if (cpu) {
        ctx.log(
          `publishing: CPU per post: ${Object.entries(cpu.perPost)
            .map(([part, value]) => `${part} ${value.toFixed(2)} ms`)
            .join(
              ', ',
            )}; total ${cpu.totalPerPost.toFixed(2)} ms; other work ${Math.round(cpu.othersCpuShare * 100)} % of one CPU`,
        );
      }
    }

    const headers = ['Run', 'Posts', 'Posted', 'Failed', 'On the fake', 'Result'];
    const rows = [
      ...(withLateness
        ? [
            [
              'Lateness, 1 worker',
              String(LATENESS_POSTS),
              String(lateness.posted),
              String(lateness.failed),
              '',
              `p50 ${ms(lateness.p50)}, p99 ${ms(lateness.p99)}, max ${ms(lateness.max)}`,
            ],
          ]
        : []),
      ...bursts.map((burst) => [
        `Burst, ${burstLabel(burst)}`,
        String(burst.posts),
        String(burst.posted),
        String(burst.failed),
        String(burst.fakePosts),
        `first ${ms(burst.firstPostedMs)}, half ${ms(burst.halfPostedMs)}, all ${ms(burst.allPostedWithinMs)} after the due second: ${Math.round(burst.postsPerSecond).toLocaleString('en-US')} posts/s`,
      ]),
    ];
    printTable(headers, rows);
    const cpuParts = [...new Set(bursts.flatMap((burst) => Object.keys(burst.cpu?.perPost ?? {})))];
    const cpuHeaders = ['Burst', ...cpuParts, 'Total', 'At most, on these CPUs', 'Other work'];
    const cpuRows = bursts
      .filter((burst) => burst.cpu)
      .map((burst) => [
        burstLabel(burst),
        ...cpuParts.map((part) =>
          burst.cpu.perPost[part] === undefined ? '' : `${burst.cpu.perPost[part].toFixed(2)} ms`,
        ),
        `**${burst.cpu.totalPerPost.toFixed(2)} ms**`,
        `${Math.round((ctx.machine.cpus * 1000) / burst.cpu.totalPerPost).toLocaleString('en-US')} posts/s`,
        `${Math.round(burst.cpu.othersCpuShare * 100)} % of one CPU`,
      ]);
    if (cpuRows.length) printTable(cpuHeaders, cpuRows);
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(headers, rows),
      '',
      ...(cpuRows.length
        ? [
            'CPU time per post during each burst (from the due second to the last post settled), by process:',
            '',
            markdownTable(cpuHeaders, cpuRows),
            '',
          ]
        : []),
      `- Aims (from the issue): lateness p99 under 1 s; a burst of 1,000 at least 500 posts/s, all posted within 5 s.`,
      `- Each worker process runs ${WORKER_CONCURRENCY} publish jobs at once (\`PUBLISH_WORKER_CONCURRENCY\`); one \`api\` process serves the fake's image fetches. Posts are Facebook page photos on the Graph fake, scheduled through the API; \`posted_at\` is written when the platform answered.`,
      `- "On the fake" counts the page posts the fake created during the burst: equal to the posted count means none was published twice.`,
      `- CPU per post: user + system time from /proc of each process over the burst, divided by ${BURST_POSTS.toLocaleString('en-US')}; "runner + fake" is this benchmark's own process, where the Graph fake runs; PostgreSQL is the bench database's backends and autovacuum, "shared" its WAL writer, checkpointer and background writer. "At most" is the CPUs' time divided by the total: the rate these costs allow if nothing else ran. "Other work" is the rest of the machine's busy time meanwhile (other people's processes).`,
      `- Each burst runs first right after its new worker process started (the api and the fake are warm from what came before${withLateness ? "; the first worker has published the lateness minute's posts before its first burst" : ''}), then once more: the warm burst is the steady state of a long-running worker, whose hot paths V8 has optimised by then.`,
      `- Yardstick for comparing machines: one node:http exchange of a 16 KB answer (client and server in one new process, 50 keep-alive connections) cost ${exchangeCpuMicros.toFixed(0)} µs of CPU on this machine, measured just before the run (\`bench/lib/calibrate.mjs\`; 98–181 µs on one machine on 5 December: a coarse guide). Figures measured where it costs much more are not comparable with these.`,
      `- Load average per burst (1 minute, before → after): ${bursts.map((burst) => `${burstLabel(burst)} ${burst.loadBefore} → ${burst.loadAfter}`).join('; ')}.`,
      machineLine(ctx, {
        loadBefore: ctx.machine.loadAverage,
        loadAfter: os.loadavg()[0].toFixed(1),
      }),
    ].join('\n');
    return { markdown, summary: { exchangeCpuMicros, lateness, bursts } };
  } finally {
    await db.end();
    for (const worker of workers) await stop(worker);
    await stop(api);
    await fake.close();
  }
}
