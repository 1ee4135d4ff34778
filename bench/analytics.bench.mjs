// Advanced analytics for an owner of 100,000 published posts and 1,000,000 snapshots among
// 10,000,000: overview (day, week, month), best times, top posts, each as JSON and CSV, and a
// post's history. Each is measured as a loop of sequential requests (latency p50/p95, one at a
// time: what one user waits) and as an autocannon run (10 connections: the same under load);
// then each statement the app sends for it (written down by a copy of the app,
// bench/lib/sql-capture.mjs) is run under EXPLAIN (ANALYZE, BUFFERS). Also the write side (one
// sync's statement, with the rollup trigger, in a rolled-back transaction) and, for scale, what
// the overview would cost computed from the raw snapshots instead of the rollups.
// The data lives in a database of its own (bench/lib/analytics-seed.mjs), dropped at the end
// unless BENCH_ANALYTICS_KEEP=1 (then a later run reuses it).
import os from 'node:os';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import {
  analyticsSeedState,
  OWNER_POSTS,
  seedAnalytics,
  TOTAL_SNAPSHOTS,
} from './lib/analytics-seed.mjs';
import { explain } from './lib/explain.mjs';
import { request } from './lib/http.mjs';
import { percentile } from './lib/load.mjs';
import { fmt, machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'analytics';
export const title =
  'Analytics: 100,000 published posts and 1,000,000 snapshots among 10,000,000 (issue 17)';

const OWNER_USERNAME = 'bench_analytics_owner';
const OWNER_PASSWORD = 'Copper-Meadow-Violin-analytics-2026';
/** A zone with a half-hour offset: buckets must map to its local hours exactly. */
const OWNER_ZONE = 'Asia/Kolkata';
const TARGET_P95_MS = 100;
const REQUESTS = Number(process.env.BENCH_ANALYTICS_REQUESTS ?? 200);
const WARMUP_REQUESTS = 20;

/** The date in OWNER_ZONE, as the reports read `start_date`/`end_date` (local dates). */
function localDate(date) {
  return date.toLocaleDateString('en-CA', { timeZone: OWNER_ZONE });
}

function endpoints(postId) {
  const today = new Date();
  // Local to the owner: after 18:30 UTC it is already tomorrow in Kolkata, and the posts of the
  // last minutes would fall after a UTC `end_date`.
  const daysAgo = (days) => localDate(new Date(today.getTime() - days * 86_400_000));
  const list = [
    {
      key: 'overview-30d',
      label: 'overview, day, last 30 days (default)',
      path: 'analytics/overview/',
    },
    {
      key: 'overview-year-day',
      label: 'overview, day, one year',
      path: `analytics/overview/?group_by=day&start_date=${daysAgo(364)}&end_date=${daysAgo(0)}`,
    },
    {
      key: 'overview-2y-week',
      label: 'overview, week, two years (all posts)',
      path: `analytics/overview/?group_by=week&start_date=${daysAgo(740)}&end_date=${daysAgo(0)}`,
    },
    {
      key: 'overview-2y-month',
      label: 'overview, month, two years (all posts)',
      path: `analytics/overview/?group_by=month&start_date=${daysAgo(740)}&end_date=${daysAgo(0)}`,
    },
    {
      key: 'overview-2y-month-ig',
      label: 'overview, month, two years, one platform',
      path: `analytics/overview/?group_by=month&start_date=${daysAgo(740)}&end_date=${daysAgo(0)}&platform=instagram`,
    },
    { key: 'best-times', label: 'best times, all time (all posts)', path: 'analytics/best-times/' },
    {
      key: 'best-times-92d',
      label: 'best times, 92 days, the longest range (15-minute rows)',
      path: `analytics/best-times/?start_date=${daysAgo(91)}&end_date=${daysAgo(0)}`,
    },
    {
      key: 'top-likes-100',
      label: 'top posts, likes, 100',
      path: 'analytics/top-posts/?metric=likes&limit=100',
    },
    { key: 'top-rate-10', label: 'top posts, engagement rate, 10', path: 'analytics/top-posts/' },
    {
      key: 'top-views-100-ig',
      label: 'top posts, views, 100, one platform',
      path: 'analytics/top-posts/?metric=views&limit=100&platform=instagram',
    },
  ];
  const withCsv = list.flatMap((endpoint) => [
    { ...endpoint, format: 'JSON' },
    {
      ...endpoint,
      key: `${endpoint.key}-csv`,
      format: 'CSV',
      path: `${endpoint.path}${endpoint.path.includes('?') ? '&' : '?'}format=csv`,
    },
  ]);
  withCsv.push({
    key: 'history',
    label: 'a post’s history (10 snapshots)',
    format: 'JSON',
    path: `posts/${postId}/analytics/history/`,
  });
  return withCsv;
}

async function databaseFor(ctx) {
  const url = new URL(process.env.BENCH_ANALYTICS_DATABASE_URL ?? ctx.databaseUrl);
  if (!process.env.BENCH_ANALYTICS_DATABASE_URL) url.pathname = '/image_automation_bench_analytics';
  return url.toString();
}

async function adminQuery(url, sql) {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Sequential requests: each one's wall time, after a warm-up. */
async function loop(url, headers, expectType) {
  for (let i = 0; i < WARMUP_REQUESTS; i++) await request(url, { headers, timeoutMs: 30_000 });
  const times = [];
  let bytes = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const at = process.hrtime.bigint();
    const response = await request(url, { headers, timeoutMs: 30_000 });
    times.push(Number(process.hrtime.bigint() - at) / 1e6);
    if (response.status !== 200 || !String(response.headers['content-type']).startsWith(expectType))
      throw new Error(`${url} answered ${response.status} ${response.headers['content-type']}`);
    bytes = Buffer.byteLength(response.text);
  }
  return {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    max: Math.max(...times),
    bytes,
  };
}

export async function run(ctx) {
  const { log, settings } = ctx;
  const loadBefore = os.loadavg()[0].toFixed(1);
  const databaseUrl = await databaseFor(ctx);
  const keep = process.env.BENCH_ANALYTICS_KEEP === '1';
  const name = new URL(databaseUrl).pathname.slice(1);
  const { rowCount: exists } = await adminQuery(
    databaseUrl,
    `SELECT 1 FROM pg_database WHERE datname = ${pg.escapeLiteral(name)}`,
  );
  if (!exists) await adminQuery(databaseUrl, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const env = { DATABASE_URL: databaseUrl };
  const client = new pg.Client({ connectionString: databaseUrl });
  const apps = [];
  try {
    const app = await ctx.startApp('analytics-app', env);
    apps.push(app);
    log(`app serving on ${app.url} on database ${name} (it migrated it at boot)`);
    await client.connect();

    let [owner] = (await client.query(`SELECT id FROM users WHERE username = $1`, [OWNER_USERNAME]))
      .rows;
    if (!owner) {
      const registered = await request(`${app.url}/api/auth/register/`, {
        method: 'POST',
        body: {
          username: OWNER_USERNAME,
          email: `${OWNER_USERNAME}@example.com`,
          password: OWNER_PASSWORD,
          password2: OWNER_PASSWORD,
        },
      });
      if (registered.status !== 201)
        throw new Error(`register answered ${registered.status}: ${registered.text.slice(0, 300)}`);
      owner = { id: registered.json.user.id };
    }
    await client.query(`UPDATE profiles SET timezone = $2 WHERE user_id = $1`, [
      owner.id,
      OWNER_ZONE,
    ]);
    let state = await analyticsSeedState(client, owner.id);
    const seedFile = path.join(ctx.resultsDir, 'analytics-seed.json');
    let seed;
    if (state.seeded) {
      try {
        seed = JSON.parse(readFileSync(seedFile, 'utf8'));
      } catch {
        seed = null;
      }
      log('seed already there (BENCH_ANALYTICS_KEEP=1 kept it)');
    } else {
      log(`seeding ${TOTAL_SNAPSHOTS.toLocaleString('en-US')} snapshots and their posts`);
      const result = await seedAnalytics(client, owner.id, log).catch(async (error) => {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      });
      seed = { date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), ...result };
      writeFileSync(seedFile, `${JSON.stringify(seed, null, 2)}\n`);
      log(`seeded in ${result.seconds.toFixed(0)} s`);
      state = await analyticsSeedState(client, owner.id);
      if (!state.seeded) throw new Error('the analytics seed is not as expected after seeding');
    }
    log(
      `owner ${state.owner_posts} posts, ${state.owner_snapshots} snapshots, ${state.owner_rollup_rows} rollup rows; ` +
        `${state.snapshots_estimate} snapshots in all; database ${(state.database_bytes / 2 ** 30).toFixed(1)} GiB`,
    );

    const login = await request(`${app.url}/api/auth/login/`, {
      method: 'POST',
      body: { username: OWNER_USERNAME, password: OWNER_PASSWORD },
    });
    if (login.status !== 200) throw new Error(`login answered ${login.status}: ${login.text}`);
    const headers = { authorization: `Bearer ${login.json.access}` };
    const [{ id: postId }] = (
      await client.query(
        `SELECT scheduled_post_id AS id FROM post_analytics WHERE user_id = $1 ORDER BY scheduled_post_id LIMIT 1`,
        [owner.id],
      )
    ).rows;
    const list = endpoints(postId);

    // What the app sends for each (a copy of the app writing its statements down).
    const captureFile = path.join(ctx.scratch, 'analytics-sql.jsonl');
    const captureApp = await ctx.startApp('analytics-app-sql', {
      ...env,
      NODE_OPTIONS: `--import=${pathToFileURL(path.join(ctx.root, 'bench/lib/sql-capture.mjs')).href}`,
      BENCH_SQL_CAPTURE: captureFile,
    });
    apps.push(captureApp);
    const statements = {};
    for (const endpoint of list) {
      writeFileSync(captureFile, '');
      const response = await request(`${captureApp.url}/api/scheduler/${endpoint.path}`, {
        headers,
        timeoutMs: 30_000,
      });
      await sleep(50);
      if (response.status !== 200)
        throw new Error(`${endpoint.path}: ${response.status} ${response.text}`);
      if (endpoint.key === 'best-times' && response.json.results.length !== 168)
        throw new Error('best times: not 168 cells');
      if (endpoint.key === 'overview-2y-month') {
        const posts = response.json.results.reduce((sum, row) => sum + row.posts, 0);
        if (posts !== OWNER_POSTS) throw new Error(`overview over two years counts ${posts} posts`);
      }
      statements[endpoint.key] = readFileSync(captureFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
        .filter((statement) => !statement.text.includes('"token_families" "family"'));
    }
    await captureApp.stop();
    apps.pop();

    // Sequential latency, then 10 connections.
    const results = {};
    for (const endpoint of list) {
      const url = `${app.url}/api/scheduler/${endpoint.path}`;
      const sequential = await loop(
        url,
        headers,
        endpoint.format === 'CSV' ? 'text/csv' : 'application/json',
      );
      const loaded = await ctx.hit(url, {
        headers,
        duration: Math.min(settings.duration, 3),
        title: endpoint.key,
        pid: app.handle.child.pid,
      });
      results[endpoint.key] = { sequential, loaded };
      log(
        `${endpoint.label} ${endpoint.format}: p50 ${sequential.p50.toFixed(1)} ms, p95 ${sequential.p95.toFixed(1)} ms ` +
          `(${sequential.bytes} bytes); 10 connections ${fmt.rps(loaded.rps)} req/s, p99 ${loaded.p99} ms`,
      );
    }
    const loadAfter = os.loadavg()[0].toFixed(1);

    // Plans, after the load, with the same values.
    const plans = {};
    for (const endpoint of list.filter((e) => e.format === 'JSON')) {
      plans[endpoint.key] = [];
      for (const statement of statements[endpoint.key])
        plans[endpoint.key].push({
          sql: statement.text,
          ...(await explain(client, statement.text, statement.values)),
        });
    }
    // The write side: one sync of one of the owner's posts, rolled back.
    await client.query('BEGIN');
    const write = await explain(
      client,
      `WITH snapshot AS (
         INSERT INTO post_analytics_snapshots
           (scheduled_post_id, synced_at, likes, comments, shares, views, reach, impressions, engagement_rate)
         VALUES ($1, now(), 5000, 100, 10, 90000, 80000, 90000, 5.67)
       )
       INSERT INTO post_analytics AS a
         (scheduled_post_id, platform, likes, comments, shares, views, reach, impressions,
          engagement_rate, last_synced_at, snapshot_count)
       VALUES ($1, 'instagram', 5000, 100, 10, 90000, 80000, 90000, 5.67, now(), 1)
       ON CONFLICT (scheduled_post_id) DO UPDATE SET
         likes = excluded.likes, comments = excluded.comments, shares = excluded.shares,
         views = excluded.views, reach = excluded.reach, impressions = excluded.impressions,
         engagement_rate = excluded.engagement_rate, last_synced_at = excluded.last_synced_at,
         snapshot_count = a.snapshot_count + 1`,
      [postId],
    );
    await client.query('ROLLBACK');
    // For scale: the two-year monthly overview from the raw snapshots (latest per post).
    const raw = await explain(
      client,
      `WITH latest AS (
         SELECT DISTINCT ON (s.scheduled_post_id) s.*
           FROM scheduled_posts p JOIN post_analytics_snapshots s ON s.scheduled_post_id = p.id
          WHERE p.user_id = $1 AND p.status = 'posted'
          ORDER BY s.scheduled_post_id, s.synced_at DESC, s.id DESC
       )
       SELECT date_trunc('month', p.posted_at AT TIME ZONE $2)::date, count(*), sum(l.likes),
              sum(l.comments), sum(l.shares), sum(l.views), sum(l.impressions)
         FROM scheduled_posts p JOIN latest l ON l.scheduled_post_id = p.id
        GROUP BY 1 ORDER BY 1`,
      [owner.id, OWNER_ZONE],
    );
    log(`one sync's statement: ${write.summary}`);
    log(`overview from raw snapshots instead: ${raw.executionMs.toFixed(0)} ms`);

    const header = [
      'Request',
      'format',
      'bytes',
      'p50',
      'p95',
      'p99',
      '10 conn. req/s',
      '10 conn. p99',
      'database time',
    ];
    const rows = list.map((endpoint) => {
      const result = results[endpoint.key];
      const jsonKey = endpoint.key.replace(/-csv$/, '');
      const dbMs = (plans[jsonKey] ?? []).reduce((sum, plan) => sum + plan.executionMs, 0);
      const p95 = result.sequential.p95;
      return [
        `${endpoint.label} (\`${endpoint.path.replace(/\d{4}-\d{2}-\d{2}/g, 'YYYY-MM-DD').replace(/posts\/\d+/, 'posts/{id}')}\`)`,
        endpoint.format,
        result.sequential.bytes.toLocaleString('en-US'),
        fmt.ms1(result.sequential.p50),
        p95 > TARGET_P95_MS ? `**${fmt.ms1(p95)} (over ${TARGET_P95_MS} ms)**` : fmt.ms1(p95),
        fmt.ms1(result.sequential.p99),
        fmt.rps(result.loaded.rps),
        fmt.ms(result.loaded.p99),
        `${dbMs.toLocaleString('en-US', { maximumFractionDigits: 2 })} ms`,
      ];
    });
    printTable(
      header,
      rows.map((cells) => cells.map((cell) => cell.replaceAll('`', '').replaceAll('**', ''))),
    );

    const planLines = [];
    for (const endpoint of list.filter((e) => e.format === 'JSON')) {
      planLines.push(`#### ${endpoint.label}`, '');
      for (const plan of plans[endpoint.key]) {
        planLines.push(
          '```sql',
          plan.sql.replace(/\s+/g, ' ').trim(),
          '```',
          '',
          '```text',
          plan.text,
          '```',
          '',
        );
      }
    }
    const seededLine = seed
      ? `seeded ${seed.date} in ${seed.seconds.toFixed(0)} s (${seed.steps
          .map((s) => `${s.label} ${s.seconds.toFixed(0)} s`)
          .join('; ')})`
      : 'seeded by an earlier run (BENCH_ANALYTICS_KEEP=1)';
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(header, rows),
      '',
      `- The owner (\`${OWNER_USERNAME}\`, time zone ${OWNER_ZONE}, +05:30) has ${Number(state.owner_posts).toLocaleString('en-US')} published posts over two years on five platforms, ` +
        `${Number(state.owner_snapshots).toLocaleString('en-US')} snapshots, among ${TOTAL_SNAPSHOTS.toLocaleString('en-US')} snapshots of 10 users; ` +
        `the owner's rollups are ${Number(state.owner_rollup_rows).toLocaleString('en-US')} rows (a post every ~10.5 minutes, cycling platforms: nearly one row per post, the worst case), ` +
        `${Number(state.rollup_rows).toLocaleString('en-US')} in all (${(state.rollup_bytes / 2 ** 20).toFixed(0)} MiB); snapshots take ${(state.snapshot_bytes / 2 ** 20).toFixed(0)} MiB with their indexes.`,
      `- p50/p95/p99: ${REQUESTS} sequential requests each (after ${WARMUP_REQUESTS} unmeasured), wall time at the client, a new connection each (bench/lib/http.mjs). ` +
        `"10 conn.": autocannon, 10 connections, ${Math.min(settings.duration, 3)} s. "Database time": the execution times of the statements the app sent for the request (bearer check left out) under \`EXPLAIN (ANALYZE, BUFFERS)\`, after the load; CSV sends the same statements.`,
      `- One sync (snapshot insert + latest-metrics upsert + the rollup trigger), rolled back: ${write.summary}.`,
      `- For scale, not sent: the two-year monthly overview computed from the raw snapshots (latest per post, 1,000,000 rows read): **${raw.executionMs.toFixed(0)} ms** (${raw.buffersHit.toLocaleString('en-US')} buffers hit, ${raw.buffersRead.toLocaleString('en-US')} read).`,
      `- Data: ${seededLine}; \`bench/lib/analytics-seed.mjs\`, database \`${name}\` (snapshots UNLOGGED there), ${keep ? 'kept (BENCH_ANALYTICS_KEEP=1)' : 'dropped at the end'}.`,
      machineLine(ctx, { loadBefore, loadAfter }),
      '',
      '<details><summary>Plans (EXPLAIN (ANALYZE, BUFFERS), after the load)</summary>',
      '',
      ...planLines,
      '#### One sync (rolled back)',
      '',
      '```text',
      write.text,
      '```',
      '',
      '#### The overview from raw snapshots (not sent)',
      '',
      '```text',
      raw.text,
      '```',
      '',
      '</details>',
    ].join('\n');
    return {
      markdown,
      summary: { seed, state, results, writeMs: write.executionMs, rawMs: raw.executionMs },
    };
  } finally {
    await client.end().catch(() => undefined);
    for (const app of apps) await app.stop().catch(() => undefined);
    if (!keep) {
      await adminQuery(
        databaseUrl,
        `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`,
      );
      log(`dropped database ${name}`);
    }
  }
}
