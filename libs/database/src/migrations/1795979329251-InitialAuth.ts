import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialAuth1795979329251 implements MigrationInterface {
  name = 'InitialAuth1795979329251';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "users" (
                "id" SERIAL NOT NULL,
                "username" character varying(150) NOT NULL,
                "email" character varying(254) NOT NULL,
                "password" character varying(255) NOT NULL,
                "first_name" character varying(150) NOT NULL DEFAULT '',
                "last_name" character varying(150) NOT NULL DEFAULT '',
                "is_active" boolean NOT NULL DEFAULT true,
                "is_staff" boolean NOT NULL DEFAULT false,
                "is_superuser" boolean NOT NULL DEFAULT false,
                "date_joined" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "last_login" TIMESTAMP WITH TIME ZONE,
                "password_changed_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id")
            )
        `);
    // Hand-written: TypeORM cannot declare expression indexes. Case-insensitive uniqueness.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "users_username_lower_key" ON "users" (lower("username"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "users_email_lower_key" ON "users" (lower("email"))`,
    );
    await queryRunner.query(`
            CREATE TABLE "profiles" (
                "id" SERIAL NOT NULL,
                "user_id" integer NOT NULL,
                "bio" character varying(500) NOT NULL DEFAULT '',
                "avatar" character varying(255),
                "phone_number" character varying(20) NOT NULL DEFAULT '',
                "instagram_username" character varying(100) NOT NULL DEFAULT '',
                "facebook_page_id" character varying(100) NOT NULL DEFAULT '',
                "twitter_username" character varying(100) NOT NULL DEFAULT '',
                "default_image_style" character varying(20) NOT NULL DEFAULT 'realistic',
                "auto_validate_images" boolean NOT NULL DEFAULT false,
                "timezone" character varying(64) NOT NULL DEFAULT 'UTC',
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "REL_9e432b7df0d182f8d292902d1a" UNIQUE ("user_id"),
                CONSTRAINT "PK_8e520eb4da7dc01d0e190447c8e" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "token_families" (
                "id" uuid NOT NULL,
                "user_id" integer NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "revoked_at" TIMESTAMP WITH TIME ZONE,
                "revoked_reason" character varying(32),
                CONSTRAINT "PK_8cd04c6c4ea12aa00a7e3f494be" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "token_families_user_id_idx" ON "token_families" ("user_id")
        `);
    await queryRunner.query(`
            CREATE TABLE "refresh_tokens" (
                "id" uuid NOT NULL,
                "family_id" uuid NOT NULL,
                "user_id" integer NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "used_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_7d8bee0204106019488c4c50ffa" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "refresh_tokens_family_id_idx" ON "refresh_tokens" ("family_id")
        `);
    await queryRunner.query(`
            ALTER TABLE "profiles"
            ADD CONSTRAINT "FK_9e432b7df0d182f8d292902d1a2" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "token_families"
            ADD CONSTRAINT "FK_7dcfacd5bdf7d9ce8138ee67c96" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "refresh_tokens"
            ADD CONSTRAINT "FK_d5e27da0cd39bc3bb2811fc8bac" FOREIGN KEY ("family_id") REFERENCES "token_families"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "refresh_tokens" DROP CONSTRAINT "FK_d5e27da0cd39bc3bb2811fc8bac"
        `);
    await queryRunner.query(`
            ALTER TABLE "token_families" DROP CONSTRAINT "FK_7dcfacd5bdf7d9ce8138ee67c96"
        `);
    await queryRunner.query(`
            ALTER TABLE "profiles" DROP CONSTRAINT "FK_9e432b7df0d182f8d292902d1a2"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."refresh_tokens_family_id_idx"
        `);
    await queryRunner.query(`
            DROP TABLE "refresh_tokens"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."token_families_user_id_idx"
        `);
    await queryRunner.query(`
            DROP TABLE "token_families"
        `);
    await queryRunner.query(`
            DROP TABLE "profiles"
        `);
    await queryRunner.query(`DROP INDEX "public"."users_email_lower_key"`);
    await queryRunner.query(`DROP INDEX "public"."users_username_lower_key"`);
    await queryRunner.query(`
            DROP TABLE "users"
        `);
  }
}
