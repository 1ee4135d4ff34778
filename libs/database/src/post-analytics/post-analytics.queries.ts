import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { SocialPlatform } from '../social-account/social-account.entity.js';
import type { PageSlice } from '../page-slice.js';
import { PostAnalyticsSnapshot } from '../post-analytics-snapshot/post-analytics-snapshot.entity.js';
import { PostAnalytics } from './post-analytics.entity.js';

/** The latest metrics of a post, as its platform reported them. */
export type PostMetricsValues = Pick<
  PostAnalytics,
  'likes' | 'comments' | 'shares' | 'views' | 'reach' | 'impressions' | 'engagementRate'
>;

@Injectable()
export class PostAnalyticsQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The post's analytics row, created empty (never synced) when it has none yet. */
  async findOrCreate(postId: number, platform: SocialPlatform): Promise<PostAnalytics> {
    const analytics = this.dataSource.getRepository(PostAnalytics);
    const existing = await analytics.findOneBy({ scheduledPostId: postId });
    if (existing) return existing;
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(PostAnalytics)
      .values({ scheduledPostId: postId, platform })
      .orIgnore()
      .execute();
    return analytics.findOneByOrFail({ scheduledPostId: postId });
  }

  /**
   * One sync, in one statement: a snapshot of what the platform answered, and the post's latest
   * metrics replaced. The rollups follow in the same transaction (post_analytics' trigger adds
   * the difference between these values and the previous latest ones).
   */
  async recordSync(
    postId: number,
    platform: SocialPlatform,
    metrics: PostMetricsValues,
    syncedAt: Date,
  ): Promise<void> {
    await this.dataSource.query(
      `WITH snapshot AS (
         INSERT INTO post_analytics_snapshots
           (scheduled_post_id, synced_at, likes, comments, shares, views, reach, impressions,
            engagement_rate)
         VALUES ($1, $10, $3, $4, $5, $6, $7, $8, $9)
       )
       INSERT INTO post_analytics AS a
         (scheduled_post_id, platform, likes, comments, shares, views, reach, impressions,
          engagement_rate, last_synced_at, snapshot_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)
       ON CONFLICT (scheduled_post_id) DO UPDATE SET
         likes = excluded.likes, comments = excluded.comments, shares = excluded.shares,
         views = excluded.views, reach = excluded.reach, impressions = excluded.impressions,
         engagement_rate = excluded.engagement_rate, last_synced_at = excluded.last_synced_at,
         snapshot_count = a.snapshot_count + 1`,
      [
        postId,
        platform,
        metrics.likes,
        metrics.comments,
        metrics.shares,
        metrics.views,
        metrics.reach,
        metrics.impressions,
        metrics.engagementRate,
        syncedAt,
      ],
    );
  }

  /** A page of the post's snapshots, newest first, and how many it has (a kept count, no scan). */
  async history(
    postId: number,
    page: PageSlice,
  ): Promise<{ count: number; rows: PostAnalyticsSnapshot[] }> {
    const [counted] = (await this.dataSource.query(
      `SELECT snapshot_count FROM post_analytics WHERE scheduled_post_id = $1`,
      [postId],
    )) as { snapshot_count: number }[];
    const count = counted?.snapshot_count ?? 0;
    if (count === 0 || page.offset >= count) return { count, rows: [] };
    const rows = (await this.dataSource.query(
      `SELECT id, synced_at, likes, comments, shares, views, reach, impressions, engagement_rate
         FROM post_analytics_snapshots
        WHERE scheduled_post_id = $1
        ORDER BY synced_at DESC, id DESC
        LIMIT $2 OFFSET $3`,
      [postId, page.pageSize, page.offset],
    )) as Record<string, unknown>[];
    return {
      count,
      rows: rows.map((row) =>
        Object.assign(new PostAnalyticsSnapshot(), {
          id: String(row.id),
          scheduledPostId: postId,
          syncedAt: row.synced_at as Date,
          likes: row.likes as number,
          comments: row.comments as number,
          shares: row.shares as number,
          views: row.views as number,
          reach: row.reach as number,
          impressions: row.impressions as number,
          engagementRate: row.engagement_rate as number,
        }),
      ),
    };
  }

  /**
   * The user's published posts with the most of `metric` (latest values), ties to the newest
   * post: read from the top of the metric's index, whatever the number of posts.
   */
  async topPosts(
    userId: number,
    metric: TopPostMetric,
    limit: number,
    platform?: SocialPlatform,
  ): Promise<PostLatestMetrics[]> {
    if (!TOP_POST_METRICS.includes(metric)) throw new Error(`Unknown metric ${metric}`);
    const rows = (await this.dataSource.query(
      `SELECT ${LATEST_COLUMNS}
         FROM post_analytics a
         JOIN scheduled_posts p ON p.id = a.scheduled_post_id
        WHERE a.user_id = $1 AND a.posted_at IS NOT NULL${platform ? ' AND a.platform = $3' : ''}
        ORDER BY a.${metric} DESC, a.scheduled_post_id DESC
        LIMIT $2`,
      platform ? [userId, limit, platform] : [userId, limit],
    )) as Record<string, unknown>[];
    return rows.map(latestMetrics);
  }

  /**
   * The latest metrics of the user's published posts, by post id, after `afterPostId` (0 for the
   * first page): keyset pages for a streamed export (the export's analytics.csv), each read from
   * the (user_id, scheduled_post_id) index whatever the page's depth.
   */
  async latestOfUserPage(
    userId: number,
    afterPostId: number,
    limit: number,
  ): Promise<PostLatestMetrics[]> {
    const rows = (await this.dataSource.query(
      `SELECT ${LATEST_COLUMNS}
         FROM post_analytics a
         JOIN scheduled_posts p ON p.id = a.scheduled_post_id
        WHERE a.user_id = $1 AND a.scheduled_post_id > $2 AND a.posted_at IS NOT NULL
        ORDER BY a.scheduled_post_id
        LIMIT $3`,
      [userId, afterPostId, limit],
    )) as Record<string, unknown>[];
    return rows.map(latestMetrics);
  }
}

