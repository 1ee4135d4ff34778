import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { SocialPlatform } from '../social-account/social-account.entity.js';

/** One post published in the digest's week, with its latest metrics (zeros if never synced). */
export interface DigestPost {
  id: number;
  platform: SocialPlatform;
  caption: string;
  postedAt: Date;
  url: string | null;
  likes: number;
  comments: number;
  shares: number;
  views: number;
  impressions: number;
  engagementRate: number;
}

export interface DigestWeek {
  /** Posts published in the week, most engaging first (the first 50). */
  published: DigestPost[];
  /** Over every post published in the week, not only those listed. */
  totals: { posts: number; likes: number; comments: number; shares: number; views: number };
  failed: number;
  /** Posts still waiting to publish in the week after. */
  upcoming: number;
}

const MAX_POSTS = 50;

/** What the weekly digest reports: a user's posts published between two instants. */
@Injectable()
export class WeeklyDigestQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async week(userId: number, from: Date, to: Date): Promise<DigestWeek> {
    const posts = (await this.dataSource.query(
      `SELECT p.id, p.platform, p.caption, p.posted_at, p.platform_post_url,
              coalesce(a.likes, 0) AS likes, coalesce(a.comments, 0) AS comments,
              coalesce(a.shares, 0) AS shares, coalesce(a.views, 0) AS views,
              coalesce(a.impressions, 0) AS impressions,
              coalesce(a.engagement_rate, 0) AS engagement_rate,
              count(*) OVER () AS total,
              sum(coalesce(a.likes, 0)) OVER () AS total_likes,
              sum(coalesce(a.comments, 0)) OVER () AS total_comments,
              sum(coalesce(a.shares, 0)) OVER () AS total_shares,
              sum(coalesce(a.views, 0)) OVER () AS total_views
         FROM scheduled_posts p
         LEFT JOIN post_analytics a ON a.scheduled_post_id = p.id
        WHERE p.user_id = $1 AND p.status = 'posted' AND p.posted_at >= $2 AND p.posted_at < $3
        ORDER BY coalesce(a.engagement_rate, 0) DESC, p.posted_at, p.id
        LIMIT $4`,
      [userId, from, to, MAX_POSTS],
    )) as Record<string, unknown>[];
    const [counts] = (await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE status = 'failed' AND updated_at >= $2 AND updated_at < $3) AS failed,
              count(*) FILTER (WHERE status IN ('scheduled', 'processing')
                                 AND scheduled_time >= $3 AND scheduled_time < $3 + interval '7 days') AS upcoming
         FROM scheduled_posts
        WHERE user_id = $1 AND status IN ('failed', 'scheduled', 'processing')`,
      [userId, from, to],
    )) as { failed: string; upcoming: string }[];
    const first = posts[0] ?? {};
    return {
      totals: {
        posts: Number(first.total ?? 0),
        likes: Number(first.total_likes ?? 0),
        comments: Number(first.total_comments ?? 0),
        shares: Number(first.total_shares ?? 0),
        views: Number(first.total_views ?? 0),
      },
      failed: Number(counts.failed),
      upcoming: Number(counts.upcoming),
      published: posts.map((row) => ({
        id: Number(row.id),
        platform: row.platform as SocialPlatform,
        caption: String(row.caption),
        postedAt: new Date(row.posted_at as string),
        url: (row.platform_post_url as string | null) ?? null,
        likes: Number(row.likes),
        comments: Number(row.comments),
        shares: Number(row.shares),
        views: Number(row.views),
        impressions: Number(row.impressions),
        engagementRate: Number(row.engagement_rate),
      })),
    };
  }
}
