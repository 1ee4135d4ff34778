import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { Brackets, DataSource, type EntityManager, In } from 'typeorm';
import { GeneratedImage } from '../generated-image/generated-image.entity.js';
import type { JsonObject } from '../json.js';
import type { AccountStatus, SocialPlatform } from '../social-account/social-account.entity.js';
import { userListCount, userPostCount } from '../list-counts.js';
import type { PageSlice } from '../page-slice.js';
import { StatementBatcher } from '../statement-batcher.js';
import {
  CLAIM,
  type NamedStatement,
  OURS,
  POSTED,
  RECORD,
  RENEW_LEASE,
  TAKE_OVER,
} from './publish-statements.js';
import { type PostErrorCode, type PostStatus, ScheduledPost } from './scheduled-post.entity.js';

/** One version of one post: every write of the publish path is conditional on both. */
export interface PostVersion {
  id: number;
  version: number;
}

/** What a publish reads of the post it claimed. */
export type PublishingPost = Pick<
  ScheduledPost,
  | 'id'
  | 'version'
  | 'userId'
  | 'accountId'
  | 'imageId'
  | 'platform'
  | 'caption'
  | 'hashtags'
  | 'checkpoint'
  | 'metadata'
  | 'attempts'
>;

/** A claimed post with its account (tokens still sealed) and its image's JPEG rendition. */
export interface ClaimedPost {
  post: PublishingPost;
  account: {
    id: number;
    status: AccountStatus;
    accountId: string;
    accessTokenEncrypted: string;
    refreshTokenEncrypted: string | null;
  } | null;
  renditionKey: string | null;
}

/** What the platform answered for a published post. */
export interface PostedResult {
  platformPostId: string;
  platformPostUrl: string | null;
  metadata: JsonObject;
}

/** The images shown beside posts. */
export type PostImage = Pick<
  GeneratedImage,
  'id' | 'prompt' | 'status' | 'thumbnailKey' | 'renditionKey'
>;

/** A new post: scheduled at its time. */
export type NewPost = Pick<
  ScheduledPost,
  'userId' | 'imageId' | 'accountId' | 'platform' | 'caption' | 'hashtags' | 'scheduledTime'
> &
  Partial<Pick<ScheduledPost, 'scheduleId' | 'metadata' | 'templateId'>>;

export const POST_ORDER_COLUMNS = ['scheduled_time', 'created_at', 'posted_at', 'status'] as const;

/** A user's list of posts: filters (each optional), order and page. */
export interface PostListQuery {
  status?: PostStatus;
  platform?: SocialPlatform;
  /** scheduled_time >= from */
  from?: Date;
  /** scheduled_time < until */
  until?: Date;
  /** In the caption or the hashtags, case-insensitively. */
  search?: string;
  orderBy: (typeof POST_ORDER_COLUMNS)[number];
  descending: boolean;
}

/** api.md's post statistics, of one user or (null) of everyone. */
export interface PostCounts {
  byStatus: Record<PostStatus, number>;
  byPlatform: Record<string, number>;
  upcoming: number;
  averageEngagementRate: number;
}

/** One post's part of a batched statement (see `batched()`). */
interface BatchItem {
  id: number;
  version: number;
  values: unknown[];
  constants: unknown[];
  /** Run in the batch's transaction when the statement touched this item's post. */
  alongside?: (manager: EntityManager) => Promise<void>;
}

interface ClaimRow {
  id: number;
  version: number;
  user_id: number;
  account_id: number | null;
  image_id: number | null;
  platform: SocialPlatform;
  caption: string;
  hashtags: string;
  checkpoint: JsonObject;
  metadata: JsonObject;
  attempts: number;
  account_status: AccountStatus | null;
  account_platform_id: string | null;
  access_token_encrypted: string | null;
  refresh_token_encrypted: string | null;
  rendition_key: string | null;
}

/**
 * Every statement on `scheduled_posts`: the publish path's claim, take-over, checkpoint, lease and
 * result (each batched: the publishes that reach a statement in the same turn of the event loop
 * share one round trip), the sweeps' finders, and one user's posts for the API.
 */
