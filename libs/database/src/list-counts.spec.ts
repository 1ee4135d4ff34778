import { beforeAll, describe, expect, it } from '@jest/globals';
import { insertImages } from '../../../test/factories/image.factory.js';
import { useTestDatabase } from '../../../test/support/database.js';
import { ImageTagQueries } from './image-tag/image-tag.queries.js';
import { userListCount, userPostCount } from './list-counts.js';
import { ScheduleRunQueries } from './schedule-run/schedule-run.queries.js';

describe('list counters (migration ListCounters)', () => {
  const { dataSource, newUser } = useTestDatabase();
  const sql = (text: string, values: unknown[] = []) =>
    dataSource.query(text, values) as Promise<Record<string, unknown>[]>;

  const addSchedule = async (userId: number) =>
    (
      await sql(
        `INSERT INTO posting_schedules (user_id, name, frequency, time_of_day, timezone, platforms, is_active)
         VALUES ($1, 'Weekly', 'weekly', '09:00', 'UTC', '{instagram}', false) RETURNING id`,
        [userId],
      )
    )[0]?.id as number;
  const addAccount = (userId: number, accountId: string) =>
    sql(
      `INSERT INTO social_accounts (user_id, platform, account_id, access_token_encrypted)
       VALUES ($1, 'facebook', $2, '') RETURNING id`,
      [userId, accountId],
    );
  const addPost = (userId: number) =>
    sql(
      `INSERT INTO scheduled_posts (user_id, platform, scheduled_time, status)
       VALUES ($1, 'facebook', now() + interval '1 year', 'cancelled')`,
      [userId],
    );
  const counters = async (userId: number) =>
    (
      await sql(
        'SELECT posts, schedules, accounts, tags FROM user_list_counts WHERE user_id = $1',
        [userId],
      )
    )[0];

  let owner: number;
  beforeAll(async () => {
    owner = await newUser();
  });

  it("follow each user's posts, schedules, accounts and tags as they come and go", async () => {
    const other = await newUser();
    expect(await userListCount(dataSource, owner, 'posts')).toBe(0);
    await addPost(owner);
    await addPost(owner);
    await addPost(other);
    await addSchedule(owner);
    await addAccount(owner, 'page-1');
    const [{ id: second }] = (await addAccount(owner, 'page-2')) as [{ id: number }];
    await insertImages({ dataSource }, owner, [{ tags: ['sea', 'dawn'] }]);
    expect(await counters(owner)).toEqual({ posts: 2, schedules: 1, accounts: 2, tags: 2 });
    expect(await userListCount(dataSource, other, 'posts')).toBe(1);

    await sql('DELETE FROM social_accounts WHERE id = $1', [second]);
    await sql(`DELETE FROM image_tags WHERE user_id = $1 AND name = 'dawn'`, [owner]);
    expect(await counters(owner)).toEqual({ posts: 2, schedules: 1, accounts: 1, tags: 1 });
    expect(await userListCount(dataSource, owner, 'accounts')).toBe(1);
    expect(await new ImageTagQueries(dataSource).countOfUser(owner)).toBe(1);
  });

  it("follow each tag's images, and each schedule's runs", async () => {
    const userId = await newUser();
    const [first, second] = await insertImages({ dataSource }, userId, [
      { tags: ['fox', 'red'] },
      { tags: ['fox'] },
    ]);
    const tags = new ImageTagQueries(dataSource);
    const counted = async () =>
      (await tags.pageOfUser(userId, { offset: 0, pageSize: 10 })).map(({ tag, imageCount }) => [
        tag.name,
        imageCount,
      ]);
    expect(await counted()).toEqual([
      ['fox', 2],
      ['red', 1],
    ]);
    await dataSource.transaction((manager) =>
      tags.setImageTags(userId, first as number, ['red'], manager),
    );
    await sql('DELETE FROM generated_images WHERE id = $1', [second]);
    expect(await counted()).toEqual([
      ['fox', 0],
      ['red', 1],
    ]);

    const scheduleId = await addSchedule(userId);
    await sql(
      `INSERT INTO schedule_runs (schedule_id, occurrence_at)
       SELECT $1, timestamptz '2026-01-01' + n * interval '1 day' FROM generate_series(1, 12) n`,
      [scheduleId],
    );
    await sql(`DELETE FROM schedule_runs WHERE schedule_id = $1 AND occurrence_at < '2026-01-03'`, [
      scheduleId,
    ]);
    const [page, count] = await new ScheduleRunQueries(dataSource).pageOfSchedule(scheduleId, {
      offset: 0,
      pageSize: 3,
    });
    expect(count).toBe(11);
    expect(page).toHaveLength(3);
  });

  it('survive deleting a user with everything they own, and recount to the same values', async () => {
    const leaving = await newUser();
    await addPost(leaving);
    await addSchedule(leaving);
    await addAccount(leaving, 'page-9');
    await insertImages({ dataSource }, leaving, [{ tags: ['gone'] }]);
    await sql('DELETE FROM users WHERE id = $1', [leaving]);
    expect(await counters(leaving)).toBeUndefined();

    const before = await sql(
      `SELECT (SELECT json_agg(c ORDER BY user_id) FROM user_list_counts c) AS users,
              (SELECT json_agg(c ORDER BY schedule_id) FROM schedule_run_counts c) AS runs,
              (SELECT json_agg(c ORDER BY tag_id) FROM image_tag_counts c WHERE images > 0) AS tags`,
    );
    await sql('SELECT recount_list_counters()');
    const after = await sql(
      `SELECT (SELECT json_agg(c ORDER BY user_id) FROM user_list_counts c) AS users,
              (SELECT json_agg(c ORDER BY schedule_id) FROM schedule_run_counts c) AS runs,
              (SELECT json_agg(c ORDER BY tag_id) FROM image_tag_counts c WHERE images > 0) AS tags`,
    );
    expect(after).toEqual(before);
  });
});

