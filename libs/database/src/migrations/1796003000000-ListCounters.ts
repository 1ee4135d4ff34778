import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. Every list's `count` without a filter comes from a counters row kept exact by
 * triggers, as the image list's does (user_image_stats): api.md says a page must not cost a
 * scan of the owner's rows, and `count(*)` over 100,000 rows costs 20-90 ms on the bench machine.
 *   - user_list_counts: per user, their posts, schedules, accounts and tags;
 *   - schedule_run_counts: per schedule, its runs;
 *   - image_tag_counts: per tag, the images carrying it (the tags list's `image_count`, counted
 *     per tag on each page before: 20 tags of 2,000 images read 40,000 index entries).
 * Separate tables rather than columns on the entities' tables, so that the entities (and a
 * generated migration) know nothing of them. As in CountersSurviveCascadeAndSweepIndex, a
 * decrement only updates an existing row: a cascade deleting the owner first must not recreate it.
 * recount_list_counters() rebuilds them all from the tables (used here and by the bench seed).
 * Also two indexes for the lists' orderings: accounts by platform then id, runs by occurrence then id.
 */
export class ListCounters1796003000000 implements MigrationInterface {
  name = 'ListCounters1796003000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE user_list_counts (
        user_id integer PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        posts integer NOT NULL DEFAULT 0,
        schedules integer NOT NULL DEFAULT 0,
        accounts integer NOT NULL DEFAULT 0,
        tags integer NOT NULL DEFAULT 0
      )`);
    await queryRunner.query(`
      CREATE TABLE schedule_run_counts (
        schedule_id integer PRIMARY KEY REFERENCES posting_schedules (id) ON DELETE CASCADE,
        runs integer NOT NULL DEFAULT 0
      )`);
    await queryRunner.query(`
      CREATE TABLE image_tag_counts (
        tag_id integer PRIMARY KEY REFERENCES image_tags (id) ON DELETE CASCADE,
        images integer NOT NULL DEFAULT 0
      )`);
    // One function per counters table; the column is the trigger's argument (a fixed list).
    await queryRunner.query(`
      CREATE FUNCTION user_list_counts_bump() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        col text := TG_ARGV[0];
      BEGIN
        IF col NOT IN ('posts', 'schedules', 'accounts', 'tags') THEN
          RAISE EXCEPTION 'user_list_counts_bump: unknown column %', col;
        END IF;
        IF TG_OP = 'DELETE' THEN
          EXECUTE format('UPDATE user_list_counts SET %I = %I - 1 WHERE user_id = $1', col, col)
            USING OLD.user_id;
          RETURN OLD;
        END IF;
        EXECUTE format(
          'INSERT INTO user_list_counts AS c (user_id, %I) VALUES ($1, 1)
           ON CONFLICT (user_id) DO UPDATE SET %I = c.%I + 1', col, col, col)
          USING NEW.user_id;
        RETURN NEW;
      END $$`);
    for (const [table, column] of [
      ['scheduled_posts', 'posts'],
      ['posting_schedules', 'schedules'],
      ['social_accounts', 'accounts'],
      ['image_tags', 'tags'],
    ]) {
      await queryRunner.query(`
        CREATE TRIGGER ${table}_list_count AFTER INSERT OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION user_list_counts_bump('${column}')`);
    }
    await queryRunner.query(`
      CREATE FUNCTION schedule_run_counts_bump() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          UPDATE schedule_run_counts SET runs = runs - 1 WHERE schedule_id = OLD.schedule_id;
          RETURN OLD;
        END IF;
        INSERT INTO schedule_run_counts AS c (schedule_id, runs) VALUES (NEW.schedule_id, 1)
        ON CONFLICT (schedule_id) DO UPDATE SET runs = c.runs + 1;
        RETURN NEW;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER schedule_runs_count AFTER INSERT OR DELETE ON schedule_runs
      FOR EACH ROW EXECUTE FUNCTION schedule_run_counts_bump()`);
    await queryRunner.query(`
      CREATE FUNCTION image_tag_counts_bump() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          UPDATE image_tag_counts SET images = images - 1 WHERE tag_id = OLD.tag_id;
          RETURN OLD;
        END IF;
        INSERT INTO image_tag_counts AS c (tag_id, images) VALUES (NEW.tag_id, 1)
        ON CONFLICT (tag_id) DO UPDATE SET images = c.images + 1;
        RETURN NEW;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER generated_image_tags_count AFTER INSERT OR DELETE ON generated_image_tags
      FOR EACH ROW EXECUTE FUNCTION image_tag_counts_bump()`);
    // Exact counts from the tables (after a bulk load with the triggers off, or to repair).
    await queryRunner.query(`
      CREATE FUNCTION recount_list_counters() RETURNS void LANGUAGE sql AS $$
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
    await queryRunner.query('SELECT recount_list_counters()');
    await queryRunner.query(
      'CREATE INDEX social_accounts_user_platform_id_idx ON social_accounts (user_id, platform, id)',
    );
    await queryRunner.query(
      'CREATE INDEX schedule_runs_schedule_occurrence_id_idx ON schedule_runs (schedule_id, occurrence_at, id)',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX schedule_runs_schedule_occurrence_id_idx');
    await queryRunner.query('DROP INDEX social_accounts_user_platform_id_idx');
    await queryRunner.query('DROP TRIGGER generated_image_tags_count ON generated_image_tags');
    await queryRunner.query('DROP TRIGGER schedule_runs_count ON schedule_runs');
    for (const table of ['scheduled_posts', 'posting_schedules', 'social_accounts', 'image_tags']) {
      await queryRunner.query(`DROP TRIGGER ${table}_list_count ON ${table}`);
    }
    await queryRunner.query('DROP FUNCTION recount_list_counters()');
    await queryRunner.query('DROP FUNCTION image_tag_counts_bump()');
    await queryRunner.query('DROP FUNCTION schedule_run_counts_bump()');
    await queryRunner.query('DROP FUNCTION user_list_counts_bump()');
    await queryRunner.query('DROP TABLE image_tag_counts');
    await queryRunner.query('DROP TABLE schedule_run_counts');
    await queryRunner.query('DROP TABLE user_list_counts');
  }
}
