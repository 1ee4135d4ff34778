// `GET /api/images/`: a page of 20 of one user's 100,000 images among 1,000,000 rows, the built
// app beside bench/bare-image-list-server.mjs, which does the same work (bearer check, the same
// statements with the same values, the same JSON) with node:http and pg. The data is seeded once
// (bench/lib/image-list-seed.mjs); the SQL the app sends is checked against the bare server's
// each run, through a copy of the app that writes its statements down.
import { Buffer } from 'node:buffer';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { explain } from './lib/explain.mjs';
import { request } from './lib/http.mjs';
import { listStatements, pageQuery, STATS_QUERY, TAG_NAMES_QUERY } from './lib/image-list-sql.mjs';
import {
  OTHER_USERS,
  OWNER_IMAGES,
  OWNER_USERNAME,
  seed,
  seedState,
  TOTAL_IMAGES,
} from './lib/image-list-seed.mjs';
import { pairedRatio } from './lib/load.mjs';
import { fmt, machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'image-list';
export const title = '`GET /api/images/`: a page of 20 of 100,000 images among 1,000,000';

// The owner signs up through the API once and is kept (its images are the seed); only this
// benchmark signs in as it, in the bench database.
const OWNER_PASSWORD = 'Copper-Meadow-Violin-bench-owner-2026';
const PAGE_SIZE = 20;

/** What is measured; the first with the runner's rounds, the others with fewer. */
const SCENARIOS = [
  {
    key: 'page1',
    path: '/api/images/?page=1',
    label: 'page 1',
    description: 'page 1 (the newest 20)',
    status: undefined,
    page: 1,
  },
  {
    key: 'deep',
    path: '/api/images/?page=2000',
    label: 'page 2,000',
    description: 'page 2,000 (`OFFSET 39980`)',
    status: undefined,
    page: 2000,
    // Each request reads about 40,000 heap pages (one per row skipped): with 10 connections,
    // 10 of them fight over shared_buffers and none finishes within a run. Two, one per CPU.
    connections: 2,
  },
  {
    key: 'validated',
    path: '/api/images/?status=validated',
    label: '`status=validated`',
    description: '`status=validated`, page 1',
    status: 'validated',
    page: 1,
  },
];

const describe = (result) =>
  `${fmt.rps(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
  `${fmt.cpu(result.cpuUs)} CPU/request`;

/** The access token's claims (already verified by the servers; here only to know fam and sub). */
const claimsOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

async function get(server, pathAndQuery, headers) {
  const response = await request(`${server.url}${pathAndQuery}`, { headers, timeoutMs: 15_000 });
  if (response.status !== 200 || !response.json) {
    throw new Error(
      `${server.name} answered ${pathAndQuery} with ${response.status}: ${response.text.slice(0, 300)}`,
    );
  }
  return response;
}

/**
 * Every server answers 200 with the same bytes. The media URLs carry an expiry computed from the
 * current second, so the answers are compared only when all were made within one second.
 */
async function checkSameAnswer(servers, scenario, headers) {
  for (let attempt = 1; attempt <= 10; attempt++) {
    if (Date.now() % 1000 > 700) await sleep(1000 - (Date.now() % 1000) + 5);
    const second = Math.floor(Date.now() / 1000);
    const answers = [];
    for (const server of servers) answers.push(await get(server, scenario.path, headers));
    if (Math.floor(Date.now() / 1000) !== second) continue;
    const [reference, ...others] = answers;
    for (const [i, answer] of others.entries()) {
      if (answer.text !== reference.text) {
        throw new Error(
          `${scenario.path}: the bodies differ:\n  ${servers[0].name}: ${reference.text.slice(0, 2000)}\n` +
            `  ${servers[i + 1].name}: ${answer.text.slice(0, 2000)}`,
        );
      }
    }
    return reference;
  }
  throw new Error(`${scenario.path}: could not get the answers within one second`);
}

/** The page's body is what the seed says it should be: a page of 20 of the owner's images. */
function checkPage(scenario, json, stats) {
  const expectedCount = scenario.status ? stats[scenario.status] : stats.total;
  if (json.count !== expectedCount || json.results.length !== PAGE_SIZE) {
    throw new Error(
      `${scenario.path}: count ${json.count} and ${json.results.length} results, ` +
        `expected ${expectedCount} and ${PAGE_SIZE}`,
    );
  }
  if (scenario.status && json.results.some((image) => image.status !== scenario.status)) {
    throw new Error(`${scenario.path}: an image of another status in the page`);
  }
  const tagged = json.results.filter((image) => image.tags.length > 0).length;
  return { tagged };
}

/** The statements a copy of the app sends for one request, written down by sql-capture.mjs. */
async function captureStatements(captureApp, captureFile, scenario, headers) {
  writeFileSync(captureFile, '');
  const response = await get(captureApp, scenario.path, headers);
  // The last statement may still be on its way to the file when the answer is out.
  await sleep(50);
  const captured = readFileSync(captureFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  return { captured, ids: response.json.results.map((image) => image.id) };
}

function checkStatements(scenario, captured, expected) {
  // The counters row and the page are sent together: compare as sets, then the order of the rest.
  const key = (statement) => JSON.stringify([statement.text, statement.values]);
  const sorted = (list) => list.map(key).sort();
  if (!isDeepStrictEqual(sorted(captured), sorted(expected))) {
    const missing = expected.filter((s) => !captured.some((c) => key(c) === key(s)));
    const extra = captured.filter((c) => !expected.some((s) => key(s) === key(c)));
    throw new Error(
      `${scenario.path}: the app sends other SQL than the bare server.\n` +
        `  only the bare server: ${missing.map(key).join('\n    ')}\n` +
        `  only the app: ${extra.map(key).join('\n    ')}`,
    );
  }
  if (key(captured[0]) !== key(expected[0]) || key(captured.at(-1)) !== key(expected.at(-1))) {
    throw new Error(`${scenario.path}: the app sends the same statements in another order`);
  }
}

async function ensureOwnerAndSeed(ctx, app, client) {
  const { log } = ctx;
  let state = await seedState(client);
  if (!state.ownerId) {
    const response = await request(`${app.url}/api/auth/register/`, {
      method: 'POST',
      body: {
        username: OWNER_USERNAME,
        email: `${OWNER_USERNAME}@example.com`,
        password: OWNER_PASSWORD,
        password2: OWNER_PASSWORD,
        first_name: 'Bench',
        last_name: 'Owner',
      },
    });
    if (response.status !== 201) {
      throw new Error(
        `registering ${OWNER_USERNAME} answered ${response.status}: ${response.text}`,
      );
    }
    log(`signed ${OWNER_USERNAME} up through the API (kept for later runs)`);
    state = await seedState(client);
  }
  const seedFile = path.join(ctx.resultsDir, 'image-list-seed.json');
  if (state.seeded) {
    const previous = existsSync(seedFile) ? JSON.parse(readFileSync(seedFile, 'utf8')) : null;
    log(
      `seed already there (marker on ${OWNER_USERNAME}'s profile)` +
        (previous ? `; seeded ${previous.date} in ${previous.seconds.toFixed(1)} s` : ''),
    );
    return { ownerId: state.ownerId, seededNow: false, previous };
  }
  log(
    `seeding ${TOTAL_IMAGES.toLocaleString('en-US')} images (${OWNER_IMAGES.toLocaleString('en-US')} ` +
      `for ${OWNER_USERNAME}, the rest over ${OTHER_USERS} users): once, later runs skip it`,
  );
  const result = await seed(client, state.ownerId, log);
  log(`seeded in ${result.seconds.toFixed(1)} s`);
  const record = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    seconds: result.seconds,
    steps: result.steps,
  };
  writeFileSync(seedFile, `${JSON.stringify(record, null, 2)}\n`);
  const after = await seedState(client);
  if (!after.seeded) throw new Error('the seed is not as expected after seeding');
  return { ownerId: state.ownerId, seededNow: true, previous: record };
}

