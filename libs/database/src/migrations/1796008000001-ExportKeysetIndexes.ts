import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. An export reads a user's posts a keyset page at a time in id order (their
 * analytics too, by post): without an index on (user_id, id), every page read all the user's
 * remaining posts and sorted them (a page cost grew with the rows left: quadratic in all). The
 * existing (user_id, scheduled_time, id) index cannot serve: a post's time changes while an
 * export runs. Images need none: the export pages them by (created_at, id), which never changes,
 * on generated_images_user_created_idx.
 */
export class ExportKeysetIndexes1796008000001 implements MigrationInterface {
  name = 'ExportKeysetIndexes1796008000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "scheduled_posts_user_id_idx" ON "scheduled_posts" ("user_id", "id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "scheduled_posts_user_id_idx"`);
  }
}
