import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. Post templates (api.md "Post templates"): one table per user's templates, and
 * the template a recurring schedule renders at each run (NO ACTION: the API refuses with a 409 to
 * delete a template in use; a cascade deleting the owner deletes both in one statement) and the
 * one a post was rendered from (SET NULL: reference only). The list's `count` comes from a
 * `templates` column of `user_list_counts`, kept by a trigger function of its own so that
 * ListCounters' shared function stays as it is.
 */
export class PostTemplates1796006000000 implements MigrationInterface {
  name = 'PostTemplates1796006000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "post_templates" (
        "id" SERIAL NOT NULL,
        "user_id" integer NOT NULL,
        "name" varchar(100) NOT NULL,
        "caption" varchar(2200) NOT NULL DEFAULT '',
        "hashtags" varchar(2200) NOT NULL DEFAULT '',
        "variants" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "post_templates_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "post_templates_user_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users"("id") ON DELETE CASCADE
      )
    `);
    await queryRunner.query(
      `CREATE INDEX "post_templates_user_idx" ON "post_templates" ("user_id", "id")`,
    );
    await queryRunner.query(`ALTER TABLE "posting_schedules" ADD "template_id" integer`);
    await queryRunner.query(`
      ALTER TABLE "posting_schedules" ADD CONSTRAINT "posting_schedules_template_fkey"
        FOREIGN KEY ("template_id") REFERENCES "post_templates"("id") ON DELETE NO ACTION`);
    await queryRunner.query(
      `CREATE INDEX "posting_schedules_template_idx" ON "posting_schedules" ("template_id") WHERE template_id IS NOT NULL`,
    );
    await queryRunner.query(`ALTER TABLE "scheduled_posts" ADD "template_id" integer`);
    await queryRunner.query(`
      ALTER TABLE "scheduled_posts" ADD CONSTRAINT "scheduled_posts_template_fkey"
        FOREIGN KEY ("template_id") REFERENCES "post_templates"("id") ON DELETE SET NULL`);
    await queryRunner.query(
      `CREATE INDEX "scheduled_posts_template_idx" ON "scheduled_posts" ("template_id") WHERE template_id IS NOT NULL`,
    );
    await queryRunner.query(
      `ALTER TABLE "user_list_counts" ADD "templates" integer NOT NULL DEFAULT 0`,
    );
    await queryRunner.query(`
      CREATE FUNCTION post_templates_list_count() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          UPDATE user_list_counts SET templates = templates - 1 WHERE user_id = OLD.user_id;
          RETURN OLD;
        END IF;
        INSERT INTO user_list_counts AS c (user_id, templates) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET templates = c.templates + 1;
        RETURN NEW;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER post_templates_list_count AFTER INSERT OR DELETE ON post_templates
      FOR EACH ROW EXECUTE FUNCTION post_templates_list_count()`);
    // The repair function (ListCounters) learns the new column; without it a recount would zero it.
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION recount_list_counters() RETURNS void LANGUAGE sql AS $$
        DELETE FROM user_list_counts;
        INSERT INTO user_list_counts (user_id, posts, schedules, accounts, tags, templates)
        SELECT u.id, coalesce(p.n, 0), coalesce(s.n, 0), coalesce(a.n, 0), coalesce(t.n, 0),
               coalesce(m.n, 0)
          FROM users u
          LEFT JOIN (SELECT user_id, count(*) AS n FROM scheduled_posts GROUP BY user_id) p ON p.user_id = u.id
          LEFT JOIN (SELECT user_id, count(*) AS n FROM posting_schedules GROUP BY user_id) s ON s.user_id = u.id
          LEFT JOIN (SELECT user_id, count(*) AS n FROM social_accounts GROUP BY user_id) a ON a.user_id = u.id
          LEFT JOIN (SELECT user_id, count(*) AS n FROM image_tags GROUP BY user_id) t ON t.user_id = u.id
          LEFT JOIN (SELECT user_id, count(*) AS n FROM post_templates GROUP BY user_id) m ON m.user_id = u.id
         WHERE p.n IS NOT NULL OR s.n IS NOT NULL OR a.n IS NOT NULL OR t.n IS NOT NULL
            OR m.n IS NOT NULL;
        DELETE FROM schedule_run_counts;
        INSERT INTO schedule_run_counts (schedule_id, runs)
        SELECT schedule_id, count(*) FROM schedule_runs GROUP BY schedule_id;
        DELETE FROM image_tag_counts;
        INSERT INTO image_tag_counts (tag_id, images)
        SELECT tag_id, count(*) FROM generated_image_tags GROUP BY tag_id;
      $$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION recount_list_counters() RETURNS void LANGUAGE sql AS $$
        DELETE FROM user_list_counts;
        INSERT INTO user_list_counts (user_id, posts, schedules, accounts, tags)
        SELECT u.id, coalesce(p.n, 0), coalesce(s.n, 0), coalesce(a.n, 0), coalesce(t.n, 0)
          FROM users u
          LEFT JOIN (SELECT user_id, count(*) AS n FROM scheduled_posts GROUP BY user_id) p ON p.user_id = u.id
          LEFT JOIN (SELECT user_id, count(*) AS n FROM posting_schedules GROUP BY user_id) s ON s.user_id = u.id
          LEFT JOIN (SELECT user_id, count(*) AS n FROM social_accounts GROUP BY user_id) a ON a.user_id = u.id
          LEFT JOIN (SELECT user_id, count(*) AS n FROM image_tags GROUP BY user_id) t ON t.user_id = u.id
         WHERE p.n IS NOT NULL OR s.n IS NOT NULL OR a.n IS NOT NULL OR t.n IS NOT NULL;
        DELETE FROM schedule_run_counts;
        INSERT INTO schedule_run_counts (schedule_id, runs)
        SELECT schedule_id, count(*) FROM schedule_runs GROUP BY schedule_id;
        DELETE FROM image_tag_counts;
        INSERT INTO image_tag_counts (tag_id, images)
        SELECT tag_id, count(*) FROM generated_image_tags GROUP BY tag_id;
      $$`);
    await queryRunner.query(`DROP TRIGGER post_templates_list_count ON post_templates`);
    await queryRunner.query(`DROP FUNCTION post_templates_list_count()`);
    await queryRunner.query(`ALTER TABLE "user_list_counts" DROP COLUMN "templates"`);
    await queryRunner.query(`ALTER TABLE "scheduled_posts" DROP COLUMN "template_id"`);
    await queryRunner.query(`ALTER TABLE "posting_schedules" DROP COLUMN "template_id"`);
    await queryRunner.query(`DROP TABLE "post_templates"`);
  }
}
