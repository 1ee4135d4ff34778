// Scale-out: generation and publishing throughput with one worker process, then two, in the same
// run, on the several-machine layout (docs/deployment.md): an `api` process, separate `worker`
// processes, media in an S3-compatible store (s3rver, in this runner), nothing shared but
// PostgreSQL, Redis and the store. Generation: 120 images (local provider, 512×512) asked at once
// by 12 users; publishing: 600 Facebook posts due at the same second (the tests' Graph fake, which
// fetches each signed image URL from the api, which reads it from the store). Each is measured
// from the first request (or the due second) to the last row done, with the CPU time of the
// machine and of each worker read from /proc.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import S3rver from 's3rver';
import { freePort, startNode, stop, waitForHttp } from './lib/children.mjs';
import { request } from './lib/http.mjs';
import { machineLine, markdownTable, printTable } from './lib/report.mjs';
import { loadGraphFake, machineBusyMs, processCpuMs } from './publishing.bench.mjs';

export const id = 'scale-out';
export const title = 'Scale-out: one worker process against two';

const USERS = 12;
const IMAGES_PER_USER = 10;
const POSTS = 600;

export async function run(ctx) {
  const loadBefore = os.loadavg()[0].toFixed(1);
  const storeDir = mkdtempSync(path.join(os.tmpdir(), 'bench-s3-'));
  const store = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: storeDir,
    vhostBuckets: false,
    configureBuckets: [{ name: 'media' }],
  });
  const { port: storePort } = await store.run();
  const fake = await (await loadGraphFake(ctx)).start();
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: ctx.databaseUrl,
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `bench-scale-${Date.now()}`,
    PUBLIC_BASE_URL: publicUrl,
    FACEBOOK_GRAPH_URL: fake.graphUrl,
    IMAGE_PROVIDER: 'local',
    IMAGE_MAX_ACTIVE_PER_USER: String(IMAGES_PER_USER),
    MEDIA_STORAGE: 's3',
    S3_ENDPOINT: `http://127.0.0.1:${storePort}`,
    S3_BUCKET: 'media',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    ...ctx.secrets,
  };
  const entry = path.join(ctx.appDist, 'apps/server/src/main.js');
  const roots = [];
  const node = (name, roles, extra = {}) => {
    const mediaRoot = mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
    roots.push(mediaRoot);
    return startNode(name, [...ctx.appNodeFlags, entry], {
      cwd: ctx.root,
      env: { ...env, APP_ROLES: roles, MEDIA_ROOT: mediaRoot, ...extra },
      logFile: path.join(ctx.resultsDir, `${name}.log`),
    });
  };
  const db = new pg.Pool({ connectionString: ctx.databaseUrl, max: 2 });
  const api = node('scale-api', 'api', { PORT: String(port), ADMIN_ENABLED: 'false' });
  const results = [];
  try {
    await waitForHttp(`${publicUrl}/api/health`, api);
    const call = async (access, method, url, body) => {
      const response = await request(`${publicUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${access}` },
        body,
        timeoutMs: 30_000,
      });
      if (response.status >= 300)
        throw new Error(`${method} ${url}: ${response.status} ${response.text.slice(0, 300)}`);
      return response.json;
    };
    const users = [];
    for (let i = 0; i < USERS; i++) users.push(await ctx.registerUser({ url: publicUrl }));
    for (const user of users)
      await call(user.access, 'PATCH', '/api/auth/profile/', { auto_validate_images: true });

    const startWorkers = async (count) => {
      const workers = Array.from({ length: count }, (_, index) =>
        node(`scale-worker-${count}-${index + 1}`, 'worker'),
      );
      for (;;) {
        if (workers.some((worker) => worker.exited)) throw new Error('a worker exited');
        if (
          workers.every((worker) =>
            readFileSync(worker.logFile, 'utf8').includes('Running roles worker'),
          )
        )
          return workers;
        await sleep(100);
      }
    };
    const cpuOf = (workers) => workers.map((worker) => processCpuMs(worker.child.pid) ?? 0);

    /** Waits until `sql` (a count of what is left) answers 0; the elapsed ms since `from`. */
    const until = async (sql, values, from, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await db.query(sql, values);
        if (rows[0].left === 0) return Date.now() - from;
        if (Date.now() > deadline) throw new Error(`${rows[0].left} left after ${timeoutMs} ms`);
        await sleep(50);
      }
    };

    let image;
    let account;
    for (const count of [1, 2]) {
      const workers = await startWorkers(count);
      await sleep(1000);
      // Generation.
      let before = { machine: machineBusyMs(), workers: cpuOf(workers) };
      const started = Date.now();
      const created = await Promise.all(
        users.flatMap((user) =>
          Array.from({ length: IMAGES_PER_USER }, (_, index) =>
            call(user.access, 'POST', '/api/images/generate/', {
              prompt: `Scale-out ${count} ${index}`,
              width: 512,
              height: 512,
            }).then((answer) => answer.image.id),
          ),
        ),
      );
      const generationMs = await until(
        `SELECT count(*)::int AS left FROM generated_images
         WHERE id = ANY($1::int[]) AND status NOT IN ('generated', 'validated', 'failed')`,
        [created],
        started,
        300_000,
      );
      const { rows: failedImages } = await db.query(
        `SELECT count(*)::int AS n FROM generated_images WHERE id = ANY($1::int[]) AND status = 'failed'`,
        [created],
      );
      let after = { machine: machineBusyMs(), workers: cpuOf(workers) };
      results.push({
        kind: 'generation',
        workers: count,
        items: created.length,
        failed: failedImages[0].n,
        ms: generationMs,
        perSecond: (created.length * 1000) / generationMs,
        machineBusy: (after.machine - before.machine) / generationMs,
        workerCpuMs: after.workers.map((end, i) => end - before.workers[i]),
      });
      ctx.log(
        `scale-out: ${count} worker(s): ${created.length} images in ${generationMs} ms (${failedImages[0].n} failed)`,
      );

      // Publishing.
      const owner = users[0];
      image ??= created[0];
      account ??= await call(owner.access, 'POST', '/api/scheduler/accounts/', {
        platform: 'facebook',
        account_id: fake.pageId,
        access_token: fake.token,
        display_name: 'Bench page',
      });
      const due = new Date(Math.ceil((Date.now() + 15_000) / 1000) * 1000);
      const ids = [];
      for (let start = 0; start < POSTS; start += 20) {
        const batch = Array.from({ length: Math.min(20, POSTS - start) }, (_, index) =>
          call(owner.access, 'POST', '/api/scheduler/schedule/', {
            image,
            platform: 'facebook',
            account: account.id,
            caption: `Scale-out ${count} ${start + index}`,
            scheduled_time: due.toISOString(),
          }).then((answer) => answer.post.id),
        );
        ids.push(...(await Promise.all(batch)));
      }
      if (Date.now() > due.getTime()) throw new Error('scheduling took longer than the lead time');
      await sleep(due.getTime() - Date.now());
      before = { machine: machineBusyMs(), workers: cpuOf(workers) };
      const publishMs = await until(
        `SELECT count(*)::int AS left FROM scheduled_posts
         WHERE id = ANY($1::int[]) AND status IN ('scheduled', 'processing')`,
        [ids],
        due.getTime(),
        300_000,
      );
      after = { machine: machineBusyMs(), workers: cpuOf(workers) };
      const { rows: posted } = await db.query(
        `SELECT count(*)::int AS n FROM scheduled_posts WHERE id = ANY($1::int[]) AND status = 'posted'`,
        [ids],
      );
      results.push({
        kind: 'publishing',
        workers: count,
        items: ids.length,
        failed: ids.length - posted[0].n,
        ms: publishMs,
        perSecond: (ids.length * 1000) / publishMs,
        machineBusy: (after.machine - before.machine) / publishMs,
        workerCpuMs: after.workers.map((end, i) => end - before.workers[i]),
      });
      ctx.log(`scale-out: ${count} worker(s): ${ids.length} posts in ${publishMs} ms`);
      await Promise.all(workers.map((worker) => stop(worker)));
    }
  } finally {
    await stop(api);
    await db.end();
    await fake.close();
    await store.close();
    rmSync(storeDir, { recursive: true, force: true });
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  }

  const header = [
    'Work',
    'Worker processes',
    'Items',
    'Failed',
    'All done within',
    'Per second',
    'Speed-up',
    'Machine CPUs busy',
    'Worker CPU per item',
  ];
  const rows = results.map((result) => {
    const single = results.find((r) => r.kind === result.kind && r.workers === 1);
    const cpu = result.workerCpuMs.reduce((sum, value) => sum + value, 0) / result.items;
    return [
      result.kind,
      String(result.workers),
      String(result.items),
      String(result.failed),
      `${result.ms.toLocaleString('en-US')} ms`,
      `**${result.perSecond.toFixed(1)}**`,
      result.workers === 1 ? '' : `×${(result.perSecond / single.perSecond).toFixed(2)}`,
      `${result.machineBusy.toFixed(2)} of ${os.cpus().length}`,
      `${cpu.toFixed(1)} ms`,
    ];
  });
  printTable(header, rows);
  const loadAfter = os.loadavg()[0].toFixed(1);
  const markdown = [
    `### ${title}`,
    '',
    markdownTable(header, rows),
    '',
    '- Aim (issue 18): two worker processes at least 1.7× one, where the CPUs allow it. "Machine CPUs busy" says whether they do: when the one-worker run already keeps every CPU of the machine busy (the worker, the api, PostgreSQL, Redis, the store and the fake all share them), a second worker process has no CPU to run on, and the speed-up measures the machine, not the design.',
    `- Generation: ${USERS} users ask ${IMAGES_PER_USER} images each at once (512×512, \`IMAGE_PROVIDER=local\`: drawn by sharp, so CPU-bound); each worker runs 4 jobs at once (\`IMAGE_WORKER_CONCURRENCY\` default). From the first POST to the last image out of \`pending\`/\`generating\`.`,
    `- Publishing: ${POSTS} Facebook page posts due at the same second, one user; each worker runs 50 at once (\`PUBLISH_WORKER_CONCURRENCY\` default). From the due second to the last post settled. The Graph fake fetches each image through the api's signed URL, which reads it from the store.`,
    '- Layout: one `api` process, then one or two `worker` processes, each with an empty `MEDIA_ROOT` of its own; `MEDIA_STORAGE=s3` against s3rver in the runner process. Worker CPU per item: user + system time of the worker processes from /proc over the run, divided by the items.',
    machineLine(ctx, { loadBefore, loadAfter }),
  ].join('\n');
  return { markdown, summary: { results } };
}
