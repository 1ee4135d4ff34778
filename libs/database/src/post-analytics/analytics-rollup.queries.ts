import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { SocialPlatform } from '../social-account/social-account.entity.js';

export const ANALYTICS_PERIODS = ['day', 'week', 'month'] as const;
export type AnalyticsPeriod = (typeof ANALYTICS_PERIODS)[number];

/** Sums over posts published in a period (or a weekday × hour cell). */
export interface AnalyticsTotals {
  posts: number;
  likes: number;
  comments: number;
  shares: number;
  views: number;
  impressions: number;
  /** Pooled: Σ(likes + comments + shares) / Σ max(impressions, views, reach) × 100, 2 decimals. */
  engagementRate: number;
}

export interface AnalyticsPeriodTotals extends AnalyticsTotals {
  /** The period's first local date (a Monday for weeks, the 1st for months), `YYYY-MM-DD`. */
  periodStart: string;
}

export interface AnalyticsCell {
  /** 0 = Monday … 6 = Sunday, in the user's time zone. */
  weekday: number;
  hour: number;
  posts: number;
  engagementRate: number;
}

/** Local dates (`YYYY-MM-DD`, both inclusive) in an IANA zone, and an optional platform. */
export interface AnalyticsRange {
  timezone: string;
  from?: string;
  to?: string;
  platform?: SocialPlatform;
}

/**
 * The analytics rollups read in the user's time zone: the local daily rows and weekday × hour
 * cells (kept in the profile's zone), or the 15-minute UTC rows for best times between dates
 * (each bucket lies inside one local hour of any zone). No request reads a post or a snapshot.
 */
@Injectable()
export class AnalyticsRollupQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * One row per period from `from` to `to` (local dates, inclusive), empty periods included:
   * from the local daily rows (post_analytics_daily, kept in the user's current zone), so two
   * years are at most 3,650 rows whatever the number of posts.
   */
  async overview(
    userId: number,
    period: AnalyticsPeriod,
    range: Required<Pick<AnalyticsRange, 'from' | 'to'>> & AnalyticsRange,
  ): Promise<AnalyticsPeriodTotals[]> {
    if (!ANALYTICS_PERIODS.includes(period)) throw new Error(`Unknown period ${period}`);
    const values: unknown[] = [userId, range.from, range.to];
    const platform = range.platform ? ` AND r.platform = $${values.push(range.platform)}` : '';
    const rows = (await this.dataSource.query(
      `WITH totals AS (
         SELECT date_trunc('${period}', r.local_date)::date AS period_start, ${SUMS}
           FROM post_analytics_daily r
          WHERE r.user_id = $1 AND r.local_date BETWEEN $2::date AND $3::date${platform}
          GROUP BY 1
       )
       SELECT to_char(s, 'YYYY-MM-DD') AS period_start, t.posts, t.likes, t.comments, t.shares,
              t.views, t.impressions, t.rate_engagements, t.rate_base
         FROM generate_series(date_trunc('${period}', $2::date::timestamp), $3::date::timestamp,
                              interval '1 ${period}') s
         LEFT JOIN totals t ON t.period_start = s::date
        ORDER BY s`,
      values,
    )) as Record<string, string | null>[];
    return rows.map((row) => ({ periodStart: row.period_start as string, ...totals(row) }));
  }

  /**
   * The 168 weekday × hour cells of the user's time zone, Monday 00:00 first. All time: the
   * local cells (post_analytics_hours, at most 840 rows). Between local dates: the 15-minute
   * rows of the range, each converted to the zone.
   */
  async bestTimes(userId: number, range: AnalyticsRange): Promise<AnalyticsCell[]> {
    const values: unknown[] = [userId];
    let sql: string;
    if (!range.from && !range.to) {
      const platform = range.platform ? ` AND r.platform = $${values.push(range.platform)}` : '';
      sql = `SELECT r.weekday, r.hour, ${SUMS}
               FROM post_analytics_hours r
              WHERE r.user_id = $1${platform}
              GROUP BY 1, 2`;
    } else {
      values.push(range.timezone);
      const where = [`r.user_id = $1`];
      if (range.from)
        where.push(
          `r.bucket_start >= ($${values.push(range.from)}::date::timestamp AT TIME ZONE $2)`,
        );
      if (range.to)
        where.push(
          `r.bucket_start < (($${values.push(range.to)}::date + 1)::timestamp AT TIME ZONE $2)`,
        );
      if (range.platform) where.push(`r.platform = $${values.push(range.platform)}`);
      sql = `SELECT (extract(isodow FROM l.local) - 1)::int AS weekday,
                    extract(hour FROM l.local)::int AS hour, ${SUMS}
               FROM post_analytics_rollups r
               CROSS JOIN LATERAL (SELECT r.bucket_start AT TIME ZONE $2 AS local) l
              WHERE ${where.join(' AND ')}
              GROUP BY 1, 2`;
    }
    const rows = (await this.dataSource.query(sql, values)) as Record<
      string,
      string | number | null
    >[];
    const cells = new Map(
      rows.map((row) => [`${row.weekday}:${row.hour}`, totals(row as Record<string, string>)]),
    );
    const grid: AnalyticsCell[] = [];
    for (let weekday = 0; weekday < 7; weekday++) {
      for (let hour = 0; hour < 24; hour++) {
        const cell = cells.get(`${weekday}:${hour}`);
        grid.push({
          weekday,
          hour,
          posts: cell?.posts ?? 0,
          engagementRate: cell?.engagementRate ?? 0,
        });
      }
    }
    return grid;
  }
}

const SUMS = `sum(r.posts) AS posts, sum(r.likes) AS likes, sum(r.comments) AS comments,
                sum(r.shares) AS shares, sum(r.views) AS views, sum(r.impressions) AS impressions,
                sum(r.rate_engagements) AS rate_engagements, sum(r.rate_base) AS rate_base`;

function totals(row: Record<string, string | null>): AnalyticsTotals {
  const base = Number(row.rate_base ?? 0);
  return {
    posts: Number(row.posts ?? 0),
    likes: Number(row.likes ?? 0),
    comments: Number(row.comments ?? 0),
    shares: Number(row.shares ?? 0),
    views: Number(row.views ?? 0),
    impressions: Number(row.impressions ?? 0),
    engagementRate:
      base > 0 ? Math.round((Number(row.rate_engagements ?? 0) / base) * 10_000) / 100 : 0,
  };
}
