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
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { Idempotent } from '../http/idempotent.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { ApiPage, type Page, paginate } from '../http/pagination.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { ListPostsQuery } from './dto/list-posts.query.js';
import { PatchPostDto, PutPostDto, RepublishDto, SchedulePostDto } from './dto/post.dto.js';
import {
  AnalyticsResponse,
  PostEnvelope,
  PostResponse,
  PostTaskEnvelope,
  presentAnalytics,
  presentPost,
  SchedulerStatisticsResponse,
  TaskResponse,
} from './posts.presenter.js';
import { PostsService, type PostWithImage } from './posts.service.js';

@ApiTags('scheduler')
@ApiBearerAuth()
@Controller('api/scheduler')
export class PostsController {
  constructor(
    private readonly posts: PostsService,
    private readonly signer: MediaUrlSigner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('schedule')
  @ApiOperation({
    summary: 'Schedule a post',
    description:
      'Schedules one of your validated images on a platform at a future time, through one of your connected accounts (the only active one for that platform when `account` is left out). Caption and hashtags must fit the platform’s limits. It is published once, on time. Send an `Idempotency-Key` header to make a retry safe.',
  })
  @Idempotent()
  @ApiCreatedResponse({
    type: PostTaskEnvelope,
    description: 'The scheduled post, with a message.',
  })
  @ApiProblems(400, 401, 415)
  async schedule(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: SchedulePostDto,
  ): Promise<PostTaskEnvelope> {
    const result = await this.posts.schedule(user.id, dto);
    return { message: 'Post scheduled.', post: this.present(user, result), task_id: result.taskId };
  }

  @Get('posts')
  @ApiOperation({
    summary: 'List your posts',
    description:
      'Your posts, soonest first unless `ordering` says otherwise, filtered by status, platform, date range and text; paginated.',
  })
  @ApiPage(PostResponse)
  @ApiProblems(400, 401, 404)
  async list(
    @CurrentUser() user: UserWithProfile,
    @Query() query: ListPostsQuery,
    @Req() request: Request,
  ): Promise<Page<PostResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      (w) => this.posts.list(user.id, query, w),
      (row) => this.present(user, row),
    );
  }

  @Get('statistics')
  @ApiOperation({
    summary: 'Post statistics',
    description:
      'How many of your posts are scheduled, posted, failed or cancelled, how many are upcoming, per platform, and the average engagement rate.',
  })
  @ApiOkResponse({
    type: SchedulerStatisticsResponse,
    description: 'Counts and the average engagement rate.',
  })
  @ApiProblems(401)
  statistics(@CurrentUser() user: UserWithProfile): Promise<SchedulerStatisticsResponse> {
    return this.posts.statistics(user.id);
  }

  @Get('posts/:id')
  @ApiOperation({
    summary: 'Read a post',
    description:
      'One of your posts, with its image’s details and, once posted, the platform’s id and URL.',
  })
  @ApiOkResponse({ type: PostResponse, description: 'The post.' })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<PostResponse> {
    return this.present(user, await this.posts.get(user.id, id));
  }

  @Patch('posts/:id')
  @ApiOperation({
    summary: 'Change a post',
    description:
      'Changes `scheduled_time`, `caption` or `hashtags` while the post is scheduled or failed (otherwise 409). A failed post given a future time is scheduled again.',
  })
  @ApiOkResponse({ type: PostResponse, description: 'The post after the change.' })
  @ApiProblems(400, 401, 404, 409, 415)
  async patch(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PatchPostDto,
  ): Promise<PostResponse> {
    return this.present(user, await this.posts.update(user.id, id, dto));
  }

  @Put('posts/:id')
  @ApiOperation({
    summary: 'Replace a post’s fields',
    description:
      'Full update while the post is scheduled or failed: `scheduled_time` and `caption` required.',
  })
  @ApiOkResponse({ type: PostResponse, description: 'The post after the change.' })
  @ApiProblems(400, 401, 404, 409, 415)
  async put(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PutPostDto,
  ): Promise<PostResponse> {
    return this.present(user, await this.posts.update(user.id, id, dto));
  }

  @Delete('posts/:id')
  @ApiOperation({
    summary: 'Cancel a post (DELETE)',
    description:
      'Cancels a scheduled or failed post; the row stays, `cancelled`. Any other status is 409.',
  })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The post is cancelled.' })
  @ApiProblems(401, 404, 409)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.posts.cancel(user.id, id);
  }

  @Post('posts/:id/cancel')
  @ApiOperation({
    summary: 'Cancel a post',
    description: 'Cancels a scheduled or failed post and answers it. Any other status is 409.',
  })
  @HttpCode(200)
  @ApiOkResponse({ type: PostEnvelope, description: 'The cancelled post, with a message.' })
  @ApiProblems(401, 404, 409)
  async cancel(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<PostEnvelope> {
    return {
      message: 'Post cancelled.',
      post: this.present(user, await this.posts.cancel(user.id, id)),
    };
  }

  @Post('posts/:id/publish-now')
  @ApiOperation({
    summary: 'Publish a post now',
    description:
      'Publishes a scheduled, failed or cancelled post now, whatever its time; still exactly once.',
  })
  @HttpCode(202)
  @ApiAcceptedResponse({ type: PostTaskEnvelope, description: 'The post, queued for publishing.' })
  @ApiProblems(401, 404, 409)
  async publishNow(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<PostTaskEnvelope> {
    const result = await this.posts.publishNow(user.id, id);
    return {
      message: 'Post queued for publishing now.',
      post: this.present(user, result),
      task_id: result.taskId,
    };
  }

  @Post('posts/:id/republish')
  @ApiOperation({
    summary: 'Publish a posted post again',
    description:
      'Makes a new post with the same content as a posted one, published now or at `scheduled_time`.',
  })
  @HttpCode(201)
  @ApiCreatedResponse({ type: PostTaskEnvelope, description: 'The new post.' })
  @ApiProblems(400, 401, 404, 409, 415)
  async republish(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: RepublishDto,
  ): Promise<PostTaskEnvelope> {
    const result = await this.posts.republish(user.id, id, dto.scheduled_time);
    return {
      message: 'Post scheduled again.',
      post: this.present(user, result),
      task_id: result.taskId,
    };
  }

  @Get('posts/:id/analytics')
  @ApiOperation({
    summary: 'Read a post’s metrics',
    description:
      'The platform’s latest metrics for a posted post (409 if it is not posted): likes, comments, shares, views, reach, impressions and the engagement rate.',
  })
  @ApiOkResponse({
    type: AnalyticsResponse,
    description: 'The post’s metrics and when they were synced.',
  })
  @ApiProblems(401, 404, 409)
  async analytics(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<AnalyticsResponse> {
    return presentAnalytics(await this.posts.analytics(user.id, id));
  }

  @Post('posts/:id/sync-analytics')
  @ApiOperation({
    summary: 'Sync a post’s metrics',
    description:
      'Fetches the platform’s metrics for a posted post now (409 if it is not posted). Posted posts are also synced on their own periodically.',
  })
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: TaskResponse,
    description: 'The sync is queued; `task_id` names the job.',
  })
  @ApiProblems(401, 404, 409)
  async syncAnalytics(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<TaskResponse> {
    return {
      message: 'Analytics sync started.',
      task_id: await this.posts.syncAnalytics(user.id, id),
    };
  }

  private present(user: UserWithProfile, { post, image }: PostWithImage): PostResponse {
    return presentPost(post, user.username, image, (key) => this.signer.signOrNull(key));
  }
}
