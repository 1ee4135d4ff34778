// Authenticated `GET /api/auth/me/`: the built app beside bench/bare-auth-server.mjs, which does
// the same work (bearer HS256 check, the same one query, the same JSON) with node:http and pg.
import { Buffer } from 'node:buffer';
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { request } from './lib/http.mjs';
import { median } from './lib/load.mjs';
import { markdownTable, printTable } from './lib/report.mjs';

export const id = 'auth-me';
export const title = 'Authenticated `GET /api/auth/me/`';
/** The aim: the app serves at least this share of the bare server's requests/s. */
const AIM = 0.7;
const USER_FIELDS = [
  'id',
  'username',
  'email',
  'first_name',
  'last_name',
  'profile',
  'date_joined',
];

async function fetchMe(server, headers) {
  const response = await request(`${server.url}/api/auth/me/`, { headers });
  if (response.status !== 200 || !response.json) {
    throw new Error(`${server.name} answered ${response.status}: ${response.text.slice(0, 300)}`);
  }
  return response;
}

/** Every server answers 200 with the same body, and that body is the user as registered. */
async function checkSameAnswer(servers, headers, expectedUser) {
  const [first, ...others] = servers;
  const reference = await fetchMe(first, headers);
  const keys = Object.keys(reference.json);
  if (!isDeepStrictEqual(keys, USER_FIELDS)) {
    throw new Error(`${first.name}'s body has fields ${keys.join(', ')}, not ${USER_FIELDS}`);
  }
  if (!isDeepStrictEqual(reference.json, expectedUser)) {
    throw new Error(`${first.name}'s /me differs from the registered user: ${reference.text}`);
  }
  for (const server of others) {
    const answer = await fetchMe(server, headers);
    if (answer.text !== reference.text) {
      throw new Error(
        `the bodies differ:\n  ${first.name}: ${reference.text}\n  ${server.name}: ${answer.text}`,
      );
    }
  }
  return Buffer.byteLength(reference.text);
}

const fmt = {
  rps: (value) => Math.round(value).toLocaleString('en-US'),
  ms: (value) => `${value} ms`,
  ratio: (value) => (value === null ? 'n/a' : value.toFixed(2)),
  cpu: (us) => (us === null ? 'n/a' : `${Math.round(us).toLocaleString('en-US')} µs`),
};

