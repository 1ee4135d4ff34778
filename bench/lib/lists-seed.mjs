// The lists benchmark's data, on top of the image-list seed (bench/lib/image-list-seed.mjs, whose
// owner and 999 other users it reuses): 1,000,000 rows in each of image_generation_history,
// image_tags, posting_schedules, schedule_runs, social_accounts and scheduled_posts, every 10th
// the bench owner's (100,000 each; the runs are all of one of the owner's schedules), the others
// spread over the 999 users. Seeded once: a marker row count tells a later run the seed is there
// (the image-list seed empties the image tables, and by CASCADE the posts, when it seeds again).
//
// Set-based SQL (INSERT ... SELECT ... FROM generate_series) in one transaction. The counter
// triggers are disabled for the inserts inside that transaction and the counters recomputed
// exactly from the tables afterwards, as for the images. Nothing here is due: the posts are
// posted, failed or cancelled more than 30 days ago (the analytics sync looks at posts of the
// last 30 days), or scheduled more than a year ahead, and the schedules are paused, so that no
// worker of another benchmark on this database picks any of them up.
export const LISTS_ROWS = 1_000_000;
export const LISTS_OWNER_ROWS = 100_000;
const PLATFORMS = ['instagram', 'facebook', 'twitter', 'linkedin', 'tiktok'];

const others = `(SELECT array_agg(id ORDER BY username) AS ids FROM users WHERE username LIKE 'bench\\_seed\\_%') seeded`;
/** Row i's user: the owner's every 10th, else one of the 999 (by a hash of i). */
const userOf = (i) =>
  `CASE WHEN ${i} % 10 = 0 THEN $1::int ELSE seeded.ids[1 + (hashint4(${i})::bigint & 2147483647) % 999] END`;

/** Whether the lists seed is there for this owner (each table's owner rows as seeded). */
export async function listsSeedState(client, ownerId) {
  const { rows } = await client.query(
    `SELECT (SELECT count(*) FROM social_accounts WHERE user_id = $1 AND account_id LIKE 'bench-%')::int AS accounts,
            (SELECT count(*) FROM posting_schedules WHERE user_id = $1 AND name LIKE 'Bench schedule %')::int AS schedules,
            (SELECT count(*) FROM scheduled_posts WHERE user_id = $1 AND caption LIKE 'Bench post %')::int AS posts,
            (SELECT count(*) FROM scheduled_posts WHERE user_id = $1 AND caption LIKE 'Bench post %'
                AND status = 'failed')::int AS failed,
            (SELECT count(*) FROM image_tags WHERE user_id = $1 AND name LIKE 'bench-%')::int AS tags,
            (SELECT count(*) FROM image_generation_history WHERE user_id = $1)::int AS history,
            (SELECT count(*) FROM scheduled_posts WHERE caption LIKE 'Bench post %'
                AND posted_at > now() - interval '30 days')::int AS recent,
            (SELECT max(id) FROM posting_schedules WHERE user_id = $1 AND name LIKE 'Bench schedule %') AS schedule_id`,
    [ownerId],
  );
  const [row] = rows;
  const seeded =
    row.accounts === LISTS_OWNER_ROWS &&
    row.schedules === LISTS_OWNER_ROWS &&
    row.posts === LISTS_OWNER_ROWS &&
    row.failed === LISTS_OWNER_ROWS / 10 &&
    row.tags === LISTS_OWNER_ROWS - 40 &&
    row.history >= LISTS_OWNER_ROWS &&
    row.recent === 0;
  return { seeded, scheduleId: row.schedule_id };
}

