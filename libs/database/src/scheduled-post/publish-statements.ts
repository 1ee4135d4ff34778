/**
 * The statements of a publish, as named statements: PostgreSQL plans each once per connection,
 * not once per post. The batched ones take `$1` the posts' ids and `$2` their versions, one
 * element per post, then one array per value and then the constants (see ScheduledPostQueries).
 */
export interface NamedStatement {
  name: string;
  text: string;
}

/**
 * Which posts a statement may touch: this id at this version, in this status. The status test is
 * `IS NOT DISTINCT FROM` rather than `=` (the same, the column being NOT NULL) so that the partial
 * indexes on status (due, processing) cannot serve it and PostgreSQL always finds the post by its
 * primary key. With `=`, statistics taken while few posts were scheduled make it scan the partial
 * index and filter on id: each claim of a burst of N posts then reads N index entries.
 */
function only(status: 'scheduled' | 'processing'): string {
  return `id = $1 AND version = $2 AND status IS NOT DISTINCT FROM '${status}'`;
}

/** Every write of a result is conditional on the claim still being the writer's. */
export const OURS = only('processing');

/**
 * The posts of a batch that a statement may touch, locked: `$1` their ids, `$2` their versions
 * (and `arrays` more, one element per post, as `w.<name>`), in this status. The rows are locked in
 * id order, so two batches that share posts (a duplicate job, a take-over) wait for each other
 * instead of deadlocking.
 */
function lockedBatch(
  status: 'scheduled' | 'processing',
  arrays: { name: string; type: string }[] = [],
  condition = '',
): string {
  const values = arrays.map((array, index) => `, $${index + 3}::${array.type}[]`).join('');
  const names = arrays.map((array) => `, ${array.name}`).join('');
  return `SELECT p.id${arrays.map((array) => `, w.${array.name}`).join('')}
      FROM scheduled_posts p
      JOIN unnest($1::int[], $2::int[]${values}) AS w(id, version${names})
        ON p.id = w.id AND p.version = w.version
      WHERE p.status IS NOT DISTINCT FROM '${status}'${condition}
      ORDER BY p.id
      FOR UPDATE OF p`;
}

/**
 * One statement, one round trip for a batch of posts: the conditional UPDATE that takes each post
 * (only one worker can win it), returning the posts joined with what the publish needs: the
 * rendition is that of the image version the post was scheduled with (the image's current one
 * when that version is gone, or for a post older than versions). `$1` ids, `$2` versions, `$3`
 * the lease in milliseconds.
 */
function claimStatement(set: string, status: 'scheduled' | 'processing', condition = ''): string {
  return `WITH mine AS (${lockedBatch(status, [], condition)}),
    post AS (
      UPDATE scheduled_posts p SET ${set}, lease_until = now() + $3 * interval '1 millisecond',
        updated_at = now()
      FROM mine WHERE p.id = mine.id
      RETURNING p.id, p.version, p.user_id, p.account_id, p.image_id, p.platform, p.caption,
        p.hashtags, p.checkpoint, p.metadata, p.attempts, p.image_version
    )
    SELECT post.*, account.status AS account_status, account.account_id AS account_platform_id,
      account.access_token_encrypted, account.refresh_token_encrypted,
      coalesce(version.rendition_key, image.rendition_key) AS rendition_key
    FROM post
    LEFT JOIN social_accounts account ON account.id = post.account_id
    LEFT JOIN generated_images image ON image.id = post.image_id
    LEFT JOIN image_versions version
      ON version.image_id = post.image_id AND version.version = post.image_version`;
}

/** Scheduled posts of these versions become processing, one attempt more, under a lease. */
export const CLAIM: NamedStatement = {
  name: 'publish-posts-claim',
  text: claimStatement(`status = 'processing', attempts = p.attempts + 1`, 'scheduled'),
};

/** Posts left in processing past their lease are taken over for reconciliation, as new versions. */
export const TAKE_OVER: NamedStatement = {
  name: 'publish-posts-take-over',
  // A new version: the worker that lost the lease can no longer write (nor record a step).
  text: claimStatement(
    `status = 'processing', version = p.version + 1`,
    'processing',
    ' AND p.lease_until < now()',
  ),
};

/** `$3` the steps to merge into the checkpoints, before the platform calls that need them. */
export const RECORD: NamedStatement = {
  name: 'publish-posts-record',
  text: `WITH mine AS (${lockedBatch('processing', [{ name: 'step', type: 'jsonb' }])})
    UPDATE scheduled_posts p SET checkpoint = p.checkpoint || mine.step, updated_at = now()
    FROM mine WHERE p.id = mine.id
    RETURNING p.id`,
};

export const RENEW_LEASE: NamedStatement = {
  name: 'publish-post-renew-lease',
  text: `UPDATE scheduled_posts SET lease_until = now() + $3 * interval '1 millisecond' WHERE ${OURS}`,
};

/** `$3` the platform's post ids, `$4` their URLs, `$5` metadata to merge. */
export const POSTED: NamedStatement = {
  name: 'publish-posts-posted',
  text: `WITH mine AS (${lockedBatch('processing', [
    { name: 'post_id', type: 'text' },
    { name: 'url', type: 'text' },
    { name: 'metadata', type: 'jsonb' },
  ])})
    UPDATE scheduled_posts p SET status = 'posted', posted_at = now(), platform_post_id = mine.post_id,
      platform_post_url = mine.url, metadata = p.metadata || mine.metadata, error_message = '',
      error_code = NULL, lease_until = NULL, updated_at = now()
    FROM mine WHERE p.id = mine.id
    RETURNING p.id`,
};

/** The statements every publish runs (a test checks how PostgreSQL plans them). */
export const PUBLISH_STATEMENTS: readonly NamedStatement[] = [
  CLAIM,
  TAKE_OVER,
  RECORD,
  RENEW_LEASE,
  POSTED,
];