const describe = (result) =>
  `${fmt.rps(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
  `${fmt.cpu(result.cpuUs)} CPU/request`;

export async function run(ctx) {
  const { settings, log } = ctx;
  // The second app is the same build with per-request logging on, to write down what logging
  // costs. Both boot at once (the app serialises its migrations).
  const [app, infoApp] = await Promise.all([
    ctx.startApp('auth-me-app'),
    ctx.startApp('auth-me-app-info', { LOG_LEVEL: 'info' }),
  ]);
  log(
    `app serving on ${app.url} (LOG_LEVEL=warn, pid ${app.handle.child.pid}) and ` +
      `${infoApp.url} (LOG_LEVEL=info, pid ${infoApp.handle.child.pid})`,
  );
  const { user, access } = await ctx.registerUser(app);
  const bare = await ctx.startScript('auth-me-bare', 'bench/bare-auth-server.mjs', {
    DATABASE_URL: ctx.databaseUrl,
    JWT_SECRET: ctx.secrets.JWT_SECRET,
    PG_POOL_MAX: String(ctx.poolMax),
    PUBLIC_BASE_URL: 'http://localhost:3000',
  });
  log(
    `bare server serving on ${bare.url} (pid ${bare.handle.child.pid}, ` +
      `pg pool of ${ctx.poolMax} as the app's)`,
  );

  const headers = { authorization: `Bearer ${access}` };
  const servers = [app, bare, infoApp];
  const bodyBytes = await checkSameAnswer(servers, headers, user);
  log(`all answer 200 with the same ${bodyBytes}-byte body`);

  const target = (server) => ({
    url: `${server.url}/api/auth/me/`,
    headers,
    pid: server.handle.child.pid,
  });
  const targets = { bare: target(bare), app: target(app), info: target(infoApp) };
  for (const [name, { url }] of Object.entries(targets)) {
    log(`warming ${name} up for ${settings.warmup} s`);
    await ctx.hit(url, { headers, duration: settings.warmup, title: `${name} warm-up` });
  }
  const { runs, medians } = await ctx.alternate(targets, {
    onRun: (name, round, result) => log(`round ${round} ${name.padEnd(4)}: ${describe(result)}`),
  });
  await checkSameAnswer(servers, headers, user);
  const loadAfter = os.loadavg()[0].toFixed(1);

  // Each round measures the servers one after the other: the ratio within each round, and the
  // median of those, cancel most of what other work on the machine does to all of them.
  const paired = (name, base, figure, invert = false) =>
    runs[name].some((run, i) => !run[figure] || !runs[base][i][figure])
      ? null
      : median(
          runs[name].map((run, i) =>
            invert ? runs[base][i][figure] / run[figure] : run[figure] / runs[base][i][figure],
          ),
        );
  const ratio = paired('app', 'bare', 'rps');
  const cpuRatio = paired('app', 'bare', 'cpuUs', true);
  const p99Ratio = paired('app', 'bare', 'p99');
  const infoRatio = paired('info', 'bare', 'rps');
  const loggingRps = paired('info', 'app', 'rps');
  const loggingCpu = runs.info.some((run, i) => run.cpuUs === null || runs.app[i].cpuUs === null)
    ? null
    : median(runs.info.map((run, i) => run.cpuUs - runs.app[i].cpuUs));
  const verdict = ratio >= AIM ? 'meets' : 'misses';

  const header = ['Server', 'req/s', 'p50', 'p99', 'CPU / request', 'req/s vs bare'];
  const row = (label, figures, versus) => [
    label,
    fmt.rps(figures.rps),
    fmt.ms(figures.p50),
    fmt.ms(figures.p99),
    fmt.cpu(figures.cpuUs),
    versus,
  ];
  const rows = [
    row('bare `node:http` + `pg`', medians.bare, '1'),
    row('**app**, `LOG_LEVEL=warn`', medians.app, `**${fmt.ratio(ratio)}**`),
    row('app, `LOG_LEVEL=info`', medians.info, fmt.ratio(infoRatio)),
  ];
  printTable(
    header,
    rows.map((cells) => cells.map((cell) => cell.replaceAll('`', '').replaceAll('**', ''))),
  );
  log(`ratio app/bare = ${fmt.ratio(ratio)} (aim ≥ ${AIM}: ${verdict} it)`);

  const perRun = (name) => runs[name].map((result) => fmt.rps(result.rps)).join(', ');
  const { machine } = ctx;
  const markdown = [
    `### ${title}`,
    '',
    markdownTable(header, rows),
    '',
    `- **Ratio app/bare: ${fmt.ratio(ratio)}** in requests/s (aim: at least ${AIM}; this run ${verdict} it). ` +
      `Paired the same way, the app's p99 latency is ${fmt.ratio(p99Ratio)}× the bare server's, ` +
      `and by server CPU time per request the app is at ${fmt.ratio(cpuRatio)} of the bare server.`,
    `- Per-request logging (\`LOG_LEVEL=info\`, log written to a file): ` +
      `${fmt.ratio(loggingRps)} of the \`warn\` app's requests/s` +
      (loggingCpu === null ? '.' : `, ${fmt.cpu(loggingCpu)} more CPU per request.`),
    `- Figures are medians of ${settings.rounds} rounds; ratios the median of the rounds' ratios. ` +
      `Each run: ${settings.connections} connections, ${settings.duration} s, after a ${settings.warmup} s warm-up per server. ` +
      `Per-run req/s: bare ${perRun('bare')}; app ${perRun('app')}; app with \`info\` ${perRun('info')}.`,
    `- Machine: ${machine.cpus} CPUs (\`nproc\`, ${machine.cpuModel}), ${machine.memoryGiB} GiB, ` +
      `Node ${machine.node}, PostgreSQL ${ctx.postgresVersion}, ${machine.platform}; ` +
      `run on ${machine.date}, code at ${machine.commit}. Load generator, servers and PostgreSQL share these CPUs; ` +
      `1-minute load average ${machine.loadAverage} before the run, ${loadAfter} after it.`,
  ].join('\n');

  return {
    markdown,
    summary: {
      ratio,
      p99Ratio,
      cpuRatio,
      infoRatio,
      loggingRps,
      loggingCpu,
      medians,
      runs,
      aim: AIM,
      bodyBytes,
    },
  };
}
