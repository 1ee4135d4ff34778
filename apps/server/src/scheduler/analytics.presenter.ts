import { ApiProperty } from '@nestjs/swagger';
import {
  ANALYTICS_PERIODS,
  type AnalyticsCell,
  type AnalyticsPeriodTotals,
  type PostAnalyticsSnapshot,
  type PostLatestMetrics,
  SOCIAL_PLATFORMS,
  TOP_POST_METRICS,
} from '@app/database';

const RATE_DESCRIPTION =
  'Pooled over the posts: Σ(likes + comments + shares) / Σ max(impressions, views, reach) × 100, 2 decimals; 0 without any.';

export class AnalyticsSnapshotResponse {
  @ApiProperty({ type: 'integer', example: 812 }) id: number;
  @ApiProperty({ example: '2026-11-30T10:00:00.000Z', description: 'When the sync read it.' })
  synced_at: string;
  @ApiProperty({ type: 'integer', example: 30 }) likes: number;
  @ApiProperty({ type: 'integer', example: 6 }) comments: number;
  @ApiProperty({ type: 'integer', example: 4 }) shares: number;
  @ApiProperty({ type: 'integer', example: 300 }) views: number;
  @ApiProperty({ type: 'integer', example: 250 }) reach: number;
  @ApiProperty({ type: 'integer', example: 300 }) impressions: number;
  @ApiProperty({
    type: 'number',
    example: 13.33,
    description: '(likes + comments + shares) / max(impressions, views, reach) × 100.',
  })
  engagement_rate: number;
}

export class AnalyticsPeriodResponse {
  @ApiProperty({
    format: 'date',
    example: '2026-11-02',
    description: 'The period’s first local date: the day, the Monday of the week, the 1st.',
  })
  period_start: string;
  @ApiProperty({ type: 'integer', example: 12, description: 'Posts published in the period.' })
  posts: number;
  @ApiProperty({ type: 'integer', example: 340 }) likes: number;
  @ApiProperty({ type: 'integer', example: 41 }) comments: number;
  @ApiProperty({ type: 'integer', example: 18 }) shares: number;
  @ApiProperty({ type: 'integer', example: 5200 }) views: number;
  @ApiProperty({ type: 'integer', example: 6100 }) impressions: number;
  @ApiProperty({ type: 'number', example: 6.54, description: RATE_DESCRIPTION })
  engagement_rate: number;
}

export class AnalyticsOverviewResponse {
  @ApiProperty({ example: 'Asia/Kolkata', description: 'Your profile’s time zone.' })
  timezone: string;
  @ApiProperty({ enum: ANALYTICS_PERIODS, example: 'week' }) group_by: string;
  @ApiProperty({ format: 'date', example: '2026-09-07' }) start_date: string;
  @ApiProperty({ format: 'date', example: '2026-11-29' }) end_date: string;
  @ApiProperty({ enum: SOCIAL_PLATFORMS, nullable: true, type: String, example: null })
  platform: string | null;
  @ApiProperty({
    type: [AnalyticsPeriodResponse],
    description:
      'One per period from the start date’s period to the end date’s, oldest first, empty periods included. Metrics are the latest of the posts published in the period.',
  })
  results: AnalyticsPeriodResponse[];
}

export class AnalyticsCellResponse {
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 6, example: 0, description: '0 = Monday.' })
  weekday: number;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 23, example: 9 }) hour: number;
  @ApiProperty({ type: 'integer', example: 14, description: 'Posts published in that hour.' })
  posts: number;
  @ApiProperty({ type: 'number', example: 7.12, description: RATE_DESCRIPTION })
  engagement_rate: number;
}

export class AnalyticsBestTimesResponse {
  @ApiProperty({ example: 'Europe/Paris' }) timezone: string;
  @ApiProperty({ format: 'date', nullable: true, type: String, example: null })
  start_date: string | null;
  @ApiProperty({ format: 'date', nullable: true, type: String, example: null })
  end_date: string | null;
  @ApiProperty({ enum: SOCIAL_PLATFORMS, nullable: true, type: String, example: null })
  platform: string | null;
  @ApiProperty({
    type: [AnalyticsCellResponse],
    description: 'The 168 cells, Monday 00:00 first, then by hour; empty cells included.',
  })
  results: AnalyticsCellResponse[];
}

