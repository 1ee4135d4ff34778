import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsOptional,
  Max,
  Min,
  Validate,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import {
  ANALYTICS_PERIODS,
  type AnalyticsPeriod,
  SOCIAL_PLATFORMS,
  type SocialPlatform,
  TOP_POST_METRICS,
  type TopPostMetric,
} from '@app/database';
import { ToInteger } from '../../http/transforms.js';

export const ANALYTICS_FORMATS = ['json', 'csv'] as const;
export type AnalyticsFormat = (typeof ANALYTICS_FORMATS)[number];

/** A calendar date `YYYY-MM-DD` that exists (no 2026-02-30), years 1900 to 2999. */
@ValidatorConstraint({ name: 'isLocalDate' })
export class IsLocalDate implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string' || !/^(19|2\d)\d{2}-\d{2}-\d{2}$/.test(value)) return false;
    const [year, month, day] = value.split('-').map(Number);
    const date = new Date(Date.UTC(year, month - 1, day));
    return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be a date in the form YYYY-MM-DD.`;
  }
}

/** The filters every analytics report shares: local dates, a platform, JSON or CSV. */
export class AnalyticsFormatQuery {
  @ApiPropertyOptional({
    enum: ANALYTICS_FORMATS,
    default: 'json',
    description: '`csv` answers the same rows as `text/csv` (RFC 4180, a header line first).',
  })
  @IsOptional()
  @IsIn(ANALYTICS_FORMATS)
  format?: AnalyticsFormat;

  @ApiPropertyOptional({ enum: SOCIAL_PLATFORMS, description: 'Only posts on this platform.' })
  @IsOptional()
  @IsIn(SOCIAL_PLATFORMS)
  platform?: SocialPlatform;
}

export class AnalyticsRangeQuery extends AnalyticsFormatQuery {
  @ApiPropertyOptional({
    format: 'date',
    example: '2026-11-01',
    description:
      'First local date (your profile’s time zone), inclusive. Default: the start of the usual window (see the operation).',
  })
  @IsOptional()
  @Validate(IsLocalDate)
  start_date?: string;

  @ApiPropertyOptional({
    format: 'date',
    example: '2026-11-30',
    description: 'Last local date, inclusive. Default: today in your time zone.',
  })
  @IsOptional()
  @Validate(IsLocalDate)
  end_date?: string;
}

export class AnalyticsOverviewQuery extends AnalyticsRangeQuery {
  @ApiPropertyOptional({
    enum: ANALYTICS_PERIODS,
    default: 'day',
    description: 'Bucket size; weeks start on Monday.',
  })
  @IsOptional()
  @IsIn(ANALYTICS_PERIODS)
  group_by?: AnalyticsPeriod;
}

export const DEFAULT_TOP_POSTS = 10;
export const MAX_TOP_POSTS = 100;

export class TopPostsQuery extends AnalyticsFormatQuery {
  @ApiPropertyOptional({
    enum: TOP_POST_METRICS,
    default: 'engagement_rate',
    description: 'The latest value posts are ordered by, highest first (ties: newest post first).',
  })
  @IsOptional()
  @IsIn(TOP_POST_METRICS)
  metric?: TopPostMetric;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_TOP_POSTS,
    default: DEFAULT_TOP_POSTS,
    description: 'How many posts, 1 to 100 (anything else is 400).',
  })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_TOP_POSTS)
  limit?: number;
}
