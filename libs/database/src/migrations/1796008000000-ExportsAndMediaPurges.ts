import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. Data exports, and the media prefixes left to delete after an account deletion.
 * The partial unique index is the "one running export per user" rule (a second insert fails
 * rather than racing a count); the one on ready exports by expiry is the sweep's.
 */
export class ExportsAndMediaPurges1796008000000 implements MigrationInterface {
  name = 'ExportsAndMediaPurges1796008000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "data_exports" (
        "id" SERIAL NOT NULL,
        "user_id" integer NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "include_media" boolean NOT NULL DEFAULT false,
        "progress" smallint NOT NULL DEFAULT 0,
        "size" bigint,
        "storage_key" varchar(255),
        "error" text NOT NULL DEFAULT '',
        "attempts" integer NOT NULL DEFAULT 0,
        "expires_at" timestamptz,
        "started_at" timestamptz,
        "finished_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "data_exports_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "data_exports_status_check"
          CHECK ("status" IN ('pending', 'running', 'ready', 'failed', 'expired')),
        CONSTRAINT "data_exports_user_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users"("id") ON DELETE CASCADE
      )
    `);
    await queryRunner.query(
      `CREATE INDEX "data_exports_user_idx" ON "data_exports" ("user_id", "id")`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "data_exports_one_running_idx" ON "data_exports" ("user_id")
       WHERE "status" IN ('pending', 'running')`,
    );
    await queryRunner.query(
      `CREATE INDEX "data_exports_expiry_idx" ON "data_exports" ("expires_at") WHERE "status" = 'ready'`,
    );
    await queryRunner.query(
      `CREATE INDEX "data_exports_unfinished_idx" ON "data_exports" ("updated_at")
       WHERE "status" IN ('pending', 'running')`,
    );
    await queryRunner.query(`
      CREATE TABLE "media_purges" (
        "id" SERIAL NOT NULL,
        "prefix" varchar(255) NOT NULL,
        "attempts" integer NOT NULL DEFAULT 0,
        "last_error" text NOT NULL DEFAULT '',
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "media_purges_pkey" PRIMARY KEY ("id")
      )
    `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "media_purges"`);
    await queryRunner.query(`DROP TABLE "data_exports"`);
  }
}