@Injectable()
export class ScheduledPostQueries {
  private readonly claims = this.batched<ClaimRow>(CLAIM);
  private readonly takeOvers = this.batched<ClaimRow>(TAKE_OVER);
  private readonly records = this.batched(RECORD);
  private readonly results = this.batched(POSTED);

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  // --- Publishing -------------------------------------------------------------------------

  /** Takes a scheduled post of this version (only one claim can win it), one attempt more. */
  async claim(post: PostVersion, leaseMs: number): Promise<ClaimedPost | null> {
    return claimed(await this.claims.add({ ...post, values: [], constants: [leaseMs] }));
  }

  /** Takes over a post left in processing past its lease, as a new version. */
  async takeOver(post: PostVersion, leaseMs: number): Promise<ClaimedPost | null> {
    return claimed(await this.takeOvers.add({ ...post, values: [], constants: [leaseMs] }));
  }

  /** Merges a step into the checkpoint; false when the claim is no longer this version's. */
  async recordStep(post: PostVersion, step: JsonObject): Promise<boolean> {
    return (
      (await this.records.add({ ...post, values: [JSON.stringify(step)], constants: [] })) !== null
    );
  }

  async renewLease(post: PostVersion, leaseMs: number): Promise<void> {
    await this.run(RENEW_LEASE, [post.id, post.version, leaseMs]);
  }

  /** False when the post had passed to another worker before the result could be written. */
  /**
   * `alongside`, when given, runs in the transaction of the write, only if the post was written
   * (the outbox records `post.published` there); the batch then commits as one transaction.
   */
  async markPosted(
    post: PostVersion,
    result: PostedResult,
    alongside?: (manager: EntityManager) => Promise<void>,
  ): Promise<boolean> {
    const row = await this.results.add({
      ...post,
      values: [result.platformPostId, result.platformPostUrl, JSON.stringify(result.metadata)],
      constants: [],
      alongside,
    });
    return row !== null;
  }

  /** False when the claim was no longer this version's (nothing written). */
  async markFailed(
    post: PostVersion,
    code: PostErrorCode,
    message: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const [, affected] = (await manager.query(
      `UPDATE scheduled_posts SET status = 'failed', error_code = $3, error_message = $4,
         lease_until = NULL, updated_at = now()
       WHERE ${OURS}`,
      [post.id, post.version, code, message.slice(0, 2000)],
    )) as [unknown, number];
    return affected > 0;
  }

  /**
   * Back to scheduled as the next version, `note` merged into the metadata, attempts and
   * checkpoint kept; false when the claim was no longer this version's.
   */
  async rearmForRetry(post: PostVersion, note: JsonObject): Promise<boolean> {
    const [, affected] = (await this.dataSource.query(
      `UPDATE scheduled_posts SET status = 'scheduled', version = $3, lease_until = NULL,
         metadata = metadata || $4::jsonb, updated_at = now()
       WHERE ${OURS}`,
      [post.id, post.version, post.version + 1, JSON.stringify(note)],
    )) as [unknown, number];
    return affected > 0;
  }

  /** Merges `note` into the metadata of a post still processing at this version. */
  async noteInMetadata(post: PostVersion, note: JsonObject): Promise<void> {
    await this.dataSource.query(
      `UPDATE scheduled_posts SET metadata = metadata || $3::jsonb, updated_at = now() WHERE ${OURS}`,
      [post.id, post.version, JSON.stringify(note)],
    );
  }

  // --- Sweeps -----------------------------------------------------------------------------

  /**
   * Scheduled posts due by a minute after `now` and untouched for five seconds (the API enqueues
   * right after its commit): those whose job may be lost.
   */
  async findDue(
    now: Date,
    limit: number,
  ): Promise<{ id: number; version: number; scheduledTime: Date }[]> {
    const rows: { id: number; version: number; scheduled_time: Date }[] =
      await this.dataSource.query(
        `SELECT id, version, scheduled_time FROM scheduled_posts
         WHERE status = 'scheduled' AND scheduled_time <= $1::timestamptz + interval '1 minute'
           AND updated_at < $1::timestamptz - interval '5 seconds'
         ORDER BY scheduled_time LIMIT $2`,
        [now, limit],
      );
    return rows.map((row) => ({
      id: row.id,
      version: row.version,
      scheduledTime: new Date(row.scheduled_time),
    }));
  }

