// The image-list benchmark's data, in its own database (image_automation_bench): 1,000,000
// generated_images rows, 100,000 of them owned by one bench user (signed up through the API once
// and kept), the other 900,000 spread over 999 users inserted here, with tags on about 40 % of
// the images. Seeded once: a marker on the owner's profile says which seed is there, and a later
// run skips the seeding when it matches (and the owner's counters say 100,000).
//
// Set-based SQL in ONE transaction (all or nothing). The counter triggers (one upsert of
// user_image_stats per inserted row) are disabled for the inserts, inside the transaction, and
// user_image_stats is then recomputed exactly from the tables with one INSERT ... SELECT ...
// GROUP BY, as the triggers would have left it; foreign keys are checked as usual. VACUUM ANALYZE
// afterwards, as autovacuum would do on a table that has settled.
//
// Every value is drawn from hashes of the row number, so every seed is the same data. Ids are
// given explicitly (1..1,000,000, in created_at order, the owner's every 10th row, interleaved with
// the others' as when users generate at the same time) and the sequences moved past them.

export const OWNER_USERNAME = 'bench_image_owner';
/** Bump when the data below changes: the next run seeds again. */
export const SEED_MARKER = 'image-list bench seed v1: 1000000 images, 100000 for this user';
export const TOTAL_IMAGES = 1_000_000;
export const OWNER_IMAGES = 100_000;
export const OTHER_USERS = 999;
const OWNER_TAGS = 40;
const OTHER_USER_TAGS = 8;

// Any argon2id string: the seeded users never sign in (this hash matches no password we know).
const UNUSABLE_HASH =
  '$argon2id$v=19$m=65536,t=3,p=4$YmVuY2gtc2VlZC1zYWx0$2f6y0oGkVvQm3p1t7zQf0mJ0VbT2m9zJ7xQx0m1W2c4';

const SUBJECTS = [
  'A lighthouse',
  'A red fox',
  'An old sailing ship',
  'A mountain cabin',
  'A city street',
  'A bowl of ramen',
  'A vintage bicycle',
  'A hot air balloon',
  'A sleeping cat',
  'A glass greenhouse',
  'A desert caravan',
  'A jazz trio',
  'A koi pond',
  'A steam locomotive',
  'A snowy owl',
  'A market stall',
  'A robot gardener',
  'A stone bridge',
  'A field of sunflowers',
  'A coral reef',
];
const SETTINGS = [
  'on a cliff at dawn',
  'in heavy rain at night',
  'under a pink sunset sky',
  'in a misty pine forest',
  'beside a frozen lake',
  'in a crowded night market',
  'on a quiet autumn morning',
  'lit by neon signs',
  'in the middle of a storm',
  'seen from high above',
  'in golden hour light',
  'under the northern lights',
  'at the edge of the sea',
  'in a sunlit meadow',
  'inside a cosy library',
  'among cherry blossoms',
  'during a summer festival',
  'on a rooftop in winter',
  'in a flooded cathedral',
  'on the surface of the moon',
];
const MOODS = [
  'calm and quiet',
  'dramatic lighting',
  'warm colours',
  'soft focus',
  'high contrast',
  'pastel palette',
  'wide angle',
  'cinematic composition',
  'muted tones',
  'vivid and joyful',
];
const TAG_NAMES = [
  'sea',
  'dawn',
  'night',
  'portrait',
  'landscape',
  'city',
  'forest',
  'winter',
  'summer',
  'autumn',
  'spring',
  'animals',
  'food',
  'travel',
  'architecture',
  'vintage',
  'neon',
  'minimal',
  'campaign-q1',
  'campaign-q2',
  'campaign-q3',
  'campaign-q4',
  'instagram',
  'facebook',
  'x',
  'linkedin',
  'tiktok',
  'draft',
  'favourite',
  'client-a',
  'client-b',
  'client-c',
  'blue',
  'red',
  'green',
  'warm',
  'cold',
  'people',
  'abstract',
  'product',
];
const STYLES = [
  ['realistic', 'photorealistic, high quality, detailed, 8k resolution'],
  ['artistic', 'artistic, creative, expressive, masterpiece'],
  ['cartoon', 'cartoon style, animated, colorful, vibrant'],
  ['abstract', 'abstract art, modern, conceptual, unique'],
  ['vintage', 'vintage style, retro, classic, nostalgic'],
  ['minimalist', 'minimalist, simple, clean design, elegant'],
  ['anime', 'anime style, manga, japanese animation'],
  ['digital_art', 'digital art, concept art, trending on artstation'],
];
const ERRORS = [
  'openai answered 400: Your request was rejected as a result of our safety system.',
  'blackbox answered 503: upstream model is overloaded',
  'image download answered 404',
  'the answer is not a readable image: VipsJpeg: premature end of JPEG file',
];
const NOTES = [
  'Colours too dull for the feed.',
  'Perfect for the spring campaign.',
  'Crop the left side before posting.',
  'Text in the corner, redo.',
  'Client approved.',
];

