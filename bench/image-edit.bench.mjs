// Image editing on a 1024×1024 picture: what each operation costs, and what ten edits at once do
// to the API's other requests.
//
//   - Per operation: `renderVersion()` from the build, in this process (decode the original,
//     apply the operation, encode the PNG master, the JPEG rendition and the thumbnail: what one
//     edit renders), ITERATIONS times after a warm-up; p50 and p95 of the wall-clock time.
//   - Through the API: the built app (api and worker roles, `local` provider) generates one
//     1024×1024 image per editor; `GET /api/auth/me/` is timed one request after the other for
//     WINDOW_S seconds alone, then for WINDOW_S seconds while EDITORS clients each keep one
//     `POST /api/images/{id}/edit/` in flight (each on its own image, restored to version 1 after
//     each edit so that every edit renders two operations). The edits' latencies are reported too.
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { request } from './lib/http.mjs';
import { percentile } from './lib/load.mjs';
import { fmt, machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'image-edit';
export const title = 'Image editing, 1024×1024';

const SIZE = 1024;
const ITERATIONS = Number(process.env.BENCH_EDIT_ITERATIONS ?? 10);
const EDITORS = 10;
const WINDOW_S = Number(process.env.BENCH_EDIT_WINDOW_S ?? 8);
const MAX_PIXELS = 40_000_000;

const OPERATIONS = [
  ['crop (box)', { op: 'crop', x: 100, y: 100, width: 800, height: 600 }],
  ['crop (4:5, center)', { op: 'crop', aspect: '4:5', focus: 'center' }],
  ['crop (9:16, attention)', { op: 'crop', aspect: '9:16', focus: 'attention' }],
  ['resize (512, inside)', { op: 'resize', width: 512, fit: 'inside' }],
  ['resize (2048×2048, cover)', { op: 'resize', width: 2048, height: 2048, fit: 'cover' }],
  ['rotate 90', { op: 'rotate', degrees: 90 }],
  ['flip', { op: 'flip' }],
  ['flop', { op: 'flop' }],
  ['grayscale', { op: 'grayscale' }],
  ['sepia', { op: 'sepia' }],
  ['blur (sigma 5)', { op: 'blur', sigma: 5 }],
  ['sharpen', { op: 'sharpen' }],
  ['modulate', { op: 'modulate', brightness: 1.2, saturation: 0.8, hue: 30 }],
  ['watermark', { op: 'watermark', text: '© Harbour Studio', position: 'southeast', opacity: 0.6 }],
  ['preset (instagram_portrait)', { op: 'preset', name: 'instagram_portrait' }],
];

/** A 1024² picture with detail everywhere (gradients and noise), as a PNG master. */
async function testPicture() {
  const data = Buffer.alloc(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const i = (y * SIZE + x) * 3;
      const noise = Math.floor(Math.random() * 40);
      data[i] = (x >> 2) ^ noise;
      data[i + 1] = (y >> 2) ^ noise;
      data[i + 2] = ((x + y) >> 3) ^ noise;
    }
  return sharp(data, { raw: { width: SIZE, height: SIZE, channels: 3 } })
    .png()
    .toBuffer();
}

async function perOperation(ctx, log) {
  const { renderVersion } = await import(
    pathToFileURL(path.join(ctx.appDist, 'apps/server/src/images/editing/image-pipeline.js')).href
  );
  const original = await testPicture();
  const rows = [];
  for (const [name, operation] of OPERATIONS) {
    await renderVersion(original, [operation], 0, MAX_PIXELS);
    const times = [];
    for (let n = 0; n < ITERATIONS; n++) {
      const started = performance.now();
      await renderVersion(original, [operation], 0, MAX_PIXELS);
      times.push(performance.now() - started);
    }
    const row = { name, p50: percentile(times, 50), p95: percentile(times, 95) };
    log(`${name}: p50 ${row.p50.toFixed(1)} ms, p95 ${row.p95.toFixed(1)} ms`);
    rows.push(row);
  }
  return rows;
}

async function api(app, access, method, url, body) {
  const response = await request(`${app.url}${url}`, {
    method,
    body,
    headers: { authorization: `Bearer ${access}` },
    timeoutMs: 120_000,
  });
  return response;
}

/** /me one request after the other until `until`; the latencies in ms. */
async function timeMe(app, access, until) {
  const times = [];
  while (Date.now() < until) {
    const started = performance.now();
    const response = await api(app, access, 'GET', '/api/auth/me/');
    if (response.status !== 200) throw new Error(`/me answered ${response.status}`);
    times.push(performance.now() - started);
  }
  return times;
}

async function underLoad(ctx, log) {
  const app = await ctx.startApp('image-edit-app', {
    APP_ROLES: 'api,worker',
    IMAGE_PROVIDER: 'local',
    // A queue of its own: a worker of another run on this machine (same Redis, the runner's
    // shared prefix) would otherwise take half the generations and keep their files.
    REDIS_PREFIX: `bench-image-edit-${process.pid}`,
  });
  const { access } = await ctx.registerUser(app);
  await api(app, access, 'PATCH', '/api/auth/profile/', { auto_validate_images: true });
  const ids = [];
  // One after the other: a user has at most IMAGE_MAX_ACTIVE_PER_USER images in flight.
  for (let n = 0; n < EDITORS; n++) {
    const created = await api(app, access, 'POST', '/api/images/generate/', {
      prompt: `Bench edit picture ${n}: a harbour at dawn`,
      width: SIZE,
      height: SIZE,
    });
    if (created.status !== 201) throw new Error(`generate answered ${created.status}`);
    const imageId = created.json.image.id;
    for (;;) {
      const { json } = await api(app, access, 'GET', `/api/images/${imageId}/`);
      if (json.status === 'validated') break;
      if (json.status === 'failed') throw new Error(`image ${imageId} failed`);
      await sleep(100);
    }
    ids.push(imageId);
  }
  log(`${EDITORS} images of ${SIZE}×${SIZE} generated`);
  await timeMe(app, access, Date.now() + 2000);
  const alone = await timeMe(app, access, Date.now() + WINDOW_S * 1000);
  log(`/me alone: ${alone.length} requests, p50 ${percentile(alone, 50).toFixed(1)} ms`);

  let editing = true;
  const edits = [];
  const editors = ids.map(async (imageId) => {
    let count = 0;
    while (editing) {
      const operations =
        count++ % 2 === 0
          ? [{ op: 'sepia' }, { op: 'rotate', degrees: 90 }]
          : [{ op: 'blur', sigma: 2 }, { op: 'flop' }];
      const started = performance.now();
      const response = await api(app, access, 'POST', `/api/images/${imageId}/edit/`, {
        operations,
      });
      if (response.status !== 200)
        throw new Error(`edit answered ${response.status}: ${response.text.slice(0, 200)}`);
      edits.push(performance.now() - started);
      // Back to version 1 (no render): every edit renders two operations, not a growing list.
      const restored = await api(app, access, 'POST', `/api/images/${imageId}/versions/1/restore/`);
      if (restored.status !== 200) throw new Error(`restore answered ${restored.status}`);
    }
  });
  await sleep(1000);
  const during = await timeMe(app, access, Date.now() + WINDOW_S * 1000);
  editing = false;
  await Promise.all(editors);
  log(`/me during edits: ${during.length} requests, p50 ${percentile(during, 50).toFixed(1)} ms`);
  await app.stop();
  return { alone, during, edits };
}

export async function run(ctx) {
  const { log } = ctx;
  const loadBefore = os.loadavg()[0].toFixed(1);
  const operations = await perOperation(ctx, log);
  const { alone, during, edits } = await underLoad(ctx, log);
  const loadAfter = os.loadavg()[0].toFixed(1);

  const opHeader = ['Operation', 'p50', 'p95'];
  const opRows = operations.map((row) => [row.name, fmt.ms1(row.p50), fmt.ms1(row.p95)]);
  printTable(opHeader, opRows);
  const stat = (times) => [
    String(times.length),
    fmt.ms1(percentile(times, 50)),
    fmt.ms1(percentile(times, 95)),
    fmt.ms1(percentile(times, 99)),
  ];
  const meHeader = ['', 'requests', 'p50', 'p95', 'p99'];
  const meRows = [
    ['`GET /api/auth/me/` alone', ...stat(alone)],
    [`\`GET /api/auth/me/\` while ${EDITORS} edits run`, ...stat(during)],
    [`\`POST {id}/edit/\` (${EDITORS} at once)`, ...stat(edits)],
  ];
  printTable(meHeader, meRows);
  const markdown = [
    `Each operation alone on a ${SIZE}×${SIZE} PNG, as one edit renders it (decode, the operation, the PNG master, the JPEG rendition and the 300×300 thumbnail), ${ITERATIONS} runs after a warm-up, in the bench process:`,
    '',
    markdownTable(opHeader, opRows),
    '',
    `Through the built app (api and worker roles in one process): \`/me\` one request after the other for ${WINDOW_S} s alone, then for ${WINDOW_S} s while ${EDITORS} clients each keep an edit of their own ${SIZE}×${SIZE} image in flight (two operations each, the image restored to version 1 in between; renders run on sharp's threads, \`RENDER_CONCURRENCY\` at a time per process, the others wait their turn):`,
    '',
    markdownTable(meHeader, meRows),
    '',
    machineLine(ctx, { loadBefore, loadAfter }),
  ].join('\n');
  return {
    markdown,
    summary: {
      operations,
      me: {
        alone: { count: alone.length, p50: percentile(alone, 50), p95: percentile(alone, 95) },
        during: { count: during.length, p50: percentile(during, 50), p95: percentile(during, 95) },
      },
      edits: { count: edits.length, p50: percentile(edits, 50), p95: percentile(edits, 95) },
    },
  };
}
