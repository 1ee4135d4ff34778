// The baseline for the auth-me benchmark: `GET /api/auth/me/` with nothing but node:http, node:crypto
// and pg. It does the same work as the app's bearer check and `me` handler, written by hand:
//   1. take the bearer token from the Authorization header (scheme matched case-insensitively,
//      as the app's JwtAuthGuard does);
//   2. verify it as the app's guard does (jsonwebtoken, then TokenService.verify's checks): the
//      header's alg is HS256, the HMAC-SHA256 signature matches (compared with timingSafeEqual),
//      exp is in the future, nbf (if any) is past, iss is 'image-automation', typ is 'access',
//      fam and jti are UUIDs and sub a 1-10 digit id;
//   3. run ONE query, the same SQL (same columns, same joins) that AuthService.findAuthenticated
//      makes TypeORM send: the active user, their profile, and the token family not revoked;
//   4. serialise the same JSON as auth.presenter.ts presentUser(), avatar URL signing included.
// The pg.Pool has the app's size (TypeOrmModule `extra.max` in apps/server/src/app.module.ts).
//
// Environment: PORT, DATABASE_URL, JWT_SECRET, PG_POOL_MAX (20), PUBLIC_BASE_URL
// (http://localhost:PORT, as the app), MEDIA_URL_TTL_SECONDS (3600, as the app's MEDIA_URL_TTL).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Buffer } from 'node:buffer';
import http from 'node:http';
import pg from 'pg';

const env = process.env;
const port = Number(env.PORT ?? 3001);
const jwtSecret = env.JWT_SECRET;
if (!jwtSecret) {
  console.error('bare-auth-server: JWT_SECRET is required');
  process.exit(1);
}
const JWT_ISSUER = 'image-automation';
const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
const mediaUrlTtlSeconds = Number(env.MEDIA_URL_TTL_SECONDS ?? 3600);
// As libs/common/src/config/load-config.ts derives it from JWT_SECRET.
const mediaSigningSecret = createHash('sha256').update(`media-url:${jwtSecret}`).digest('hex');

const pool = new pg.Pool({
  connectionString: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/image_automation_bench',
  max: Number(env.PG_POOL_MAX ?? 20),
  connectionTimeoutMillis: 5000,
});
pool.on('error', (error) => console.error(`bare-auth-server: idle client error: ${error.message}`));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USER_ID = /^\d{1,10}$/;

// Exactly the statement TypeORM builds for AuthService.findAuthenticated (the same select list,
// aliases included, so PostgreSQL and pg do the same work).
const FIND_AUTHENTICATED = `SELECT "user"."id" AS "user_id", "user"."username" AS "user_username", "user"."email" AS "user_email", "user"."first_name" AS "user_first_name", "user"."last_name" AS "user_last_name", "user"."is_active" AS "user_is_active", "user"."is_staff" AS "user_is_staff", "user"."is_superuser" AS "user_is_superuser", "user"."date_joined" AS "user_date_joined", "user"."last_login" AS "user_last_login", "user"."password_changed_at" AS "user_password_changed_at", "profile"."id" AS "profile_id", "profile"."user_id" AS "profile_user_id", "profile"."bio" AS "profile_bio", "profile"."avatar" AS "profile_avatar", "profile"."phone_number" AS "profile_phone_number", "profile"."instagram_username" AS "profile_instagram_username", "profile"."facebook_page_id" AS "profile_facebook_page_id", "profile"."twitter_username" AS "profile_twitter_username", "profile"."default_image_style" AS "profile_default_image_style", "profile"."auto_validate_images" AS "profile_auto_validate_images", "profile"."timezone" AS "profile_timezone", "profile"."created_at" AS "profile_created_at", "profile"."updated_at" AS "profile_updated_at" FROM "users" "user" INNER JOIN "profiles" "profile" ON "profile"."user_id"="user"."id"  INNER JOIN "token_families" "family" ON "family"."id" = $1 AND "family"."user_id" = "user"."id" AND "family"."revoked_at" IS NULL WHERE "user"."id" = $2 AND "user"."is_active"`;

