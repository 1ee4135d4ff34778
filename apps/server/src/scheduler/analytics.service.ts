import { Injectable } from '@nestjs/common';
import { DateTime } from 'luxon';
import { FieldValidationError } from '@app/common';
import {
  type AnalyticsCell,
  type AnalyticsPeriod,
  type AnalyticsPeriodTotals,
  AnalyticsRollupQueries,
  type PostAnalyticsSnapshot,
  PostAnalyticsQueries,
  type PostLatestMetrics,
  type SocialPlatform,
  type TopPostMetric,
} from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import type { AnalyticsOverviewQuery, AnalyticsRangeQuery } from './dto/analytics.query.js';
import { PostsService } from './posts.service.js';

/** The longest range a report covers: ten years of days is 3,653 rows, enough for any chart. */
export const MAX_RANGE_DAYS = 3_660;
/**
 * Best times between dates read the range's 15-minute rows (up to one per post): at most a
 * quarter, so a heavy poster's request stays small. All time reads the kept cells instead.
 */
export const MAX_BEST_TIMES_DAYS = 92;

export interface ResolvedRange {
  timezone: string;
  from: string;
  to: string;
  platform?: SocialPlatform;
}

/**
 * The analytics reports of one user, in their profile's time zone: snapshots of a post, the
 * overview per period, the best times, the top posts. Every figure comes from rollups or from the
 * per-post latest metrics (see AnalyticsRollupQueries), never from the snapshots.
 */
@Injectable()
export class AnalyticsService {
  constructor(
    private readonly posts: PostsService,
    private readonly analytics: PostAnalyticsQueries,
    private readonly rollups: AnalyticsRollupQueries,
  ) {}

  /** The post's snapshots, newest first: the owner's posted post (404 for another's, 409 unposted). */
  async history(
    userId: number,
    postId: number,
    window: PageWindow,
  ): Promise<{ count: number; rows: PostAnalyticsSnapshot[] }> {
    await this.posts.analytics(userId, postId);
    return this.analytics.history(postId, window);
  }

  async overview(
    userId: number,
    timezone: string,
    query: AnalyticsOverviewQuery,
    now = new Date(),
  ): Promise<{ range: ResolvedRange; period: AnalyticsPeriod; rows: AnalyticsPeriodTotals[] }> {
    const period = query.group_by ?? 'day';
    const resolved = resolveRange(timezone, query, defaultStart(period), now);
    const range = { ...resolved, from: resolved.from as string };
    return {
      range,
      period,
      rows: await withZone(() => this.rollups.overview(userId, period, range)),
    };
  }

  async bestTimes(
    userId: number,
    timezone: string,
    query: AnalyticsRangeQuery,
    now = new Date(),
  ): Promise<{ range: Partial<ResolvedRange>; cells: AnalyticsCell[] }> {
    // All time unless a date is given; a start alone runs to today, an end alone from 92 days
    // before it.
    const range: Partial<ResolvedRange> =
      query.start_date || query.end_date
        ? resolveRange(
            timezone,
            query,
            (end) => end.minus({ days: MAX_BEST_TIMES_DAYS - 1 }),
            now,
            MAX_BEST_TIMES_DAYS,
          )
        : { timezone, platform: query.platform };
    return {
      range,
      cells: await withZone(() => this.rollups.bestTimes(userId, { timezone, ...range })),
    };
  }

  topPosts(
    userId: number,
    metric: TopPostMetric,
    limit: number,
    platform?: SocialPlatform,
  ): Promise<PostLatestMetrics[]> {
    return this.analytics.topPosts(userId, metric, limit, platform);
  }
}

/** Where a window starts when only its end is known: 30 days, 12 weeks, 12 months. */
function defaultStart(period: AnalyticsPeriod): (end: DateTime) => DateTime {
  switch (period) {
    case 'day':
      return (end) => end.minus({ days: 29 });
    case 'week':
      return (end) => end.startOf('week').minus({ weeks: 11 });
    case 'month':
      return (end) => end.startOf('month').minus({ months: 11 });
  }
}

/**
 * The local dates of a report: as given, or today in the user's zone for the end and the
 * period's default window for the start. A start after the end, or a range over ten years, is a
 * 400 naming the field.
 */
export function resolveRange(
  timezone: string,
  query: AnalyticsRangeQuery,
  startFor: ((end: DateTime) => DateTime) | null,
  now: Date,
  maxDays = MAX_RANGE_DAYS,
): Omit<ResolvedRange, 'from'> & { from?: string } {
  const end = query.end_date
    ? DateTime.fromISO(query.end_date, { zone: 'utc' })
    : DateTime.fromJSDate(now, { zone: timezone }).setZone('utc', { keepLocalTime: true });
  const endDay = end.startOf('day');
  const start = query.start_date
    ? DateTime.fromISO(query.start_date, { zone: 'utc' })
    : (startFor?.(endDay) ?? null);
  if (start && start > endDay)
    throw FieldValidationError.of(
      'start_date',
      query.end_date
        ? 'start_date must not be after end_date.'
        : 'start_date must not be after today (your end_date by default).',
    );
  if (start && endDay.diff(start, 'days').days + 1 > maxDays)
    throw FieldValidationError.of(
      query.end_date ? 'end_date' : 'start_date',
      `The range must not cover more than ${maxDays} days.`,
    );
  return {
    timezone,
    from: start?.toISODate() ?? undefined,
    to: endDay.toISODate() as string,
    platform: query.platform,
  };
}

/** A zone PostgreSQL does not know (the profile's was checked against the runtime's list). */
async function withZone<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if ((error as { code?: string }).code === '22023')
      throw FieldValidationError.of(
        'timezone',
        'Your profile’s time zone is not known to the database: choose another one.',
      );
    throw error;
  }
}