  /** Posts in processing whose lease ran out before `now`, oldest lease first. */
  async findStuck(
    now: Date,
    limit: number,
  ): Promise<{ id: number; version: number; leaseUntil: Date }[]> {
    const rows: { id: number; version: number; lease_until: Date }[] = await this.dataSource.query(
      `SELECT id, version, lease_until FROM scheduled_posts
       WHERE status = 'processing' AND lease_until < $1 ORDER BY lease_until LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      version: row.version,
      leaseUntil: new Date(row.lease_until),
    }));
  }

  /** Posts posted within 30 days whose analytics were never synced or not for 50 minutes. */
  async findAnalyticsDue(now: Date, limit: number): Promise<number[]> {
    const rows: { id: number }[] = await this.dataSource.query(
      `SELECT p.id FROM scheduled_posts p LEFT JOIN post_analytics a ON a.scheduled_post_id = p.id
       WHERE p.status = 'posted' AND p.posted_at > $1::timestamptz - interval '30 days'
         AND (a.last_synced_at IS NULL OR a.last_synced_at < $1::timestamptz - interval '50 minutes')
       LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => row.id);
  }

  /** A posted post, for the analytics sync; null when it is not (or no longer) posted. */
  findPosted(postId: number): Promise<ScheduledPost | null> {
    return this.dataSource.getRepository(ScheduledPost).findOneBy({ id: postId, status: 'posted' });
  }

  // --- One user's posts -------------------------------------------------------------------

