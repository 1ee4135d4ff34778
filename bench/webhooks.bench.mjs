// Webhooks: 1,000 events fanned out to 10 endpoints (10,000 deliveries), each a signed POST to
// its own loopback receiver, with one worker process: the time from the first delivery created
// to the last one delivered, and deliveries per second. The events are recorded by a process of
// the built app that hands them to the `webhooks` consumer, as the outbox's dispatcher does.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { freePort, startNode, stop, waitForHttp } from './lib/children.mjs';
import { request } from './lib/http.mjs';
import { machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'webhooks';
export const title = 'Webhooks: 1,000 events to 10 endpoints';

const EVENTS = 1000;
const ENDPOINTS = 10;
const DELIVERIES = EVENTS * ENDPOINTS;
const WORKER_CONCURRENCY = Number(process.env.BENCH_WEBHOOK_CONCURRENCY ?? 50);
/** Events recorded at once by the producer (the dispatcher's parallelism). */
const PRODUCER_CONCURRENCY = 10;
/** One request in VERIFY_EVERY is checked with the reference library (it costs the runner CPU). */
const VERIFY_EVERY = 50;

/** A receiver that answers 200 at once, counts webhook-ids and checks a sample of signatures. */
async function startReceiver() {
  const receiver = { ids: new Set(), requests: 0, verified: 0, badSignatures: 0, secret: '' };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      receiver.requests++;
      receiver.ids.add(req.headers['webhook-id']);
      if (receiver.requests % VERIFY_EVERY === 0) {
        try {
          new Webhook(receiver.secret).verify(Buffer.concat(chunks).toString('utf8'), req.headers);
          receiver.verified++;
        } catch {
          receiver.badSignatures++;
        }
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/hooks`;
  receiver.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    });
  return receiver;
}

const TICKS_PER_SECOND = 100;
function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

const ms = (value) => `${Math.round(value).toLocaleString('en-US')} ms`;

export async function run(ctx) {
  const receivers = await Promise.all(Array.from({ length: ENDPOINTS }, startReceiver));
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const appEnv = {
    ...process.env,
    // Not production: the receivers are plain http on loopback (production wants https).
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    DATABASE_URL: ctx.databaseUrl,
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `bench-webhooks-${Date.now()}`,
    MEDIA_ROOT: path.join(ctx.scratch, 'media'),
    PUBLIC_BASE_URL: publicUrl,
    RATE_LIMIT_REGISTER_PER_HOUR: '0',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
    ADMIN_ENABLED: 'false',
    ...ctx.secrets,
  };
  const entry = path.join(ctx.appDist, 'apps/server/src/main.js');
  const api = startNode('webhooks-api', [...ctx.appNodeFlags, entry], {
    cwd: ctx.root,
    env: { ...appEnv, APP_ROLES: 'api', PORT: String(port) },
    logFile: path.join(ctx.resultsDir, 'webhooks-api.log'),
  });
  let worker;
  const db = new pg.Pool({ connectionString: ctx.databaseUrl, max: 2 });
  try {
    await waitForHttp(`${publicUrl}/api/health`, api);
    worker = startNode('webhooks-worker', [...ctx.appNodeFlags, entry], {
      cwd: ctx.root,
      env: { ...appEnv, APP_ROLES: 'worker' },
      logFile: path.join(ctx.resultsDir, 'webhooks-worker.log'),
    });
    await sleep(2500); // a worker process has no HTTP: give it its boot time
    if (worker.exited) throw new Error(`worker exited: see ${worker.logFile}`);
    const { user, access } = await ctx.registerUser({ url: publicUrl });
    const endpointIds = [];
    for (const receiver of receivers) {
      const created = await request(`${publicUrl}/api/webhooks/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access}` },
        body: { url: receiver.url, events: ['post.published'] },
      });
      if (created.status !== 201) throw new Error(`POST /api/webhooks/: ${created.text}`);
      receiver.secret = created.json.secret;
      endpointIds.push(created.json.id);
    }

    const runs = [];
    for (const warm of [false, true]) {
      await db.query('VACUUM (ANALYZE) webhook_deliveries, webhook_endpoints');
      const before = new Date();
      const requestsBefore = receivers.reduce((sum, receiver) => sum + receiver.requests, 0);
      const cpuBefore = processCpuMs(worker.child.pid);
      const loadBefore = os.loadavg()[0].toFixed(1);
      const producer = promisify(execFile)(
        process.execPath,
        [
          path.join(ctx.root, 'bench/lib/webhook-events.mjs'),
          ctx.appDist,
          String(user.id),
          String(EVENTS),
          String(PRODUCER_CONCURRENCY),
        ],
        { cwd: ctx.root, env: { ...appEnv, APP_ROLES: 'api' }, maxBuffer: 1 << 20 },
      );
      const { recordedMs } = JSON.parse((await producer).stdout.trim().split('\n').pop());
      const deadline = Date.now() + 300_000;
      let settled;
      for (;;) {
        const { rows } = await db.query(
          `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
                  count(*) FILTER (WHERE status = 'failed')::int AS failed,
                  count(*)::int AS total,
                  extract(epoch FROM max(delivered_at) - min(created_at)) * 1000 AS span_ms,
                  max(attempts) AS max_attempts
           FROM webhook_deliveries WHERE endpoint_id = ANY($1::int[]) AND created_at >= $2`,
          [endpointIds, before],
        );
        settled = rows[0];
        if (settled.succeeded + settled.failed >= DELIVERIES || Date.now() > deadline) break;
        await sleep(250);
      }
      const cpuMs = processCpuMs(worker.child.pid) - cpuBefore;
      const requests =
        receivers.reduce((sum, receiver) => sum + receiver.requests, 0) - requestsBefore;
      const spanMs = Number(settled.span_ms);
      const result = {
        warm,
        deliveries: settled.total,
        succeeded: settled.succeeded,
        failed: settled.failed,
        requests,
        recordedMs,
        spanMs,
        perSecond: settled.succeeded / (spanMs / 1000),
        workerCpuMsPerDelivery: cpuMs / Math.max(1, settled.succeeded),
        loadBefore,
        loadAfter: os.loadavg()[0].toFixed(1),
      };
      runs.push(result);
      ctx.log(
        `webhooks: ${warm ? 'warm' : 'first after start'}: ${settled.succeeded}/${DELIVERIES} delivered in ${ms(spanMs)} ` +
          `(${Math.round(result.perSecond)} deliveries/s; events recorded in ${ms(recordedMs)}; ` +
          `worker CPU ${result.workerCpuMsPerDelivery.toFixed(2)} ms per delivery; load ${loadBefore} → ${result.loadAfter})`,
      );
    }
    const verified = receivers.reduce((sum, receiver) => sum + receiver.verified, 0);
    const bad = receivers.reduce((sum, receiver) => sum + receiver.badSignatures, 0);
    const distinct = receivers.reduce((sum, receiver) => sum + receiver.ids.size, 0);

    const headers = [
      'Run (1 worker)',
      'Deliveries',
      'Succeeded',
      'Requests received',
      'All delivered within',
      'Deliveries/s',
      'Worker CPU per delivery',
    ];
    const rows = runs.map((run) => [
      run.warm ? 'Warm' : 'First after start',
      String(run.deliveries),
      String(run.succeeded),
      String(run.requests),
      ms(run.spanMs),
      `**${Math.round(run.perSecond).toLocaleString('en-US')}**`,
      `${run.workerCpuMsPerDelivery.toFixed(2)} ms`,
    ]);
    printTable(headers, rows);
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(headers, rows),
      '',
      `- Aim (from the issue): at least 500 deliveries/s per worker.`,
      `- ${EVENTS.toLocaleString('en-US')} \`post.published\` events for one user with ${ENDPOINTS} endpoints, each on its own loopback receiver in the runner's process, answering 204 at once. The events are handed to the \`webhooks\` consumer ${PRODUCER_CONCURRENCY} at a time by a separate process of the built app (as the outbox's dispatcher will), recorded in ${runs.map((run) => ms(run.recordedMs)).join(' and ')}; delivery starts as soon as the first one is recorded.`,
      `- "All delivered within": from the first delivery row created to the last \`delivered_at\`; deliveries/s is the succeeded ones over that time. One worker process (\`APP_ROLES=worker\`), ${WORKER_CONCURRENCY} deliveries at once (\`WEBHOOK_WORKER_CONCURRENCY\`): each is a claim (one UPDATE), a DNS check of the URL, the HMAC, the POST on a keep-alive connection, and the outcome (one UPDATE), as one Bull job.`,
      `- Receivers counted ${distinct.toLocaleString('en-US')} distinct (endpoint, webhook-id) pairs over both runs (${(DELIVERIES * runs.length).toLocaleString('en-US')} expected: none twice); one request in ${VERIFY_EVERY} was verified with \`standardwebhooks\`: ${verified} accepted, ${bad} refused.`,
      `- Worker CPU per delivery: user + system time of the worker process from /proc over the run, divided by the deliveries. At ${runs[runs.length - 1].workerCpuMsPerDelivery.toFixed(2)} ms (warm), the worker alone could deliver about ${Math.round(1000 / runs[runs.length - 1].workerCpuMsPerDelivery).toLocaleString('en-US')}/s on one CPU of its own; the wall-clock rate above also pays PostgreSQL, Redis and the receivers on the same CPUs, and whatever else the machine runs (see the load average).`,
      `- Load average per run (1 minute, before → after): ${runs.map((run) => `${run.warm ? 'warm' : 'first'} ${run.loadBefore} → ${run.loadAfter}`).join('; ')}.`,
      machineLine(ctx, {
        loadBefore: ctx.machine.loadAverage,
        loadAfter: os.loadavg()[0].toFixed(1),
      }),
    ].join('\n');
    return { markdown, summary: { runs, verified, badSignatures: bad, distinct } };
  } finally {
    await db.end();
    if (worker) await stop(worker);
    await stop(api);
    await Promise.all(receivers.map((receiver) => receiver.close()));
  }
}