export async function run(ctx) {
  const { settings, log } = ctx;
  const loadBefore = os.loadavg()[0].toFixed(1);
  const client = new pg.Client({ connectionString: ctx.databaseUrl });
  await client.connect();
  try {
    const app = await ctx.startApp('image-list-app');
    log(`app serving on ${app.url} (LOG_LEVEL=warn, pid ${app.handle.child.pid})`);
    const seedInfo = await ensureOwnerAndSeed(ctx, app, client);
    const { ownerId } = seedInfo;

    // Sessions of earlier runs (signed out at their end) go; this run signs in afresh.
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
    const claims = claimsOf(access);
    const { rows: statsRows } = await client.query(
      'SELECT total, pending, generating, generated, validated, rejected, failed FROM user_image_stats WHERE user_id = $1',
      [ownerId],
    );
    const stats = statsRows[0];

    const captureFile = path.join(ctx.scratch, 'image-list-sql.jsonl');
    const [bare, captureApp] = await Promise.all([
      ctx.startScript('image-list-bare', 'bench/bare-image-list-server.mjs', {
        DATABASE_URL: ctx.databaseUrl,
        JWT_SECRET: ctx.secrets.JWT_SECRET,
        PG_POOL_MAX: String(ctx.poolMax),
        PUBLIC_BASE_URL: 'http://localhost:3000',
      }),
      ctx.startApp('image-list-app-sql', {
        NODE_OPTIONS: `--import=${pathToFileURL(path.join(ctx.root, 'bench/lib/sql-capture.mjs')).href}`,
        BENCH_SQL_CAPTURE: captureFile,
      }),
    ]);
    log(
      `bare server serving on ${bare.url} (pid ${bare.handle.child.pid}, pg pool of ${ctx.poolMax} as the app's); ` +
        `a copy of the app writing its SQL down on ${captureApp.url}`,
    );

    // The same SQL, and the same bytes, for every scenario.
    const checks = {};
    for (const scenario of SCENARIOS) {
      const { captured, ids } = await captureStatements(captureApp, captureFile, scenario, headers);
      const expected = listStatements({
        familyId: claims.fam,
        userId: ownerId,
        status: scenario.status,
        limit: PAGE_SIZE,
        offset: (scenario.page - 1) * PAGE_SIZE,
        imageIds: ids,
      });
      checkStatements(scenario, captured, expected);
      const answer = await checkSameAnswer([app, bare, captureApp], scenario, headers);
      const { tagged } = checkPage(scenario, answer.json, stats);
      checks[scenario.key] = {
        statements: captured.length,
        bodyBytes: Buffer.byteLength(answer.text),
        tagged,
        ids,
      };
      log(
        `${scenario.path}: the app sends the bare server's ${captured.length} statements; ` +
          `all answer 200 with the same ${checks[scenario.key].bodyBytes}-byte body ` +
          `(count ${answer.json.count}, ${tagged} of ${PAGE_SIZE} images tagged)`,
      );
    }
    await captureApp.stop();

    const results = {};
    for (const [index, scenario] of SCENARIOS.entries()) {
      const main = index === 0;
      const rounds = main ? settings.rounds : Math.max(1, Math.round(settings.rounds * 0.4));
      const warmup = main ? settings.warmup : Math.min(settings.warmup, 1);
      const target = (server) => ({
        url: `${server.url}${scenario.path}`,
        headers,
        pid: server.handle.child.pid,
      });
      const targets = { bare: target(bare), app: target(app) };
      const connections = scenario.connections ?? settings.connections;
      for (const [name, { url }] of Object.entries(targets)) {
        log(`${scenario.label}: warming ${name} up for ${warmup} s`);
        await ctx.hit(url, { headers, connections, duration: warmup, title: `${name} warm-up` });
      }
      const { runs, medians } = await ctx.alternate(targets, {
        rounds,
        connections,
        onRun: (name, round, result) =>
          log(`${scenario.label} round ${round} ${name.padEnd(4)}: ${describe(result)}`),
      });
      await checkSameAnswer([app, bare], scenario, headers);
      results[scenario.key] = {
        rounds,
        connections,
        runs,
        medians,
        ratio: pairedRatio(runs, 'app', 'bare', 'rps'),
        p99Ratio: pairedRatio(runs, 'app', 'bare', 'p99'),
        cpuRatio: pairedRatio(runs, 'app', 'bare', 'cpuUs', true),
      };
    }
    const loadAfter = os.loadavg()[0].toFixed(1);

    // The plans, with the values of the requests measured (caches warm from the load).
    const plans = {};
    for (const scenario of SCENARIOS) {
      plans[scenario.key] = await explain(
        client,
        pageQuery({
          status: scenario.status,
          limit: PAGE_SIZE,
          offset: (scenario.page - 1) * PAGE_SIZE,
        }),
        scenario.status ? [ownerId, scenario.status] : [ownerId],
      );
    }
    plans.stats = await explain(client, STATS_QUERY, [ownerId]);
    plans.tags = await explain(client, TAG_NAMES_QUERY, [checks.page1.ids, ownerId]);
    // What the counters spare each list request: counting the owner's rows.
    plans.count = await explain(
      client,
      'SELECT count(*) FROM generated_images WHERE user_id = $1',
      [ownerId],
    );
    // Not what the app sends, for comparison: the same tag names with a nested loop over
    // image_tags' primary key (hash joins off for this one statement).
    await client.query('BEGIN');
    await client.query('SET LOCAL enable_hashjoin = off');
    plans.tagsNestedLoop = await explain(client, TAG_NAMES_QUERY, [checks.page1.ids, ownerId]);
    await client.query('ROLLBACK');
    // ImageGenerationSweep.sweep (worker role, every minute), equivalent to what TypeORM sends.
    plans.sweep = await explain(
      client,
      `SELECT id, user_id, generation FROM generated_images
        WHERE status IN ('pending', 'generating') AND updated_at < now() - interval '60 seconds'
        ORDER BY updated_at ASC LIMIT 200`,
    );
    for (const [name, plan] of Object.entries(plans)) log(`plan ${name}: ${plan.summary}`);

    const logout = await request(`${app.url}/api/auth/logout/`, {
      method: 'POST',
      headers,
      body: { refresh },
    });
    if (logout.status !== 200) log(`logout answered ${logout.status} (the session stays)`);

    // The table.
    const header = ['Request', 'Server', 'req/s', 'p50', 'p99', 'CPU / request', 'req/s vs bare'];
    const rows = [];
    for (const scenario of SCENARIOS) {
      const result = results[scenario.key];
      rows.push([
        scenario.label,
        'bare `node:http` + `pg`',
        fmt.rps(result.medians.bare.rps),
        fmt.ms(Math.round(result.medians.bare.p50)),
        fmt.ms(Math.round(result.medians.bare.p99)),
        fmt.cpu(result.medians.bare.cpuUs),
        '1',
      ]);
      rows.push([
        scenario.label,
        '**app**',
        fmt.rps(result.medians.app.rps),
        fmt.ms(Math.round(result.medians.app.p50)),
        fmt.ms(Math.round(result.medians.app.p99)),
        fmt.cpu(result.medians.app.cpuUs),
        `**${fmt.ratio(result.ratio)}**`,
      ]);
    }
    printTable(
      header,
      rows.map((cells) => cells.map((cell) => cell.replaceAll('`', '').replaceAll('**', ''))),
    );
    for (const scenario of SCENARIOS) {
      log(`${scenario.label}: ratio app/bare = ${fmt.ratio(results[scenario.key].ratio)}`);
    }

    const perRun = (key, name) =>
      results[key].runs[name].map((result) => fmt.rps(result.rps)).join(', ');
    const seedLine = seedInfo.seededNow
      ? `seeded by this run in ${seedInfo.previous.seconds.toFixed(0)} s`
      : seedInfo.previous
        ? `seeded once (${seedInfo.previous.date}, in ${seedInfo.previous.seconds.toFixed(0)} s) and reused`
        : 'seeded by an earlier run and reused';
    const planLine = (label, plan) =>
      `  - ${label}: ${plan.nodes.join(' → ')}; ${plan.buffersHit.toLocaleString('en-US')} buffers hit, ` +
      `${plan.buffersRead.toLocaleString('en-US')} read; ` +
      `**${plan.executionMs.toLocaleString('en-US', { maximumFractionDigits: 2 })} ms**.`;
    const main = results.page1;
    const deepRps = [results.deep.medians.bare.rps, results.deep.medians.app.rps].map(Math.round);
    const deepRange =
      Math.min(...deepRps) === Math.max(...deepRps)
        ? fmt.rps(deepRps[0])
        : `${fmt.rps(Math.min(...deepRps))}–${fmt.rps(Math.max(...deepRps))}`;
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(header, rows),
      '',
      `- **Ratio app/bare, page 1: ${fmt.ratio(main.ratio)}** in requests/s; ` +
        `page 2,000: ${fmt.ratio(results.deep.ratio)}; \`status=validated\`: ${fmt.ratio(results.validated.ratio)}. ` +
        `Paired the same way, the app's p99 latency is ${fmt.ratio(main.p99Ratio)}× the bare server's on page 1 ` +
        `(${fmt.ratio(results.deep.p99Ratio)}×, ${fmt.ratio(results.validated.p99Ratio)}×), and by server CPU time per ` +
        `request the app is at ${fmt.ratio(main.cpuRatio)} of the bare server (${fmt.ratio(results.deep.cpuRatio)}, ` +
        `${fmt.ratio(results.validated.cpuRatio)}). Page 2,000 is bound by PostgreSQL (both servers send the same ` +
        `statement, which reads about 40,000 pages): at ${deepRange} requests/s over ${results.deep.rounds} rounds its ratio says ` +
        `little beyond "the same".`,
      `- Checked first, for each request: the app sends the very statements of the bare server with the same values ` +
        `(${checks.page1.statements} per request: bearer check, counters row, page, tag names); both answer 200 with ` +
        `byte-identical bodies (${checks.page1.bodyBytes.toLocaleString('en-US')}, ` +
        `${checks.deep.bodyBytes.toLocaleString('en-US')} and ${checks.validated.bodyBytes.toLocaleString('en-US')} bytes; ` +
        `${checks.page1.tagged}, ${checks.deep.tagged} and ${checks.validated.tagged} of the 20 images have tags), ` +
        `before and after the measurement.`,
      `- Data: ${TOTAL_IMAGES.toLocaleString('en-US')} images, ${OWNER_IMAGES.toLocaleString('en-US')} of them the ` +
        `bench owner's (${stats.validated.toLocaleString('en-US')} validated), the rest over ${OTHER_USERS} other users; ${seedLine}.`,
      `- Plans (\`EXPLAIN (ANALYZE, BUFFERS)\` after the load, same values):`,
      planLine('page 1', plans.page1),
      planLine('page 2,000', plans.deep),
      planLine('`status=validated`', plans.validated),
      planLine('counters row', plans.stats),
      planLine("page 1's tag names", plans.tags),
      planLine("what the counters spare: `count(*)` of the owner's rows", plans.count),
      planLine(
        "not the app's: page 1's tag names with hash joins off (nested loop over `image_tags`' key)",
        plans.tagsNestedLoop,
      ),
      planLine(
        "the worker's every-minute sweep (`ImageGenerationSweep`, equivalent SQL)",
        plans.sweep,
      ),
      `- Figures are medians of ${settings.rounds} rounds for page 1 and ${results.deep.rounds} for the others; ` +
        `ratios the median of the rounds' ratios. Each run: ${settings.connections} connections ` +
        `(page 2,000: ${results.deep.connections}, see above), ${settings.duration} s, ` +
        `after a warm-up of ${settings.warmup} s (page 1) or ${Math.min(settings.warmup, 1)} s per server. ` +
        `Per-run req/s, page 1: bare ${perRun('page1', 'bare')}; app ${perRun('page1', 'app')}. ` +
        `Page 2,000: bare ${perRun('deep', 'bare')}; app ${perRun('deep', 'app')}. ` +
        `\`status=validated\`: bare ${perRun('validated', 'bare')}; app ${perRun('validated', 'app')}.`,
      machineLine(ctx, { loadBefore, loadAfter }),
    ].join('\n');

    return {
      markdown,
      summary: {
        seed: seedInfo.previous,
        seededNow: seedInfo.seededNow,
        checks,
        results,
        plans,
      },
    };
  } finally {
    await client.end();
  }
}
