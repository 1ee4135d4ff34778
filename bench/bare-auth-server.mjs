// The baseline for the auth-me benchmark: `GET /api/auth/me/` with nothing but node:http, node:crypto
// and pg. It does the same work as the app's bearer check and `me` handler, written by hand:
//   1. take the bearer token from the Authorization header (scheme matched case-insensitively,
//      as the app's JwtAuthGuard does);
//   2. verify it as the app's guard does (verifyAccessToken in bench/lib/bare-auth.mjs): HS256
//      signature, exp, nbf, iss, typ, the family id and the user id;
//   3. run ONE query, the same SQL (same columns, same joins) that TokenFamilyQueries.findAuthenticated
//      makes TypeORM send: the active user, their profile, and the token family not revoked;
//   4. serialise the same JSON as auth.presenter.ts presentUser(), avatar URL signing included.
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

const env = process.env;
const port = Number(env.PORT ?? 3001);
const jwtSecret = env.JWT_SECRET;
if (!jwtSecret) {
  console.error('bare-auth-server: JWT_SECRET is required');
  process.exit(1);
}
const signedMediaUrl = mediaUrlSigner({
  jwtSecret,
  mediaUrlSecret: env.MEDIA_URL_SECRET?.trim() || undefined,
  publicBaseUrl: env.PUBLIC_BASE_URL ?? `http://localhost:${port}`,
  ttlSeconds: Number(env.MEDIA_URL_TTL_SECONDS ?? 3600),
});

const pool = new pg.Pool({
  connectionString: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/image_automation_bench',
  max: Number(env.PG_POOL_MAX ?? 20),
  connectionTimeoutMillis: 5000,
});
pool.on('error', (error) => console.error(`bare-auth-server: idle client error: ${error.message}`));

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
      email_notifications: emailNotifications(row.profile_email_notifications),
      created_at: row.profile_created_at.toISOString(),
      updated_at: row.profile_updated_at.toISOString(),
    },
    date_joined: row.user_date_joined.toISOString(),
  };
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
  return notFound(response);
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

/** The switches in effect, as effectiveEmailNotifications() computes them: stored choices over the defaults. */
const EMAIL_NOTIFICATION_DEFAULTS = {
  post_failed: true,
  account_reconnect_required: true,
  schedule_run_skipped: true,
  webhook_disabled: true,
  weekly_digest: false,
};

function emailNotifications(stored) {
  const effective = { ...EMAIL_NOTIFICATION_DEFAULTS };
  for (const kind of Object.keys(effective)) {
    if (typeof stored?.[kind] === 'boolean') effective[kind] = stored[kind];
  }
  return effective;
}
