import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '@app/common';
import type { ScheduleRun } from '@app/database';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { Idempotent } from '../http/idempotent.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { ApiPage, type Page, paginate, PageQuery } from '../http/pagination.js';
import {
  CreateScheduleDto,
  PatchScheduleDto,
  ScheduleResponse,
  ScheduleRunResponse,
} from './dto/schedule.dto.js';
import { normalTime, type ScheduleWithRuns, SchedulesService } from './schedules.service.js';

@ApiTags('scheduler')
@ApiBearerAuth()
@Controller('api/scheduler/schedules')
export class SchedulesController {
  constructor(
    private readonly schedules: SchedulesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List your recurring schedules',
    description:
      'Your recurring schedules, each with `next_run_at` and its latest runs; paginated.',
  })
  @ApiPage(ScheduleResponse)
  @ApiProblems(400, 401, 404)
  async list(
    @CurrentUser() user: UserWithProfile,
    @Query() query: PageQuery,
    @Req() request: Request,
  ): Promise<Page<ScheduleResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      (window) => this.schedules.list(user.id, window),
      (row) => presentSchedule(row, user.username),
    );
  }

  @Post()
  @ApiOperation({
    summary: 'Create a recurring schedule',
    description:
      'A schedule that posts daily, weekly or monthly at a local time in its own time zone (correct across DST changes). At each run it either generates an image from `prompt` ahead of time, or takes your oldest validated, never-posted image carrying one of `tags`; then it creates one post per platform. Send an `Idempotency-Key` header to make a retry safe.',
  })
  @Idempotent()
  @ApiCreatedResponse({
    type: ScheduleResponse,
    description: 'The new schedule with its first `next_run_at`.',
  })
  @ApiProblems(400, 401, 415)
  async create(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: CreateScheduleDto,
  ): Promise<ScheduleResponse> {
    return presentSchedule(await this.schedules.create(user, dto), user.username);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Read a recurring schedule',
    description: 'One of your schedules with `next_run_at` and its latest runs.',
  })
  @ApiOkResponse({ type: ScheduleResponse, description: 'The schedule.' })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<ScheduleResponse> {
    return presentSchedule(await this.schedules.get(user.id, id), user.username);
  }

  @Put(':id')
  @ApiOperation({
    summary: 'Replace a recurring schedule',
    description: 'Full update: the creation rules apply. A new timing recomputes `next_run_at`.',
  })
  @ApiOkResponse({ type: ScheduleResponse, description: 'The schedule after the change.' })
  @ApiProblems(400, 401, 404, 415)
  async replace(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: CreateScheduleDto,
  ): Promise<ScheduleResponse> {
    return presentSchedule(await this.schedules.update(user, id, dto, true), user.username);
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a recurring schedule',
    description:
      'Changes only the fields sent. `is_active: false` pauses it (`next_run_at` becomes null), `true` resumes it from the next occurrence.',
  })
  @ApiOkResponse({ type: ScheduleResponse, description: 'The schedule after the change.' })
  @ApiProblems(400, 401, 404, 415)
  async update(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PatchScheduleDto,
  ): Promise<ScheduleResponse> {
    return presentSchedule(await this.schedules.update(user, id, dto, false), user.username);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Delete a recurring schedule',
    description: 'No further runs. The posts it already made are kept.',
  })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The schedule is deleted.' })
  @ApiProblems(401, 404)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.schedules.delete(user.id, id);
  }

  @Get(':id/runs')
  @ApiOperation({
    summary: 'List a schedule’s runs',
    description:
      'Every run of the schedule, newest occurrence first, with what it did (posts made) or why it skipped; paginated.',
  })
  @ApiPage(ScheduleRunResponse)
  @ApiProblems(400, 401, 404)
  async runs(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Query() query: PageQuery,
    @Req() request: Request,
  ): Promise<Page<ScheduleRunResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      (window) => this.schedules.runs(user.id, id, window),
      presentRun,
    );
  }
}

export function presentSchedule(
  { schedule, recentRuns }: ScheduleWithRuns,
  username: string,
): ScheduleResponse {
  return {
    id: schedule.id,
    user: username,
    name: schedule.name,
    frequency: schedule.frequency,
    time_of_day: normalTime(schedule.timeOfDay),
    weekday: schedule.weekday,
    day_of_month: schedule.dayOfMonth,
    timezone: schedule.timezone,
    platforms: schedule.platforms,
    accounts: schedule.accountIds,
    is_active: schedule.isActive,
    prompt: schedule.prompt,
    style: schedule.style,
    tags: schedule.tags,
    caption: schedule.caption,
    hashtags: schedule.hashtags,
    template: schedule.templateId,
    next_run_at: schedule.nextRunAt?.toISOString() ?? null,
    recent_runs: recentRuns.map(presentRun),
    created_at: schedule.createdAt.toISOString(),
    updated_at: schedule.updatedAt.toISOString(),
  };
}

export function presentRun(run: ScheduleRun): ScheduleRunResponse {
  return {
    id: run.id,
    schedule: run.scheduleId,
    occurrence_at: run.occurrenceAt.toISOString(),
    outcome: run.outcome,
    reason: run.reason,
    image: run.imageId,
    posts_created: run.postIds.length,
    posts: run.postIds,
    ran_at: run.ranAt?.toISOString() ?? null,
    created_at: run.createdAt.toISOString(),
  };
}