  /** The post, with its image's current version: the one it will publish. */
  async insert(
    post: NewPost,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ScheduledPost> {
    let imageVersion: number | null = null;
    if (post.imageId !== null) {
      const rows: { version: number }[] = await manager.query(
        'SELECT version FROM generated_images WHERE id = $1',
        [post.imageId],
      );
      imageVersion = rows[0]?.version ?? null;
    }
    return manager.save(
      manager.create(ScheduledPost, { ...post, imageVersion, status: 'scheduled' }),
    );
  }

  /** A page of the user's posts, filtered and ordered (ties by id), and how many match. */
  async pageOfUser(
    userId: number,
    query: PostListQuery,
    page: PageSlice,
  ): Promise<{ count: number; rows: ScheduledPost[] }> {
    const builder = this.dataSource
      .getRepository(ScheduledPost)
      .createQueryBuilder('post')
      .where('post.user_id = :userId', { userId });
    if (query.status) builder.andWhere('post.status = :status', { status: query.status });
    if (query.platform) builder.andWhere('post.platform = :platform', { platform: query.platform });
    if (query.from) builder.andWhere('post.scheduled_time >= :start', { start: query.from });
    if (query.until) builder.andWhere('post.scheduled_time < :end', { end: query.until });
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
    const direction = query.descending ? 'DESC' : 'ASC';
    // Only posted_at can be null: a NULLS clause on a NOT NULL column still keeps PostgreSQL from
    // reading scheduled_posts_user_time_idx backwards (DESC NULLS LAST is not the index's order
    // reversed), and it sorted all the user's posts for each page.
    const nulls =
      query.orderBy === 'posted_at' ? (query.descending ? 'NULLS LAST' : 'NULLS FIRST') : undefined;
    builder
      .orderBy(`post.${query.orderBy}`, direction, nulls)
      .addOrderBy('post.id', direction)
      .offset(page.offset)
      .limit(page.pageSize);
    // Without a filter the count is the user's counters row (migration ListCounters); filtered by
    // status and/or platform alone, a sum of at most 25 counters (migration PostCountsByStatus).
    // Dates and text are counted over the rows they match.
    const counted = !!(query.from || query.until || query.search);
    const [rows, count] = counted
      ? await builder.getManyAndCount()
      : await Promise.all([
          builder.getMany(),
          query.status || query.platform
            ? userPostCount(this.dataSource, userId, query)
            : userListCount(this.dataSource, userId, 'posts'),
        ]);
    return { count, rows };
  }

  findOwned(
    userId: number,
    postId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ScheduledPost | null> {
    return manager.getRepository(ScheduledPost).findOneBy({ id: postId, userId });
  }

  /** The user's post, locked until the caller's transaction ends. */
  lockOwned(userId: number, postId: number, manager: EntityManager): Promise<ScheduledPost | null> {
    return manager
      .getRepository(ScheduledPost)
      .createQueryBuilder('post')
      .setLock('pessimistic_write')
      .where('post.id = :postId AND post.user_id = :userId', { postId, userId })
      .getOne();
  }

  /** New caption or hashtags of a post (the caller holds its lock). */
  async editText(
    post: ScheduledPost,
    text: Partial<Pick<ScheduledPost, 'caption' | 'hashtags'>>,
    manager: EntityManager,
  ): Promise<ScheduledPost> {
    return this.change(post, { ...text }, manager);
  }

  /**
   * The post put back to wait for `scheduledTime` (with new text, if any): a new version, so a
   * job of the old one finds nothing to claim, and the last outcome cleared.
   */
  rearm(
    post: ScheduledPost,
    scheduledTime: Date,
    manager: EntityManager,
    text: Partial<Pick<ScheduledPost, 'caption' | 'hashtags'>> = {},
  ): Promise<ScheduledPost> {
    return this.change(
      post,
      {
        ...text,
        status: 'scheduled',
        scheduledTime,
        version: post.version + 1,
        errorMessage: '',
        errorCode: null,
        attempts: 0,
        checkpoint: {},
        leaseUntil: null,
      },
      manager,
    );
  }

  /** Cancelled, as a new version: the waiting job, if any, finds nothing to claim. */
  cancel(post: ScheduledPost, manager: EntityManager): Promise<ScheduledPost> {
    return this.change(post, { status: 'cancelled', version: post.version + 1 }, manager);
  }

  /** The images of these ids, with what a post shows of them. */
  async images(
    imageIds: number[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<number, PostImage>> {
    const ids = [...new Set(imageIds)];
    if (ids.length === 0) return new Map();
    const images = await manager.getRepository(GeneratedImage).find({
      select: { id: true, prompt: true, status: true, thumbnailKey: true, renditionKey: true },
      where: { id: In(ids) },
    });
    return new Map(images.map((image) => [image.id, image]));
  }

  /** Counts by status and platform, upcoming posts and the average engagement rate. */
  async counts(userId: number | null, now: Date): Promise<PostCounts> {
    const mine = userId === null ? '' : 'WHERE user_id = $1';
    const params = userId === null ? [] : [userId];
    const next = `$${params.length + 1}`;
    const [byStatus, byPlatform, [upcoming], [engagement]] = await Promise.all([
      this.dataSource.query<{ status: PostStatus; n: number }[]>(
        `SELECT status, count(*)::int AS n FROM scheduled_posts ${mine} GROUP BY status`,
        params,
      ),
      this.dataSource.query<{ platform: string; n: number }[]>(
        `SELECT platform, count(*)::int AS n FROM scheduled_posts ${mine} GROUP BY platform ORDER BY platform`,
        params,
      ),
      this.dataSource.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM scheduled_posts
         ${mine ? `${mine} AND` : 'WHERE'} status = 'scheduled' AND scheduled_time > ${next}`,
        [...params, now],
      ),
      this.dataSource.query<{ rate: number }[]>(
        userId === null
          ? `SELECT coalesce(avg(engagement_rate), 0)::float AS rate FROM post_analytics
             WHERE last_synced_at IS NOT NULL`
          : `SELECT coalesce(avg(a.engagement_rate), 0)::float AS rate FROM post_analytics a
             JOIN scheduled_posts p ON p.id = a.scheduled_post_id
             WHERE p.user_id = $1 AND a.last_synced_at IS NOT NULL`,
        params,
      ),
    ]);
    return {
      byStatus: {
        scheduled: 0,
        processing: 0,
        posted: 0,
        failed: 0,
        cancelled: 0,
        ...Object.fromEntries(byStatus.map((row) => [row.status, row.n])),
      },
      byPlatform: Object.fromEntries(byPlatform.map((row) => [row.platform, row.n])),
      upcoming: upcoming.n,
      averageEngagementRate: engagement.rate,
    };
  }

  private async change(
    post: ScheduledPost,
    changes: Partial<ScheduledPost>,
    manager: EntityManager,
  ): Promise<ScheduledPost> {
    const applied = { ...changes, updatedAt: new Date() };
    await manager.update(ScheduledPost, { id: post.id }, applied);
    return { ...post, ...applied } as ScheduledPost;
  }

  // --- Batching ---------------------------------------------------------------------------

  /**
   * A named statement through a pooled connection (a query runner's, TypeORM's public way to
   * one): TypeORM's query() sends every statement unnamed, so PostgreSQL would plan the claim's
   * CTE again for each post.
   */
  private async run<R extends object = Record<string, unknown>>(
    statement: NamedStatement,
    values: unknown[],
  ): Promise<{ rows: R[] }> {
    const runner = this.dataSource.createQueryRunner('master');
    try {
      const client = (await runner.connect()) as PoolClient;
      return await client.query<R>({ name: statement.name, text: statement.text, values });
    } finally {
      await runner.release();
    }
  }

  /**
   * The publishes running at once send each batched statement together (see StatementBatcher):
   * `$1` the posts' ids, `$2` their versions, then one array per value of `values`, then the
   * constants (the same for every post: the first one's are sent). Each post gets its row back,
   * or null when the statement did not touch it.
   */
  private batched<Row extends { id: number }>(
    statement: NamedStatement,
  ): StatementBatcher<BatchItem, Row | null> {
    return new StatementBatcher<BatchItem, Row | null>(
      async (items) => {
        const columns = (items[0]?.values ?? []).map((_, index) =>
          items.map((item) => item.values[index]),
        );
        const values = [
          items.map((item) => item.id),
          items.map((item) => item.version),
          ...columns,
          ...(items[0]?.constants ?? []),
        ];
        const answer = (rows: Row[]) => {
          const byId = new Map(rows.map((row) => [row.id, row]));
          return items.map((item) => byId.get(item.id) ?? null);
        };
        if (!items.some((item) => item.alongside))
          return answer((await this.run<Row>(statement, values)).rows);
        // One transaction for the batch: the statement and what goes alongside each written post
        // commit together (a failure rolls all back, and the batcher retries each item alone).
        return this.dataSource.transaction(async (manager) => {
          const client = (await manager.queryRunner!.connect()) as PoolClient;
          const { rows } = await client.query<Row>({ ...statement, values });
          const written = new Set(rows.map((row) => row.id));
          for (const item of items)
            if (item.alongside && written.has(item.id)) await item.alongside(manager);
          return answer(rows);
        });
      },
      (item) => item.id,
    );
  }
}

function claimed(row: ClaimRow | null): ClaimedPost | null {
  if (!row) return null;
  return {
    post: {
      id: row.id,
      version: row.version,
      userId: row.user_id,
      accountId: row.account_id,
      imageId: row.image_id,
      platform: row.platform,
      caption: row.caption,
      hashtags: row.hashtags,
      checkpoint: row.checkpoint,
      metadata: row.metadata,
      attempts: row.attempts,
    },
    account:
      row.account_id !== null && row.account_status !== null
        ? {
            id: row.account_id,
            status: row.account_status,
            accountId: row.account_platform_id ?? '',
            accessTokenEncrypted: row.access_token_encrypted ?? '',
            refreshTokenEncrypted: row.refresh_token_encrypted,
          }
        : null,
    renditionKey: row.rendition_key,
  };
}