/** Seeds (replacing an earlier lists seed). Returns the seconds each step took. */
export async function seedLists(client, ownerId, log) {
  const steps = [];
  const step = async (name, sql, values = [ownerId]) => {
    const started = performance.now();
    const result = await client.query(sql, values);
    const seconds = (performance.now() - started) / 1000;
    steps.push({ name, seconds });
    log(`  ${name}: ${seconds.toFixed(1)} s${result.rowCount ? ` (${result.rowCount} rows)` : ''}`);
    return result;
  };
  const started = performance.now();
  await client.query('BEGIN');
  try {
    for (const trigger of await triggers(client)) {
      await client.query(`ALTER TABLE ${trigger.table} DISABLE TRIGGER ${trigger.name}`);
    }
    await step(
      'empty the list tables',
      'TRUNCATE image_generation_history, schedule_runs, scheduled_posts, posting_schedules, social_accounts RESTART IDENTITY CASCADE',
      [],
    );
    await step('delete earlier bench tags', `DELETE FROM image_tags WHERE name LIKE 'bench-%'`, []);
    await step(
      'insert 1,000,000 history entries',
      `INSERT INTO image_generation_history (user_id, image_id, action, details, created_at)
       SELECT ${userOf('i')}, i,
              (ARRAY['requested', 'generated', 'validate', 'updated', 'failed'])[1 + i / 10 % 5],
              jsonb_build_object('from', 'generated', 'attempt', 1 + i % 3),
              now() - interval '365 days' + i * interval '31536 milliseconds'
         FROM generate_series(1, ${LISTS_ROWS}) i, ${others}`,
    );
    // The owner has 40 tags from the image seed: 99,960 more make 100,000.
    await step(
      'insert 1,000,000 tags (the owner: 99,960 more)',
      `INSERT INTO image_tags (user_id, name, description, created_at)
       SELECT ${userOf('i')}, format('bench-%s', lpad(i::text, 7, '0')), 'A tag of the lists benchmark',
              now() - interval '365 days' + i * interval '31536 milliseconds'
         FROM generate_series(1, ${LISTS_ROWS}) i, ${others}
        WHERE i > 400 OR i % 10 <> 0`,
    );
    await step(
      'insert 1,000,000 accounts',
      `INSERT INTO social_accounts (user_id, platform, account_id, display_name, access_token_encrypted,
          expires_at, status, created_at, updated_at)
       SELECT ${userOf('i')}, (${sqlArray(PLATFORMS)})[1 + i / 10 % 5], format('bench-%s', i),
              format('Account %s', i), 'v1.bench.not-a-real-token', now() + interval '60 days',
              CASE WHEN i % 7 = 0 THEN 'reconnect_required' ELSE 'active' END,
              now() - interval '365 days' + i * interval '31536 milliseconds',
              now() - interval '365 days' + i * interval '31536 milliseconds'
         FROM generate_series(1, ${LISTS_ROWS}) i, ${others}`,
    );
    await step(
      'insert 1,000,000 schedules (paused)',
      `INSERT INTO posting_schedules (user_id, name, frequency, time_of_day, weekday, timezone, platforms,
          is_active, tags, caption, hashtags, next_run_at, created_at, updated_at)
       SELECT ${userOf('i')}, format('Bench schedule %s', i), 'weekly', '09:30', i % 7, 'Europe/Paris',
              ARRAY[(${sqlArray(PLATFORMS)})[1 + i / 10 % 5]]::varchar[], false, ARRAY['sea']::varchar[],
              'Fresh from the bench', '#bench #lists', NULL,
              now() - interval '365 days' + i * interval '31536 milliseconds',
              now() - interval '365 days' + i * interval '31536 milliseconds'
         FROM generate_series(1, ${LISTS_ROWS}) i, ${others}`,
    );
    // 100,000 runs of the owner's newest schedule, 900,000 of others' (100 per schedule).
    await step(
      'insert 1,000,000 schedule runs',
      `INSERT INTO schedule_runs (schedule_id, occurrence_at, outcome, reason, ran_at, created_at, updated_at)
       SELECT CASE WHEN i % 10 = 0 THEN (SELECT max(id) FROM posting_schedules WHERE user_id = $1)
                   ELSE 10 * (i % 9000) + 1 END,
              timestamptz '2020-01-01' + i * interval '1 hour',
              CASE WHEN i % 3 = 0 THEN 'skipped' ELSE 'done' END,
              CASE WHEN i % 3 = 0 THEN 'no validated image carrying the tags' ELSE '' END,
              timestamptz '2020-01-01' + i * interval '1 hour',
              timestamptz '2020-01-01' + i * interval '1 hour',
              timestamptz '2020-01-01' + i * interval '1 hour'
         FROM generate_series(1, ${LISTS_ROWS}) i`,
    );
    // The owner's posts show the owner's images (ids i, the image seed's every 10th row). Status
    // by i / 50 and platform by i / 10: the owner's posts (every 10th) have every status (70 %
    // posted, 10 % each failed, cancelled and scheduled) on every platform (20 % each).
    await step(
      'insert 1,000,000 posts',
      `INSERT INTO scheduled_posts (user_id, image_id, platform, caption, hashtags, scheduled_time,
          status, posted_at, platform_post_id, metadata, created_at, updated_at)
       SELECT ${userOf('i')}, CASE WHEN i % 10 = 0 THEN i END, (${sqlArray(PLATFORMS)})[1 + i / 10 % 5],
              format('Bench post %s: fresh from the bench', i), '#bench #lists',
              CASE WHEN i / 50 % 10 = 9 THEN now() + interval '400 days' + i * interval '1 minute'
                   ELSE now() - interval '396 days' + i * interval '31536 milliseconds' END,
              CASE i / 50 % 10 WHEN 9 THEN 'scheduled' WHEN 8 THEN 'failed' WHEN 7 THEN 'cancelled' ELSE 'posted' END,
              CASE WHEN i / 50 % 10 < 7 THEN now() - interval '396 days' + i * interval '31536 milliseconds' END,
              CASE WHEN i / 50 % 10 < 7 THEN format('1784%s', i) END,
              '{}'::jsonb,
              now() - interval '397 days' + i * interval '31536 milliseconds',
              now() - interval '397 days' + i * interval '31536 milliseconds'
         FROM generate_series(1, ${LISTS_ROWS}) i, ${others}`,
    );
    // What the triggers would have counted (migration ListCounters), and the history's counter.
    await step('recompute the list counters', 'SELECT recount_list_counters()', []);
    await step('recompute the post counters', 'SELECT recount_post_counts()', []);
    await step(
      'recompute the history counters',
      `UPDATE user_image_stats s SET history_count = coalesce(h.n, 0)
         FROM (SELECT u.id, (SELECT count(*) FROM image_generation_history g WHERE g.user_id = u.id) AS n
                 FROM users u) h
        WHERE h.id = s.user_id`,
      [],
    );
    for (const trigger of await triggers(client)) {
      await client.query(`ALTER TABLE ${trigger.table} ENABLE TRIGGER ${trigger.name}`);
    }
    await step('commit', 'COMMIT', []);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await step(
    'VACUUM ANALYZE',
    'VACUUM ANALYZE image_generation_history, image_tags, social_accounts, posting_schedules, schedule_runs, scheduled_posts, user_image_stats',
    [],
  );
  return { seconds: (performance.now() - started) / 1000, steps };
}

/** The user triggers of the list tables (counters), disabled while seeding. */
async function triggers(client) {
  const { rows } = await client.query(
    `SELECT tgname AS name, tgrelid::regclass::text AS table FROM pg_trigger
      WHERE NOT tgisinternal AND tgrelid::regclass::text IN
        ('image_generation_history', 'image_tags', 'social_accounts', 'posting_schedules',
         'schedule_runs', 'scheduled_posts', 'generated_image_tags')`,
  );
  return rows;
}

function sqlArray(values) {
  return `ARRAY[${values.map((value) => `'${value}'`).join(', ')}]`;
}