/** What top posts can be ordered by: the latest value of each metric. */
export const TOP_POST_METRICS = [
  'likes',
  'comments',
  'shares',
  'views',
  'reach',
  'impressions',
  'engagement_rate',
] as const;
export type TopPostMetric = (typeof TOP_POST_METRICS)[number];

/** A published post and its latest metrics (zeros until a sync wrote them). */
export interface PostLatestMetrics {
  postId: number;
  platform: SocialPlatform;
  caption: string;
  postedAt: Date;
  platformPostUrl: string | null;
  likes: number;
  comments: number;
  shares: number;
  views: number;
  reach: number;
  impressions: number;
  engagementRate: number;
  lastSyncedAt: Date | null;
}

const LATEST_COLUMNS = `a.scheduled_post_id, a.platform, p.caption, a.posted_at, p.platform_post_url,
              a.likes, a.comments, a.shares, a.views, a.reach, a.impressions, a.engagement_rate,
              a.last_synced_at`;

function latestMetrics(row: Record<string, unknown>): PostLatestMetrics {
  return {
    postId: row.scheduled_post_id as number,
    platform: row.platform as SocialPlatform,
    caption: row.caption as string,
    postedAt: row.posted_at as Date,
    platformPostUrl: (row.platform_post_url as string | null) ?? null,
    likes: row.likes as number,
    comments: row.comments as number,
    shares: row.shares as number,
    views: row.views as number,
    reach: row.reach as number,
    impressions: row.impressions as number,
    engagementRate: row.engagement_rate as number,
    lastSyncedAt: (row.last_synced_at as Date | null) ?? null,
  };
}
