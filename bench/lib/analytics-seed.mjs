// The analytics bench's data, in a database of its own: an owner with 100,000 published posts
// and 1,000,000 snapshots (10 per post), among 10,000,000 snapshots in all (9 other users with
// 10,000 posts and 1,000,000 snapshots each). All generate_series, triggers off
// (session_replication_role = replica), the snapshot table UNLOGGED and its indexes built after
// the rows; then what the triggers would have kept (rollups, list counters) is recomputed by the
// migration's own functions. Posts are spread over two years, one every ~10.5 minutes for the
// owner, cycling through the five platforms: nearly every post has a 15-minute bucket of its own,
// the worst case for the rollups (they then hold about as many rows as the owner has posts).

export const OWNER_POSTS = 100_000;
export const OWNER_SNAPSHOTS_PER_POST = 10;
export const OTHER_USERS = 9;
export const OTHER_POSTS = 10_000;
export const OTHER_SNAPSHOTS_PER_POST = 100;
export const TOTAL_SNAPSHOTS =
  OWNER_POSTS * OWNER_SNAPSHOTS_PER_POST + OTHER_USERS * OTHER_POSTS * OTHER_SNAPSHOTS_PER_POST;
/** Two years, spread evenly over the owner's posts (the others' too). */
const SPAN_SECONDS = 2 * 365 * 86_400;

const PLATFORMS = `(ARRAY['instagram','facebook','twitter','linkedin','tiktok'])[1 + i % 5]`;

