// The baselines for the image-list benchmark: `GET /api/images/` with nothing but node:http,
// node:crypto and pg, in one of two modes (BARE_LIST_MODE):
//   - `best` (the yardstick): the fastest plain implementation of the same answer found, written
//     by hand. ONE statement (bench/lib/image-list-sql.mjs bestListStatement) checks the bearer
//     token's family and user, reads the counters row, the page as a deferred join and its tag
//     names, with the timestamps already formatted; the token's signature and claims are checked
//     in JS first (bench/lib/bare-auth.mjs, as the auth-me baseline);
//   - `copy`: the app's own statements with the same values (the bearer check's query, then the
//     list's one statement; the benchmark checks each run that the app still sends exactly
//     these), then the same JSON.
// Both read `page`, `page_size` (clamped to 100), `status` and `tags` as ListImagesQuery does
// (the other filters and `ordering` are not implemented here: 400), answer the DRF page envelope
// as http/pagination.ts toPage() (404 past the last page, absolute next/previous links on
// PUBLIC_BASE_URL), each image as images.presenter.ts presentImage(), its three media URLs
// signed with one key object and one expiry per page. The pg.Pool has the app's size.
//
// Environment: PORT, DATABASE_URL, JWT_SECRET, PG_POOL_MAX (20), PUBLIC_BASE_URL
// (http://localhost:PORT, as the app), MEDIA_URL_TTL_SECONDS (3600, as the app's MEDIA_URL_TTL),
// BARE_LIST_MODE (best).
import { Buffer } from 'node:buffer';
import { createHmac, createSecretKey, hkdfSync } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import {
  FIND_AUTHENTICATED,
  notFound,
  pageExpiry,
  send,
  unauthorized,
  verifyAccessToken,
} from './lib/bare-auth.mjs';
import { appListStatement, bestListStatement } from './lib/image-list-sql.mjs';

const env = process.env;
const port = Number(env.PORT ?? 3001);
const jwtSecret = env.JWT_SECRET;
if (!jwtSecret) {
  console.error('bare-image-list-server: JWT_SECRET is required');
  process.exit(1);
}
const mode = env.BARE_LIST_MODE ?? 'best';
if (mode !== 'best' && mode !== 'copy') {
  console.error('bare-image-list-server: BARE_LIST_MODE is best or copy');
  process.exit(1);
}
const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
// As MediaUrlSigner: the key is MEDIA_URL_SECRET, or derived from JWT_SECRET with HKDF as
// libs/common/src/config/load-config.ts does; one KeyObject, one expiry per page.
const signingKey = createSecretKey(
  env.MEDIA_URL_SECRET?.trim()
    ? Buffer.from(env.MEDIA_URL_SECRET.trim(), 'utf8')
    : Buffer.from(hkdfSync('sha256', jwtSecret, '', 'image-automation media-url v1', 32)),
);
const ttlSeconds = Number(env.MEDIA_URL_TTL_SECONDS ?? 3600);
const mediaPrefix = `${publicBaseUrl}/media/`;
function signer() {
  const expires = pageExpiry(ttlSeconds);
  const suffix = `?expires=${expires}&signature=`;
  return (key) =>
    key
      ? `${mediaPrefix}${key}${suffix}${createHmac('sha256', signingKey).update(`${key}\n${expires}`).digest('base64url')}`
      : null;
}

const pool = new pg.Pool({
  connectionString: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/image_automation_bench',
  max: Number(env.PG_POOL_MAX ?? 20),
  connectionTimeoutMillis: 5000,
});
pool.on('error', (error) =>
  console.error(`bare-image-list-server: idle client error: ${error.message}`),
);

