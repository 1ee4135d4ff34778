import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. Image editing keeps every version of an image (api.md, "Image editing"):
 *   - image_versions: one row per version, its operation list (from the original) and its files;
 *     deleted with the image. Every finished image (it has a master) gets its version 1 here,
 *     naming the files it has now, so nothing is re-rendered.
 *   - generated_images.version: the current version, whose files the image row carries.
 *   - scheduled_posts.image_version: the version current when the post was scheduled, which is
 *     the one published. Null for older posts: they publish the image's current files.
 */
export class ImageVersions1796005000000 implements MigrationInterface {
  name = 'ImageVersions1796005000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE image_versions (
        id serial PRIMARY KEY,
        image_id integer NOT NULL REFERENCES generated_images (id) ON DELETE CASCADE,
        version integer NOT NULL,
        operations jsonb NOT NULL DEFAULT '[]'::jsonb,
        restored_from integer,
        master_key character varying(255) NOT NULL,
        rendition_key character varying(255) NOT NULL,
        thumbnail_key character varying(255) NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT image_versions_image_version_key UNIQUE (image_id, version)
      )`);
    await queryRunner.query(
      `ALTER TABLE generated_images ADD COLUMN version integer NOT NULL DEFAULT 1`,
    );
    await queryRunner.query(`ALTER TABLE scheduled_posts ADD COLUMN image_version integer`);
    await queryRunner.query(`
      INSERT INTO image_versions (image_id, version, master_key, rendition_key, thumbnail_key,
        width, height, created_at)
      SELECT id, 1, master_key, rendition_key, thumbnail_key, width, height, updated_at
      FROM generated_images
      WHERE master_key IS NOT NULL AND rendition_key IS NOT NULL AND thumbnail_key IS NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE scheduled_posts DROP COLUMN image_version`);
    await queryRunner.query(`ALTER TABLE generated_images DROP COLUMN version`);
    await queryRunner.query(`DROP TABLE image_versions`);
  }
}
