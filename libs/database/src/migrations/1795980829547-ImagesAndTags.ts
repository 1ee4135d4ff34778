import { MigrationInterface, QueryRunner } from 'typeorm';

export class ImagesAndTags1795980829547 implements MigrationInterface {
  name = 'ImagesAndTags1795980829547';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "image_tags" (
                "id" SERIAL NOT NULL,
                "user_id" integer NOT NULL,
                "name" character varying(50) NOT NULL,
                "description" character varying(500) NOT NULL DEFAULT '',
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_6a72d1a996e13e60944f147f265" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "image_tags_user_name_key" ON "image_tags" ("user_id", "name")
        `);
    await queryRunner.query(`
            CREATE TABLE "generated_images" (
                "id" SERIAL NOT NULL,
                "user_id" integer NOT NULL,
                "prompt" character varying(2000) NOT NULL,
                "negative_prompt" character varying(2000) NOT NULL DEFAULT '',
                "status" character varying(16) NOT NULL DEFAULT 'pending',
                "style" character varying(20) NOT NULL,
                "width" integer NOT NULL,
                "height" integer NOT NULL,
                "quality" character varying(10) NOT NULL DEFAULT 'standard',
                "provider" character varying(20) NOT NULL DEFAULT '',
                "image_url" text,
                "original_key" character varying(255),
                "master_key" character varying(255),
                "rendition_key" character varying(255),
                "thumbnail_key" character varying(255),
                "error_message" text NOT NULL DEFAULT '',
                "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb,
                "generation_time" double precision,
                "progress" smallint NOT NULL DEFAULT '0',
                "generation" integer NOT NULL DEFAULT '1',
                "validated_at" TIMESTAMP WITH TIME ZONE,
                "validation_notes" character varying(1000) NOT NULL DEFAULT '',
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_1ee659109b9a66d386ba8be0319" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "generated_images_user_status_created_idx" ON "generated_images" ("user_id", "status", "created_at", "id")
        `);
    await queryRunner.query(`
            CREATE INDEX "generated_images_user_created_idx" ON "generated_images" ("user_id", "created_at", "id")
        `);
    await queryRunner.query(`
            CREATE TABLE "image_generation_history" (
                "id" SERIAL NOT NULL,
                "user_id" integer NOT NULL,
                "image_id" integer,
                "action" character varying(20) NOT NULL,
                "details" jsonb NOT NULL DEFAULT '{}'::jsonb,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_09b1c5a240e787e8656a57be040" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "image_generation_history_user_created_idx" ON "image_generation_history" ("user_id", "created_at", "id")
        `);
    await queryRunner.query(`
            CREATE TABLE "user_image_stats" (
                "user_id" integer NOT NULL,
                "total" integer NOT NULL DEFAULT '0',
                "pending" integer NOT NULL DEFAULT '0',
                "generating" integer NOT NULL DEFAULT '0',
                "generated" integer NOT NULL DEFAULT '0',
                "validated" integer NOT NULL DEFAULT '0',
                "rejected" integer NOT NULL DEFAULT '0',
                "failed" integer NOT NULL DEFAULT '0',
                "total_generation_time" double precision NOT NULL DEFAULT '0',
                "timed_count" integer NOT NULL DEFAULT '0',
                "history_count" integer NOT NULL DEFAULT '0',
                CONSTRAINT "PK_5f0a873ce2a5efd20e99abea4ae" PRIMARY KEY ("user_id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "generated_image_tags" (
                "image_id" integer NOT NULL,
                "tag_id" integer NOT NULL,
                CONSTRAINT "PK_eae078581076cc6b285d8b0d58e" PRIMARY KEY ("image_id", "tag_id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_b99175f8872aa8e44e7bb0b1f8" ON "generated_image_tags" ("image_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_72681f7670fbd489acfa2c94d7" ON "generated_image_tags" ("tag_id")
        `);
    await queryRunner.query(`
            ALTER TABLE "image_tags"
            ADD CONSTRAINT "FK_f2e676e4eadd6688baf385b09ff" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "generated_images"
            ADD CONSTRAINT "FK_9700c4a50634136e9d9e7dbb453" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "user_image_stats"
            ADD CONSTRAINT "FK_5f0a873ce2a5efd20e99abea4ae" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "generated_image_tags"
            ADD CONSTRAINT "FK_b99175f8872aa8e44e7bb0b1f8e" FOREIGN KEY ("image_id") REFERENCES "generated_images"("id") ON DELETE CASCADE ON UPDATE CASCADE
        `);
    await queryRunner.query(`
            ALTER TABLE "generated_image_tags"
            ADD CONSTRAINT "FK_72681f7670fbd489acfa2c94d77" FOREIGN KEY ("tag_id") REFERENCES "image_tags"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    // Hand-written: exact per-user counters, so a list's count and the statistics read one
    // row instead of counting an owner's 100,000 images (see UserImageStats).
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
    await queryRunner.query(`
            CREATE FUNCTION generated_images_count() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    PERFORM user_image_stats_add(OLD.user_id, OLD.status, -1, OLD.generation_time);
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    PERFORM user_image_stats_add(NEW.user_id, NEW.status, 1, NEW.generation_time);
                END IF;
                RETURN NULL;
            END
            $$
        `);
    await queryRunner.query(`
            CREATE TRIGGER generated_images_count_insert_delete AFTER INSERT OR DELETE ON generated_images
            FOR EACH ROW EXECUTE FUNCTION generated_images_count()
        `);
    await queryRunner.query(`
            CREATE TRIGGER generated_images_count_update AFTER UPDATE ON generated_images
            FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                OR OLD.generation_time IS DISTINCT FROM NEW.generation_time
                OR OLD.user_id IS DISTINCT FROM NEW.user_id)
            EXECUTE FUNCTION generated_images_count()
        `);
    await queryRunner.query(`
            CREATE FUNCTION image_generation_history_count() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO user_image_stats AS s (user_id, history_count)
                VALUES (coalesce(NEW.user_id, OLD.user_id), CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END)
                ON CONFLICT (user_id) DO UPDATE SET history_count = s.history_count + EXCLUDED.history_count;
                RETURN NULL;
            END
            $$
        `);
    await queryRunner.query(`
            CREATE TRIGGER image_generation_history_count AFTER INSERT OR DELETE ON image_generation_history
            FOR EACH ROW EXECUTE FUNCTION image_generation_history_count()
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER generated_images_count_update ON generated_images`);
    await queryRunner.query(
      `DROP TRIGGER generated_images_count_insert_delete ON generated_images`,
    );
    await queryRunner.query(`DROP FUNCTION generated_images_count()`);
    await queryRunner.query(
      `DROP FUNCTION user_image_stats_add(integer, text, integer, double precision)`,
    );
    await queryRunner.query(`
            ALTER TABLE "generated_image_tags" DROP CONSTRAINT "FK_72681f7670fbd489acfa2c94d77"
        `);
    await queryRunner.query(`
            ALTER TABLE "generated_image_tags" DROP CONSTRAINT "FK_b99175f8872aa8e44e7bb0b1f8e"
        `);
    await queryRunner.query(`
            ALTER TABLE "user_image_stats" DROP CONSTRAINT "FK_5f0a873ce2a5efd20e99abea4ae"
        `);
    await queryRunner.query(`
            ALTER TABLE "generated_images" DROP CONSTRAINT "FK_9700c4a50634136e9d9e7dbb453"
        `);
    await queryRunner.query(`
            ALTER TABLE "image_tags" DROP CONSTRAINT "FK_f2e676e4eadd6688baf385b09ff"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_72681f7670fbd489acfa2c94d7"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_b99175f8872aa8e44e7bb0b1f8"
        `);
    await queryRunner.query(`
            DROP TABLE "generated_image_tags"
        `);
    await queryRunner.query(`
            DROP TABLE "user_image_stats"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."image_generation_history_user_created_idx"
        `);
    await queryRunner.query(`
            DROP TABLE "image_generation_history"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."generated_images_user_created_idx"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."generated_images_user_status_created_idx"
        `);
    await queryRunner.query(`
            DROP TABLE "generated_images"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."image_tags_user_name_key"
        `);
    await queryRunner.query(`
            DROP TABLE "image_tags"
        `);
  }
}