describe('post counters by status and platform (migration PostCountsByStatus)', () => {
  const { dataSource, newUser } = useTestDatabase();
  const sql = (text: string, values: unknown[] = []) =>
    dataSource.query(text, values) as Promise<Record<string, unknown>[]>;
  const STATUSES = ['scheduled', 'processing', 'posted', 'failed', 'cancelled'];
  const PLATFORMS = ['instagram', 'facebook', 'twitter', 'linkedin', 'tiktok'];

  /** n posts in one statement, statuses and platforms in turn; their ids. */
  const addPosts = async (userId: number, n: number) =>
    (
      await sql(
        `INSERT INTO scheduled_posts (user_id, platform, scheduled_time, status)
         SELECT $1, ($2::varchar[])[1 + i % 5], now() + make_interval(days => 400 + i),
                ($3::varchar[])[1 + (i / 5) % 5]
           FROM generate_series(0, $4 - 1) AS i RETURNING id`,
        [userId, PLATFORMS, STATUSES, n],
      )
    ).map((row) => row.id as number);
  /** The counters as kept, and as counted from the posts: they must be equal. */
  const kept = (userId: number) =>
    sql(
      `SELECT status, platform, posts FROM user_post_counts WHERE user_id = $1 AND posts <> 0
        ORDER BY 1, 2`,
      [userId],
    );
  const counted = (userId: number) =>
    sql(
      `SELECT status, platform, count(*)::int AS posts FROM scheduled_posts WHERE user_id = $1
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [userId],
    );

  it('follow inserts, status and platform changes, batches and deletes', async () => {
    const owner = await newUser();
    const other = await newUser();
    const ids = await addPosts(owner, 60);
    await addPosts(other, 7);
    expect(await kept(owner)).toEqual(await counted(owner));
    expect(await userPostCount(dataSource, owner, {})).toBe(60);
    expect(await userPostCount(dataSource, owner, { status: 'posted' })).toBe(10);
    expect(await userPostCount(dataSource, owner, { platform: 'tiktok' })).toBe(12);
    expect(await userPostCount(dataSource, owner, { status: 'posted', platform: 'tiktok' })).toBe(
      2,
    );

    // One post, then a batch as the publisher claims and settles them, then a platform change.
    await sql(`UPDATE scheduled_posts SET status = 'processing' WHERE id = $1`, [ids[0]]);
    await sql(`UPDATE scheduled_posts SET status = 'posted' WHERE id = ANY($1)`, [
      ids.slice(0, 30),
    ]);
    await sql(`UPDATE scheduled_posts SET platform = 'linkedin' WHERE id = ANY($1)`, [
      ids.slice(20, 40),
    ]);
    // An update that changes neither column moves nothing.
    await sql(`UPDATE scheduled_posts SET caption = 'x' WHERE user_id = $1`, [owner]);
    expect(await kept(owner)).toEqual(await counted(owner));
    const posted = (await counted(owner)).filter((row) => row.status === 'posted');
    expect(await userPostCount(dataSource, owner, { status: 'posted' })).toBe(
      posted.reduce((sum, row) => sum + (row.posts as number), 0),
    );
    await sql('DELETE FROM scheduled_posts WHERE id = ANY($1)', [ids.slice(10, 25)]);
    expect(await kept(owner)).toEqual(await counted(owner));
    expect(await kept(other)).toEqual(await counted(other));
  });

  it('stay exact under concurrent batches of one user’s posts, without deadlocks', async () => {
    const owner = await newUser();
    const ids = await addPosts(owner, 200);
    // Twenty statements at once over overlapping keys, in opposite orders of posts.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const slice = ids.slice((i * 10) % 200, ((i * 10) % 200) + 10);
        const status = STATUSES[i % 5];
        return sql(`UPDATE scheduled_posts SET status = $2, platform = $3 WHERE id = ANY($1)`, [
          i % 2 ? slice.reverse() : slice,
          status,
          PLATFORMS[(i + 2) % 5],
        ]);
      }),
    );
    expect(await kept(owner)).toEqual(await counted(owner));
  });

  it('go with a deleted user, and recount to the same values', async () => {
    const leaving = await newUser();
    await addPosts(leaving, 12);
    await sql('DELETE FROM users WHERE id = $1', [leaving]);
    expect(await sql('SELECT 1 FROM user_post_counts WHERE user_id = $1', [leaving])).toEqual([]);
    const staying = await newUser();
    await addPosts(staying, 9);
    const before = await kept(staying);
    await sql('SELECT recount_post_counts()');
    expect(await kept(staying)).toEqual(before);
  });
});