const STATUSES = new Set(['pending', 'generating', 'generated', 'validated', 'rejected', 'failed']);
const NOT_HERE = ['search', 'created_after', 'created_before', 'ordering'];
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
  // As the DTO: comma-separated or repeated, trimmed, lower-cased, empty names dropped.
  const tagNames = search
    .getAll('tags')
    .flatMap((part) => part.split(','))
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const tags = search.has('tags') ? tagNames : undefined;
  if (page === null || pageSize === null) return { error: 'page and page_size are integers ≥ 1' };
  if (status !== undefined && !STATUSES.has(status)) return { error: 'unknown status' };
  const notHere = NOT_HERE.filter((name) => search.has(name));
  if (notHere.length > 0) return { error: `not implemented here: ${notHere.join(', ')}` };
  const size = Math.min(pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  if (tags && (tags.length > 50 || tags.some((name) => name.length > 50)))
    return { error: 'tags: at most 50 names of at most 50 characters' };
  return {
    page,
    pageSize: size,
    offset: (page - 1) * size,
    status,
    tags: tags?.length ? tags : undefined,
  };
}

/** As images.presenter.ts presentImage(), from the app's row shape (copy mode). */
function presentAppRow(row, username, sign) {
  return {
    id: row.id,
    user: username,
    prompt: row.prompt,
    negative_prompt: row.negativePrompt,
    image_url: row.imageUrl,
    image_file: sign(row.masterKey),
    thumbnail: sign(row.thumbnailKey),
    image_url_display: sign(row.renditionKey),
    version: row.version,
    status: row.status,
    error_message: row.errorMessage,
    style: row.style,
    width: row.width,
    height: row.height,
    quality: row.quality,
    provider: row.provider,
    metadata: row.metadata,
    generation_time: row.generationTime,
    progress: row.progress,
    validated_at: row.validatedAt?.toISOString() ?? null,
    validation_notes: row.validationNotes,
    tags: row.tags,
    is_validated: row.status === 'validated',
    is_ready_for_scheduling: row.status === 'validated' && row.renditionKey !== null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** The same, from the best statement's row (timestamps already ISO strings). */
function presentBestRow(row, username, sign) {
  return {
    id: row.id,
    user: username,
    prompt: row.prompt,
    negative_prompt: row.negative_prompt,
    image_url: row.image_url,
    image_file: sign(row.master_key),
    thumbnail: sign(row.thumbnail_key),
    image_url_display: sign(row.rendition_key),
    version: row.version,
    status: row.status,
    error_message: row.error_message,
    style: row.style,
    width: row.width,
    height: row.height,
    quality: row.quality,
    provider: row.provider,
    metadata: row.metadata,
    generation_time: row.generation_time,
    progress: row.progress,
    validated_at: row.validated_at,
    validation_notes: row.validation_notes,
    tags: row.names ?? [],
    is_validated: row.status === 'validated',
    is_ready_for_scheduling: row.status === 'validated' && row.rendition_key !== null,
    created_at: row.created_at,
    updated_at: row.updated_at,
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
  const query = readQuery(search);
  const window = { userId, familyId: claims.fam, ...query, limit: query.pageSize };
  let username;
  let count;
  let images;
  if (mode === 'copy') {
    const { rows: users } = await pool.query(FIND_AUTHENTICATED, [claims.fam, userId]);
    if (users.length === 0) return unauthorized(response);
    if (query.error) return badRequest(response, query.error);
    username = users[0].user_username;
    const { text, values } = appListStatement(window);
    const { rows } = await pool.query(text, values);
    count = rows[0]?.count ?? 0;
    const sign = signer();
    images = rows[0]?.id === null ? [] : rows.map((row) => presentAppRow(row, username, sign));
  } else {
    // The query is read before the statement here: a bad one is 400 once the token's signature
    // holds; the family and user are then checked by the list's own statement.
    if (query.error) return badRequest(response, query.error);
    const { text, values } = bestListStatement(window);
    const { rows } = await pool.query(text, values);
    if (rows.length === 0) return unauthorized(response);
    username = rows[0].username;
    count = rows[0].count;
    const sign = signer();
    images = rows[0].id === null ? [] : rows.map((row) => presentBestRow(row, username, sign));
  }
  const body = toPage(request.url, query, count, images);
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
