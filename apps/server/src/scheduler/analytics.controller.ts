import { applyDecorators, Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { ApiPage, type Page, PageQuery, paginate } from '../http/pagination.js';
import {
  AnalyticsBestTimesResponse,
  AnalyticsOverviewResponse,
  AnalyticsSnapshotResponse,
  BEST_TIMES_CSV_COLUMNS,
  OVERVIEW_CSV_COLUMNS,
  presentCell,
  presentPeriod,
  presentSnapshot,
  presentTopPost,
  TOP_POSTS_CSV_COLUMNS,
  TopPostsResponse,
} from './analytics.presenter.js';
import { AnalyticsService } from './analytics.service.js';
import {
  AnalyticsOverviewQuery,
  AnalyticsRangeQuery,
  DEFAULT_TOP_POSTS,
  TopPostsQuery,
} from './dto/analytics.query.js';
import { toCsv } from '../http/csv.js';

const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

/** A JSON answer of `model`, or with `?format=csv` the same rows as CSV (`csvExample`). */
function ApiReport(model: new () => object, description: string, csvExample: string) {
  return applyDecorators(
    ApiExtraModels(model),
    ApiOkResponse({
      description: `${description} With \`?format=csv\`: the \`results\` rows as \`text/csv\` (a header line, CRLF line ends, RFC 4180 quoting).`,
      content: {
        'application/json': { schema: { $ref: getSchemaPath(model) } },
        'text/csv': { schema: { type: 'string' }, example: csvExample },
      },
    }),
  );
}

/** Answers `rows` as a CSV attachment named `name`.csv. */
function sendCsv<Row extends object>(
  response: Response,
  name: string,
  columns: readonly (keyof Row & string)[],
  rows: Row[],
): string {
  response.setHeader('Content-Type', CSV_CONTENT_TYPE);
  response.setHeader('Content-Disposition', `attachment; filename="${name}.csv"`);
  return toCsv(columns, rows);
}

@ApiTags('scheduler')
@ApiBearerAuth()
@Controller('api/scheduler')
export class AnalyticsController {
  constructor(
    private readonly analytics: AnalyticsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('posts/:id/analytics/history')
  @ApiOperation({
    summary: 'A post’s metrics over time',
    description:
      'Every sync of a posted post keeps a snapshot of what the platform reported (cumulative counts, as the platform gives them): newest first, paginated. 409 if the post is not posted.',
  })
  @ApiPage(AnalyticsSnapshotResponse)
  @ApiProblems(400, 401, 404, 409)
  history(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Query() query: PageQuery,
    @Req() request: Request,
  ): Promise<Page<AnalyticsSnapshotResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      (window) => this.analytics.history(user.id, id, window),
      presentSnapshot,
    );
  }

  @Get('analytics/overview')
  @ApiOperation({
    summary: 'Analytics per day, week or month',
    description:
      'Posts published in each period of your profile’s time zone (weeks start on Monday) and the sums of their latest metrics, with the engagement rate pooled over them. `start_date` and `end_date` are local dates, both inclusive; the end defaults to today and the start to 30 days, 12 weeks or 12 months back (by `group_by`). At most 3,660 days. Every period of the range is listed, empty ones with zeros; a week or month cut by the range counts only the range’s days. Answered from rollups kept as syncs arrive, as fast for 100,000 posts as for 10.',
  })
  @ApiReport(
    AnalyticsOverviewResponse,
    'The periods, oldest first.',
    'period_start,posts,likes,comments,shares,views,impressions,engagement_rate\r\n2026-11-02,12,340,41,18,5200,6100,6.54\r\n',
  )
  @ApiProblems(400, 401)
  async overview(
    @CurrentUser() user: UserWithProfile,
    @Query() query: AnalyticsOverviewQuery,
    @Res({ passthrough: true }) response: Response,
  ): Promise<AnalyticsOverviewResponse | string> {
    const timezone = user.profile.timezone;
    const { range, period, rows } = await this.analytics.overview(user.id, timezone, query);
    const results = rows.map(presentPeriod);
    if (query.format === 'csv')
      return sendCsv(response, 'analytics-overview', OVERVIEW_CSV_COLUMNS, results);
    return {
      timezone,
      group_by: period,
      start_date: range.from,
      end_date: range.to,
      platform: query.platform ?? null,
      results,
    };
  }

  @Get('analytics/best-times')
  @ApiOperation({
    summary: 'Best times to post',
    description:
      'For each weekday (0 = Monday) and hour (0–23) of your profile’s time zone, the posts you published then and their pooled engagement rate: 168 cells, empty ones included. All time unless `start_date`/`end_date` (local dates, inclusive) narrow it to at most 92 days (a start alone runs to today, an end alone from 91 days before it).',
  })
  @ApiReport(
    AnalyticsBestTimesResponse,
    'The 168 cells, Monday 00:00 first.',
    'weekday,hour,posts,engagement_rate\r\n0,0,0,0\r\n0,1,2,4.5\r\n',
  )
  @ApiProblems(400, 401)
  async bestTimes(
    @CurrentUser() user: UserWithProfile,
    @Query() query: AnalyticsRangeQuery,
    @Res({ passthrough: true }) response: Response,
  ): Promise<AnalyticsBestTimesResponse | string> {
    const timezone = user.profile.timezone;
    const { range, cells } = await this.analytics.bestTimes(user.id, timezone, query);
    const results = cells.map(presentCell);
    if (query.format === 'csv')
      return sendCsv(response, 'analytics-best-times', BEST_TIMES_CSV_COLUMNS, results);
    return {
      timezone,
      start_date: range.from ?? null,
      end_date: range.to ?? null,
      platform: query.platform ?? null,
      results,
    };
  }

  @Get('analytics/top-posts')
  @ApiOperation({
    summary: 'Your top posts',
    description:
      'Your published posts with synced metrics, ordered by the latest value of `metric` (default `engagement_rate`), highest first; `limit` from 1 to 100 (default 10).',
  })
  @ApiReport(
    TopPostsResponse,
    'The posts, best first.',
    'id,platform,posted_at,likes,comments,shares,views,reach,impressions,engagement_rate,last_synced_at,platform_post_url,caption\r\n42,instagram,2026-11-02T09:00:00.000Z,30,6,4,300,250,300,13.33,2026-11-30T10:00:00.000Z,https://www.instagram.com/p/Cx1/,"Harbour, at dusk"\r\n',
  )
  @ApiProblems(400, 401)
  async topPosts(
    @CurrentUser() user: UserWithProfile,
    @Query() query: TopPostsQuery,
    @Res({ passthrough: true }) response: Response,
  ): Promise<TopPostsResponse | string> {
    const metric = query.metric ?? 'engagement_rate';
    const limit = query.limit ?? DEFAULT_TOP_POSTS;
    const rows = await this.analytics.topPosts(user.id, metric, limit, query.platform);
    const results = rows.map(presentTopPost);
    if (query.format === 'csv')
      return sendCsv(response, 'analytics-top-posts', TOP_POSTS_CSV_COLUMNS, results);
    return { metric, limit, platform: query.platform ?? null, results };
  }
}