/** The access token's claims, or null when anything is wrong with it. */
function verifyAccessToken(authorization, secret, nowSeconds = Math.floor(Date.now() / 1000)) {
  if (!authorization) return null;
  const match = /^(\S+)\s+(\S+)$/.exec(authorization);
  if (!match || match[1].toLowerCase() !== 'bearer') return null;
  const parts = match[2].split('.');
  if (parts.length !== 3) return null;
  const [encodedHeader, encodedPayload, encodedSignature] = parts;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8'));
    if (header?.alg !== 'HS256') return null;
    const expected = createHmac('sha256', secret)
      .update(`${encodedHeader}.${encodedPayload}`)
      .digest();
    const given = Buffer.from(encodedSignature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    claims = JSON.parse(Buffer.from(encodedPayload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (claims === null || typeof claims !== 'object') return null;
  if (typeof claims.exp !== 'number' || nowSeconds >= claims.exp) return null;
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > nowSeconds))
    return null;
  if (claims.iss !== JWT_ISSUER) return null;
  if (
    claims.typ !== 'access' ||
    !UUID.test(claims.fam ?? '') ||
    !UUID.test(claims.jti ?? '') ||
    !USER_ID.test(claims.sub ?? '')
  )
    return null;
  return claims;
}

/** As apps/server/src/media/media-url.signer.ts signOrNull(). */
function signedMediaUrl(key) {
  if (!key) return null;
  const expires = Math.floor(Date.now() / 1000) + mediaUrlTtlSeconds;
  const signature = createHmac('sha256', mediaSigningSecret)
    .update(`${key}\n${expires}`)
    .digest('base64url');
  return `${publicBaseUrl}/media/${key}?expires=${expires}&signature=${signature}`;
}

/** As auth.presenter.ts presentUser(), from the raw row. */
function presentUser(row) {
  return {
    id: row.user_id,
    username: row.user_username,
    email: row.user_email,
    first_name: row.user_first_name,
    last_name: row.user_last_name,
    profile: {
      bio: row.profile_bio,
      avatar: signedMediaUrl(row.profile_avatar),
      phone_number: row.profile_phone_number,
      instagram_username: row.profile_instagram_username,
      facebook_page_id: row.profile_facebook_page_id,
      twitter_username: row.profile_twitter_username,
      default_image_style: row.profile_default_image_style,
      auto_validate_images: row.profile_auto_validate_images,
      timezone: row.profile_timezone,
      created_at: row.profile_created_at.toISOString(),
      updated_at: row.profile_updated_at.toISOString(),
    },
    date_joined: row.user_date_joined.toISOString(),
  };
}

function send(response, status, body, type = 'application/json; charset=utf-8') {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function unauthorized(response) {
  send(
    response,
    401,
    { status: 401, code: 'not_authenticated', detail: 'Invalid or expired token.' },
    'application/problem+json',
  );
}

async function handle(request, response) {
  const path = request.url.split('?')[0];
  if (request.method === 'GET' && (path === '/api/auth/me/' || path === '/api/auth/me')) {
    const claims = verifyAccessToken(request.headers.authorization, jwtSecret);
    if (!claims) return unauthorized(response);
    const { rows } = await pool.query(FIND_AUTHENTICATED, [claims.fam, Number(claims.sub)]);
    if (rows.length === 0) return unauthorized(response);
    return send(response, 200, presentUser(rows[0]));
  }
  if (request.method === 'GET' && path === '/api/health') {
    await pool.query('SELECT 1');
    return send(response, 200, { status: 'ok' });
  }
  return send(response, 404, { status: 404, code: 'not_found' }, 'application/problem+json');
}

const server = http.createServer((request, response) => {
  handle(request, response).catch((error) => {
    console.error(`bare-auth-server: ${error.message}`);
    if (!response.headersSent) send(response, 500, { status: 500 }, 'application/problem+json');
    else response.destroy();
  });
});

server.listen(port, '127.0.0.1', () => console.log(`bare-auth-server listening on ${port}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    pool.end().finally(() => process.exit(0));
  });
}
