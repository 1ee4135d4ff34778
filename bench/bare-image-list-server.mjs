// The baseline for the image-list benchmark: `GET /api/images/` with nothing but node:http,
// node:crypto and pg. It does the same work as the app's bearer check and ImagesController.list,
// written by hand:
//   1. verify the bearer token as the app's guard does, and run the same one query for the user
//      (bench/lib/bare-auth.mjs, shared with the auth-me baseline);
//   2. read `page`, `page_size` (clamped to 100) and `status` as ListImagesQuery does (the other
//      filters and `ordering` are not implemented here: 400);
//   3. send the same statements as ImagesService.list, with the same values: the user's counters
//      row (user_image_stats) and the page (same select list, ORDER BY, LIMIT and OFFSET) at
//      once, then the tag names of the page's images (bench/lib/image-list-sql.mjs; the benchmark
//      checks each run that the app still sends exactly these);
//   4. answer the DRF page envelope as http/pagination.ts toPage() (404 past the last page,
//      absolute next/previous links on PUBLIC_BASE_URL), each image as images.presenter.ts
//      presentImage(), the three media URLs signed.
// The pg.Pool has the app's size (TypeOrmModule `extra.max` in apps/server/src/app.module.ts).
//
// Environment: PORT, DATABASE_URL, JWT_SECRET, PG_POOL_MAX (20), PUBLIC_BASE_URL
// (http://localhost:PORT, as the app), MEDIA_URL_TTL_SECONDS (3600, as the app's MEDIA_URL_TTL).
import http from 'node:http';
import pg from 'pg';
import {
  FIND_AUTHENTICATED,
  mediaUrlSigner,
  notFound,
  send,
  unauthorized,
  verifyAccessToken,
} from './lib/bare-auth.mjs';
import { pageQuery, STATS_QUERY, TAG_NAMES_QUERY } from './lib/image-list-sql.mjs';

const env = process.env;
const port = Number(env.PORT ?? 3001);
const jwtSecret = env.JWT_SECRET;
if (!jwtSecret) {
  console.error('bare-image-list-server: JWT_SECRET is required');
  process.exit(1);
}
const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
const sign = mediaUrlSigner({
  jwtSecret,
  mediaUrlSecret: env.MEDIA_URL_SECRET?.trim() || undefined,
  publicBaseUrl,
  ttlSeconds: Number(env.MEDIA_URL_TTL_SECONDS ?? 3600),
});

const pool = new pg.Pool({
  connectionString: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/image_automation_bench',
  max: Number(env.PG_POOL_MAX ?? 20),
  connectionTimeoutMillis: 5000,
});
pool.on('error', (error) =>
  console.error(`bare-image-list-server: idle client error: ${error.message}`),
);

const STATUSES = new Set(['pending', 'generating', 'generated', 'validated', 'rejected', 'failed']);
const NOT_HERE = ['tags', 'search', 'created_after', 'created_before', 'ordering'];
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

function badRequest(response, detail) {
  send(response, 400, { status: 400, code: 'invalid', detail }, 'application/problem+json');
}

