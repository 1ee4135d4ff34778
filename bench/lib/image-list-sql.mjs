// The statements the app sends PostgreSQL for `GET /api/images/` (ImagesService.list, through
// GeneratedImageQueries, UserImageStatsQueries and ImageTagQueries), as TypeORM builds them: the
// bare server sends these, and the image-list benchmark checks at each run, against a copy of the
// app that writes down its SQL (bench/lib/sql-capture.mjs), that the app still sends exactly
// these, with the same values.
import { FIND_AUTHENTICATED } from './bare-auth.mjs';

/** `findOneBy({ userId })` on UserImageStats (UserImageStatsQueries.ofUser): the counters row. */
export const STATS_QUERY = `SELECT "UserImageStats"."user_id" AS "UserImageStats_user_id", "UserImageStats"."total" AS "UserImageStats_total", "UserImageStats"."pending" AS "UserImageStats_pending", "UserImageStats"."generating" AS "UserImageStats_generating", "UserImageStats"."generated" AS "UserImageStats_generated", "UserImageStats"."validated" AS "UserImageStats_validated", "UserImageStats"."rejected" AS "UserImageStats_rejected", "UserImageStats"."failed" AS "UserImageStats_failed", "UserImageStats"."total_generation_time" AS "UserImageStats_total_generation_time", "UserImageStats"."timed_count" AS "UserImageStats_timed_count", "UserImageStats"."history_count" AS "UserImageStats_history_count" FROM "user_image_stats" "UserImageStats" WHERE (("UserImageStats"."user_id" = $1)) LIMIT 1`;

const PAGE_SELECT = `SELECT "image"."id" AS "image_id", "image"."user_id" AS "image_user_id", "image"."prompt" AS "image_prompt", "image"."negative_prompt" AS "image_negative_prompt", "image"."status" AS "image_status", "image"."style" AS "image_style", "image"."width" AS "image_width", "image"."height" AS "image_height", "image"."quality" AS "image_quality", "image"."provider" AS "image_provider", "image"."image_url" AS "image_image_url", "image"."original_key" AS "image_original_key", "image"."master_key" AS "image_master_key", "image"."rendition_key" AS "image_rendition_key", "image"."thumbnail_key" AS "image_thumbnail_key", "image"."error_message" AS "image_error_message", "image"."metadata" AS "image_metadata", "image"."generation_time" AS "image_generation_time", "image"."progress" AS "image_progress", "image"."generation" AS "image_generation", "image"."validated_at" AS "image_validated_at", "image"."validation_notes" AS "image_validation_notes", "image"."created_at" AS "image_created_at", "image"."updated_at" AS "image_updated_at" FROM "generated_images" "image"`;

/**
 * The page (GeneratedImageQueries.pageOfOwner), default ordering (-created_at, then -id), as a
 * deferred join: the page's ids from the list's index alone, then their rows. TypeORM writes LIMIT
 * and OFFSET into the text (OFFSET 0 included), so each page is a statement of its own.
 */
export function pageQuery({ status, limit, offset }) {
  const where = status
    ? `WHERE "ranked"."user_id" = $1 AND "ranked"."status" = $2`
    : `WHERE "ranked"."user_id" = $1`;
  return `${PAGE_SELECT} INNER JOIN (SELECT "ranked"."id" AS "id" FROM "generated_images" "ranked" ${where} ORDER BY "ranked"."created_at" DESC, "ranked"."id" DESC LIMIT ${limit} OFFSET ${offset}) "page" ON page.id = "image"."id" ORDER BY "image"."created_at" DESC, "image"."id" DESC`;
}

/** ImageTagQueries.namesByImage, with its line breaks and indentation. */
export const TAG_NAMES_QUERY = `SELECT link.image_id, tag.name FROM generated_image_tags link
       JOIN image_tags tag ON tag.id = link.tag_id AND tag.user_id = $2
       WHERE link.image_id = ANY($1::int[]) ORDER BY tag.name`;

/**
 * Every statement of one list request, in the app's order: the bearer check, then the counters
 * row and the page (sent together), then the tag names of the page's images (when it has any).
 */
export function listStatements({ familyId, userId, status, limit, offset, imageIds }) {
  const statements = [
    { text: FIND_AUTHENTICATED, values: [familyId, userId] },
    { text: STATS_QUERY, values: [userId] },
    { text: pageQuery({ status, limit, offset }), values: status ? [userId, status] : [userId] },
  ];
  if (imageIds.length > 0) statements.push({ text: TAG_NAMES_QUERY, values: [imageIds, userId] });
  return statements;
}
