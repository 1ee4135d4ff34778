import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written. The posts list filtered by status or platform counted the owner's matching rows
 * on each request (up to all of them: 100,000 in the lists benchmark). `user_post_counts` keeps,
 * per user, status and platform, the number of posts, so such a count adds at most 25 small rows.
 * Statement-level triggers over transition tables: a statement changing many posts (a batch of
 * the publisher, a user's deletion) adds its net change per key once, keys in order, so two
 * statements touching one user's counters take their locks in the same order. As for every
 * counter here, a decrement only updates an existing row (a cascade removing the owner must not
 * recreate it). recount_post_counts() rebuilds the table from the posts (the bench seed uses it).
 * Also an index for a status filter's pages in the default order (by scheduled time).
 */
export class PostCountsByStatus1796009000001 implements MigrationInterface {
  name = 'PostCountsByStatus1796009000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE user_post_counts (
        user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        status varchar(20) NOT NULL,
        platform varchar(20) NOT NULL,
        posts integer NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, status, platform)
      )`);
    await queryRunner.query(`
      CREATE TYPE user_post_count_change AS (user_id integer, status text, platform text, change integer)`);
    // One row per key and its net change. One upsert in key order: the rows it locks (or the
    // keys it inserts) are taken in that order by every statement. A user being deleted (the
    // cascade reaches the posts) is left out: their counters go with them.
    await queryRunner.query(`
      CREATE FUNCTION user_post_counts_apply(p_changes user_post_count_change[])
      RETURNS void LANGUAGE sql AS $$
        INSERT INTO user_post_counts AS c (user_id, status, platform, posts)
        SELECT d.user_id, d.status, d.platform, d.change FROM unnest(p_changes) AS d
         WHERE d.change <> 0 AND EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id)
         ORDER BY 1, 2, 3
        ON CONFLICT (user_id, status, platform) DO UPDATE SET posts = c.posts + EXCLUDED.posts
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION scheduled_posts_count_by_status() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        changes user_post_count_change[];
      BEGIN
        IF TG_OP = 'INSERT' THEN
          SELECT array_agg(ROW(k.user_id, k.status, k.platform, k.n)::user_post_count_change)
            INTO changes
            FROM (SELECT user_id, status, platform, count(*)::int AS n FROM new_rows
                   GROUP BY 1, 2, 3) k;
        ELSIF TG_OP = 'DELETE' THEN
          SELECT array_agg(ROW(k.user_id, k.status, k.platform, -k.n)::user_post_count_change)
            INTO changes
            FROM (SELECT user_id, status, platform, count(*)::int AS n FROM old_rows
                   GROUP BY 1, 2, 3) k;
        ELSE
          -- Only the rows whose status or platform changed move between counters.
          SELECT array_agg(ROW(k.user_id, k.status, k.platform, k.n)::user_post_count_change)
            INTO changes
            FROM (SELECT m.user_id, m.status, m.platform, sum(m.change)::int AS n
                    FROM old_rows o JOIN new_rows w ON w.id = o.id
                   CROSS JOIN LATERAL (VALUES (o.user_id, o.status, o.platform, -1),
                                              (w.user_id, w.status, w.platform, 1))
                         AS m(user_id, status, platform, change)
                   WHERE (o.status, o.platform, o.user_id)
                         IS DISTINCT FROM (w.status, w.platform, w.user_id)
                   GROUP BY 1, 2, 3) k;
        END IF;
        IF changes IS NOT NULL THEN
          PERFORM user_post_counts_apply(changes);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER scheduled_posts_count_by_status_insert AFTER INSERT ON scheduled_posts
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
      EXECUTE FUNCTION scheduled_posts_count_by_status()`);
    await queryRunner.query(`
      CREATE TRIGGER scheduled_posts_count_by_status_update AFTER UPDATE ON scheduled_posts
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
      EXECUTE FUNCTION scheduled_posts_count_by_status()`);
    await queryRunner.query(`
      CREATE TRIGGER scheduled_posts_count_by_status_delete AFTER DELETE ON scheduled_posts
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
      EXECUTE FUNCTION scheduled_posts_count_by_status()`);
    await queryRunner.query(`
      CREATE FUNCTION recount_post_counts() RETURNS void LANGUAGE sql AS $$
        -- Writers wait until the caller's transaction ends: none is counted twice or missed.
        LOCK TABLE scheduled_posts IN SHARE MODE;
        DELETE FROM user_post_counts;
        INSERT INTO user_post_counts (user_id, status, platform, posts)
        SELECT user_id, status, platform, count(*) FROM scheduled_posts GROUP BY 1, 2, 3;
      $$`);
    await queryRunner.query('SELECT recount_post_counts()');
    await queryRunner.query(`
      CREATE INDEX scheduled_posts_user_status_time_idx
        ON scheduled_posts (user_id, status, scheduled_time, id)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX scheduled_posts_user_status_time_idx');
    for (const event of ['insert', 'update', 'delete'])
      await queryRunner.query(
        `DROP TRIGGER scheduled_posts_count_by_status_${event} ON scheduled_posts`,
      );
    await queryRunner.query('DROP FUNCTION recount_post_counts()');
    await queryRunner.query('DROP FUNCTION scheduled_posts_count_by_status()');
    await queryRunner.query('DROP FUNCTION user_post_counts_apply(user_post_count_change[])');
    await queryRunner.query('DROP TYPE user_post_count_change');
    await queryRunner.query('DROP TABLE user_post_counts');
  }
}
