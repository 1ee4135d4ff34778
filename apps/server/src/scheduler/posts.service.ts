import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, type EntityManager, In } from 'typeorm';
import { APP_CONFIG, type AppConfig, FieldValidationError, NotFoundError } from '@app/common';
import {
  chooseAccount,
  GeneratedImage,
  GeneratedImageQueries,
  isPublishable,
  PostAnalytics,
  type PostStatus,
  ScheduledPost,
  SocialAccount,
  SocialAccountQueries,
  type SocialPlatform,
} from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import type { ListPostsQuery } from './dto/list-posts.query.js';
import type { PatchPostDto, SchedulePostDto } from './dto/post.dto.js';
import { checkText } from './platforms/platform.registry.js';
import { PostStateError } from './posts.errors.js';

export type PostImage = Pick<
  GeneratedImage,
  'id' | 'prompt' | 'status' | 'thumbnailKey' | 'renditionKey'
>;
export interface PostWithImage {
  post: ScheduledPost;
  image: PostImage | null;
}

const ORDER_COLUMNS = {
  scheduled_time: 'post.scheduled_time',
  created_at: 'post.created_at',
  posted_at: 'post.posted_at',
  status: 'post.status',
} as const;

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
  ) {}

  async schedule(
    userId: number,
    dto: SchedulePostDto,
    now = new Date(),
  ): Promise<PostWithImage & { taskId: string }> {
    const scheduledTime = futureTime(dto.scheduled_time, now);
    const hashtags = dto.hashtags ?? '';
    assertTextFits(dto.platform, dto.caption, hashtags);
    const post = await this.dataSource.transaction(async (manager) => {
      await this.assertSchedulableImage(manager, userId, dto.image);
      const accountId = await this.resolveAccount(manager, userId, dto.platform, dto.account);
      const inserted = await manager.save(
        manager.create(ScheduledPost, {
          userId,
          imageId: dto.image,
          accountId,
          platform: dto.platform,
          caption: dto.caption,
          hashtags,
          scheduledTime,
          status: 'scheduled',
        }),
      );
      return inserted;
    });
    const taskId = await this.enqueue(post, now);
    return { ...(await this.get(userId, post.id)), taskId };
  }

  async list(
    userId: number,
    query: ListPostsQuery,
    window: PageWindow,
  ): Promise<{ count: number; rows: PostWithImage[] }> {
    const builder = this.dataSource
      .getRepository(ScheduledPost)
      .createQueryBuilder('post')
      .where('post.user_id = :userId', { userId });
    if (query.status) builder.andWhere('post.status = :status', { status: query.status });
    if (query.platform) builder.andWhere('post.platform = :platform', { platform: query.platform });
    if (query.start_date)
      builder.andWhere('post.scheduled_time >= :start', { start: new Date(query.start_date) });
    if (query.end_date) {
      const end = /^\d{4}-\d{2}-\d{2}$/.test(query.end_date)
        ? new Date(Date.parse(`${query.end_date}T00:00:00Z`) + 86_400_000)
        : new Date(Date.parse(query.end_date) + 1);
      builder.andWhere('post.scheduled_time < :end', { end });
    }
    if (query.search) {
      const pattern = `%${query.search.replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
      builder.andWhere(
        new Brackets((where) =>
          where
            .where('post.caption ILIKE :pattern', { pattern })
            .orWhere('post.hashtags ILIKE :pattern', { pattern }),
        ),
      );
    }
    const ordering = query.ordering ?? '-scheduled_time';
    const direction = ordering.startsWith('-') ? 'DESC' : 'ASC';
    const column = ORDER_COLUMNS[ordering.replace(/^-/, '') as keyof typeof ORDER_COLUMNS];
    const [posts, count] = await builder
      .orderBy(column, direction, direction === 'DESC' ? 'NULLS LAST' : 'NULLS FIRST')
      .addOrderBy('post.id', direction)
      .offset(window.offset)
      .limit(window.pageSize)
      .getManyAndCount();
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
    const post = await manager.getRepository(ScheduledPost).findOneBy({ id: postId, userId });
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
      const changes: Partial<ScheduledPost> = { updatedAt: new Date() };
      if (dto.caption !== undefined) changes.caption = dto.caption;
      if (dto.hashtags !== undefined) changes.hashtags = dto.hashtags;
      const rearm =
        scheduledTime !== undefined &&
        (current.status === 'failed' ||
          scheduledTime.getTime() !== current.scheduledTime.getTime());
      if (rearm) Object.assign(changes, rearmed(current, scheduledTime));
      await manager.update(ScheduledPost, { id: current.id }, changes);
      return { post: { ...current, ...changes } as ScheduledPost, rearm };
    });
    if (rearm) await this.enqueue(post, now);
    return this.get(userId, postId);
  }

  async cancel(userId: number, postId: number): Promise<PostWithImage> {
    await this.dataSource.transaction(async (manager) => {
      const current = await this.lock(manager, userId, postId);
      if (current.status !== 'scheduled' && current.status !== 'failed')
        throw new PostStateError('cancel', current.status);
      // A new version: the waiting job, if any, finds nothing to claim.
      await manager.update(
        ScheduledPost,
        { id: current.id },
        { status: 'cancelled', version: current.version + 1, updatedAt: new Date() },
      );
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
      const changes = { ...rearmed(current, now), updatedAt: new Date() };
      await manager.update(ScheduledPost, { id: current.id }, changes);
      return { ...current, ...changes } as ScheduledPost;
    });
    const taskId = await this.enqueue(post, now);
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
      return manager.save(
        manager.create(ScheduledPost, {
          userId,
          imageId: original.imageId,
          accountId: original.accountId,
          platform: original.platform,
          caption: original.caption,
          hashtags: original.hashtags,
          scheduledTime: when,
          status: 'scheduled',
          metadata: { republished_from: original.id },
        }),
      );
    });
    const taskId = await this.enqueue(copy, now);
    return { ...(await this.get(userId, copy.id)), taskId };
  }

  async analytics(userId: number, postId: number): Promise<PostAnalytics> {
    const { post } = await this.get(userId, postId);
    if (post.status !== 'posted') throw new PostStateError('read the analytics of', post.status);
    const existing = await this.dataSource
      .getRepository(PostAnalytics)
      .findOneBy({ scheduledPostId: post.id });
    if (existing) return existing;
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(PostAnalytics)
      .values({ scheduledPostId: post.id, platform: post.platform })
      .orIgnore()
      .execute();
    return this.dataSource
      .getRepository(PostAnalytics)
      .findOneByOrFail({ scheduledPostId: post.id });
  }

  async syncAnalytics(userId: number, postId: number, now = new Date()): Promise<string> {
    const { post } = await this.get(userId, postId);
    if (post.status !== 'posted') throw new PostStateError('sync the analytics of', post.status);
    return this.queue.enqueue(
      JobName.SyncPostAnalytics,
      { postId: post.id },
      { jobId: `sync-analytics:${post.id}:${now.getTime()}` },
    );
  }

  async statistics(userId: number, now = new Date()) {
    const [byStatus, byPlatform, upcoming, engagement] = await Promise.all([
      this.dataSource.query(
        'SELECT status, count(*)::int AS n FROM scheduled_posts WHERE user_id = $1 GROUP BY status',
        [userId],
      ),
      this.dataSource.query(
        'SELECT platform, count(*)::int AS n FROM scheduled_posts WHERE user_id = $1 GROUP BY platform',
        [userId],
      ),
      this.dataSource.query(
        `SELECT count(*)::int AS n FROM scheduled_posts WHERE user_id = $1 AND status = 'scheduled' AND scheduled_time > $2`,
        [userId, now],
      ),
      this.dataSource.query(
        `SELECT coalesce(avg(a.engagement_rate), 0)::float AS rate FROM post_analytics a
         JOIN scheduled_posts p ON p.id = a.scheduled_post_id WHERE p.user_id = $1 AND a.last_synced_at IS NOT NULL`,
        [userId],
      ),
    ]);
    const count = (status: PostStatus) =>
      (byStatus as { status: string; n: number }[]).find((row) => row.status === status)?.n ?? 0;
    return {
      total_scheduled: count('scheduled') + count('processing'),
      total_posted: count('posted'),
      total_failed: count('failed'),
      total_cancelled: count('cancelled'),
      upcoming_posts: (upcoming as { n: number }[])[0].n,
      posts_by_platform: Object.fromEntries(
        (byPlatform as { platform: string; n: number }[]).map((row) => [row.platform, row.n]),
      ),
      average_engagement_rate: Math.round((engagement as { rate: number }[])[0].rate * 100) / 100,
    };
  }

  /** The job that publishes this version of the post at its time. */
  enqueue(
    post: Pick<ScheduledPost, 'id' | 'version' | 'scheduledTime'>,
    now = new Date(),
  ): Promise<string> {
    return this.queue.enqueue(
      JobName.PublishPost,
      { postId: post.id, version: post.version },
      {
        jobId: publishJobId(post.id, post.version),
        delayMs: Math.max(0, post.scheduledTime.getTime() - now.getTime()),
      },
    );
  }

  private async lock(
    manager: EntityManager,
    userId: number,
    postId: number,
  ): Promise<ScheduledPost> {
    const post = await manager
      .getRepository(ScheduledPost)
      .createQueryBuilder('post')
      .setLock('pessimistic_write')
      .where('post.id = :postId AND post.user_id = :userId', { postId, userId })
      .getOne();
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
      const account = await manager
        .getRepository(SocialAccount)
        .findOneBy({ id: accountId, userId });
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

  private async imagesOf(
    posts: ScheduledPost[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<number, PostImage>> {
    const ids = [
      ...new Set(posts.map((post) => post.imageId).filter((id): id is number => id !== null)),
    ];
    if (ids.length === 0) return new Map();
    const images = await manager.getRepository(GeneratedImage).find({
      select: { id: true, prompt: true, status: true, thumbnailKey: true, renditionKey: true },
      where: { id: In(ids) },
    });
    return new Map(images.map((image) => [image.id, image]));
  }
}

/** A post put back to wait for its (new) time: a new version, the last outcome cleared. */
function rearmed(post: ScheduledPost, scheduledTime: Date): Partial<ScheduledPost> {
  return {
    status: 'scheduled',
    scheduledTime,
    version: post.version + 1,
    errorMessage: '',
    errorCode: null,
    attempts: 0,
    checkpoint: {},
    leaseUntil: null,
  };
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
