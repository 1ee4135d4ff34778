import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. 1) Deleting a user cascades to their images and history, whose counter triggers
 * then upserted a counters row for a user who no longer exists (a foreign key violation that
 * made such users impossible to delete). Decrements now only update an existing row.
 * 2) The generation sweep looks for images left pending or generating; a partial index makes
 * that lookup read only those rows.
 */
export class CountersSurviveCascadeAndSweepIndex1795986000000 implements MigrationInterface {
  name = 'CountersSurviveCascadeAndSweepIndex1795986000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION user_image_stats_add(p_user integer, p_status text, d integer, p_time double precision)
      RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        IF d < 0 THEN
          -- The row exists while the user has images; gone with the user, there is nothing to count.
          UPDATE user_image_stats SET
            total = total + d,
            pending = pending + (p_status = 'pending')::int * d,
            generating = generating + (p_status = 'generating')::int * d,
            generated = generated + (p_status = 'generated')::int * d,
            validated = validated + (p_status = 'validated')::int * d,
            rejected = rejected + (p_status = 'rejected')::int * d,
            failed = failed + (p_status = 'failed')::int * d,
            total_generation_time = total_generation_time + coalesce(p_time, 0) * d,
            timed_count = timed_count + (p_time IS NOT NULL)::int * d
          WHERE user_id = p_user;
          RETURN;
        END IF;
        INSERT INTO user_image_stats AS s (user_id, total, pending, generating, generated, validated,
            rejected, failed, total_generation_time, timed_count)
        VALUES (p_user, d, (p_status = 'pending')::int * d, (p_status = 'generating')::int * d,
            (p_status = 'generated')::int * d, (p_status = 'validated')::int * d,
            (p_status = 'rejected')::int * d, (p_status = 'failed')::int * d,
            coalesce(p_time, 0) * d, (p_time IS NOT NULL)::int * d)
        ON CONFLICT (user_id) DO UPDATE SET
            total = s.total + EXCLUDED.total,
            pending = s.pending + EXCLUDED.pending,
            generating = s.generating + EXCLUDED.generating,
            generated = s.generated + EXCLUDED.generated,
            validated = s.validated + EXCLUDED.validated,
            rejected = s.rejected + EXCLUDED.rejected,
            failed = s.failed + EXCLUDED.failed,
            total_generation_time = s.total_generation_time + EXCLUDED.total_generation_time,
            timed_count = s.timed_count + EXCLUDED.timed_count;
      END
      $$
    `);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION image_generation_history_count() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          UPDATE user_image_stats SET history_count = history_count - 1 WHERE user_id = OLD.user_id;
        ELSE
          INSERT INTO user_image_stats AS s (user_id, history_count) VALUES (NEW.user_id, 1)
          ON CONFLICT (user_id) DO UPDATE SET history_count = s.history_count + 1;
        END IF;
        RETURN NULL;
      END
      $$
    `);
    await queryRunner.query(`
      CREATE INDEX "generated_images_in_flight_idx" ON "generated_images" ("updated_at")
      WHERE "status" IN ('pending', 'generating')
    `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."generated_images_in_flight_idx"`);
    // The earlier bodies (upserts both ways), as ImagesAndTags created them.
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION image_generation_history_count() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO user_image_stats AS s (user_id, history_count)
        VALUES (coalesce(NEW.user_id, OLD.user_id), CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END)
        ON CONFLICT (user_id) DO UPDATE SET history_count = s.history_count + EXCLUDED.history_count;
        RETURN NULL;
      END
      $$
    `);
    await queryRunner.query(
      `DROP FUNCTION user_image_stats_add(integer, text, integer, double precision)`,
    );
    await queryRunner.query(`
      CREATE FUNCTION user_image_stats_add(p_user integer, p_status text, d integer, p_time double precision)
      RETURNS void LANGUAGE sql AS $$
        INSERT INTO user_image_stats AS s (user_id, total, pending, generating, generated, validated,
            rejected, failed, total_generation_time, timed_count)
        VALUES (p_user, d, (p_status = 'pending')::int * d, (p_status = 'generating')::int * d,
            (p_status = 'generated')::int * d, (p_status = 'validated')::int * d,
            (p_status = 'rejected')::int * d, (p_status = 'failed')::int * d,
            coalesce(p_time, 0) * d, (p_time IS NOT NULL)::int * d)
        ON CONFLICT (user_id) DO UPDATE SET
            total = s.total + EXCLUDED.total,
            pending = s.pending + EXCLUDED.pending,
            generating = s.generating + EXCLUDED.generating,
            generated = s.generated + EXCLUDED.generated,
            validated = s.validated + EXCLUDED.validated,
            rejected = s.rejected + EXCLUDED.rejected,
            failed = s.failed + EXCLUDED.failed,
            total_generation_time = s.total_generation_time + EXCLUDED.total_generation_time,
            timed_count = s.timed_count + EXCLUDED.timed_count
      $$
    `);
  }
}
