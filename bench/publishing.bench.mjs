// Publishing: lateness (posted_at − scheduled_time) of 100 posts spread over a minute, and a burst
// of 1,000 posts due at the same second with one and with two worker processes, against the
// loopback fake of the Graph API (Facebook page photos: one call per post, and the fake fetches
// the signed image URL from the app, as Meta does). The fake is the tests' own, compiled.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { freePort, startNode, stop, waitForHttp } from './lib/children.mjs';
import { request } from './lib/http.mjs';
import { markdownTable, printTable } from './lib/report.mjs';

export const id = 'publishing';
export const title = 'Publishing: lateness and a burst';

const LATENESS_POSTS = 100;
const LATENESS_SPREAD_MS = 60_000;
const BURST_POSTS = 1000;
const WORKER_CONCURRENCY = Number(process.env.BENCH_PUBLISH_CONCURRENCY ?? 50);

/** test/fakes/graph.fake.ts, compiled as it is (no type check) into the run's scratch folder. */
async function loadGraphFake(ctx) {
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
      path.join(ctx.root, 'test/fakes/graph.fake.ts'),
    ],
    { stdio: 'inherit' },
  );
  writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(path.join(ctx.root, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  return import(pathToFileURL(path.join(out, 'graph.fake.js')).href);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (value) => `${Math.round(value).toLocaleString('en-US')} ms`;

export async function run(ctx) {
  const graphFake = await loadGraphFake(ctx);
  const fake = await graphFake.start();
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
  const api = startNode('publishing-api', [entry], {
    cwd: ctx.root,
    env: { ...appEnv, APP_ROLES: 'api', PORT: String(port) },
    logFile: path.join(ctx.resultsDir, 'publishing-api.log'),
  });
  const workers = [];
  const startWorker = async () => {
    const flags = ctx.settings.cpuProfile
      ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ctx.resultsDir, 'profiles')}`]
      : [];
    const worker = startNode(`publishing-worker-${workers.length + 1}`, [...flags, entry], {
      cwd: ctx.root,
      env: { ...appEnv, APP_ROLES: 'worker' },
      logFile: path.join(ctx.resultsDir, `publishing-worker-${workers.length + 1}.log`),
    });
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
      for (;;) {
        const { rows } = await db.query(
          `SELECT status, extract(epoch FROM posted_at - scheduled_time) * 1000 AS late_ms, posted_at, scheduled_time
           FROM scheduled_posts WHERE id = ANY($1::int[])`,
          [ids],
        );
        const open = rows.filter(
          (row) => row.status === 'scheduled' || row.status === 'processing',
        );
        if (open.length === 0 || Date.now() > deadline) return rows;
        await sleep(200);
      }
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
    ctx.log(
      `publishing: lateness p50 ${ms(lateness.p50)}, p99 ${ms(lateness.p99)}, max ${ms(lateness.max)}`,
    );

    // 2. Bursts of 1,000 posts due at the same second, with one then two workers.
    const bursts = [];
    for (const workerCount of [1, 2]) {
      while (workers.length < workerCount) await startWorker();
      const scheduleStart = Date.now();
      const due = Date.now() + 20_000;
      const ids = await schedule(Array.from({ length: BURST_POSTS }, () => due));
      const scheduledIn = Date.now() - scheduleStart;
      if (Date.now() > due) throw new Error('scheduling the burst took longer than its lead time');
      const mediaBefore = fake.pagePosts.length;
      const rows = await settle(ids, 120_000);
      const posted = rows.filter((row) => row.status === 'posted');
      const times = posted
        .map((row) => new Date(row.posted_at).getTime() - due)
        .sort((a, b) => a - b);
      const span = times[times.length - 1];
      bursts.push({
        workers: workerCount,
        posts: BURST_POSTS,
        posted: posted.length,
        failed: rows.filter((row) => row.status === 'failed').length,
        fakePosts: fake.pagePosts.length - mediaBefore,
        allPostedWithinMs: span,
        firstPostedMs: times[0],
        halfPostedMs: percentile(times, 50),
        postsPerSecond: posted.length / (Math.max(1, span) / 1000),
        scheduledInMs: scheduledIn,
      });
      ctx.log(
        `publishing: burst with ${workerCount} worker(s): ${posted.length}/${BURST_POSTS} posted within ${ms(span)}`,
      );
    }

    const headers = ['Run', 'Posts', 'Posted', 'Failed', 'On the fake', 'Result'];
    const rows = [
      [
        'Lateness, 1 worker',
        String(LATENESS_POSTS),
        String(lateness.posted),
        String(lateness.failed),
        '',
        `p50 ${ms(lateness.p50)}, p99 ${ms(lateness.p99)}, max ${ms(lateness.max)}`,
      ],
      ...bursts.map((burst) => [
        `Burst, ${burst.workers} worker${burst.workers > 1 ? 's' : ''}`,
        String(burst.posts),
        String(burst.posted),
        String(burst.failed),
        String(burst.fakePosts),
        `first ${ms(burst.firstPostedMs)}, half ${ms(burst.halfPostedMs)}, all ${ms(burst.allPostedWithinMs)} after the due second: ${Math.round(burst.postsPerSecond).toLocaleString('en-US')} posts/s`,
      ]),
    ];
    printTable(headers, rows);
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(headers, rows),
      '',
      `- Aims (from the issue): lateness p99 under 1 s; a burst of 1,000 at least 500 posts/s, all posted within 5 s.`,
      `- Each worker process runs ${WORKER_CONCURRENCY} publish jobs at once (\`PUBLISH_WORKER_CONCURRENCY\`); one \`api\` process serves the fake's image fetches. Posts are Facebook page photos on the Graph fake, scheduled through the API; \`posted_at\` is written when the platform answered.`,
      `- "On the fake" counts the page posts the fake created during the burst: equal to the posted count means none was published twice.`,
      `- Machine: ${ctx.machine.cpus} CPUs, Node ${process.version}; run on ${new Date().toISOString()}. App processes, PostgreSQL, Redis and the fake share these CPUs.`,
    ].join('\n');
    return { markdown, summary: { lateness, bursts } };
  } finally {
    await db.end();
    for (const worker of workers) await stop(worker);
    await stop(api);
    await fake.close();
  }
}