/** `?page=N&page_size=M&status=S` as ListImagesQuery and pageWindow() read them; null if invalid. */
function readQuery(search) {
  const integer = (name) => {
    const raw = search.get(name);
    if (raw === null) return undefined;
    const value = /^-?\d{1,15}$/.test(raw.trim()) ? Number(raw) : NaN;
    return Number.isInteger(value) && value >= 1 ? value : null;
  };
  const page = integer('page') ?? 1;
  const pageSize = integer('page_size');
  const status = search.get('status') ?? undefined;
  if (page === null || pageSize === null) return { error: 'page and page_size are integers ≥ 1' };
  if (status !== undefined && !STATUSES.has(status)) return { error: 'unknown status' };
  const notHere = NOT_HERE.filter((name) => search.has(name));
  if (notHere.length > 0) return { error: `not implemented here: ${notHere.join(', ')}` };
  const size = Math.min(pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  return { page, pageSize: size, offset: (page - 1) * size, status };
}

/** As images.presenter.ts presentImage(), from the raw row. */
function presentImage(row, username, tags) {
  return {
    id: row.image_id,
    user: username,
    prompt: row.image_prompt,
    negative_prompt: row.image_negative_prompt,
    image_url: row.image_image_url,
    image_file: sign(row.image_master_key),
    thumbnail: sign(row.image_thumbnail_key),
    image_url_display: sign(row.image_rendition_key),
    status: row.image_status,
    error_message: row.image_error_message,
    style: row.image_style,
    width: row.image_width,
    height: row.image_height,
    quality: row.image_quality,
    provider: row.image_provider,
    metadata: row.image_metadata,
    generation_time: row.image_generation_time,
    progress: row.image_progress,
    validated_at: row.image_validated_at?.toISOString() ?? null,
    validation_notes: row.image_validation_notes,
    tags,
    is_validated: row.image_status === 'validated',
    is_ready_for_scheduling: row.image_status === 'validated' && row.image_rendition_key !== null,
    created_at: row.image_created_at.toISOString(),
    updated_at: row.image_updated_at.toISOString(),
  };
}

/** As http/pagination.ts toPage(): null past the last page. */
function toPage(originalUrl, window, count, results) {
  const lastPage = Math.max(1, Math.ceil(count / window.pageSize));
  if (window.page > lastPage) return null;
  const link = (page) => {
    const url = new URL(originalUrl, publicBaseUrl);
    if (page === 1) url.searchParams.delete('page');
    else url.searchParams.set('page', String(page));
    return `${publicBaseUrl}${url.pathname}${url.search}`;
  };
  return {
    count,
    next: window.page < lastPage ? link(window.page + 1) : null,
    previous: window.page > 1 ? link(window.page - 1) : null,
    results,
  };
}

async function listImages(request, response, search) {
  const claims = verifyAccessToken(request.headers.authorization, jwtSecret);
  if (!claims) return unauthorized(response);
  const userId = Number(claims.sub);
  const { rows: users } = await pool.query(FIND_AUTHENTICATED, [claims.fam, userId]);
  if (users.length === 0) return unauthorized(response);
  const username = users[0].user_username;
  const query = readQuery(search);
  if (query.error) return badRequest(response, query.error);

  const [stats, page] = await Promise.all([
    pool.query(STATS_QUERY, [userId]),
    pool.query(
      pageQuery({ status: query.status, limit: query.pageSize, offset: query.offset }),
      query.status ? [userId, query.status] : [userId],
    ),
  ]);
  const counters = stats.rows[0];
  const count = counters ? counters[`UserImageStats_${query.status ?? 'total'}`] : 0;
  const ids = page.rows.map((row) => row.image_id);
  const names = new Map(ids.map((id) => [id, []]));
  if (ids.length > 0) {
    const { rows } = await pool.query(TAG_NAMES_QUERY, [ids, userId]);
    for (const row of rows) names.get(row.image_id)?.push(row.name);
  }
  const body = toPage(
    request.url,
    query,
    count,
    page.rows.map((row) => presentImage(row, username, names.get(row.image_id) ?? [])),
  );
  if (!body) return notFound(response);
  return send(response, 200, body);
}

async function handle(request, response) {
  const queryAt = request.url.indexOf('?');
  const path = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  if (request.method === 'GET' && (path === '/api/images/' || path === '/api/images')) {
    return listImages(
      request,
      response,
      new URLSearchParams(queryAt === -1 ? '' : request.url.slice(queryAt + 1)),
    );
  }
  if (request.method === 'GET' && path === '/api/health') {
    await pool.query('SELECT 1');
    return send(response, 200, { status: 'ok' });
  }
  return notFound(response);
}

const server = http.createServer((request, response) => {
  handle(request, response).catch((error) => {
    console.error(`bare-image-list-server: ${error.message}`);
    if (!response.headersSent) send(response, 500, { status: 500 }, 'application/problem+json');
    else response.destroy();
  });
});

server.listen(port, '127.0.0.1', () => console.log(`bare-image-list-server listening on ${port}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    pool.end().finally(() => process.exit(0));
  });
}