/** Seeds everything but the owner (registered through the API). Returns the steps' timings. */
export async function seedAnalytics(client, ownerId, log) {
  const steps = [];
  const started = Date.now();
  const step = async (label, sql, values = []) => {
    const at = Date.now();
    const result = await client.query(sql, values);
    const seconds = (Date.now() - at) / 1000;
    steps.push({ label, seconds });
    log(`  ${label}: ${seconds.toFixed(1)} s`);
    return result;
  };
  // One transaction: a failed seed leaves nothing behind (the vacuum comes after it).
  await client.query('BEGIN');
  await client.query(`SET LOCAL session_replication_role = replica`);
  await client.query(`SET LOCAL maintenance_work_mem = '512MB'`);
  await client.query(`SET LOCAL synchronous_commit = off`);

  const { rows: others } = await step(
    `${OTHER_USERS} other users`,
    `INSERT INTO users (username, email, password)
     SELECT 'bench_analytics_' || i, 'bench_analytics_' || i || '@example.com', 'not-a-hash'
       FROM generate_series(1, ${OTHER_USERS}) i
     RETURNING id`,
  );
  await client.query(`INSERT INTO profiles (user_id) SELECT unnest($1::int[])`, [
    others.map((row) => row.id),
  ]);

  const posts = (userSql, count) => `
    INSERT INTO scheduled_posts (user_id, platform, caption, hashtags, scheduled_time, status,
                                 posted_at, platform_post_id, platform_post_url)
    SELECT u.id, ${PLATFORMS}, 'Bench post ' || i || ', with a comma', '#bench', t.at, 'posted',
           t.at, 'bench-' || u.id || '-' || i, 'https://example.com/p/' || u.id || '-' || i
      FROM (${userSql}) u, generate_series(1, ${count}) i,
           LATERAL (SELECT now() - make_interval(secs => i * ${SPAN_SECONDS / count}::float8
                                                       + (i * 7919) % 300) AS at) t`;
  await step(
    `${OWNER_POSTS.toLocaleString('en-US')} posts of the owner`,
    posts(`SELECT ${Number(ownerId)} AS id`, OWNER_POSTS),
  );
  await step(
    `${(OTHER_USERS * OTHER_POSTS).toLocaleString('en-US')} posts of the others`,
    posts(`SELECT unnest('{${others.map((row) => row.id).join(',')}}'::int[]) AS id`, OTHER_POSTS),
  );

  // Latest metrics per post: deterministic, varied, Instagram-like (impressions = views).
  await step(
    'latest metrics per post',
    `INSERT INTO post_analytics (scheduled_post_id, platform, user_id, posted_at, likes, comments,
                                 shares, views, reach, impressions, engagement_rate,
                                 last_synced_at, snapshot_count)
     SELECT p.id, p.platform, p.user_id, p.posted_at, m.likes, m.comments, m.shares, m.views,
            m.reach, m.views,
            CASE WHEN greatest(m.views, m.reach) > 0
                 THEN round((m.likes + m.comments + m.shares) * 100.0 / greatest(m.views, m.reach), 2)
                 ELSE 0 END,
            p.posted_at + interval '10 hours',
            CASE WHEN p.user_id = $1 THEN ${OWNER_SNAPSHOTS_PER_POST} ELSE ${OTHER_SNAPSHOTS_PER_POST} END
       FROM scheduled_posts p,
            LATERAL (SELECT ((p.id::bigint * 7919) % 1000)::int AS likes,
                            ((p.id::bigint * 104729) % 80)::int AS comments,
                            ((p.id::bigint * 1299709) % 40)::int AS shares,
                            (500 + (p.id::bigint * 15485863) % 20000)::int AS views,
                            (400 + (p.id::bigint * 32452843) % 15000)::int AS reach) m
      WHERE p.status = 'posted'`,
    [ownerId],
  );

  await client.query(`ALTER TABLE post_analytics_snapshots SET UNLOGGED`);
  await client.query(
    `ALTER TABLE post_analytics_snapshots DROP CONSTRAINT post_analytics_snapshots_pkey`,
  );
  await client.query(`DROP INDEX post_analytics_snapshots_post_idx`);
  // Snapshot k of n holds k/n of the latest counts, an hour apart: cumulative, as platforms give.
  await step(
    `${TOTAL_SNAPSHOTS.toLocaleString('en-US')} snapshots`,
    `INSERT INTO post_analytics_snapshots
       (scheduled_post_id, synced_at, likes, comments, shares, views, reach, impressions,
        engagement_rate)
     SELECT a.scheduled_post_id, a.posted_at + make_interval(hours => k),
            a.likes * k / a.snapshot_count, a.comments * k / a.snapshot_count,
            a.shares * k / a.snapshot_count, a.views * k / a.snapshot_count,
            a.reach * k / a.snapshot_count, a.impressions * k / a.snapshot_count,
            a.engagement_rate
       FROM post_analytics a, generate_series(1, a.snapshot_count) k`,
  );
  await step(
    'snapshots: primary key',
    `ALTER TABLE post_analytics_snapshots ADD CONSTRAINT post_analytics_snapshots_pkey PRIMARY KEY (id)`,
  );
  await step(
    'snapshots: (post, synced_at) index',
    `CREATE INDEX post_analytics_snapshots_post_idx
       ON post_analytics_snapshots (scheduled_post_id, synced_at DESC, id DESC)`,
  );
  await step('rollups, as the triggers keep them', `SELECT recount_post_analytics_rollups()`);
  await step('list counters', `SELECT recount_list_counters()`);
  await client.query('COMMIT');
  await step(
    'vacuum and analyze',
    `VACUUM (ANALYZE) scheduled_posts, post_analytics, post_analytics_rollups, post_analytics_snapshots`,
  );
  return { seconds: (Date.now() - started) / 1000, steps };
}

/** What the seed left, to check it (and whether it is there). */
export async function analyticsSeedState(client, ownerId) {
  const { rows } = await client.query(
    `SELECT (SELECT count(*)::int FROM scheduled_posts WHERE user_id = $1 AND status = 'posted') AS owner_posts,
            (SELECT sum(snapshot_count)::int FROM post_analytics WHERE user_id = $1) AS owner_snapshots,
            (SELECT reltuples::bigint FROM pg_class WHERE relname = 'post_analytics_snapshots') AS snapshots_estimate,
            (SELECT count(*)::int FROM post_analytics_rollups WHERE user_id = $1) AS owner_rollup_rows,
            (SELECT count(*)::int FROM post_analytics_rollups) AS rollup_rows,
            pg_total_relation_size('post_analytics_snapshots') AS snapshot_bytes,
            pg_total_relation_size('post_analytics_rollups') AS rollup_bytes,
            pg_database_size(current_database()) AS database_bytes`,
    [ownerId],
  );
  const state = rows[0];
  return {
    ...state,
    snapshots_estimate: Number(state.snapshots_estimate),
    snapshot_bytes: Number(state.snapshot_bytes),
    rollup_bytes: Number(state.rollup_bytes),
    database_bytes: Number(state.database_bytes),
    seeded: state.owner_posts === OWNER_POSTS,
  };
}
