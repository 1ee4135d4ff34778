import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. `user_list_versions.images`: a number that changes, in the same transaction,
 * whenever anything the user's image list shows changes (an image inserted, updated or deleted;
 * a tag linked or unlinked; a tag renamed or deleted). The bearer check reads it with the user, so
 * an API process can answer a list it answered before at the same version from memory, without
 * running the list's statement (ImageListCache; docs/decisions.md), and knows at once when not to.
 *
 * Statement-level triggers over transition tables: a statement touching many rows (a user's
 * deletion, a bulk tag change) bumps each user once, in user order. As for the counters, a
 * DELETE only updates an existing row: a cascade removing the owner must not recreate it. A
 * separate table (no entity knows it), as the list counters.
 */
export class ImageListVersions1796009000000 implements MigrationInterface {
  name = 'ImageListVersions1796009000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE user_list_versions (
        user_id integer PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        images bigint NOT NULL DEFAULT 0
      )`);
    // $1: the users whose lists changed (each once, in order, so that two statements bumping
    // the same users lock their rows in the same order).
    await queryRunner.query(`
      CREATE FUNCTION user_list_versions_bump_images(p_users integer[], p_may_insert boolean)
      RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        IF p_may_insert THEN
          INSERT INTO user_list_versions AS v (user_id, images)
          SELECT u, 1 FROM unnest(p_users) AS u ORDER BY u
          ON CONFLICT (user_id) DO UPDATE SET images = v.images + 1;
        ELSE
          PERFORM 1 FROM user_list_versions WHERE user_id = ANY (p_users)
          ORDER BY user_id FOR NO KEY UPDATE;
          UPDATE user_list_versions SET images = images + 1 WHERE user_id = ANY (p_users);
        END IF;
      END $$`);
    // For tables whose rows carry their owner (images, and tags: a tag's name shows in the
    // images carrying it; a new tag carries none yet, so tags have no INSERT trigger).
    await queryRunner.query(`
      CREATE FUNCTION list_version_of_owners() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM user_list_versions_bump_images(
            ARRAY(SELECT DISTINCT user_id FROM old_rows ORDER BY 1), false);
        ELSE
          PERFORM user_list_versions_bump_images(
            ARRAY(SELECT DISTINCT user_id FROM new_rows ORDER BY 1), true);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION generated_image_tags_list_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- The tag names the owner (an image and its tags are one user's). A link removed with
        -- its tag or its image finds neither: that deletion bumps the version itself.
        IF TG_OP = 'DELETE' THEN
          PERFORM user_list_versions_bump_images(ARRAY(
            SELECT DISTINCT t.user_id FROM old_rows r JOIN image_tags t ON t.id = r.tag_id
            ORDER BY 1), false);
        ELSE
          PERFORM user_list_versions_bump_images(ARRAY(
            SELECT DISTINCT t.user_id FROM new_rows r JOIN image_tags t ON t.id = r.tag_id
            ORDER BY 1), true);
        END IF;
        RETURN NULL;
      END $$`);
    for (const [table, fn, events] of [
      ['generated_images', 'list_version_of_owners', ['INSERT', 'UPDATE', 'DELETE']],
      ['generated_image_tags', 'generated_image_tags_list_version', ['INSERT', 'DELETE']],
      ['image_tags', 'list_version_of_owners', ['UPDATE', 'DELETE']],
    ] as const) {
      for (const event of events) {
        // A transition table per event: PostgreSQL allows them on single-event triggers only.
        const transition = event === 'DELETE' ? 'OLD TABLE AS old_rows' : 'NEW TABLE AS new_rows';
        await queryRunner.query(`
          CREATE TRIGGER ${table}_list_version_${event.toLowerCase()} AFTER ${event} ON ${table}
          REFERENCING ${transition} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`);
      }
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const [table, events] of [
      ['generated_images', ['insert', 'update', 'delete']],
      ['generated_image_tags', ['insert', 'delete']],
      ['image_tags', ['update', 'delete']],
    ] as const) {
      for (const event of events)
        await queryRunner.query(`DROP TRIGGER ${table}_list_version_${event} ON ${table}`);
    }
    await queryRunner.query('DROP FUNCTION generated_image_tags_list_version()');
    await queryRunner.query('DROP FUNCTION list_version_of_owners()');
    await queryRunner.query('DROP FUNCTION user_list_versions_bump_images(integer[], boolean)');
    await queryRunner.query('DROP TABLE user_list_versions');
  }
}
