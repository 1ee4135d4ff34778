// `GET /api/images/`: a page of 20 of one user's 100,000 images among 1,000,000 rows, the built
// app beside two bare servers (bench/bare-image-list-server.mjs): the yardstick, the best plain
// implementation of the same answer (one hand-written statement), and a copy of the app's own
// statements; and beside the bare /me server (bench/bare-auth-server.mjs), the reference
// (aim: the app's page 1 at 0.5 of its req/s). The data is seeded once
// (bench/lib/image-list-seed.mjs); the SQL the app sends is checked against the copy's each run,
// through a copy of the app that writes its statements down.
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
import { appListStatement, bestListStatement, listStatements } from './lib/image-list-sql.mjs';
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
export const OWNER_PASSWORD = 'Copper-Meadow-Violin-bench-owner-2026';
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
  {
    key: 'tag',
    path: '/api/images/?tags=sea',
    label: '`tags=sea`',
    description: '`tags=sea`, page 1',
    tags: ['sea'],
    page: 1,
  },
];

/** The servers, in the table's order; `me` is measured with page 1 only. */
const SERVERS = [
  ['me', 'bare `/api/auth/me/` (reference)'],
  ['best', 'bare, best SQL (yardstick)'],
  ['copy', "bare, the app's SQL"],
  ['app', '**app**'],
  ['cold', 'app, `IMAGE_LIST_CACHE_MB=0`'],
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
  const expectedCount = scenario.tags
    ? stats.tagged
    : scenario.status
      ? stats[scenario.status]
      : stats.total;
  if (json.count !== expectedCount || json.results.length !== PAGE_SIZE) {
    throw new Error(
      `${scenario.path}: count ${json.count} and ${json.results.length} results, ` +
        `expected ${expectedCount} and ${PAGE_SIZE}`,
    );
  }
  if (scenario.status && json.results.some((image) => image.status !== scenario.status)) {
    throw new Error(`${scenario.path}: an image of another status in the page`);
  }
  if (scenario.tags && json.results.some((image) => !image.tags.includes(scenario.tags[0]))) {
    throw new Error(`${scenario.path}: an image without the tag in the page`);
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

export async function ensureOwnerAndSeed(ctx, app, client) {
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
    // What the tag filter's count must say: the owner's images carrying `sea`.
    const { rows: taggedRows } = await client.query(
      `SELECT count(*)::int AS n FROM generated_image_tags link JOIN image_tags tag ON tag.id = link.tag_id
        WHERE tag.user_id = $1 AND tag.name = 'sea'`,
      [ownerId],
    );
    stats.tagged = taggedRows[0].n;

    const captureFile = path.join(ctx.scratch, 'image-list-sql.jsonl');
    const bareEnv = {
      DATABASE_URL: ctx.databaseUrl,
      JWT_SECRET: ctx.secrets.JWT_SECRET,
      PG_POOL_MAX: String(ctx.poolMax),
      PUBLIC_BASE_URL: 'http://localhost:3000',
    };
    const [best, copy, me, cold, captureApp] = await Promise.all([
      ctx.startScript('image-list-bare-best', 'bench/bare-image-list-server.mjs', {
        ...bareEnv,
        BARE_LIST_MODE: 'best',
      }),
      ctx.startScript('image-list-bare-copy', 'bench/bare-image-list-server.mjs', {
        ...bareEnv,
        BARE_LIST_MODE: 'copy',
      }),
      ctx.startScript('image-list-bare-me', 'bench/bare-auth-server.mjs', bareEnv),
      // The app without its list cache (ImageListCache): what a page costs when it is not kept.
      ctx.startApp('image-list-app-cold', { IMAGE_LIST_CACHE_MB: '0' }),
      ctx.startApp('image-list-app-sql', {
        NODE_OPTIONS: `--import=${pathToFileURL(path.join(ctx.root, 'bench/lib/sql-capture.mjs')).href}`,
        BENCH_SQL_CAPTURE: captureFile,
      }),
    ]);
    log(
      `bare servers: best SQL on ${best.url} (pid ${best.handle.child.pid}), the app's SQL on ${copy.url} ` +
        `(pid ${copy.handle.child.pid}), /me on ${me.url} (pid ${me.handle.child.pid}); pg pools of ` +
        `${ctx.poolMax} as the app's; the app without its list cache on ${cold.url}; a copy of the ` +
        `app writing its SQL down on ${captureApp.url}`,
    );

    // The same SQL (the app and the copy), and the same bytes (all), for every scenario.
    const checks = {};
    for (const scenario of SCENARIOS) {
      const { captured, ids } = await captureStatements(captureApp, captureFile, scenario, headers);
      const expected = listStatements({
        familyId: claims.fam,
        userId: ownerId,
        status: scenario.status,
        tags: scenario.tags,
        limit: PAGE_SIZE,
        offset: (scenario.page - 1) * PAGE_SIZE,
      });
      checkStatements(scenario, captured, expected);
      const answer = await checkSameAnswer([app, best, copy, cold, captureApp], scenario, headers);
      const { tagged } = checkPage(scenario, answer.json, stats);
      checks[scenario.key] = {
        statements: captured.length,
        bodyBytes: Buffer.byteLength(answer.text),
        tagged,
        ids,
      };
      log(
        `${scenario.path}: the app sends the copy's ${captured.length} statements; ` +
          `all answer 200 with the same ${checks[scenario.key].bodyBytes}-byte body ` +
          `(count ${answer.json.count}, ${tagged} of ${PAGE_SIZE} images tagged)`,
      );
    }
    await captureApp.stop();
    const meAnswer = await get(me, '/api/auth/me/', headers);
    if (meAnswer.json.username !== OWNER_USERNAME) throw new Error('bare /me: another user');

    const results = {};
    for (const [index, scenario] of SCENARIOS.entries()) {
      const main = index === 0;
      const rounds = main ? settings.rounds : Math.max(1, Math.round(settings.rounds * 0.4));
      const warmup = main ? settings.warmup : Math.min(settings.warmup, 1);
      const target = (server, pathAndQuery = scenario.path) => ({
        url: `${server.url}${pathAndQuery}`,
        headers,
        pid: server.handle.child.pid,
      });
      const targets = main
        ? {
            me: target(me, '/api/auth/me/'),
            best: target(best),
            copy: target(copy),
            app: target(app),
            cold: target(cold),
          }
        : { best: target(best), copy: target(copy), app: target(app), cold: target(cold) };
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
      await checkSameAnswer([app, best, copy, cold], scenario, headers);
      const vs = (name, base, figure, invert) => pairedRatio(runs, name, base, figure, invert);
      results[scenario.key] = {
        rounds,
        connections,
        runs,
        medians,
        ratios: Object.fromEntries(
          Object.keys(targets).map((name) => [
            name,
            {
              best: vs(name, 'best', 'rps'),
              me: main ? vs(name, 'me', 'rps') : null,
              p99: vs(name, 'best', 'p99'),
              cpu: vs(name, 'best', 'cpuUs', true),
            },
          ]),
        ),
      };
    }
    const loadAfter = os.loadavg()[0].toFixed(1);

    // The plans, with the values of the requests measured (caches warm from the load).
    const plans = {};
    for (const scenario of SCENARIOS) {
      const window = {
        userId: ownerId,
        familyId: claims.fam,
        status: scenario.status,
        tags: scenario.tags,
        limit: PAGE_SIZE,
        offset: (scenario.page - 1) * PAGE_SIZE,
      };
      const app = appListStatement(window);
      plans[scenario.key] = await explain(client, app.text, app.values);
      const bestSql = bestListStatement(window);
      plans[`${scenario.key}Best`] = await explain(client, bestSql.text, bestSql.values);
    }
    // What the counters spare each list request: counting the owner's rows.
    plans.count = await explain(
      client,
      'SELECT count(*) FROM generated_images WHERE user_id = $1',
      [ownerId],
    );
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
    const header = [
      'Request',
      'Server',
      'req/s',
      'p50',
      'p99',
      'CPU / request',
      'req/s vs best bare',
      'req/s vs bare /me',
    ];
    const rows = [];
    for (const scenario of SCENARIOS) {
      const result = results[scenario.key];
      for (const [name, label] of SERVERS) {
        if (!result.medians[name]) continue;
        const ratio = result.ratios[name];
        const bold = (text) => (name === 'app' ? `**${text}**` : text);
        rows.push([
          name === 'me' ? '`/api/auth/me/`' : scenario.label,
          label,
          fmt.rps(result.medians[name].rps),
          fmt.ms(Math.round(result.medians[name].p50)),
          fmt.ms(Math.round(result.medians[name].p99)),
          fmt.cpu(result.medians[name].cpuUs),
          name === 'me' ? '' : bold(fmt.ratio(ratio.best)),
          ratio.me === null ? '' : bold(fmt.ratio(ratio.me)),
        ]);
      }
    }
    printTable(
      header,
      rows.map((cells) => cells.map((cell) => cell.replaceAll('`', '').replaceAll('**', ''))),
    );
    const page1 = results.page1;
    log(
      `page 1: app/bare /me = ${fmt.ratio(page1.ratios.app.me)}, app/best = ${fmt.ratio(page1.ratios.app.best)}, ` +
        `best/bare /me = ${fmt.ratio(page1.ratios.best.me)}`,
    );

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
    const r = (key, name, base) => fmt.ratio(results[key].ratios[name][base]);
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(header, rows),
      '',
      `- **Page 1: the app at ${fmt.ratio(page1.ratios.app.me)} of the bare \`/me\` server's requests/s** ` +
        `(aim: at least 0.5; ${page1.ratios.app.me >= 0.5 ? 'met' : 'not met'} in this run), and at ` +
        `${r('page1', 'app', 'best')} of the best bare list (which is at ${r('page1', 'best', 'me')} of bare \`/me\`). ` +
        `Against the best bare list, page 2,000: ${r('deep', 'app', 'best')}; \`status=validated\`: ` +
        `${r('validated', 'app', 'best')}; \`tags=sea\`: ${r('tag', 'app', 'best')}. The copy of the app's SQL ` +
        `on a bare server: ${r('page1', 'copy', 'best')}, ${r('deep', 'copy', 'best')}, ${r('validated', 'copy', 'best')}, ` +
        `${r('tag', 'copy', 'best')}. By server CPU time per request the app is at ` +
        `${fmt.ratio(page1.ratios.app.cpu)} of the best bare list on page 1; its p99 is ` +
        `${fmt.ratio(page1.ratios.app.p99)}× the best's. ` +
        `The app answers these from memory (\`ImageListCache\`: the requests repeat and nothing changes); ` +
        `without its cache (\`IMAGE_LIST_CACHE_MB=0\`, every request runs the list's statement) page 1 is at ` +
        `${r('page1', 'cold', 'me')} of bare \`/me\` and ${r('page1', 'cold', 'best')} of the best bare list; page 2,000: ` +
        `${r('deep', 'cold', 'best')}; \`status=validated\`: ${r('validated', 'cold', 'best')}; \`tags=sea\`: ${r('tag', 'cold', 'best')}.`,
      `- Checked first, for each request: the app sends the very statements of the copy with the same values ` +
        `(${checks.page1.statements} for a page it has not kept: the bearer check, with the list's version, then the ` +
        `list's one statement; for a kept page, the bearer check alone); the app, its copy without the cache, ` +
        `both bare list servers and the capturing copy answer 200 with byte-identical bodies ` +
        `(${SCENARIOS.map((scenario) => checks[scenario.key].bodyBytes.toLocaleString('en-US')).join(', ')} bytes; ` +
        `${SCENARIOS.map((scenario) => checks[scenario.key].tagged).join(', ')} of the 20 images have tags), ` +
        `before and after the measurement.`,
      `- Data: ${TOTAL_IMAGES.toLocaleString('en-US')} images, ${OWNER_IMAGES.toLocaleString('en-US')} of them the ` +
        `bench owner's (${stats.validated.toLocaleString('en-US')} validated, ${stats.tagged.toLocaleString('en-US')} tagged \`sea\`), ` +
        `the rest over ${OTHER_USERS} other users; ${seedLine}.`,
      `- Plans (\`EXPLAIN (ANALYZE, BUFFERS)\` after the load, same values):`,
      planLine("page 1, the app's statement", plans.page1),
      planLine('page 1, the best statement (bearer check included)', plans.page1Best),
      planLine("page 2,000, the app's statement", plans.deep),
      planLine('page 2,000, the best statement', plans.deepBest),
      planLine("`status=validated`, the app's statement", plans.validated),
      planLine('`status=validated`, the best statement', plans.validatedBest),
      planLine("`tags=sea`, the app's statement (its count counted)", plans.tag),
      planLine('`tags=sea`, the best statement (count from the links)', plans.tagBest),
      planLine("what the counters spare: `count(*)` of the owner's rows", plans.count),
      planLine(
        "the worker's every-minute sweep (`ImageGenerationSweep`, equivalent SQL)",
        plans.sweep,
      ),
      `- Figures are medians of ${settings.rounds} rounds for page 1 and ${results.deep.rounds} for the others; ` +
        `ratios the median of the rounds' ratios. Each run: ${settings.connections} connections ` +
        `(page 2,000: ${results.deep.connections}), ${settings.duration} s, ` +
        `after a warm-up of ${settings.warmup} s (page 1) or ${Math.min(settings.warmup, 1)} s per server. ` +
        `Per-run req/s, page 1: bare /me ${perRun('page1', 'me')}; best ${perRun('page1', 'best')}; ` +
        `copy ${perRun('page1', 'copy')}; app ${perRun('page1', 'app')}; without the cache ${perRun('page1', 'cold')}. ` +
        SCENARIOS.slice(1)
          .map(
            (scenario) =>
              `${scenario.label}: best ${perRun(scenario.key, 'best')}; copy ${perRun(scenario.key, 'copy')}; app ${perRun(scenario.key, 'app')}; without the cache ${perRun(scenario.key, 'cold')}.`,
          )
          .join(' '),
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
