import { beforeAll, describe, expect, it } from '@jest/globals';
import { insertImages } from '../../../test/factories/image.factory.js';
import { useTestDatabase } from '../../../test/support/database.js';
import { ImageTagQueries } from './image-tag/image-tag.queries.js';
import { userListCount } from './list-counts.js';
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