const sqlArray = (values) =>
  `ARRAY[${values.map((value) => `'${value.replaceAll("'", "''")}'`).join(', ')}]`;

/** Whether the seed is there, as this module would make it. */
export async function seedState(client) {
  const { rows } = await client.query(
    `SELECT u.id, p.bio, coalesce(s.total, 0) AS total,
            (SELECT count(*)::int FROM users WHERE username LIKE 'bench\\_seed\\_%') AS others
       FROM users u JOIN profiles p ON p.user_id = u.id
       LEFT JOIN user_image_stats s ON s.user_id = u.id
      WHERE u.username = $1`,
    [OWNER_USERNAME],
  );
  const [row] = rows;
  return {
    ownerId: row?.id ?? null,
    seeded:
      !!row && row.bio === SEED_MARKER && row.total === OWNER_IMAGES && row.others === OTHER_USERS,
  };
}

/**
 * Seeds (replacing any earlier seed and every other image in this database). Returns the
 * seconds each step took.
 */
export async function seed(client, ownerId, log) {
  const steps = [];
  const step = async (name, sql, values) => {
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
    await step(
      'disable the counter triggers (in this transaction)',
      'ALTER TABLE generated_images DISABLE TRIGGER generated_images_count_insert_delete',
    );
    await client.query(
      'ALTER TABLE generated_images DISABLE TRIGGER generated_images_count_update',
    );
    // The list counters' triggers (migration ListCounters) too: recounted at the end.
    await client.query('ALTER TABLE generated_image_tags DISABLE TRIGGER USER');
    await client.query('ALTER TABLE image_tags DISABLE TRIGGER USER');
    // Only benchmark data lives in this database: the users of other benchmarks are deleted at
    // the end of each run. Tags and images go entirely (and, by CASCADE, whatever refers to
    // images, e.g. scheduled posts), the seeded users with them.
    await step(
      'empty the image tables',
      'TRUNCATE generated_image_tags, generated_images, image_tags, user_image_stats RESTART IDENTITY CASCADE',
    );
    await step(
      'delete earlier seeded users',
      `DELETE FROM users WHERE username LIKE 'bench\\_seed\\_%'`,
    );
    await step(
      'insert 999 users',
      `INSERT INTO users (username, email, password, first_name, last_name, date_joined)
       SELECT format('bench_seed_%s', lpad(n::text, 4, '0')),
              format('bench_seed_%s@example.com', lpad(n::text, 4, '0')),
              $1, 'Seed', format('User %s', n), now() - interval '400 days' + n * interval '1 hour'
         FROM generate_series(1, ${OTHER_USERS}) n`,
      [UNUSABLE_HASH],
    );
    await step(
      'and their profiles',
      `INSERT INTO profiles (user_id) SELECT id FROM users WHERE username LIKE 'bench\\_seed\\_%'`,
    );
    // Row i: its owner, its hashes (h1..h4 in [0, 2^31)), and for the others' rows which of
    // the 999 users (k).
    await step(
      'draw the rows (temporary table)',
      `CREATE TEMPORARY TABLE seed_rows ON COMMIT DROP AS
       SELECT i, CASE WHEN i % 10 = 0 THEN $1 ELSE ids[1 + h1 % ${OTHER_USERS}] END AS user_id,
              CASE WHEN i % 10 = 0 THEN 0 ELSE 1 + h1 % ${OTHER_USERS} END AS k,
              h1, h2, h3, h4
         FROM generate_series(1, ${TOTAL_IMAGES}) i
        CROSS JOIN (SELECT array_agg(id ORDER BY username) AS ids FROM users
                     WHERE username LIKE 'bench\\_seed\\_%') seeded
        CROSS JOIN LATERAL (SELECT (hashint4(i)::bigint & 2147483647) AS h1,
                                   (hashint4(i + 1000003)::bigint & 2147483647) AS h2,
                                   (hashint4(i + 2000003)::bigint & 2147483647) AS h3,
                                   (hashint4(i + 3000017)::bigint & 2147483647) AS h4) h`,
      [ownerId],
    );
    // Statuses: 45 % validated, 30 % generated, 15 % rejected, 10 % failed; nothing pending or
    // generating (a year of history has none left, and the worker's sweep would pick them up).
    // Providers: half openai, 30 % blackbox, 20 % local. Sizes: mostly 1024x1024.
    await step(
      'insert 1,000,000 images',
      `INSERT INTO generated_images (id, user_id, prompt, negative_prompt, status, style, width, height,
          quality, provider, image_url, original_key, master_key, rendition_key, thumbnail_key,
          error_message, metadata, generation_time, progress, generation, validated_at,
          validation_notes, created_at, updated_at)
       SELECT i, user_id, prompt, negative_prompt, status, style, width, height, quality,
              CASE WHEN ok THEN provider ELSE '' END,
              CASE WHEN ok AND provider <> 'local' THEN 'https://cdn.example.com/generations/' || md5(i::text) || '.png' END,
              CASE WHEN ok THEN format('images/%s/%s/g%s-original.png', user_id, i, generation) END,
              CASE WHEN ok THEN format('images/%s/%s/g%s-master.png', user_id, i, generation) END,
              CASE WHEN ok THEN format('images/%s/%s/g%s-display.jpg', user_id, i, generation) END,
              CASE WHEN ok THEN format('images/%s/%s/g%s-thumb.jpg', user_id, i, generation) END,
              CASE WHEN ok THEN '' ELSE (${sqlArray(ERRORS)})[1 + h4 % ${ERRORS.length}] END,
              CASE WHEN ok THEN jsonb_build_object(
                  'provider', provider,
                  'model', CASE provider WHEN 'openai' THEN 'dall-e-3'
                                         WHEN 'blackbox' THEN 'blackboxai/black-forest-labs/flux-pro'
                                         ELSE 'local-svg-1' END,
                  'parameters', CASE provider
                      WHEN 'local' THEN jsonb_build_object('seed', md5(prompt) || md5(style), 'width', width, 'height', height)
                      WHEN 'openai' THEN jsonb_build_object('size', width || 'x' || height, 'quality', quality, 'style', 'vivid')
                      ELSE jsonb_build_object('width', width, 'height', height, 'steps', 28) END,
                  'prompt_sent', prompt || ', ' || suffix,
                  'original', jsonb_build_object('format', 'png', 'width', width, 'height', height,
                                                 'bytes', 900000 + h1 % 1800000),
                  'attempts', 1 + (h4 % 17 = 0)::int)
              ELSE jsonb_build_object('last_error', (${sqlArray(ERRORS)})[1 + h4 % ${ERRORS.length}], 'attempts', 4) END,
              CASE WHEN ok THEN round(seconds::numeric, 3)::float8 END,
              CASE WHEN ok THEN 100 ELSE 0 END,
              generation,
              CASE WHEN status = 'validated' THEN created_at + (h2 % 86400) * interval '1 second' END,
              CASE WHEN status IN ('validated', 'rejected') AND h3 / 400 % 5 = 0
                   THEN (${sqlArray(NOTES)})[1 + h3 % ${NOTES.length}] ELSE '' END,
              created_at,
              CASE status WHEN 'validated' THEN created_at + (h2 % 86400) * interval '1 second'
                          WHEN 'rejected' THEN created_at + (h2 % 172800) * interval '1 second'
                          WHEN 'failed' THEN created_at + interval '30 seconds'
                          ELSE created_at + seconds * interval '1 second' END
         FROM (SELECT i, user_id, h1, h2, h3, h4,
                      s.status, s.status <> 'failed' AS ok, st.style, st.suffix, p.provider,
                      prompt.prompt,
                      CASE WHEN h4 / 100 % 10 < 3 THEN 'blurry, text, watermark, low quality' ELSE '' END AS negative_prompt,
                      (ARRAY[1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1792, 512])[1 + h3 / 8 % 10] AS width,
                      (ARRAY[1024, 1024, 1024, 1024, 1024, 1024, 1024, 1792, 1024, 512])[1 + h3 / 8 % 10] AS height,
                      CASE WHEN h3 / 80 % 5 = 0 THEN 'hd' ELSE 'standard' END AS quality,
                      1 + (h4 / 1000 % 20 = 0)::int AS generation,
                      CASE p.provider WHEN 'local' THEN 0.25 + (h4 % 300) / 1000.0
                                      WHEN 'openai' THEN 8 + (h4 % 15000) / 1000.0
                                      ELSE 4 + (h4 % 9000) / 1000.0 END AS seconds,
                      now() - interval '365 days' + i * interval '31536 milliseconds'
                        - (h1 % 30000) * interval '1 millisecond' AS created_at
                 FROM seed_rows
                 CROSS JOIN LATERAL (SELECT CASE WHEN h2 % 100 < 45 THEN 'validated'
                                                 WHEN h2 % 100 < 75 THEN 'generated'
                                                 WHEN h2 % 100 < 90 THEN 'rejected'
                                                 ELSE 'failed' END AS status) s
                 CROSS JOIN LATERAL (SELECT (${sqlArray(STYLES.map(([name]) => name))})[1 + h3 % 8] AS style,
                                            (${sqlArray(STYLES.map(([, suffix]) => suffix))})[1 + h3 % 8] AS suffix) st
                 CROSS JOIN LATERAL (SELECT CASE WHEN h4 % 10 < 5 THEN 'openai'
                                                 WHEN h4 % 10 < 8 THEN 'blackbox'
                                                 ELSE 'local' END AS provider) p
                 CROSS JOIN LATERAL (SELECT (${sqlArray(SUBJECTS)})[1 + h1 / 1000 % ${SUBJECTS.length}]
                                            || ' ' || (${sqlArray(SETTINGS)})[1 + h2 / 100 % ${SETTINGS.length}]
                                            || ', ' || (${sqlArray(MOODS)})[1 + h4 / 10 % ${MOODS.length}] AS prompt) prompt
              ) drawn`,
    );
    await client.query(
      `SELECT setval(pg_get_serial_sequence('generated_images', 'id'), ${TOTAL_IMAGES})`,
    );
    // Tags: the owner has 40, each other user 8; ids given so that the links can be computed.
    await step(
      'insert the tags',
      `INSERT INTO image_tags (id, user_id, name, created_at)
       SELECT n, $1, (${sqlArray(TAG_NAMES)})[n], now() - interval '366 days'
         FROM generate_series(1, ${OWNER_TAGS}) n
       UNION ALL
       SELECT ${OWNER_TAGS} + (k - 1) * ${OTHER_USER_TAGS} + j + 1, ids[k],
              (${sqlArray(TAG_NAMES)})[1 + (k * 7 + j) % ${TAG_NAMES.length}], now() - interval '366 days'
         FROM (SELECT array_agg(id ORDER BY username) AS ids FROM users
                WHERE username LIKE 'bench\\_seed\\_%') seeded,
              generate_series(1, ${OTHER_USERS}) k, generate_series(0, ${OTHER_USER_TAGS - 1}) j`,
      [ownerId],
    );
    await client.query(
      `SELECT setval(pg_get_serial_sequence('image_tags', 'id'), ${OWNER_TAGS + OTHER_USERS * OTHER_USER_TAGS})`,
    );
    // 40 % of the images have 1 to 3 of their owner's tags.
    await step(
      'tag 40 % of the images',
      `INSERT INTO generated_image_tags (image_id, tag_id)
       SELECT i, CASE WHEN k = 0 THEN 1 + (h1 % ${OWNER_TAGS} + t * 7) % ${OWNER_TAGS}
                      ELSE ${OWNER_TAGS} + (k - 1) * ${OTHER_USER_TAGS} + 1
                           + (h1 / ${OTHER_USERS} % ${OTHER_USER_TAGS} + t * 3) % ${OTHER_USER_TAGS} END
         FROM seed_rows, generate_series(0, 2) t
        WHERE h3 / 2000 % 10 < 4 AND t < 1 + h4 / 7 % 3`,
    );
    // What the triggers would have counted.
    await step(
      'recompute user_image_stats',
      `INSERT INTO user_image_stats (user_id, total, pending, generating, generated, validated,
          rejected, failed, total_generation_time, timed_count, history_count)
       SELECT coalesce(g.user_id, h.user_id), coalesce(g.total, 0), coalesce(g.pending, 0),
              coalesce(g.generating, 0), coalesce(g.generated, 0), coalesce(g.validated, 0),
              coalesce(g.rejected, 0), coalesce(g.failed, 0), coalesce(g.total_time, 0),
              coalesce(g.timed, 0), coalesce(h.history, 0)
         FROM (SELECT user_id, count(*) AS total,
                      count(*) FILTER (WHERE status = 'pending') AS pending,
                      count(*) FILTER (WHERE status = 'generating') AS generating,
                      count(*) FILTER (WHERE status = 'generated') AS generated,
                      count(*) FILTER (WHERE status = 'validated') AS validated,
                      count(*) FILTER (WHERE status = 'rejected') AS rejected,
                      count(*) FILTER (WHERE status = 'failed') AS failed,
                      sum(generation_time) FILTER (WHERE generation_time IS NOT NULL) AS total_time,
                      count(generation_time) AS timed
                 FROM generated_images GROUP BY user_id) g
         FULL JOIN (SELECT user_id, count(*) AS history FROM image_generation_history
                     GROUP BY user_id) h ON h.user_id = g.user_id
        -- History has no foreign key: the rows of users deleted since stay, and are not counted.
        WHERE EXISTS (SELECT 1 FROM users WHERE users.id = coalesce(g.user_id, h.user_id))`,
    );
    await step('recompute the list counters', 'SELECT recount_list_counters()');
    await client.query(`UPDATE profiles SET bio = $2 WHERE user_id = $1`, [ownerId, SEED_MARKER]);
    await client.query('ALTER TABLE generated_image_tags ENABLE TRIGGER USER');
    await client.query('ALTER TABLE image_tags ENABLE TRIGGER USER');
    await client.query(
      'ALTER TABLE generated_images ENABLE TRIGGER generated_images_count_insert_delete',
    );
    await client.query('ALTER TABLE generated_images ENABLE TRIGGER generated_images_count_update');
    await step('commit', 'COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await step(
    'VACUUM ANALYZE',
    'VACUUM ANALYZE generated_images, generated_image_tags, image_tags, user_image_stats, users, profiles',
  );
  return { seconds: (performance.now() - started) / 1000, steps };
}
