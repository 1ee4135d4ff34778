import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { WeeklyDigestQueries } from './weekly-digest.queries.js';

describe('WeeklyDigestQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let digests: WeeklyDigestQueries;
  beforeAll(() => {
    digests = new WeeklyDigestQueries(dataSource);
  });

  async function post(
    userId: number,
    status: string,
    at: string,
    metrics?: { likes: number; views: number; rate: number },
  ) {
    const [{ id }] = (await dataSource.query(
      `INSERT INTO scheduled_posts (user_id, platform, caption, scheduled_time, status, posted_at)
       VALUES ($1, 'twitter', $2, $3, $4::varchar, CASE WHEN $4::varchar = 'posted' THEN $3::timestamptz END)
       RETURNING id`,
      [userId, `${status} at ${at}`, at, status],
    )) as [{ id: number }];
    if (metrics)
      await dataSource.query(
        `INSERT INTO post_analytics (scheduled_post_id, platform, likes, views, engagement_rate)
         VALUES ($1, 'twitter', $2, $3, $4)`,
        [id, metrics.likes, metrics.views, metrics.rate],
      );
    return id;
  }

  it('sums the week’s published posts, lists them most engaging first, and counts the rest', async () => {
    const userId = await newUser();
    const from = new Date('2026-11-30T00:00:00Z');
    const to = new Date('2026-12-07T00:00:00Z');
    const low = await post(userId, 'posted', '2026-12-01T10:00:00Z', {
      likes: 1,
      views: 10,
      rate: 1,
    });
    const high = await post(userId, 'posted', '2026-12-02T10:00:00Z', {
      likes: 5,
      views: 20,
      rate: 9,
    });
    const unsynced = await post(userId, 'posted', '2026-12-03T10:00:00Z');
    await post(userId, 'posted', '2026-12-07T00:00:00Z', { likes: 100, views: 100, rate: 50 });
    await post(userId, 'scheduled', '2026-12-09T10:00:00Z');
    await post(userId, 'scheduled', '2026-12-20T10:00:00Z');
    const week = await digests.week(userId, from, to);
    expect(week.totals).toEqual({ posts: 3, likes: 6, comments: 0, shares: 0, views: 30 });
    expect(week.published.map((entry) => entry.id)).toEqual([high, low, unsynced]);
    expect(week.published[2]).toMatchObject({ likes: 0, engagementRate: 0 });
    expect(week.upcoming).toBe(1);
    expect(week.failed).toBe(0);
  });

  it('reports an empty week as zeros', async () => {
    const userId = await newUser();
    const week = await digests.week(
      userId,
      new Date('2026-11-30T00:00:00Z'),
      new Date('2026-12-07T00:00:00Z'),
    );
    expect(week).toEqual({
      totals: { posts: 0, likes: 0, comments: 0, shares: 0, views: 0 },
      published: [],
      failed: 0,
      upcoming: 0,
    });
  });
});
