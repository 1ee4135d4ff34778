import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SyncAnalyticsProcessor } from '../apps/server/src/scheduler/sync-analytics.processor.js';
import * as graphFake from './fakes/graph.fake.js';
import { connectAccount } from './factories/post.factory.js';
import { insertPost } from './factories/schedule-rows.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';

/** What Instagram's insights answer for a media: impressions are its views (Meta retired them). */
interface Insights {
  likes: number;
  comments: number;
  shares: number;
  views: number;
  reach: number;
}

interface Analyst {
  user: RegisteredUser;
  account: number;
}

describe('/api/scheduler/analytics/', () => {
  let fake: graphFake.GraphFake;
  let app: TestApp;
  let sync: SyncAnalyticsProcessor;
  let mediaIds = 0;

  const get = (user: RegisteredUser, path: string) =>
    app.http().get(`/api/scheduler/${path}`).set(bearer(user.access));

  async function analyst(timezone: string): Promise<Analyst> {
    const user = await registerUser(app);
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(user.access))
      .send({ timezone })
      .expect(200);
    const account = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
    return { user, account };
  }

  async function setZone(who: Analyst, timezone: string): Promise<void> {
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(who.user.access))
      .send({ timezone })
      .expect(200);
    // The bearer check reads the profile on each request: the next one sees the new zone.
  }

  /** A post published at `postedAt` on Instagram (its media at the fake), never synced yet. */
  async function published(who: Analyst, postedAt: string, caption = 'A post'): Promise<number> {
    const mediaId = `1790000${String(++mediaIds).padStart(8, '0')}`;
    fake.media.push({
      id: mediaId,
      containerId: `c${mediaId}`,
      caption,
      timestamp: postedAt,
      permalink: `https://www.instagram.com/p/${mediaId}/`,
      insights: {},
    });
    const post = await insertPost(app.dataSource, who.user.id, {
      platform: 'instagram',
      status: 'posted',
      postedAt: new Date(postedAt),
      scheduledTime: new Date(postedAt),
      accountId: who.account,
      platformPostId: mediaId,
      platformPostUrl: `https://www.instagram.com/p/${mediaId}/`,
      caption,
    });
    return post.id;
  }

  /** The platform now reports `insights` for the post; one sync through the worker's processor. */
  async function synced(postId: number, insights: Insights): Promise<void> {
    const [{ platform_post_id }] = (await app.dataSource.query(
      'SELECT platform_post_id FROM scheduled_posts WHERE id = $1',
      [postId],
    )) as { platform_post_id: string }[];
    fake.media.find((item) => item.id === platform_post_id)!.insights = { ...insights };
    expect(await sync.run({ postId })).toEqual({ synced: true });
  }

  beforeAll(async () => {
    fake = await graphFake.start();
    app = await createTestApp({
      APP_ROLES: 'api',
      INSTAGRAM_GRAPH_URL: fake.graphUrl,
      FACEBOOK_GRAPH_URL: fake.graphUrl,
      RATE_LIMIT_REGISTER_PER_HOUR: '0',
    });
    sync = app.app.get(SyncAnalyticsProcessor);
  });

  afterAll(async () => {
    await app?.close();
    await fake?.close();
  });

  describe('history', () => {
    let owner: Analyst;
    let stranger: Analyst;
    let postId: number;

    beforeAll(async () => {
      [owner, stranger] = await Promise.all([analyst('UTC'), analyst('UTC')]);
      postId = await published(owner, '2026-11-02T09:00:00Z');
      await synced(postId, { likes: 1, comments: 0, shares: 0, views: 10, reach: 8 });
      await synced(postId, { likes: 5, comments: 1, shares: 0, views: 100, reach: 80 });
      await synced(postId, { likes: 9, comments: 2, shares: 1, views: 240, reach: 200 });
    });

    it('keeps one snapshot per sync, newest first, paginated', async () => {
      const { body } = await get(owner.user, `posts/${postId}/analytics/history/`).expect(200);
      expect(body.count).toBe(3);
      expect(body.next).toBeNull();
      expect(body.results.map((row: { likes: number }) => row.likes)).toEqual([9, 5, 1]);
      expect(Object.keys(body.results[0]).sort()).toEqual([
        'comments',
        'engagement_rate',
        'id',
        'impressions',
        'likes',
        'reach',
        'shares',
        'synced_at',
        'views',
      ]);
      expect(body.results[0]).toMatchObject({
        likes: 9,
        comments: 2,
        shares: 1,
        views: 240,
        reach: 200,
        impressions: 240,
        engagement_rate: 5,
      });
      expect(Date.parse(body.results[0].synced_at)).toBeGreaterThanOrEqual(
        Date.parse(body.results[1].synced_at),
      );
      // The latest metrics are the newest snapshot's.
      const latest = await get(owner.user, `posts/${postId}/analytics/`).expect(200);
      expect(latest.body).toMatchObject({ likes: 9, views: 240, engagement_rate: 5 });

      const first = await get(owner.user, `posts/${postId}/analytics/history/?page_size=2`);
      expect(first.body.count).toBe(3);
      expect(first.body.results).toHaveLength(2);
      expect(first.body.next).toMatch(/\/history\/\?page_size=2&page=2$/);
      const second = await get(owner.user, `posts/${postId}/analytics/history/?page_size=2&page=2`);
      expect(second.body.results.map((row: { likes: number }) => row.likes)).toEqual([1]);
      expectProblem(await get(owner.user, `posts/${postId}/analytics/history/?page=3`), 404);
    });

    it('is the owner’s only: another user’s post, an unknown or huge id are 404; unposted 409', async () => {
      expectProblem(await get(stranger.user, `posts/${postId}/analytics/history/`), 404);
      expectProblem(await get(owner.user, `posts/2147483647/analytics/history/`), 404);
      expectProblem(await get(owner.user, `posts/99999999999999999999/analytics/history/`), 404);
      expectProblem(await get(owner.user, `posts/-1/analytics/history/`), 404);
      const scheduled = await insertPost(app.dataSource, owner.user.id, {
        platform: 'instagram',
      });
      expectProblem(await get(owner.user, `posts/${scheduled.id}/analytics/history/`), 409);
      expectFieldError(await get(owner.user, `posts/${postId}/analytics/history/?page=0`), 'page');
    });
  });

  describe('overview, best times and top posts in the user’s time zone', () => {
    let kolkata: Analyst;
    let paris: Analyst;
    const posts: Record<string, number> = {};

    beforeAll(async () => {
      [kolkata, paris] = await Promise.all([analyst('Asia/Kolkata'), analyst('Europe/Paris')]);
      // Kolkata is UTC+05:30: 18:20Z is Monday 2 Nov 23:50 there, 18:35Z Tuesday 3 Nov 00:05.
      posts.mon = await published(kolkata, '2026-11-02T18:20:00Z', 'Monday, late');
      posts.tue = await published(kolkata, '2026-11-02T18:35:00Z', 'Tuesday "early"');
      posts.wed = await published(kolkata, '2026-11-04T06:00:00Z', '=SUM(A1)\nsecond line');
      await synced(posts.mon, { likes: 10, comments: 2, shares: 0, views: 100, reach: 50 });
      await synced(posts.tue, { likes: 1, comments: 0, shares: 0, views: 10, reach: 10 });
      // Cumulative counts: the second sync replaces the first (its delta goes to the rollup).
      await synced(posts.tue, { likes: 30, comments: 5, shares: 5, views: 400, reach: 300 });
      await synced(posts.wed, { likes: 0, comments: 0, shares: 0, views: 0, reach: 0 });

      // Paris leaves summer time on Sunday 25 Oct 2026 at 01:00Z (03:00 CEST → 02:00 CET).
      // 18 Oct 22:10Z is Monday 19 Oct 00:10 CEST; 25 Oct 22:30Z is Sunday 23:30 CET (same week);
      // 00:30Z and 01:30Z that Sunday are both 02:30 local, either side of the change;
      // 31 Oct 23:30Z is 1 Nov 00:30 CET (November, and the next week).
      posts.weekStart = await published(paris, '2026-10-18T22:10:00Z');
      posts.weekEnd = await published(paris, '2026-10-25T22:30:00Z');
      posts.beforeChange = await published(paris, '2026-10-25T00:30:00Z');
      posts.afterChange = await published(paris, '2026-10-25T01:30:00Z');
      posts.november = await published(paris, '2026-10-31T23:30:00Z');
      await synced(posts.weekStart, { likes: 4, comments: 0, shares: 0, views: 100, reach: 0 });
      await synced(posts.weekEnd, { likes: 6, comments: 0, shares: 0, views: 100, reach: 0 });
      await synced(posts.november, { likes: 1, comments: 1, shares: 1, views: 50, reach: 60 });
    });

    const bucket = (period_start: string, values: Partial<Record<string, number>> = {}) => ({
      period_start,
      posts: 0,
      likes: 0,
      comments: 0,
      shares: 0,
      views: 0,
      impressions: 0,
      engagement_rate: 0,
      ...values,
    });

    it('groups by local day at +05:30, empty days included, the rate pooled', async () => {
      const { body } = await get(
        kolkata.user,
        'analytics/overview/?start_date=2026-11-01&end_date=2026-11-04&group_by=day',
      ).expect(200);
      expect(body).toMatchObject({
        timezone: 'Asia/Kolkata',
        group_by: 'day',
        start_date: '2026-11-01',
        end_date: '2026-11-04',
        platform: null,
      });
      expect(body.results).toEqual([
        bucket('2026-11-01'),
        // (10 + 2) / max(100, 50) × 100
        bucket('2026-11-02', {
          posts: 1,
          likes: 10,
          comments: 2,
          views: 100,
          impressions: 100,
          engagement_rate: 12,
        }),
        bucket('2026-11-03', {
          posts: 1,
          likes: 30,
          comments: 5,
          shares: 5,
          views: 400,
          impressions: 400,
          engagement_rate: 10,
        }),
        bucket('2026-11-04', { posts: 1 }),
      ]);
      // A platform with nothing: zeros.
      const facebook = await get(
        kolkata.user,
        'analytics/overview/?start_date=2026-11-02&end_date=2026-11-02&platform=facebook',
      ).expect(200);
      expect(facebook.body.results).toEqual([bucket('2026-11-02')]);
    });

    it('follows a change of time zone at once: +05:45 moves the Monday post', async () => {
      await setZone(kolkata, 'Asia/Kathmandu');
      try {
        // Kathmandu is UTC+05:45: 18:20Z is Tuesday 00:05, 18:35Z Tuesday 00:20.
        const { body } = await get(
          kolkata.user,
          'analytics/overview/?start_date=2026-11-02&end_date=2026-11-03',
        ).expect(200);
        expect(body.timezone).toBe('Asia/Kathmandu');
        expect(body.results).toEqual([
          bucket('2026-11-02'),
          // (10 + 2 + 30 + 5 + 5) / (100 + 400) × 100, pooled over the two posts
          bucket('2026-11-03', {
            posts: 2,
            likes: 40,
            comments: 7,
            shares: 5,
            views: 500,
            impressions: 500,
            engagement_rate: 10.4,
          }),
        ]);
      } finally {
        await setZone(kolkata, 'Asia/Kolkata');
      }
    });

    it('groups by week (Monday) and month across the DST change', async () => {
      const weeks = await get(
        paris.user,
        'analytics/overview/?start_date=2026-10-19&end_date=2026-11-01&group_by=week',
      ).expect(200);
      expect(weeks.body.results).toEqual([
        bucket('2026-10-19', {
          posts: 4,
          likes: 10,
          views: 200,
          impressions: 200,
          engagement_rate: 5,
        }),
        bucket('2026-10-26', {
          posts: 1,
          likes: 1,
          comments: 1,
          shares: 1,
          views: 50,
          impressions: 50,
          engagement_rate: 5,
        }),
      ]);
      const months = await get(
        paris.user,
        'analytics/overview/?start_date=2026-10-01&end_date=2026-11-30&group_by=month',
      ).expect(200);
      expect(months.body.results).toEqual([
        bucket('2026-10-01', {
          posts: 4,
          likes: 10,
          views: 200,
          impressions: 200,
          engagement_rate: 5,
        }),
        bucket('2026-11-01', {
          posts: 1,
          likes: 1,
          comments: 1,
          shares: 1,
          views: 50,
          impressions: 50,
          engagement_rate: 5,
        }),
      ]);
      // A range cutting a week counts only its own days; the period still starts on Monday.
      const cut = await get(
        paris.user,
        'analytics/overview/?start_date=2026-10-25&end_date=2026-10-25&group_by=week',
      ).expect(200);
      expect(cut.body.results).toEqual([
        bucket('2026-10-19', {
          posts: 3,
          likes: 6,
          views: 100,
          impressions: 100,
          engagement_rate: 6,
        }),
      ]);
    });

    it('answers the 168 weekday × hour cells in the user’s zone', async () => {
      const { body } = await get(paris.user, 'analytics/best-times/').expect(200);
      expect(body).toMatchObject({ timezone: 'Europe/Paris', start_date: null, end_date: null });
      expect(body.results).toHaveLength(168);
      expect(body.results[0]).toEqual({ weekday: 0, hour: 0, posts: 1, engagement_rate: 4 });
      const filled = body.results.filter((cell: { posts: number }) => cell.posts > 0);
      expect(filled).toEqual([
        { weekday: 0, hour: 0, posts: 1, engagement_rate: 4 },
        // Sunday 02:30 twice, once in summer time and once in winter time.
        { weekday: 6, hour: 0, posts: 1, engagement_rate: 5 },
        { weekday: 6, hour: 2, posts: 2, engagement_rate: 0 },
        { weekday: 6, hour: 23, posts: 1, engagement_rate: 6 },
      ]);
    });

    it('narrows best times by local dates and platform', async () => {
      const { body } = await get(
        kolkata.user,
        'analytics/best-times/?start_date=2026-11-03&end_date=2026-11-03&platform=instagram',
      ).expect(200);
      expect(body).toMatchObject({ start_date: '2026-11-03', end_date: '2026-11-03' });
      const filled = body.results.filter((cell: { posts: number }) => cell.posts > 0);
      // Tuesday 00:05 in Kolkata.
      expect(filled).toEqual([{ weekday: 1, hour: 0, posts: 1, engagement_rate: 10 }]);
    });

    it('orders top posts by a metric, ties to the newest, within the limit', async () => {
      const byLikes = await get(kolkata.user, 'analytics/top-posts/?metric=likes').expect(200);
      expect(byLikes.body).toMatchObject({ metric: 'likes', limit: 10, platform: null });
      expect(byLikes.body.results.map((row: { id: number }) => row.id)).toEqual([
        posts.tue,
        posts.mon,
        posts.wed,
      ]);
      expect(byLikes.body.results[0]).toMatchObject({
        id: posts.tue,
        platform: 'instagram',
        caption: 'Tuesday "early"',
        posted_at: '2026-11-02T18:35:00.000Z',
        likes: 30,
        comments: 5,
        shares: 5,
        views: 400,
        reach: 300,
        impressions: 400,
        engagement_rate: 10,
      });
      const byRate = await get(kolkata.user, 'analytics/top-posts/?limit=2').expect(200);
      expect(byRate.body.results.map((row: { id: number }) => row.id)).toEqual([
        posts.mon,
        posts.tue,
      ]);
      // Paris: three posts never synced have no metrics row; ties (none) go to the newest post.
      const paris0 = await get(paris.user, 'analytics/top-posts/?metric=shares&limit=100');
      expect(paris0.body.results.map((row: { id: number }) => row.id)).toEqual([
        posts.november,
        posts.weekEnd,
        posts.weekStart,
      ]);
      const none = await get(kolkata.user, 'analytics/top-posts/?platform=tiktok').expect(200);
      expect(none.body.results).toEqual([]);
    });

    it('answers each report as CSV, quoted as RFC 4180 says', async () => {
      const overview = await get(
        kolkata.user,
        'analytics/overview/?start_date=2026-11-02&end_date=2026-11-03&format=csv',
      ).expect(200);
      expect(overview.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(overview.headers['content-disposition']).toBe(
        'attachment; filename="analytics-overview.csv"',
      );
      expect(overview.text).toBe(
        'period_start,posts,likes,comments,shares,views,impressions,engagement_rate\r\n' +
          '2026-11-02,1,10,2,0,100,100,12\r\n' +
          '2026-11-03,1,30,5,5,400,400,10\r\n',
      );
      const cells = await get(kolkata.user, 'analytics/best-times/?format=csv').expect(200);
      const lines = cells.text.split('\r\n');
      expect(lines[0]).toBe('weekday,hour,posts,engagement_rate');
      expect(lines).toHaveLength(170); // header, 168 cells, the empty string after the last CRLF
      expect(lines[1]).toBe('0,0,0,0');
      expect(lines).toContain('0,23,1,12');
      const top = await get(kolkata.user, 'analytics/top-posts/?metric=likes&format=csv').expect(
        200,
      );
      expect(top.headers['content-type']).toBe('text/csv; charset=utf-8');
      const rows = top.text.split('\r\n');
      expect(rows[0]).toBe(
        'id,platform,posted_at,likes,comments,shares,views,reach,impressions,engagement_rate,last_synced_at,platform_post_url,caption',
      );
      expect(rows[1]).toMatch(
        new RegExp(
          `^${posts.tue},instagram,2026-11-02T18:35:00.000Z,30,5,5,400,300,400,10,[^,]+,https://www.instagram.com/p/\\d+/,"Tuesday ""early"""$`,
        ),
      );
      expect(rows[2]).toMatch(/,"Monday, late"$/);
      // A formula is defused with an apostrophe; the line break stays inside the quotes.
      expect(top.text).toContain(`,"'=SUM(A1)\nsecond line"\r\n`);
    });

    it('refuses bad dates, ranges, limits and metrics with a 400 naming the field', async () => {
      const bad: [string, string][] = [
        ['analytics/overview/?start_date=2026-02-30', 'start_date'],
        ['analytics/overview/?end_date=26-01-01', 'end_date'],
        ['analytics/overview/?start_date=2026-11-05&end_date=2026-11-04', 'start_date'],
        ['analytics/overview/?start_date=2000-01-01&end_date=2026-01-01', 'end_date'],
        ['analytics/overview/?group_by=year', 'group_by'],
        ['analytics/overview/?format=xml', 'format'],
        ['analytics/overview/?platform=myspace', 'platform'],
        ['analytics/best-times/?start_date=2026-13-01', 'start_date'],
        ['analytics/best-times/?start_date=2026-11-05&end_date=2026-11-04', 'start_date'],
        ['analytics/best-times/?start_date=2026-01-01&end_date=2026-04-03', 'end_date'],
        ['analytics/best-times/?start_date=2026-01-01&end_date=2026-04-02&format=csv', ''],
        ['analytics/top-posts/?limit=0', 'limit'],
        ['analytics/top-posts/?limit=101', 'limit'],
        ['analytics/top-posts/?limit=ten', 'limit'],
        ['analytics/top-posts/?limit=99999999999999999999', 'limit'],
        ['analytics/top-posts/?metric=followers', 'metric'],
        ['analytics/top-posts/?metric=__proto__', 'metric'],
      ];
      for (const [path, field] of bad) {
        // 92 days (1 January to 2 April) is the longest best-times range.
        if (field === '') await get(kolkata.user, path).expect(200);
        else expectFieldError(await get(kolkata.user, path), field);
      }
      // Defaults: the last 30 local days, ending today.
      const defaults = await get(kolkata.user, 'analytics/overview/').expect(200);
      expect(defaults.body.results).toHaveLength(30);
      expect(defaults.body.results[29].period_start).toBe(defaults.body.end_date);
    });

    it('reads malformed query strings without a 500: unknown keys dropped, bad values 400', async () => {
      // Query strings are lenient about parameters they do not know (as DRF is): a nested or
      // prototype key is not `start_date`, so it is dropped and the defaults answer.
      const ignored = [
        'analytics/overview/?start_date[a][b][c]=2026-01-01',
        `analytics/overview/?${'a['.repeat(40)}x${']'.repeat(40)}=1`,
        'analytics/overview/?__proto__[polluted]=1',
        'analytics/best-times/?constructor[prototype][x]=1',
        'analytics/top-posts/?__proto__=1&metric=likes',
      ];
      for (const path of ignored) {
        const response = await get(kolkata.user, path);
        expect([path, response.status]).toEqual([path, 200]);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const refused: [string, string][] = [
        ['analytics/top-posts/?limit=1&limit=2', 'limit'],
        ['analytics/overview/?group_by=day&group_by=week', 'group_by'],
        ['analytics/overview/?start_date=%ED%A0%80', 'start_date'],
        ['analytics/overview/?start_date=2026-11-01%00', 'start_date'],
        [`analytics/overview/?end_date=${'9'.repeat(5000)}`, 'end_date'],
      ];
      for (const [path, field] of refused) expectFieldError(await get(kolkata.user, path), field);
    });

    it('needs a token and shows only the caller’s posts', async () => {
      await app.http().get('/api/scheduler/analytics/overview/').expect(401);
      const stranger = await analyst('UTC');
      const { body } = await get(
        stranger.user,
        'analytics/overview/?start_date=2026-11-01&end_date=2026-11-04',
      ).expect(200);
      expect(body.results.every((row: { posts: number }) => row.posts === 0)).toBe(true);
      const top = await get(stranger.user, 'analytics/top-posts/').expect(200);
      expect(top.body.results).toEqual([]);
    });
  });

  it('keeps the rollups equal to an aggregate over the raw snapshots after many syncs', async () => {
    const who = await analyst('America/New_York');
    const ids: number[] = [];
    for (let i = 0; i < 6; i++)
      ids.push(await published(who, new Date(Date.UTC(2026, 2, 8, 5 + i, i * 7)).toISOString()));
    let seed = 7;
    const next = (max: number) => (seed = (seed * 48271) % 2147483647) % max;
    for (let round = 0; round < 4; round++) {
      for (const id of ids) {
        if (next(3) === 0) continue; // not every post syncs every time
        // Counts go down too (an unlike, a deleted comment): the delta is negative then.
        await synced(id, {
          likes: next(500),
          comments: next(50),
          shares: next(20),
          views: next(3) === 0 ? 0 : next(5000),
          reach: next(4000),
        });
      }
    }
    // Concurrent syncs, two of them of one post: each adds its difference under the row's lock.
    const burst = (likes: number) => ({ likes, comments: 3, shares: 2, views: 900, reach: 700 });
    await Promise.all([
      ...ids.map((id, i) => synced(id, burst(100 + i))),
      synced(ids[0], burst(100)),
    ]);
    const rollups = (await app.dataSource.query(
      `SELECT bucket_start, platform, posts, likes, comments, shares, views, impressions, reach,
              rate_engagements, rate_base
         FROM post_analytics_rollups WHERE user_id = $1 AND posts <> 0
        ORDER BY bucket_start, platform`,
      [who.user.id],
    )) as Record<string, unknown>[];
    const raw = (await app.dataSource.query(
      `WITH latest AS (
         SELECT DISTINCT ON (scheduled_post_id) *
           FROM post_analytics_snapshots
          ORDER BY scheduled_post_id, synced_at DESC, id DESC
       )
       SELECT to_timestamp(floor(extract(epoch FROM p.posted_at) / 900) * 900) AS bucket_start,
              p.platform, count(*)::int AS posts,
              coalesce(sum(s.likes), 0)::text AS likes, coalesce(sum(s.comments), 0)::text AS comments,
              coalesce(sum(s.shares), 0)::text AS shares, coalesce(sum(s.views), 0)::text AS views,
              coalesce(sum(s.impressions), 0)::text AS impressions,
              coalesce(sum(s.reach), 0)::text AS reach,
              coalesce(sum(CASE WHEN greatest(s.impressions, s.views, s.reach) > 0
                                THEN s.likes + s.comments + s.shares ELSE 0 END), 0)::text
                AS rate_engagements,
              coalesce(sum(greatest(s.impressions, s.views, s.reach)), 0)::text AS rate_base
         FROM scheduled_posts p
         LEFT JOIN latest s ON s.scheduled_post_id = p.id
        WHERE p.user_id = $1 AND p.status = 'posted'
        GROUP BY 1, 2
        ORDER BY 1, 2`,
      [who.user.id],
    )) as Record<string, unknown>[];
    expect(rollups.length).toBe(6);
    expect(rollups).toEqual(raw);
    // The local tables (what the reports read) are the 15-minute rows summed in the user's zone,
    // before and after a change of zone.
    const localDifferences = async (): Promise<number> => {
      const sums = `sum(posts)::bigint, sum(likes)::bigint, sum(comments)::bigint,
        sum(shares)::bigint, sum(views)::bigint, sum(impressions)::bigint, sum(reach)::bigint,
        sum(rate_engagements)::bigint, sum(rate_base)::bigint`;
      const [{ differences }] = (await app.dataSource.query(
        `WITH zone AS (SELECT timezone FROM profiles WHERE user_id = $1),
         daily_expected AS (
           SELECT (r.bucket_start AT TIME ZONE (SELECT timezone FROM zone))::date AS d,
                  r.platform, ${sums}
             FROM post_analytics_rollups r WHERE r.user_id = $1 AND r.posts <> 0 GROUP BY 1, 2),
         daily_actual AS (
           SELECT local_date, platform, ${sums} FROM post_analytics_daily
            WHERE user_id = $1 AND posts <> 0 GROUP BY 1, 2),
         hours_expected AS (
           SELECT extract(isodow FROM r.bucket_start AT TIME ZONE (SELECT timezone FROM zone))::int - 1 AS w,
                  extract(hour FROM r.bucket_start AT TIME ZONE (SELECT timezone FROM zone))::int AS h,
                  r.platform, ${sums}
             FROM post_analytics_rollups r WHERE r.user_id = $1 AND r.posts <> 0 GROUP BY 1, 2, 3),
         hours_actual AS (
           SELECT weekday::int, hour::int, platform, ${sums} FROM post_analytics_hours
            WHERE user_id = $1 AND posts <> 0 GROUP BY 1, 2, 3)
         SELECT (SELECT count(*) FROM (SELECT * FROM daily_expected EXCEPT SELECT * FROM daily_actual) a)
              + (SELECT count(*) FROM (SELECT * FROM daily_actual EXCEPT SELECT * FROM daily_expected) b)
              + (SELECT count(*) FROM (SELECT * FROM hours_expected EXCEPT SELECT * FROM hours_actual) c)
              + (SELECT count(*) FROM (SELECT * FROM hours_actual EXCEPT SELECT * FROM hours_expected) d)
              AS differences`,
        [who.user.id],
      )) as { differences: string }[];
      return Number(differences);
    };
    expect(await localDifferences()).toBe(0);
    await setZone(who, 'Australia/Lord_Howe'); // +10:30, or +11 in its summer: half-hour DST
    expect(await localDifferences()).toBe(0);
    await synced(ids[0], { likes: 1, comments: 1, shares: 1, views: 10, reach: 10 });
    expect(await localDifferences()).toBe(0);
    // And the snapshots are as many as the syncs that ran.
    const [{ count }] = (await app.dataSource.query(
      `SELECT sum(snapshot_count)::int AS count FROM post_analytics WHERE user_id = $1`,
      [who.user.id],
    )) as { count: number }[];
    const [{ snapshots }] = (await app.dataSource.query(
      `SELECT count(*)::int AS snapshots FROM post_analytics_snapshots s
         JOIN scheduled_posts p ON p.id = s.scheduled_post_id WHERE p.user_id = $1`,
      [who.user.id],
    )) as { snapshots: number }[];
    expect(count).toBe(snapshots);
    expect(snapshots).toBeGreaterThan(6);
  });
});
