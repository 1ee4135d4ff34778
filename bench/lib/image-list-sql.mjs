// The SQL of `GET /api/images/`, two ways:
//   - COPY: the statements the app sends (the bearer check, then ImagesService.list's one
//     statement, GeneratedImageQueries.listOfOwner). The copy bare server sends these, and the
//     image-list benchmark checks at each run, against a copy of the app that writes down its SQL
//     (bench/lib/sql-capture.mjs), that the app still sends exactly these, with the same values.
//   - BEST: the fastest plain SQL for the same answer, written by hand for the best bare server:
//     ONE statement for the bearer check, the counters row, the page and its tag names, with
//     only the columns the answer shows and the timestamps already as ISO strings.
import { FIND_AUTHENTICATED } from './bare-auth.mjs';

const LIST_COLUMNS = `i.id, i.prompt, i.negative_prompt AS "negativePrompt", i.status, i.style, i.width, i.height, i.quality, i.provider, i.image_url AS "imageUrl", i.master_key AS "masterKey", i.rendition_key AS "renditionKey", i.thumbnail_key AS "thumbnailKey", i.error_message AS "errorMessage", i.metadata, i.generation_time AS "generationTime", i.progress, i.validated_at AS "validatedAt", i.validation_notes AS "validationNotes", i.created_at AS "createdAt", i.updated_at AS "updatedAt", i.version`;

const TAGS_OF_ROW = `LEFT JOIN LATERAL (SELECT array_agg(tag.name ORDER BY tag.name) AS names FROM generated_image_tags link JOIN image_tags tag ON tag.id = link.tag_id WHERE link.image_id = i.id) t ON true`;

/** The image's id among the links of the user's tags named $n. */
const withTags = (alias, n) =>
  `${alias}.id IN (SELECT link.image_id FROM generated_image_tags link JOIN image_tags tag ON tag.id = link.tag_id WHERE tag.user_id = $1 AND tag.name = ANY($${n}::varchar[]))`;

/**
 * GeneratedImageQueries.listOfOwner's statement (listStatement()) for the default ordering
 * (-created_at, then -id) and a status or tags filter (or neither); its values.
 */
export function appListStatement({ userId, status, tags, limit, offset }) {
  const values = [userId];
  const ranked = ['ranked.user_id = $1'];
  if (status) ranked.push(`ranked.status = $${values.push(status)}`);
  if (tags) ranked.push(withTags('ranked', values.push(tags)));
  let count;
  if (!tags) {
    count = `coalesce((SELECT s.${status ?? 'total'} FROM user_image_stats s WHERE s.user_id = $1), 0)`;
  } else {
    const counted = ['counted.user_id = $1'];
    if (status) counted.push(`counted.status = $${values.push(status)}`);
    counted.push(withTags('counted', values.push(tags)));
    count = `(SELECT count(*)::int FROM generated_images counted WHERE ${counted.join(' AND ')})`;
  }
  const l = values.push(limit);
  const o = values.push(offset);
  const text =
    `SELECT c.count, ${LIST_COLUMNS}, coalesce(t.names, '{}') AS tags` +
    ` FROM (SELECT ${count} AS count) c` +
    ` LEFT JOIN LATERAL (SELECT ranked.id FROM generated_images ranked WHERE ${ranked.join(' AND ')}` +
    ` ORDER BY ranked.created_at DESC, ranked.id DESC LIMIT $${l} OFFSET $${o}) page ON true` +
    ` LEFT JOIN generated_images i ON i.id = page.id ${TAGS_OF_ROW}` +
    ` ORDER BY i.created_at DESC, i.id DESC`;
  return { text, values };
}

/** Every statement of one list request, in the app's order: the bearer check, then the list. */
export function listStatements({ familyId, userId, status, tags, limit, offset }) {
  return [
    { text: FIND_AUTHENTICATED, values: [familyId, userId] },
    appListStatement({ userId, status, tags, limit, offset }),
  ];
}

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const iso = (column) => `to_char(${column} AT TIME ZONE 'UTC', ${ISO})`;

/**
 * The best bare server's one statement: $1 the token's family, $2 the user, $3 the page size,
 * $4 the offset, then the status ($5) or the tag names ($5). One row per image (a single row
 * with a null id for an empty page); no row at all when the bearer check fails. The counters
 * row gives the count without a filter or with a status; with tags, the count comes from the
 * tags' links (an image carries a tag once, so the links of one tag count its images; with
 * several tags, the distinct images), never from the owner's 100,000 rows.
 */
export function bestListStatement({ familyId, userId, status, tags, limit, offset }) {
  const values = [familyId, userId, limit, offset];
  const where = ['r.user_id = $2'];
  let count = `coalesce((SELECT s.${status ?? 'total'} FROM user_image_stats s WHERE s.user_id = $2), 0)`;
  if (status) where.push(`r.status = $${values.push(status)}`);
  if (tags) {
    const n = values.push(tags);
    const linked = `SELECT link.image_id FROM generated_image_tags link JOIN image_tags tag ON tag.id = link.tag_id WHERE tag.user_id = $2 AND tag.name = ANY($${n}::varchar[])`;
    where.push(`r.id IN (${linked})`);
    count = status
      ? `(SELECT count(*)::int FROM generated_images x WHERE x.id IN (${linked}) AND x.status = $5)`
      : `(SELECT count(DISTINCT link.image_id)::int FROM generated_image_tags link JOIN image_tags tag ON tag.id = link.tag_id WHERE tag.user_id = $2 AND tag.name = ANY($${n}::varchar[]))`;
  }
  const text =
    `SELECT u.username, c.count, i.id, i.prompt, i.negative_prompt, i.image_url, i.master_key,` +
    ` i.thumbnail_key, i.rendition_key, i.version, i.status, i.error_message, i.style, i.width, i.height,` +
    ` i.quality, i.provider, i.metadata, i.generation_time, i.progress,` +
    ` ${iso('i.validated_at')} AS validated_at, i.validation_notes, t.names,` +
    ` ${iso('i.created_at')} AS created_at, ${iso('i.updated_at')} AS updated_at` +
    ` FROM users u JOIN token_families f ON f.id = $1 AND f.user_id = u.id AND f.revoked_at IS NULL` +
    ` CROSS JOIN LATERAL (SELECT ${count} AS count) c` +
    ` LEFT JOIN LATERAL (SELECT r.id FROM generated_images r WHERE ${where.join(' AND ')}` +
    ` ORDER BY r.created_at DESC, r.id DESC LIMIT $3 OFFSET $4) page ON true` +
    ` LEFT JOIN generated_images i ON i.id = page.id ${TAGS_OF_ROW}` +
    ` WHERE u.id = $2 AND u.is_active` +
    ` ORDER BY i.created_at DESC, i.id DESC`;
  return { text, values };
}
