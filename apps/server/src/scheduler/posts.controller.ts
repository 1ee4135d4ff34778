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
  @Idempotent()
  @ApiOperation({
    summary: 'Schedule one of your validated images on a platform, at a future time.',
  })
  @ApiCreatedResponse({ type: PostTaskEnvelope })
  @ApiProblems(400, 401, 415)
  async schedule(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: SchedulePostDto,
  ): Promise<PostTaskEnvelope> {
    const result = await this.posts.schedule(user.id, dto);
    return { message: 'Post scheduled.', post: this.present(user, result), task_id: result.taskId };
  }

  @Get('posts')
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
  @ApiOkResponse({ type: SchedulerStatisticsResponse })
  @ApiProblems(401)
  statistics(@CurrentUser() user: UserWithProfile): Promise<SchedulerStatisticsResponse> {
    return this.posts.statistics(user.id);
  }

  @Get('posts/:id')
  @ApiOkResponse({ type: PostResponse })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<PostResponse> {
    return this.present(user, await this.posts.get(user.id, id));
  }

  @Patch('posts/:id')
  @ApiOperation({
    summary:
      'Change time, caption or hashtags while scheduled or failed; a failed post given a future time is scheduled again.',
  })
  @ApiOkResponse({ type: PostResponse })
  @ApiProblems(400, 401, 404, 409, 415)
  async patch(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PatchPostDto,
  ): Promise<PostResponse> {
    return this.present(user, await this.posts.update(user.id, id, dto));
  }

  @Put('posts/:id')
  @ApiOperation({ summary: 'Full update: scheduled_time and caption required.' })
  @ApiOkResponse({ type: PostResponse })
  @ApiProblems(400, 401, 404, 409, 415)
  async put(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PutPostDto,
  ): Promise<PostResponse> {
    return this.present(user, await this.posts.update(user.id, id, dto));
  }

  @Delete('posts/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Cancel a scheduled or failed post.' })
  @ApiNoContentResponse()
  @ApiProblems(401, 404, 409)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.posts.cancel(user.id, id);
  }

  @Post('posts/:id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: PostEnvelope })
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
  @HttpCode(202)
  @ApiOperation({
    summary: 'Publish a scheduled, failed or cancelled post now, whatever its time.',
  })
  @ApiAcceptedResponse({ type: PostTaskEnvelope })
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
  @HttpCode(201)
  @ApiOperation({
    summary: 'A posted post → a new post with the same content, now or at scheduled_time.',
  })
  @ApiCreatedResponse({ type: PostTaskEnvelope })
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
  @ApiOkResponse({ type: AnalyticsResponse })
  @ApiProblems(401, 404, 409)
  async analytics(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<AnalyticsResponse> {
    return presentAnalytics(await this.posts.analytics(user.id, id));
  }

  @Post('posts/:id/sync-analytics')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: TaskResponse })
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
