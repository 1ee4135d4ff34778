// What the bare servers (bench/bare-*-server.mjs) share: the app's bearer check and the SQL it
// sends for it, media URL signing, and the answers, written by hand with node:crypto alone.
//   - verifyAccessToken() verifies a token as the app's JwtAuthGuard does (jsonwebtoken, then
//     TokenService.verify's checks): the header's alg is HS256, the HMAC-SHA256 signature matches
//     (compared with timingSafeEqual), exp is in the future, nbf (if any) is past, iss is
//     'image-automation', typ is 'access', fam and jti are UUIDs and sub a 1-10 digit id;
//   - FIND_AUTHENTICATED is the one query TokenFamilyQueries.findAuthenticated makes TypeORM send;
//   - mediaUrlSigner() signs as apps/server/src/media/media-url.signer.ts signOrNull().
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { Buffer } from 'node:buffer';

export const JWT_ISSUER = 'image-automation';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USER_ID = /^\d{1,10}$/;

// Exactly the statement TypeORM builds for TokenFamilyQueries.findAuthenticated (the same select list,
// aliases included, and the image list's version, so PostgreSQL and pg do the same work).
// Parameters: [family id, user id].
export const FIND_AUTHENTICATED = `SELECT "user"."id" AS "user_id", "user"."username" AS "user_username", "user"."email" AS "user_email", "user"."first_name" AS "user_first_name", "user"."last_name" AS "user_last_name", "user"."is_active" AS "user_is_active", "user"."is_staff" AS "user_is_staff", "user"."is_superuser" AS "user_is_superuser", "user"."date_joined" AS "user_date_joined", "user"."last_login" AS "user_last_login", "user"."password_changed_at" AS "user_password_changed_at", "profile"."id" AS "profile_id", "profile"."user_id" AS "profile_user_id", "profile"."bio" AS "profile_bio", "profile"."avatar" AS "profile_avatar", "profile"."phone_number" AS "profile_phone_number", "profile"."instagram_username" AS "profile_instagram_username", "profile"."facebook_page_id" AS "profile_facebook_page_id", "profile"."twitter_username" AS "profile_twitter_username", "profile"."default_image_style" AS "profile_default_image_style", "profile"."auto_validate_images" AS "profile_auto_validate_images", "profile"."timezone" AS "profile_timezone", "profile"."email_notifications" AS "profile_email_notifications", "profile"."created_at" AS "profile_created_at", "profile"."updated_at" AS "profile_updated_at", coalesce(versions.images, 0) AS "images_version" FROM "users" "user" INNER JOIN "profiles" "profile" ON "profile"."user_id"="user"."id"  INNER JOIN "token_families" "family" ON "family"."id" = $1 AND "family"."user_id" = "user"."id" AND "family"."revoked_at" IS NULL  LEFT JOIN "user_list_versions" "versions" ON versions.user_id = "user"."id" WHERE "user"."id" = $2 AND "user"."is_active"`;

/** The access token's claims, or null when anything is wrong with it. */
export function verifyAccessToken(
  authorization,
  secret,
  nowSeconds = Math.floor(Date.now() / 1000),
) {
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

/**
 * signOrNull(key) as apps/server/src/media/media-url.signer.ts: the key is MEDIA_URL_SECRET, or
 * derived from JWT_SECRET with HKDF as libs/common/src/config/load-config.ts does; the URL on
 * PUBLIC_BASE_URL.
 */
/** As MediaUrlSigner.pageExpiry: now + the TTL, rounded up to a twelfth of it (≤ 5 min). */
export function pageExpiry(ttlSeconds, nowMs = Date.now()) {
  const step = Math.min(300, Math.max(1, Math.floor(ttlSeconds / 12)));
  return Math.ceil((Math.floor(nowMs / 1000) + ttlSeconds) / step) * step;
}

export function mediaUrlSigner({ jwtSecret, mediaUrlSecret, publicBaseUrl, ttlSeconds }) {
  const signingSecret = mediaUrlSecret
    ? Buffer.from(mediaUrlSecret, 'utf8')
    : Buffer.from(hkdfSync('sha256', jwtSecret, '', 'image-automation media-url v1', 32));
  const base = publicBaseUrl.replace(/\/+$/, '');
  return (key) => {
    if (!key) return null;
    const expires = pageExpiry(ttlSeconds);
    const signature = createHmac('sha256', signingSecret)
      .update(`${key}\n${expires}`)
      .digest('base64url');
    return `${base}/media/${key}?expires=${expires}&signature=${signature}`;
  };
}

export function send(response, status, body, type = 'application/json; charset=utf-8') {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

export function unauthorized(response) {
  send(
    response,
    401,
    { status: 401, code: 'not_authenticated', detail: 'Invalid or expired token.' },
    'application/problem+json',
  );
}

export function notFound(response, code = 'not_found') {
  send(response, 404, { status: 404, code }, 'application/problem+json');
}
