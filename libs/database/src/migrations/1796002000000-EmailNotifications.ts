import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. Email (api.md, "Email"): the profile's notification switches (only the choices
 * made; defaults live in the code), the sent-mail log with its once-only key, and password reset
 * tokens kept as hashes.
 */
export class EmailNotifications1796002000000 implements MigrationInterface {
  name = 'EmailNotifications1796002000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "profiles" ADD "email_notifications" jsonb NOT NULL DEFAULT '{}'::jsonb`,
    );
    // The digest's hourly tick reads only the users who asked for it.
    await queryRunner.query(`
      CREATE INDEX "profiles_weekly_digest_idx" ON "profiles" ("user_id")
       WHERE ("email_notifications" ->> 'weekly_digest') = 'true'
    `);
    await queryRunner.query(`
      CREATE TABLE "sent_mails" (
        "id" SERIAL NOT NULL,
        "user_id" integer NOT NULL,
        "to_address" character varying(254) NOT NULL,
        "kind" character varying(32) NOT NULL,
        "subject" character varying(255) NOT NULL,
        "status" character varying(16) NOT NULL DEFAULT 'queued',
        "attempts" integer NOT NULL DEFAULT 0,
        "error" text NOT NULL DEFAULT '',
        "dedupe_key" character varying(200),
        "message_id" character varying(255),
        "sent_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "sent_mails_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "sent_mails_dedupe_key_key" UNIQUE ("dedupe_key"),
        CONSTRAINT "sent_mails_user_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )
    `);
    await queryRunner.query(`CREATE INDEX "sent_mails_created_idx" ON "sent_mails" ("created_at")`);
    await queryRunner.query(`CREATE INDEX "sent_mails_user_idx" ON "sent_mails" ("user_id")`);
    await queryRunner.query(`
      CREATE TABLE "password_reset_tokens" (
        "id" SERIAL NOT NULL,
        "user_id" integer NOT NULL,
        "token_hash" character(64) NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "used_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "password_reset_tokens_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "password_reset_tokens_token_hash_key" UNIQUE ("token_hash"),
        CONSTRAINT "password_reset_tokens_user_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )
    `);
    await queryRunner.query(
      `CREATE INDEX "password_reset_tokens_user_idx" ON "password_reset_tokens" ("user_id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "password_reset_tokens"`);
    await queryRunner.query(`DROP TABLE "sent_mails"`);
    await queryRunner.query(`DROP INDEX "profiles_weekly_digest_idx"`);
    await queryRunner.query(`ALTER TABLE "profiles" DROP COLUMN "email_notifications"`);
  }
}