export class TopPostResponse {
  @ApiProperty({ type: 'integer', example: 42, description: 'The post’s id.' }) id: number;
  @ApiProperty({ enum: SOCIAL_PLATFORMS, example: 'instagram' }) platform: string;
  @ApiProperty({ example: 'Harbour at dusk' }) caption: string;
  @ApiProperty({ example: '2026-11-02T09:00:00.000Z' }) posted_at: string;
  @ApiProperty({ nullable: true, type: String, example: 'https://www.instagram.com/p/Cx1/' })
  platform_post_url: string | null;
  @ApiProperty({ type: 'integer', example: 30 }) likes: number;
  @ApiProperty({ type: 'integer', example: 6 }) comments: number;
  @ApiProperty({ type: 'integer', example: 4 }) shares: number;
  @ApiProperty({ type: 'integer', example: 300 }) views: number;
  @ApiProperty({ type: 'integer', example: 250 }) reach: number;
  @ApiProperty({ type: 'integer', example: 300 }) impressions: number;
  @ApiProperty({ type: 'number', example: 13.33 }) engagement_rate: number;
  @ApiProperty({ nullable: true, type: String, example: '2026-11-30T10:00:00.000Z' })
  last_synced_at: string | null;
}

export class TopPostsResponse {
  @ApiProperty({ enum: TOP_POST_METRICS, example: 'likes' }) metric: string;
  @ApiProperty({ type: 'integer', example: 10 }) limit: number;
  @ApiProperty({ enum: SOCIAL_PLATFORMS, nullable: true, type: String, example: null })
  platform: string | null;
  @ApiProperty({
    type: [TopPostResponse],
    description: 'Published posts with synced metrics, highest first (ties: newest post first).',
  })
  results: TopPostResponse[];
}

export function presentSnapshot(row: PostAnalyticsSnapshot): AnalyticsSnapshotResponse {
  return {
    id: Number(row.id),
    synced_at: row.syncedAt.toISOString(),
    likes: row.likes,
    comments: row.comments,
    shares: row.shares,
    views: row.views,
    reach: row.reach,
    impressions: row.impressions,
    engagement_rate: row.engagementRate,
  };
}

export function presentPeriod(row: AnalyticsPeriodTotals): AnalyticsPeriodResponse {
  return {
    period_start: row.periodStart,
    posts: row.posts,
    likes: row.likes,
    comments: row.comments,
    shares: row.shares,
    views: row.views,
    impressions: row.impressions,
    engagement_rate: row.engagementRate,
  };
}

export function presentCell(cell: AnalyticsCell): AnalyticsCellResponse {
  return {
    weekday: cell.weekday,
    hour: cell.hour,
    posts: cell.posts,
    engagement_rate: cell.engagementRate,
  };
}

export function presentTopPost(row: PostLatestMetrics): TopPostResponse {
  return {
    id: row.postId,
    platform: row.platform,
    caption: row.caption,
    posted_at: row.postedAt.toISOString(),
    platform_post_url: row.platformPostUrl,
    likes: row.likes,
    comments: row.comments,
    shares: row.shares,
    views: row.views,
    reach: row.reach,
    impressions: row.impressions,
    engagement_rate: row.engagementRate,
    last_synced_at: row.lastSyncedAt?.toISOString() ?? null,
  };
}

export const OVERVIEW_CSV_COLUMNS = [
  'period_start',
  'posts',
  'likes',
  'comments',
  'shares',
  'views',
  'impressions',
  'engagement_rate',
] as const;
export const BEST_TIMES_CSV_COLUMNS = ['weekday', 'hour', 'posts', 'engagement_rate'] as const;
export const TOP_POSTS_CSV_COLUMNS = [
  'id',
  'platform',
  'posted_at',
  'likes',
  'comments',
  'shares',
  'views',
  'reach',
  'impressions',
  'engagement_rate',
  'last_synced_at',
  'platform_post_url',
  'caption',
] as const;
