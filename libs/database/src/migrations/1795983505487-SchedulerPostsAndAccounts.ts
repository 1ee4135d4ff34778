import { MigrationInterface, QueryRunner } from 'typeorm';

export class SchedulerPostsAndAccounts1795983505487 implements MigrationInterface {
  name = 'SchedulerPostsAndAccounts1795983505487';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "social_accounts" (
                "id" SERIAL NOT NULL,
                "user_id" integer NOT NULL,
                "platform" character varying(20) NOT NULL,
                "account_id" character varying(255) NOT NULL,
                "display_name" character varying(100) NOT NULL DEFAULT '',
                "access_token_encrypted" text NOT NULL,
                "refresh_token_encrypted" text,
                "expires_at" TIMESTAMP WITH TIME ZONE,
                "status" character varying(20) NOT NULL DEFAULT 'active',
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_e9e58d2d8e9fafa20af914d9750" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "social_accounts_user_platform_account_key" ON "social_accounts" ("user_id", "platform", "account_id")
        `);
    await queryRunner.query(`
            CREATE TABLE "scheduled_posts" (
                "id" SERIAL NOT NULL,
                "user_id" integer NOT NULL,
                "image_id" integer,
                "account_id" integer,
                "schedule_id" integer,
                "platform" character varying(20) NOT NULL,
                "caption" character varying(2200) NOT NULL DEFAULT '',
                "hashtags" character varying(2200) NOT NULL DEFAULT '',
                "scheduled_time" TIMESTAMP WITH TIME ZONE NOT NULL,
                "status" character varying(16) NOT NULL DEFAULT 'scheduled',
                "posted_at" TIMESTAMP WITH TIME ZONE,
                "error_message" text NOT NULL DEFAULT '',
                "error_code" character varying(32),
                "platform_post_id" character varying(255),
                "platform_post_url" text,
                "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb,
                "checkpoint" jsonb NOT NULL DEFAULT '{}'::jsonb,
                "version" integer NOT NULL DEFAULT '1',
                "attempts" integer NOT NULL DEFAULT '0',
                "lease_until" TIMESTAMP WITH TIME ZONE,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_0408d38eae4ccb97d9bbb148da1" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "scheduled_posts_processing_idx" ON "scheduled_posts" ("lease_until")
            WHERE "status" = 'processing'
        `);
    await queryRunner.query(`
            CREATE INDEX "scheduled_posts_due_idx" ON "scheduled_posts" ("scheduled_time")
            WHERE "status" = 'scheduled'
        `);
    await queryRunner.query(`
            CREATE INDEX "scheduled_posts_user_time_idx" ON "scheduled_posts" ("user_id", "scheduled_time", "id")
        `);
    await queryRunner.query(`
            CREATE TABLE "post_analytics" (
                "id" SERIAL NOT NULL,
                "scheduled_post_id" integer NOT NULL,
                "platform" character varying(20) NOT NULL,
                "likes" integer NOT NULL DEFAULT '0',
                "comments" integer NOT NULL DEFAULT '0',
                "shares" integer NOT NULL DEFAULT '0',
                "views" integer NOT NULL DEFAULT '0',
                "reach" integer NOT NULL DEFAULT '0',
                "impressions" integer NOT NULL DEFAULT '0',
                "engagement_rate" double precision NOT NULL DEFAULT '0',
                "last_synced_at" TIMESTAMP WITH TIME ZONE,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "REL_2214d1a7436c131c26013df4bd" UNIQUE ("scheduled_post_id"),
                CONSTRAINT "PK_421771f55c623cd4f6103828196" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            ALTER TABLE "social_accounts"
            ADD CONSTRAINT "FK_05a0f282d3bed93ca048a7e54dd" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "scheduled_posts"
            ADD CONSTRAINT "FK_83cbdfc52c73171cdff3b55e090" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "scheduled_posts"
            ADD CONSTRAINT "FK_13bf2a73bf34d3a1fc75efe2f6e" FOREIGN KEY ("image_id") REFERENCES "generated_images"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "scheduled_posts"
            ADD CONSTRAINT "FK_89feaf5d237c0d24631e8bfa136" FOREIGN KEY ("account_id") REFERENCES "social_accounts"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "post_analytics"
            ADD CONSTRAINT "FK_2214d1a7436c131c26013df4bd1" FOREIGN KEY ("scheduled_post_id") REFERENCES "scheduled_posts"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "post_analytics" DROP CONSTRAINT "FK_2214d1a7436c131c26013df4bd1"
        `);
    await queryRunner.query(`
            ALTER TABLE "scheduled_posts" DROP CONSTRAINT "FK_89feaf5d237c0d24631e8bfa136"
        `);
    await queryRunner.query(`
            ALTER TABLE "scheduled_posts" DROP CONSTRAINT "FK_13bf2a73bf34d3a1fc75efe2f6e"
        `);
    await queryRunner.query(`
            ALTER TABLE "scheduled_posts" DROP CONSTRAINT "FK_83cbdfc52c73171cdff3b55e090"
        `);
    await queryRunner.query(`
            ALTER TABLE "social_accounts" DROP CONSTRAINT "FK_05a0f282d3bed93ca048a7e54dd"
        `);
    await queryRunner.query(`
            DROP TABLE "post_analytics"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."scheduled_posts_user_time_idx"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."scheduled_posts_due_idx"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."scheduled_posts_processing_idx"
        `);
    await queryRunner.query(`
            DROP TABLE "scheduled_posts"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."social_accounts_user_platform_account_key"
        `);
    await queryRunner.query(`
            DROP TABLE "social_accounts"
        `);
  }
}
