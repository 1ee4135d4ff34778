// Every other list of the API, page 1 for an owner of 100,000 rows among 1,000,000: posts,
// history, tags, schedules, a schedule's runs, accounts. Each is measured as the image list is
// (autocannon, alternating rounds), beside the bare `/me` server (bench/bare-auth-server.mjs) as
// the reference in the same rounds; then each statement the app sends for it (written down by a
// copy of the app, bench/lib/sql-capture.mjs) is run under EXPLAIN (ANALYZE, BUFFERS), and the
// largest number of rows any plan node handles says whether a request reads the owner's rows.
// The data is the image-list seed plus bench/lib/lists-seed.mjs, seeded once and reused.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { ensureOwnerAndSeed, OWNER_PASSWORD } from './image-list.bench.mjs';
import { explain } from './lib/explain.mjs';
import { request } from './lib/http.mjs';
import { OWNER_USERNAME } from './lib/image-list-seed.mjs';
import { LISTS_OWNER_ROWS, LISTS_ROWS, listsSeedState, seedLists } from './lib/lists-seed.mjs';
import { pairedRatio } from './lib/load.mjs';
import { fmt, machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'lists';
export const title = 'Every other list: page 1 of 100,000 rows among 1,000,000';

/** A plan node handling more rows than this reads more than a page's worth: a scan. */
const SCAN_ROWS = 1_000;

const LISTS = [
  { key: 'posts', label: 'posts', path: () => '/api/scheduler/posts/', table: 'scheduled_posts' },
  // Filtered by status and platform: counted from user_post_counts (migration PostCountsByStatus).
  {
    key: 'postsFailed',
    label: 'posts, `status=failed`',
    path: () => '/api/scheduler/posts/?status=failed',
    table: 'scheduled_posts',
    where: "status = 'failed'",
    count: LISTS_OWNER_ROWS / 10,
  },
  {
    key: 'postsTiktok',
    label: 'posts, `platform=tiktok`',
    path: () => '/api/scheduler/posts/?platform=tiktok',
    table: 'scheduled_posts',
    where: "platform = 'tiktok'",
    count: LISTS_OWNER_ROWS / 5,
  },
  {
    key: 'postsBoth',
    label: 'posts, both',
    path: () => '/api/scheduler/posts/?status=failed&platform=tiktok',
    table: 'scheduled_posts',
    where: "status = 'failed' AND platform = 'tiktok'",
    count: LISTS_OWNER_ROWS / 50,
  },
  {
    key: 'history',
    label: 'history',
    path: () => '/api/images/history/',
    table: 'image_generation_history',
  },
  { key: 'tags', label: 'tags', path: () => '/api/images/tags/', table: 'image_tags' },
  {
    key: 'schedules',
    label: 'schedules',
    path: () => '/api/scheduler/schedules/',
    table: 'posting_schedules',
  },
  {
    key: 'runs',
    label: "a schedule's runs",
    path: ({ scheduleId }) => `/api/scheduler/schedules/${scheduleId}/runs/`,
    table: 'schedule_runs',
  },
  {
    key: 'accounts',
    label: 'accounts',
    path: () => '/api/scheduler/accounts/',
    table: 'social_accounts',
  },
];

const describe = (result) =>
  `${fmt.rps(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
  `${fmt.cpu(result.cpuUs)} CPU/request`;

/** The largest row count of any node of a plan (actual rows × loops). */
function largestNode(plan) {
  let largest = 0;
  const walk = (node) => {
    largest = Math.max(largest, (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1));
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return largest;
}

async function explainJson(client, text, values) {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, values);
  return rows[0]['QUERY PLAN'][0].Plan;
}

export async function run(ctx) {
  const { settings, log } = ctx;
  const loadBefore = os.loadavg()[0].toFixed(1);
  const client = new pg.Client({ connectionString: ctx.databaseUrl });
  await client.connect();
  try {
    const app = await ctx.startApp('lists-app');
    log(`app serving on ${app.url} (LOG_LEVEL=warn, pid ${app.handle.child.pid})`);
    const { ownerId } = await ensureOwnerAndSeed(ctx, app, client);
    let state = await listsSeedState(client, ownerId);
    const seedFile = path.join(ctx.resultsDir, 'lists-seed.json');
    let seedRecord;
    let seededNow = false;
    if (state.seeded) {
      try {
        seedRecord = JSON.parse(readFileSync(seedFile, 'utf8'));
      } catch {
        seedRecord = null;
      }
      log(
        `lists seed already there${seedRecord ? ` (seeded ${seedRecord.date} in ${seedRecord.seconds.toFixed(0)} s)` : ''}`,
      );
    } else {
      log(
        `seeding ${LISTS_ROWS.toLocaleString('en-US')} rows in each list's table: once, later runs skip it`,
      );
      const result = await seedLists(client, ownerId, log);
      seedRecord = {
        date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        seconds: result.seconds,
        steps: result.steps,
      };
      writeFileSync(seedFile, `${JSON.stringify(seedRecord, null, 2)}\n`);
      seededNow = true;
      log(`seeded in ${result.seconds.toFixed(1)} s`);
      state = await listsSeedState(client, ownerId);
      if (!state.seeded) throw new Error('the lists seed is not as expected after seeding');
    }

    await client.query(
      'DELETE FROM token_families WHERE user_id = $1 AND (revoked_at IS NOT NULL OR expires_at < now())',
      [ownerId],
    );
    const login = await request(`${app.url}/api/auth/login/`, {
      method: 'POST',
      body: { username: OWNER_USERNAME, password: OWNER_PASSWORD },
    });
    if (login.status !== 200 || !login.json?.access) {
      throw new Error(`login answered ${login.status}: ${login.text.slice(0, 300)}`);
    }
    const { access, refresh } = login.json;
    const headers = { authorization: `Bearer ${access}` };

    const captureFile = path.join(ctx.scratch, 'lists-sql.jsonl');
    const [me, captureApp] = await Promise.all([
      ctx.startScript('lists-bare-me', 'bench/bare-auth-server.mjs', {
        DATABASE_URL: ctx.databaseUrl,
        JWT_SECRET: ctx.secrets.JWT_SECRET,
        PG_POOL_MAX: String(ctx.poolMax),
        PUBLIC_BASE_URL: 'http://localhost:3000',
      }),
      ctx.startApp('lists-app-sql', {
        NODE_OPTIONS: `--import=${pathToFileURL(path.join(ctx.root, 'bench/lib/sql-capture.mjs')).href}`,
        BENCH_SQL_CAPTURE: captureFile,
      }),
    ]);

    // Each list: 200, the owner's count, a full page; and the statements it sends.
    const checks = {};
    for (const list of LISTS) {
      const listPath = list.path(state);
      writeFileSync(captureFile, '');
      const response = await request(`${captureApp.url}${listPath}`, {
        headers,
        timeoutMs: 15_000,
      });
      await sleep(50);
      if (response.status !== 200 || !response.json) {
        throw new Error(`${listPath} answered ${response.status}: ${response.text.slice(0, 300)}`);
      }
      const expected = list.key === 'history' ? null : (list.count ?? LISTS_OWNER_ROWS);
      if (
        (expected !== null && response.json.count !== expected) ||
        response.json.results.length !== 20
      ) {
        throw new Error(
          `${listPath}: count ${response.json.count}, ${response.json.results.length} results; expected ${expected} and 20`,
        );
      }
      const statements = readFileSync(captureFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
        // The bearer check (as in auth-me) is not the list's.
        .filter((statement) => !statement.text.includes('"token_families" "family"'));
      checks[list.key] = {
        path: listPath,
        count: response.json.count,
        bytes: Buffer.byteLength(response.text),
        statements,
      };
      log(
        `${listPath}: count ${response.json.count}, ${checks[list.key].bytes} bytes, ${statements.length} statement(s) besides the bearer check`,
      );
    }
    await captureApp.stop();

    const rounds = Math.max(2, Math.round(settings.rounds * 0.4));
    const warmup = Math.min(settings.warmup, 1);
    const results = {};
    for (const list of LISTS) {
      const targets = {
        me: { url: `${me.url}/api/auth/me/`, headers, pid: me.handle.child.pid },
        app: { url: `${app.url}${checks[list.key].path}`, headers, pid: app.handle.child.pid },
      };
      for (const [name, { url }] of Object.entries(targets)) {
        await ctx.hit(url, { headers, duration: warmup, title: `${name} warm-up` });
      }
      const { runs, medians } = await ctx.alternate(targets, {
        rounds,
        onRun: (name, round, result) =>
          log(`${list.label} round ${round} ${name.padEnd(3)}: ${describe(result)}`),
      });
      results[list.key] = {
        runs,
        medians,
        ratio: pairedRatio(runs, 'app', 'me', 'rps'),
      };
    }
    const loadAfter = os.loadavg()[0].toFixed(1);

    // The plans of what the app sent, after the load, and what a count of the owner's rows costs.
    const plans = {};
    for (const list of LISTS) {
      plans[list.key] = [];
      for (const statement of checks[list.key].statements) {
        const plan = await explain(client, statement.text, statement.values);
        const json = await explainJson(client, statement.text, statement.values);
        plans[list.key].push({ ...plan, largest: largestNode(json), sql: statement.text });
      }
      const owner = list.key === 'runs' ? ['schedule_id', state.scheduleId] : ['user_id', ownerId];
      plans[`${list.key}Count`] = await explain(
        client,
        `SELECT count(*) FROM ${list.table} WHERE ${owner[0]} = $1${list.where ? ` AND ${list.where}` : ''}`,
        [owner[1]],
      );
    }
    for (const list of LISTS) {
      for (const plan of plans[list.key])
        log(`plan ${list.key}: largest node ${plan.largest} rows; ${plan.summary}`);
    }

    const logout = await request(`${app.url}/api/auth/logout/`, {
      method: 'POST',
      headers,
      body: { refresh },
    });
    if (logout.status !== 200) log(`logout answered ${logout.status} (the session stays)`);

    const header = [
      'List (page 1)',
      'app req/s',
      'p50',
      'p99',
      'CPU / request',
      'bare `/me` req/s',
      'app vs bare `/me`',
      'statements',
      'largest plan node',
      'database time',
    ];
    const rows = LISTS.map((list) => {
      const result = results[list.key];
      const listPlans = plans[list.key];
      const largest = Math.max(...listPlans.map((plan) => plan.largest));
      const dbMs = listPlans.reduce((sum, plan) => sum + plan.executionMs, 0);
      return [
        `${list.label} (\`${checks[list.key].path.replace(/\d+/, '{id}')}\`)`,
        fmt.rps(result.medians.app.rps),
        fmt.ms(Math.round(result.medians.app.p50)),
        fmt.ms(Math.round(result.medians.app.p99)),
        fmt.cpu(result.medians.app.cpuUs),
        fmt.rps(result.medians.me.rps),
        `**${fmt.ratio(result.ratio)}**`,
        String(listPlans.length),
        `${largest.toLocaleString('en-US')} rows${largest > SCAN_ROWS ? ' (**scan**)' : ''}`,
        `${dbMs.toLocaleString('en-US', { maximumFractionDigits: 2 })} ms`,
      ];
    });
    printTable(
      header,
      rows.map((cells) => cells.map((cell) => cell.replaceAll('`', '').replaceAll('**', ''))),
    );
    const planLines = [];
    for (const list of LISTS) {
      planLines.push(
        `- **${list.label}** (\`GET ${checks[list.key].path.replace(/\d+/, '{id}')}\`, count ${checks[list.key].count.toLocaleString('en-US')}):`,
      );
      for (const plan of plans[list.key]) {
        const sql = plan.sql.length > 160 ? `${plan.sql.slice(0, 157)}…` : plan.sql;
        planLines.push(
          `  - \`${sql.replaceAll('`', "'").replace(/\s+/g, ' ')}\`: ${plan.nodes.join(' → ')}; ` +
            `${plan.buffersHit.toLocaleString('en-US')} buffers hit, ${plan.buffersRead.toLocaleString('en-US')} read; ` +
            `**${plan.executionMs.toLocaleString('en-US', { maximumFractionDigits: 2 })} ms**.`,
        );
      }
      const count = plans[`${list.key}Count`];
      planLines.push(
        `  - not sent: \`count(*)\` of the owner's ${list.where ? 'matching ' : ''}rows: ${count.nodes.join(' → ')}; ` +
          `**${count.executionMs.toLocaleString('en-US', { maximumFractionDigits: 2 })} ms**.`,
      );
    }
    const perRun = (key, name) =>
      results[key].runs[name].map((result) => fmt.rps(result.rps)).join(', ');
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(header, rows),
      '',
      `- Each list's page 1 as the bench owner, who has ${LISTS_OWNER_ROWS.toLocaleString('en-US')} rows of it among ` +
        `${LISTS_ROWS.toLocaleString('en-US')} (the runs: 100,000 of one of the owner's schedules); the history's ` +
        `count is the owner's history (${checks.history.count.toLocaleString('en-US')}). "Largest plan node" is the most rows any node ` +
        `of the list's statements handled (actual rows × loops) under \`EXPLAIN (ANALYZE, BUFFERS)\`: above ` +
        `${SCAN_ROWS.toLocaleString('en-US')} the request reads more than a page's worth of rows; "database time" is their execution times added.`,
      `- The statements are those a copy of the app sent for the request (\`bench/lib/sql-capture.mjs\`), the bearer ` +
        `check left out (it is auth-me's). Plans after the load, same values:`,
      ...planLines,
      `- Data: ${seededNow ? `seeded by this run in ${seedRecord.seconds.toFixed(0)} s` : seedRecord ? `seeded once (${seedRecord.date}, in ${seedRecord.seconds.toFixed(0)} s) and reused` : 'seeded by an earlier run and reused'} ` +
        '(`bench/lib/lists-seed.mjs`, on top of the image-list seed).',
      `- ${rounds} alternating rounds per list, ${settings.connections} connections, ${settings.duration} s each after ` +
        `${warmup} s of warm-up per server; ratios the median of the rounds' ratios. Per-run req/s: ` +
        LISTS.map(
          (list) =>
            `${list.label}: app ${perRun(list.key, 'app')}, bare /me ${perRun(list.key, 'me')}`,
        ).join('; ') +
        '.',
      machineLine(ctx, { loadBefore, loadAfter }),
    ].join('\n');
    return {
      markdown,
      summary: {
        seed: seedRecord,
        results,
        plans,
        checks: Object.fromEntries(
          Object.entries(checks).map(([key, check]) => [
            key,
            { ...check, statements: check.statements.length },
          ]),
        ),
      },
    };
  } finally {
    await client.end();
  }
}
