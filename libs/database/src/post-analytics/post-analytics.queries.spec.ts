import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { AnalyticsRollupQueries } from './analytics-rollup.queries.js';
import { PostAnalyticsQueries, type PostMetricsValues } from './post-analytics.queries.js';

const metrics = (likes: number, views: number): PostMetricsValues => ({
  likes,
  comments: 0,
  shares: 0,
  views,
  reach: 0,
  impressions: views,
  engagementRate: views > 0 ? Math.round((likes / views) * 10_000) / 100 : 0,
});

describe('PostAnalyticsQueries and AnalyticsRollupQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let analytics: PostAnalyticsQueries;
  let rollups: AnalyticsRollupQueries;
  beforeAll(() => {
    analytics = new PostAnalyticsQueries(dataSource);
    rollups = new AnalyticsRollupQueries(dataSource);
  });

  async function posted(userId: number, at: string, platform = 'twitter'): Promise<number> {
    const [{ id }] = (await dataSource.query(
      `INSERT INTO scheduled_posts (user_id, platform, caption, scheduled_time, status, posted_at)
       VALUES ($1, $2, 'A post', $3, 'posted', $3) RETURNING id`,
      [userId, platform, at],
    )) as [{ id: number }];
    return id;
  }

  it('records each sync as a snapshot and the latest values, and pages the history', async () => {
    const userId = await newUser();
    const postId = await posted(userId, '2026-11-02T09:00:00Z');
    for (const [i, likes] of [1, 4, 9].entries())
      await analytics.recordSync(
        postId,
        'twitter',
        metrics(likes, 100),
        new Date(Date.UTC(2026, 10, 2, 10 + i)),
      );
    const page = await analytics.history(postId, { offset: 0, pageSize: 2 });
    expect(page.count).toBe(3);
    expect(page.rows.map((row) => [row.likes, row.syncedAt.toISOString()])).toEqual([
      [9, '2026-11-02T12:00:00.000Z'],
      [4, '2026-11-02T11:00:00.000Z'],
    ]);
    expect((await analytics.history(postId, { offset: 2, pageSize: 2 })).rows).toHaveLength(1);
    const latest = await analytics.findOrCreate(postId, 'twitter');
    expect(latest).toMatchObject({ likes: 9, userId, snapshotCount: 3 });
    expect(latest.postedAt?.toISOString()).toBe('2026-11-02T09:00:00.000Z');
  });

  it('reads the latest metrics of a user in keyset pages, and the top posts by a metric', async () => {
    const userId = await newUser();
    const other = await newUser();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await posted(userId, `2026-11-0${i + 1}T09:00:00Z`);
      ids.push(id);
      await analytics.recordSync(id, 'twitter', metrics(10 * ((i * 3) % 5), 100), new Date());
    }
    await analytics.recordSync(
      await posted(other, '2026-11-01T09:00:00Z'),
      'twitter',
      metrics(1000, 1000),
      new Date(),
    );
    const first = await analytics.latestOfUserPage(userId, 0, 2);
    const second = await analytics.latestOfUserPage(userId, first[1].postId, 2);
    const third = await analytics.latestOfUserPage(userId, second[1].postId, 2);
    expect([...first, ...second, ...third].map((row) => row.postId)).toEqual(ids);
    expect(await analytics.latestOfUserPage(userId, ids[4], 2)).toEqual([]);
    // likes: 0, 30, 10, 40, 20
    const top = await analytics.topPosts(userId, 'likes', 3);
    expect(top.map((row) => row.likes)).toEqual([40, 30, 20]);
    expect(top[0]).toMatchObject({ postId: ids[3], platform: 'twitter', caption: 'A post' });
    expect(await analytics.topPosts(userId, 'likes', 3, 'tiktok')).toEqual([]);
  });

  it('sums the rollups by local period and weekday × hour', async () => {
    const userId = await newUser();
    await dataSource.query(`UPDATE profiles SET timezone = 'Asia/Kolkata' WHERE user_id = $1`, [
      userId,
    ]);
    // Monday 2 November 23:50 and Tuesday 3 November 00:05 in Kolkata.
    const monday = await posted(userId, '2026-11-02T18:20:00Z');
    const tuesday = await posted(userId, '2026-11-02T18:35:00Z', 'instagram');
    await analytics.recordSync(monday, 'twitter', metrics(10, 100), new Date());
    await analytics.recordSync(tuesday, 'instagram', metrics(5, 100), new Date());
    const days = await rollups.overview(userId, 'day', {
      timezone: 'Asia/Kolkata',
      from: '2026-11-02',
      to: '2026-11-03',
    });
    expect(days).toEqual([
      expect.objectContaining({ periodStart: '2026-11-02', posts: 1, likes: 10 }),
      expect.objectContaining({ periodStart: '2026-11-03', posts: 1, likes: 5 }),
    ]);
    const week = await rollups.overview(userId, 'week', {
      timezone: 'Asia/Kolkata',
      from: '2026-11-02',
      to: '2026-11-08',
      platform: 'instagram',
    });
    expect(week).toEqual([
      expect.objectContaining({ periodStart: '2026-11-02', posts: 1, engagementRate: 5 }),
    ]);
    const cells = await rollups.bestTimes(userId, { timezone: 'Asia/Kolkata' });
    expect(cells.filter((cell) => cell.posts > 0)).toEqual([
      { weekday: 0, hour: 23, posts: 1, engagementRate: 10 },
      { weekday: 1, hour: 0, posts: 1, engagementRate: 5 },
    ]);
    const ranged = await rollups.bestTimes(userId, {
      timezone: 'Asia/Kolkata',
      from: '2026-11-03',
      to: '2026-11-03',
    });
    expect(ranged.filter((cell) => cell.posts > 0)).toEqual([
      { weekday: 1, hour: 0, posts: 1, engagementRate: 5 },
    ]);
  });
});
