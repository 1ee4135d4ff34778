// Image generation with the `local` provider, 1024×1024, through the built app running the api
// and worker roles in one process: `POST /api/images/generate/`, then Bull on Redis, the worker's
// claim, the provider, the header check, the three renditions, four files, the commit. What it
// costs beyond the provider itself, and how many images a second the process turns out.
//
// Timings per image:
//   - end to end, from the client: just before the POST until a poller sees the row generated.
//     The poller reads the rows in flight from PostgreSQL directly every POLL_MS (not through the
//     API, so that polling costs the app nothing), so this is late by at most POLL_MS plus a query;
//   - from the row itself: created_at (the POST's transaction), updated_at as the worker moves the
//     row on (TypeORM sets it to CURRENT_TIMESTAMP at each update: the claim at progress 10, after
//     the provider and the header check at progress 70, the completion), read by the poller while
//     each state lasts; generation_time as the worker recorded it;
//   - the provider and renderImage alone, in this process, from the same build (LocalProvider
//     generate(), assertImage, renderImage), on the same prompts, before the app starts.
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { request } from './lib/http.mjs';
import { cpuSeconds, median, percentile } from './lib/load.mjs';
import { fmt, machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'image-generation';
export const title = 'Image generation, `local` provider, 1024×1024';

const SIZE = 1024;
const STYLE = 'realistic';
const WARMUP_IMAGES = 3;
const SEQUENTIAL_IMAGES = 30;
const CLIENTS = 8;
const PER_CLIENT = 4;
const POLL_MS = 10;
const subjects = [
  'a lighthouse on a cliff at dawn',
  'a red fox in fresh snow',
  'an old sailing ship in a storm',
  'a mountain cabin under the stars',
  'a koi pond in autumn',
];
const promptOf = (n) => `Bench image ${n}: ${subjects[n % subjects.length]}`;

/** The worker concurrency the app uses when IMAGE_WORKER_CONCURRENCY is not set. */
function defaultWorkerConcurrency(root) {
  const source = readFileSync(path.join(root, 'libs/common/src/config/load-config.ts'), 'utf8');
  const match = /integer\('IMAGE_WORKER_CONCURRENCY',\s*(\d+)/.exec(source);
  return match ? Number(match[1]) : null;
}

const wallNow = () => performance.timeOrigin + performance.now();

/** Times `fn` in wall-clock ms and this process's CPU ms (every thread: libvips' too). */
async function timed(fn) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { value, ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

/** The provider, the header check and the renditions alone, from the build, in this process. */
async function measureInProcess(ctx, prompts) {
  const module = (file) =>
    import(pathToFileURL(path.join(ctx.appDist, 'apps/server/src/images', file)).href);
  const [{ LocalProvider }, { renderImage }, { assertImage }, { promptWithStyle }] =
    await Promise.all([
      module('providers/local.provider.js'),
      module('image-renditions.js'),
      module('image-download.js'),
      module('style-prompts.js'),
    ]);
  // IMAGE_MAX_PIXELS's default; builds from before the limit ignore the extra argument.
  const maxPixels = 40_000_000;
  const provider = new LocalProvider(maxPixels);
  const one = async (prompt) => {
    const generated = await timed(() =>
      provider.generate(
        {
          prompt: promptWithStyle(prompt, STYLE),
          negativePrompt: '',
          width: SIZE,
          height: SIZE,
          quality: 'standard',
          style: STYLE,
        },
        AbortSignal.timeout(120_000),
      ),
    );
    const bytes = generated.value.bytes;
    const checked = await timed(() => assertImage(bytes, maxPixels));
    const rendered = await timed(() => renderImage(bytes, SIZE, SIZE, maxPixels));
    return {
      provider: generated.ms,
      providerCpu: generated.cpuMs,
      check: checked.ms,
      render: rendered.ms,
      renderCpu: rendered.cpuMs,
      pngBytes: bytes.length,
    };
  };
  for (let n = 1; n <= WARMUP_IMAGES; n++) await one(`Warm-up ${n}: a quiet harbour`);
  const samples = [];
  for (const prompt of prompts) samples.push(await one(prompt));
  return samples;
}

/**
 * Reads the rows in flight every POLL_MS and notes, for each image, every state seen (status and
 * progress) with the row's updated_at, until it is generated.
 */
function startPoller(client) {
  const watched = new Map();
  let running = true;
  let polls = 0;
  let failure = null;
  const loop = (async () => {
    while (running) {
      if (watched.size > 0) {
        const { rows } = await client.query(
          `SELECT id, status, progress, generation_time,
                  extract(epoch FROM created_at)::float8 * 1000 AS created_ms,
                  extract(epoch FROM updated_at)::float8 * 1000 AS updated_ms
             FROM generated_images WHERE id = ANY($1::int[])`,
          [[...watched.keys()]],
        );
        const seenAt = wallNow();
        polls++;
        for (const row of rows) {
          const entry = watched.get(row.id);
          if (!entry) continue;
          const state = `${row.status}:${row.progress}`;
          if (!entry.states.has(state)) entry.states.set(state, row.updated_ms);
          if (row.status === 'generated' || row.status === 'validated') {
            watched.delete(row.id);
            entry.resolve({ row, seenAt, states: entry.states });
          } else if (row.status === 'failed') {
            watched.delete(row.id);
            entry.reject(new Error(`image ${row.id} failed`));
          }
        }
      }
      await sleep(POLL_MS);
    }
  })().catch((error) => {
    // A failed query ends the polling: whoever waits hears of it.
    failure = error;
    for (const entry of watched.values()) entry.reject(error);
    watched.clear();
  });
  return {
    watch(imageId) {
      return new Promise((resolve, reject) => {
        if (failure) reject(failure);
        else watched.set(imageId, { resolve, reject, states: new Map() });
      });
    },
    get polls() {
      return polls;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** One image through the API: POST, then wait for the poller; the timings of its life. */
async function generateOne(app, headers, poller, prompt) {
  const started = wallNow();
  const response = await request(`${app.url}/api/images/generate/`, {
    method: 'POST',
    headers,
    body: { prompt, width: SIZE, height: SIZE, style: STYLE },
    timeoutMs: 30_000,
  });
  const answered = wallNow();
  if (response.status !== 201 || !response.json?.image?.id) {
    throw new Error(`generate answered ${response.status}: ${response.text.slice(0, 300)}`);
  }
  const { row, seenAt, states } = await poller.watch(response.json.image.id);
  const claimed = states.get('generating:10');
  const checked = states.get('generating:70');
  return {
    id: row.id,
    endToEnd: seenAt - started,
    post: answered - started,
    server: row.updated_ms - row.created_ms,
    generationTime: row.generation_time * 1000,
    queue: claimed === undefined ? null : claimed - row.created_ms,
    providerInApp: claimed === undefined || checked === undefined ? null : checked - claimed,
    renditions: checked === undefined ? null : row.updated_ms - checked,
    commitAndSeen: seenAt - row.updated_ms,
  };
}

const stat = (samples, key, p) => {
  const values = samples.map((sample) => sample[key]).filter((value) => value !== null);
  return values.length === 0 ? null : percentile(values, p);
};
const seen = (samples, key) => samples.filter((sample) => sample[key] !== null).length;

export async function run(ctx) {
  const { log } = ctx;
  const loadBefore = os.loadavg()[0].toFixed(1);
  const prompts = Array.from({ length: SEQUENTIAL_IMAGES }, (_, i) => promptOf(i + 1));

  log(
    `the local provider, assertImage and renderImage alone, in this process (${prompts.length} prompts)`,
  );
  const alone = await measureInProcess(ctx, prompts);
  log(
    `alone: provider p50 ${fmt.ms1(median(alone.map((s) => s.provider)))}, ` +
      `renderImage p50 ${fmt.ms1(median(alone.map((s) => s.render)))}, ` +
      `PNG ${Math.round(median(alone.map((s) => s.pngBytes)) / 1024)} KiB`,
  );

  const workerConcurrency = defaultWorkerConcurrency(ctx.root);
  const app = await ctx.startApp('image-generation-app', {
    APP_ROLES: 'api,worker',
    IMAGE_PROVIDER: 'local',
    IMAGE_MAX_ACTIVE_PER_USER: '10000',
    IMAGE_DAILY_LIMIT_PER_USER: '1000000',
  });
  const pid = app.handle.child.pid;
  log(
    `app serving on ${app.url} with the worker in the same process (pid ${pid}, ` +
      `IMAGE_WORKER_CONCURRENCY ${workerConcurrency ?? 'default'})`,
  );
  const { access } = await ctx.registerUser(app);
  const headers = { authorization: `Bearer ${access}` };
  const client = new pg.Client({ connectionString: ctx.databaseUrl });
  await client.connect();
  const poller = startPoller(client);
  try {
    for (let n = 1; n <= WARMUP_IMAGES; n++) {
      await generateOne(app, headers, poller, `Warm-up ${n}: a quiet harbour`);
    }
    log(`${WARMUP_IMAGES} images generated to warm up`);

    // One at a time.
    let cpu = cpuSeconds(pid);
    let started = wallNow();
    const sequential = [];
    for (const prompt of prompts) sequential.push(await generateOne(app, headers, poller, prompt));
    const sequentialWall = (wallNow() - started) / 1000;
    const sequentialCpu =
      cpu === null ? null : ((cpuSeconds(pid) - cpu) / sequential.length) * 1000;
    log(
      `one at a time: ${sequential.length} images in ${sequentialWall.toFixed(1)} s; end to end p50 ` +
        `${fmt.ms1(stat(sequential, 'endToEnd', 50))}, generation_time p50 ${fmt.ms1(stat(sequential, 'generationTime', 50))}`,
    );

    // CLIENTS at a time, each asking for its next image when the last is generated.
    cpu = cpuSeconds(pid);
    started = wallNow();
    const concurrent = (
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, c) => {
          const mine = [];
          for (let k = 0; k < PER_CLIENT; k++) {
            const n = SEQUENTIAL_IMAGES + 1 + c * PER_CLIENT + k;
            mine.push(await generateOne(app, headers, poller, promptOf(n)));
          }
          return mine;
        }),
      )
    ).flat();
    const concurrentWall = (wallNow() - started) / 1000;
    const concurrentCpu =
      cpu === null ? null : ((cpuSeconds(pid) - cpu) / concurrent.length) * 1000;
    log(
      `${CLIENTS} at a time: ${concurrent.length} images in ${concurrentWall.toFixed(1)} s ` +
        `(${(concurrent.length / concurrentWall).toFixed(2)} images/s); end to end p50 ${fmt.ms1(stat(concurrent, 'endToEnd', 50))}`,
    );

    // The last image, as the API shows it, and its thumbnail served.
    const last = concurrent.at(-1);
    const detail = await request(`${app.url}/api/images/${last.id}/`, { headers });
    const image = detail.json;
    if (
      detail.status !== 200 ||
      image.status !== 'generated' ||
      !image.image_file ||
      !image.thumbnail ||
      !image.image_url_display ||
      image.metadata?.original?.width !== SIZE
    ) {
      throw new Error(`image ${last.id} is not as expected: ${detail.text.slice(0, 500)}`);
    }
    const thumbnailUrl = new URL(image.thumbnail);
    const thumbnail = await request(`${app.url}${thumbnailUrl.pathname}${thumbnailUrl.search}`);
    if (
      thumbnail.status !== 200 ||
      !String(thumbnail.headers['content-type']).startsWith('image/jpeg')
    ) {
      throw new Error(
        `the thumbnail answered ${thumbnail.status} ${thumbnail.headers['content-type']}`,
      );
    }
    log(`image ${last.id} is generated, with its three files; its thumbnail is served`);
    const loadAfter = os.loadavg()[0].toFixed(1);

    // Overhead outside the provider, per image: end to end minus the provider's time in the
    // worker; and against the provider alone.
    const withOverhead = (samples) =>
      samples.map((sample) => ({
        ...sample,
        overhead: sample.providerInApp === null ? null : sample.endToEnd - sample.providerInApp,
      }));
    const seq = withOverhead(sequential);
    const con = withOverhead(concurrent);
    const aloneProvider = median(alone.map((s) => s.provider));
    const aloneRender = median(alone.map((s) => s.render));
    const aloneCheck = median(alone.map((s) => s.check));
    const aloneProviderCpu = median(alone.map((s) => s.providerCpu));
    const aloneRenderCpu = median(alone.map((s) => s.renderCpu));

    const header = [
      'Load',
      'Images',
      'End to end p50',
      'p95',
      '`generation_time` p50',
      'p95',
      'Images / s',
      'App CPU / image',
    ];
    const phaseRow = (label, samples, wall, cpuMs) => [
      label,
      String(samples.length),
      fmt.ms1(stat(samples, 'endToEnd', 50)),
      fmt.ms1(stat(samples, 'endToEnd', 95)),
      fmt.ms1(stat(samples, 'generationTime', 50)),
      fmt.ms1(stat(samples, 'generationTime', 95)),
      (samples.length / wall).toFixed(2),
      cpuMs === null ? 'n/a' : fmt.ms1(cpuMs),
    ];
    const rows = [
      phaseRow('one at a time', seq, sequentialWall, sequentialCpu),
      phaseRow(`${CLIENTS} at a time`, con, concurrentWall, concurrentCpu),
    ];
    printTable(
      header,
      rows.map((cells) => cells.map((cell) => cell.replaceAll('`', ''))),
    );

    const splitHeader = ['Part (p50)', 'One at a time', `${CLIENTS} at a time`, 'Taken from'];
    const part = (label, key, from) => [
      label,
      `${fmt.ms1(stat(seq, key, 50))}` +
        (seen(seq, key) < seq.length ? ` (${seen(seq, key)} seen)` : ''),
      `${fmt.ms1(stat(con, key, 50))}` +
        (seen(con, key) < con.length ? ` (${seen(con, key)} seen)` : ''),
      from,
    ];
    const splitRows = [
      part('POST answered', 'post', 'client'),
      part('request → claimed by the worker', 'queue', '`created_at` → `updated_at` of the claim'),
      part('provider + header check, in the worker', 'providerInApp', 'claim → progress 70'),
      part('three renditions + four files', 'renditions', 'progress 70 → completion'),
      part(
        'commit, until the poller sees it',
        'commitAndSeen',
        `completion → seen (poll every ${POLL_MS} ms)`,
      ),
      part('**end to end**', 'endToEnd', 'client: before the POST → seen generated'),
      part('**overhead outside the provider**', 'overhead', 'end to end − provider in the worker'),
      [
        'provider alone (`LocalProvider.generate`)',
        fmt.ms1(aloneProvider),
        '',
        `this process, ${alone.length} runs`,
      ],
      ['header check alone (`assertImage`)', fmt.ms1(aloneCheck), '', 'same'],
      ['renditions alone (`renderImage`)', fmt.ms1(aloneRender), '', 'same'],
    ];
    printTable(
      splitHeader,
      splitRows.map((cells) => cells.map((cell) => cell.replaceAll('`', '').replaceAll('**', ''))),
    );

    const seqE2e = stat(seq, 'endToEnd', 50);
    const seqOverhead = stat(seq, 'overhead', 50);
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(header, rows),
      '',
      markdownTable(splitHeader, splitRows),
      '',
      `- **Overhead outside the provider, one image at a time: ${fmt.ms1(seqOverhead)}** (p50 of end to end − ` +
        `the provider's time in the worker, per image; p95 ${fmt.ms1(stat(seq, 'overhead', 95))}), of an end to end of ` +
        `${fmt.ms1(seqE2e)}; against the provider alone (${fmt.ms1(aloneProvider)}), ${fmt.ms1(seqE2e - aloneProvider)}. ` +
        `Of it, the renditions alone take ${fmt.ms1(aloneRender)} (${fmt.ms1(aloneRenderCpu)} of CPU over libvips' threads); ` +
        `the rest is the API request, Redis, the worker's claim and progress updates, four files and the commit.`,
      `- CPU: the provider alone uses ${fmt.ms1(aloneProviderCpu)} per image, the renditions ${fmt.ms1(aloneRenderCpu)}; ` +
        `the app process ${sequentialCpu === null ? 'n/a' : fmt.ms1(sequentialCpu)} per image one at a time (API, worker, ` +
        `provider and renditions together; PostgreSQL and Redis not counted).`,
      `- **Throughput: ${(con.length / concurrentWall).toFixed(2)} images/s** with ${CLIENTS} clients each asking for ` +
        `its next image when the last is generated (${con.length} images in ${concurrentWall.toFixed(1)} s; the worker ` +
        `runs ${workerConcurrency ?? 'its default number of'} jobs at once, \`IMAGE_WORKER_CONCURRENCY\`), against ` +
        `${(seq.length / sequentialWall).toFixed(2)} images/s one at a time.`,
      `- The app: the build, \`APP_ROLES=api,worker\` (one process), \`IMAGE_PROVIDER=local\`, \`LOG_LEVEL=warn\`, ` +
        `limits raised (\`IMAGE_MAX_ACTIVE_PER_USER\`, \`IMAGE_DAILY_LIMIT_PER_USER\`), media files in a temporary ` +
        `directory; Bull on Redis under the prefix \`bench-image-automation\`. ${WARMUP_IMAGES} images first to warm ` +
        `up, then ${seq.length} one at a time and ${con.length} by ${CLIENTS} clients, all ${SIZE}×${SIZE}, ` +
        `style \`${STYLE}\`, prompts all different. Checked: every image ends \`generated\`; the last one's three ` +
        `URLs are there and its thumbnail is served. The poller made ${poller.polls} queries.`,
      machineLine(ctx, { loadBefore, loadAfter }),
    ].join('\n');

    return {
      markdown,
      summary: {
        alone,
        sequential: seq,
        concurrent: con,
        sequentialWall,
        concurrentWall,
        sequentialCpuMs: sequentialCpu,
        concurrentCpuMs: concurrentCpu,
        workerConcurrency,
        polls: poller.polls,
      },
    };
  } finally {
    await poller.stop();
    await client.end();
  }
}
