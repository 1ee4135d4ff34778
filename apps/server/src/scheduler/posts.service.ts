import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig, FieldValidationError, NotFoundError } from '@app/common';
import {
  chooseAccount,
  GeneratedImageQueries,
  isPublishable,
  type PostAnalytics,
  PostAnalyticsQueries,
  type PostImage,
  type PostListQuery,
  ScheduledPost,
  ScheduledPostQueries,
  SocialAccountQueries,
  type SocialPlatform,
} from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import { type EnqueueOptions, JobQueue } from '../jobs/job-queue.service.js';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import type { ListPostsQuery } from './dto/list-posts.query.js';
import type { PatchPostDto, SchedulePostDto } from './dto/post.dto.js';
import { checkText } from './platforms/platform.registry.js';
import { PostEvents } from './post-events.js';
import { PostStateError } from './posts.errors.js';
import { syncAnalyticsJobId } from './sync-analytics.processor.js';
import { TemplatesService } from './templates.service.js';

export type { PostImage };
export interface PostWithImage {
  post: ScheduledPost;
  image: PostImage | null;
}

export function publishJobId(postId: number, version: number): string {
  return `publish-post:${postId}:${version}`;
}

/** One user's posts: scheduling, edits, cancel, publish-now, republish, analytics and statistics. */
@Injectable()
export class PostsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queue: JobQueue,
    private readonly images: GeneratedImageQueries,
    private readonly accounts: SocialAccountQueries,
    private readonly rows: ScheduledPostQueries,
    private readonly analyticsRows: PostAnalyticsQueries,
    private readonly events: PostEvents,
    private readonly templates: TemplatesService,
  ) {}

  async schedule(
    userId: number,
    dto: SchedulePostDto,
    now = new Date(),
  ): Promise<PostWithImage & { taskId: string }> {
    const scheduledTime = futureTime(dto.scheduled_time, now);
    const given = { caption: dto.caption ?? '', hashtags: dto.hashtags ?? '' };
    if (dto.template === undefined) assertTextFits(dto.platform, given.caption, given.hashtags);
    const post = await this.dataSource.transaction(async (manager) => {
      await this.assertSchedulableImage(manager, userId, dto.image);
      const accountId = await this.resolveAccount(manager, userId, dto.platform, dto.account);
      const text =
        dto.template === undefined
          ? given
          : await this.renderTemplate(manager, userId, dto.template, {
              platform: dto.platform,
              imageId: dto.image,
              accountId,
              at: scheduledTime,
            });
      return this.rows.insert(
        {
          userId,
          imageId: dto.image,
          accountId,
          platform: dto.platform,
          ...text,
          scheduledTime,
          templateId: dto.template ?? null,
        },
        manager,
      );
    });
    const taskId = await this.enqueueAfterCommit(post, now);
    return { ...(await this.get(userId, post.id)), taskId };
  }

  async list(
    userId: number,
    query: ListPostsQuery,
    window: PageWindow,
  ): Promise<{ count: number; rows: PostWithImage[] }> {
    const ordering = query.ordering ?? '-scheduled_time';
    const { count, rows: posts } = await this.rows.pageOfUser(
      userId,
      {
        status: query.status,
        platform: query.platform,
        from: query.start_date ? new Date(query.start_date) : undefined,
        until: query.end_date
          ? /^\d{4}-\d{2}-\d{2}$/.test(query.end_date)
            ? new Date(Date.parse(`${query.end_date}T00:00:00Z`) + 86_400_000)
            : new Date(Date.parse(query.end_date) + 1)
          : undefined,
        search: query.search || undefined,
        orderBy: ordering.replace(/^-/, '') as PostListQuery['orderBy'],
        descending: ordering.startsWith('-'),
      },
      window,
    );
    const images = await this.imagesOf(posts);
    return {
      count,
      rows: posts.map((post) => ({
        post,
        image: post.imageId ? (images.get(post.imageId) ?? null) : null,
      })),
    };
  }

  async get(
    userId: number,
    postId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<PostWithImage> {
    const post = await this.rows.findOwned(userId, postId, manager);
    if (!post) throw new NotFoundError('post');
    const images = await this.imagesOf([post], manager);
    return { post, image: post.imageId ? (images.get(post.imageId) ?? null) : null };
  }

  /**
   * Time, caption and hashtags change while scheduled or failed. A new time re-arms the post
   * (a new version: the old job exits); a failed post given a future time is scheduled again.
   */
  async update(
    userId: number,
    postId: number,
    dto: PatchPostDto,
    now = new Date(),
  ): Promise<PostWithImage> {
    const scheduledTime =
      dto.scheduled_time !== undefined ? futureTime(dto.scheduled_time, now) : undefined;
    const { post, rearm } = await this.dataSource.transaction(async (manager) => {
      const current = await this.lock(manager, userId, postId);
      if (current.status !== 'scheduled' && current.status !== 'failed')
        throw new PostStateError('edit', current.status);
      assertTextFits(
        current.platform,
        dto.caption ?? current.caption,
        dto.hashtags ?? current.hashtags,
      );
      const text: Partial<Pick<ScheduledPost, 'caption' | 'hashtags'>> = {};
      if (dto.caption !== undefined) text.caption = dto.caption;
      if (dto.hashtags !== undefined) text.hashtags = dto.hashtags;
      const rearm =
        scheduledTime !== undefined &&
        (current.status === 'failed' ||
          scheduledTime.getTime() !== current.scheduledTime.getTime());
      return {
        post: rearm
          ? await this.rows.rearm(current, scheduledTime, manager, text)
          : await this.rows.editText(current, text, manager),
        rearm,
      };
    });
    if (rearm) await this.enqueueAfterCommit(post, now);
    return this.get(userId, postId);
  }

  async cancel(userId: number, postId: number): Promise<PostWithImage> {
    await this.dataSource.transaction(async (manager) => {
      const current = await this.lock(manager, userId, postId);
      if (current.status !== 'scheduled' && current.status !== 'failed')
        throw new PostStateError('cancel', current.status);
      await this.rows.cancel(current, manager);
      await this.events.post(manager, 'post.cancelled', userId, postId);
    });
    return this.get(userId, postId);
  }

  /** Scheduled, failed or cancelled → published now, whatever its time. */
  async publishNow(
    userId: number,
    postId: number,
    now = new Date(),
  ): Promise<PostWithImage & { taskId: string }> {
    const post = await this.dataSource.transaction(async (manager) => {
      const current = await this.lock(manager, userId, postId);
      if (!['scheduled', 'failed', 'cancelled'].includes(current.status))
        throw new PostStateError('publish', current.status);
      return this.rows.rearm(current, now, manager);
    });
    const taskId = await this.enqueueAfterCommit(post, now);
    return { ...(await this.get(userId, postId)), taskId };
  }

  /** A posted post → a new post with the same content, now or at `scheduledTime`. */
  async republish(
    userId: number,
    postId: number,
    scheduledTime?: string,
    now = new Date(),
  ): Promise<PostWithImage & { taskId: string }> {
    const when = scheduledTime !== undefined ? futureTime(scheduledTime, now) : now;
    const copy = await this.dataSource.transaction(async (manager) => {
      const original = await this.lock(manager, userId, postId);
      if (original.status !== 'posted') throw new PostStateError('republish', original.status);
      if (!original.imageId)
        throw FieldValidationError.of('image', 'The image of this post no longer exists.');
      return this.rows.insert(
        {
          userId,
          imageId: original.imageId,
          accountId: original.accountId,
          platform: original.platform,
          caption: original.caption,
          hashtags: original.hashtags,
          scheduledTime: when,
          metadata: { republished_from: original.id },
        },
        manager,
      );
    });
    const taskId = await this.enqueueAfterCommit(copy, now);
    return { ...(await this.get(userId, copy.id)), taskId };
  }

  async analytics(userId: number, postId: number): Promise<PostAnalytics> {
    const { post } = await this.get(userId, postId);
    if (post.status !== 'posted') throw new PostStateError('read the analytics of', post.status);
    return this.analyticsRows.findOrCreate(post.id, post.platform);
  }

  /** Queues the post's sync unless one is already pending (then answers that job's id). */
  async syncAnalytics(userId: number, postId: number): Promise<string> {
    const { post } = await this.get(userId, postId);
    if (post.status !== 'posted') throw new PostStateError('sync the analytics of', post.status);
    return this.queue.enqueuePending(
      JobName.SyncPostAnalytics,
      { postId: post.id },
      { jobId: syncAnalyticsJobId(post.id) },
    );
  }

  async statistics(userId: number, now = new Date()) {
    const counts = await this.rows.counts(userId, now);
    return {
      total_scheduled: counts.byStatus.scheduled + counts.byStatus.processing,
      total_posted: counts.byStatus.posted,
      total_failed: counts.byStatus.failed,
      total_cancelled: counts.byStatus.cancelled,
      upcoming_posts: counts.upcoming,
      posts_by_platform: counts.byPlatform,
      average_engagement_rate: Math.round(counts.averageEngagementRate * 100) / 100,
    };
  }

  /** The job that publishes this version of the post at its time. */
  enqueue(
    post: Pick<ScheduledPost, 'id' | 'version' | 'scheduledTime'>,
    now = new Date(),
  ): Promise<string> {
    return this.queue.enqueue(...publishJob(post, now));
  }

  /**
   * The same, right after the post's commit: never throws (the publishing sweep queues a post
   * whose job is missing), so the request that made the post still answers with it.
   */
  enqueueAfterCommit(
    post: Pick<ScheduledPost, 'id' | 'version' | 'scheduledTime'>,
    now = new Date(),
  ): Promise<string> {
    return this.queue.enqueueAfterCommit(...publishJob(post, now));
  }

  /**
   * A one-off post's text from the user's template, rendered once, now (with the post's time in
   * the user's time zone); a text that cannot be published there is a 400 naming `template`.
   */
  private async renderTemplate(
    manager: EntityManager,
    userId: number,
    templateId: number,
    post: { platform: SocialPlatform; imageId: number; accountId: number; at: Date },
  ): Promise<{ caption: string; hashtags: string }> {
    const template = await this.templates.useOwned(manager, userId, templateId);
    const rendered = await this.templates.renderForPost(manager, template, { userId, ...post });
    if (rendered.problems.length > 0)
      throw FieldValidationError.of(
        'template',
        `Rendered for ${post.platform}, the text does not fit: ${rendered.problems.join('; ')}.`,
      );
    return { caption: rendered.caption, hashtags: rendered.hashtags };
  }

  private async lock(
    manager: EntityManager,
    userId: number,
    postId: number,
  ): Promise<ScheduledPost> {
    const post = await this.rows.lockOwned(userId, postId, manager);
    if (!post) throw new NotFoundError('post');
    return post;
  }

  private async assertSchedulableImage(
    manager: EntityManager,
    userId: number,
    imageId: number,
  ): Promise<void> {
    const image = await this.images.findForPosting(imageId, userId, manager);
    if (!image)
      throw FieldValidationError.of('image', `Invalid pk "${imageId}" - object does not exist.`);
    if (!isPublishable(image))
      throw FieldValidationError.of('image', 'Only a validated image can be scheduled.');
  }

  /** The given account (the user's, on that platform, usable) or the user's only usable one there. */
  private async resolveAccount(
    manager: EntityManager,
    userId: number,
    platform: SocialPlatform,
    accountId?: number,
  ): Promise<number> {
    if (accountId !== undefined) {
      const account = await this.accounts.findOwned(userId, accountId, manager);
      if (!account)
        throw FieldValidationError.of(
          'account',
          `Invalid pk "${accountId}" - object does not exist.`,
        );
      if (account.platform !== platform)
        throw FieldValidationError.of(
          'account',
          `This account is on ${account.platform}, not ${platform}.`,
        );
    }
    const choice = chooseAccount(
      await this.accounts.onPlatform(userId, platform, manager),
      accountId !== undefined ? [accountId] : [],
    );
    if ('id' in choice) return choice.id;
    throw FieldValidationError.of(
      'account',
      choice.problem === 'inactive'
        ? `This account is ${choice.status.replace('_', ' ')}.`
        : choice.problem === 'none'
          ? `Connect a ${platform} account first.`
          : `You have several ${platform} accounts: say which one.`,
    );
  }

  private imagesOf(
    posts: ScheduledPost[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<number, PostImage>> {
    return this.rows.images(
      posts.map((post) => post.imageId).filter((id): id is number => id !== null),
      manager,
    );
  }
}

function futureTime(value: string, now: Date): Date {
  const time = new Date(value);
  if (time.getTime() <= now.getTime())
    throw FieldValidationError.of('scheduled_time', 'The time must be in the future.');
  return time;
}

function assertTextFits(platform: SocialPlatform, caption: string, hashtags: string): void {
  const problems = checkText(platform, caption, hashtags);
  if (problems.length > 0) throw FieldValidationError.of('caption', ...problems);
}

function publishJob(
  post: Pick<ScheduledPost, 'id' | 'version' | 'scheduledTime'>,
  now: Date,
): [JobName.PublishPost, JobPayloads[JobName.PublishPost], EnqueueOptions] {
  return [
    JobName.PublishPost,
    { postId: post.id, version: post.version },
    {
      jobId: publishJobId(post.id, post.version),
      delayMs: Math.max(0, post.scheduledTime.getTime() - now.getTime()),
    },
  ];
}
