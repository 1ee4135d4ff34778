import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Recurring schedules and their runs; posts keep a (nullable) link to the schedule that made them. */

export class SchedulesAndRuns1795989000000 implements MigrationInterface {
  name = 'SchedulesAndRuns1795989000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "posting_schedules" (
                "id" SERIAL NOT NULL,
                "user_id" integer NOT NULL,
                "name" character varying(100) NOT NULL,
                "frequency" character varying(10) NOT NULL,
                "time_of_day" TIME NOT NULL,
                "weekday" smallint,
                "day_of_month" smallint,
                "timezone" character varying(64) NOT NULL,
                "platforms" character varying(20) array NOT NULL,
                "account_ids" integer array NOT NULL DEFAULT '{}',
                "is_active" boolean NOT NULL DEFAULT true,
                "prompt" character varying(2000) NOT NULL DEFAULT '',
                "style" character varying(20),
                "tags" character varying(50) array NOT NULL DEFAULT '{}',
                "caption" character varying(2200) NOT NULL DEFAULT '',
                "hashtags" character varying(2200) NOT NULL DEFAULT '',
                "next_run_at" TIMESTAMP WITH TIME ZONE,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_89ef0aa32bca66b97a372089fb9" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "posting_schedules_due_idx" ON "posting_schedules" ("next_run_at")
            WHERE "is_active"
        `);
    await queryRunner.query(`
            CREATE INDEX "posting_schedules_user_idx" ON "posting_schedules" ("user_id", "id")
        `);
    await queryRunner.query(`
            CREATE TABLE "schedule_runs" (
                "id" SERIAL NOT NULL,
                "schedule_id" integer NOT NULL,
                "occurrence_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "outcome" character varying(10) NOT NULL DEFAULT 'pending',
                "reason" text NOT NULL DEFAULT '',
                "image_id" integer,
                "post_ids" integer array NOT NULL DEFAULT '{}',
                "ran_at" TIMESTAMP WITH TIME ZONE,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_ef93e91d5380c5f16f34c274af0" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "schedule_runs_schedule_occurrence_key" ON "schedule_runs" ("schedule_id", "occurrence_at")
        `);
    await queryRunner.query(`
            ALTER TABLE "posting_schedules"
            ADD CONSTRAINT "FK_b6045d3053d037c28ed17ebb7f9" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "scheduled_posts"
            ADD CONSTRAINT "FK_5836efa9dc89d9fc8232f2296fb" FOREIGN KEY ("schedule_id") REFERENCES "posting_schedules"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "schedule_runs"
            ADD CONSTRAINT "FK_6da9e9ef293587b64bbe6dd9b1f" FOREIGN KEY ("schedule_id") REFERENCES "posting_schedules"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "schedule_runs"
            ADD CONSTRAINT "FK_f5096ed9cb2843d781192f1d98b" FOREIGN KEY ("image_id") REFERENCES "generated_images"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "schedule_runs" DROP CONSTRAINT "FK_f5096ed9cb2843d781192f1d98b"
        `);
    await queryRunner.query(`
            ALTER TABLE "schedule_runs" DROP CONSTRAINT "FK_6da9e9ef293587b64bbe6dd9b1f"
        `);
    await queryRunner.query(`
            ALTER TABLE "scheduled_posts" DROP CONSTRAINT "FK_5836efa9dc89d9fc8232f2296fb"
        `);
    await queryRunner.query(`
            ALTER TABLE "posting_schedules" DROP CONSTRAINT "FK_b6045d3053d037c28ed17ebb7f9"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."schedule_runs_schedule_occurrence_key"
        `);
    await queryRunner.query(`
            DROP TABLE "schedule_runs"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."posting_schedules_user_idx"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."posting_schedules_due_idx"
        `);
    await queryRunner.query(`
            DROP TABLE "posting_schedules"
        `);
  }
}
