import { buffer } from 'node:stream/consumers';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/common';
import type { AccountStatus, JsonObject, PostErrorCode, ScheduledPost } from '@app/database';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { AccountsService } from './accounts.service.js';
import {
  type Checkpoint,
  PLATFORM,
  type Platform,
  PlatformError,
  type PlatformName,
  type PublishRequest,
  type PublishResult,
  type Reconciliation,
} from './platforms/platform.js';
import { composeText } from './platforms/platform.registry.js';
import { PostsService } from './posts.service.js';
import { StatementBatcher } from './statement-batcher.js';

type Outcome = 'posted' | 'failed' | 'retrying' | 'skipped';

/** Reconcile attempts (immediate, then one per lease) before a post is given up as outcome_unknown. */
const RECONCILE_TRIES = 4;

/** What the publish reads of the post it claimed. */
type Post = Pick<
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

/** One post's part of a batched statement (see `batched()`). */
interface BatchItem {
  id: number;
  version: number;
  values: unknown[];
}

/** A claimed post with its account (tokens still sealed) and its image's JPEG rendition. */
interface Claimed {
  post: Post;
  account: {
    id: number;
    status: AccountStatus;
    accountId: string;
    accessTokenEncrypted: string;
    refreshTokenEncrypted: string | null;
  } | null;
  renditionKey: string | null;
}

interface ClaimRow {
  id: number;
  version: number;
  user_id: number;
  account_id: number | null;
  image_id: number | null;
  platform: PlatformName;
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
 * Which posts a statement may touch: this id at this version, in this status. The status test is
 * `IS NOT DISTINCT FROM` rather than `=` (the same, the column being NOT NULL) so that the partial
 * indexes on status (due, processing) cannot serve it and PostgreSQL always finds the post by its
 * primary key. With `=`, statistics taken while few posts were scheduled make it scan the partial
 * index and filter on id: each claim of a burst of N posts then reads N index entries.
 */
function only(status: 'scheduled' | 'processing'): string {
  return `id = $1 AND version = $2 AND status IS NOT DISTINCT FROM '${status}'`;
}

/**
 * The posts of a batch that a statement may touch, locked: `$1` their ids, `$2` their versions
 * (and `arrays` more, one element per post, as `w.<name>`), in this status. The rows are locked in
 * id order, so two batches that share posts (a duplicate job, a take-over) wait for each other
 * instead of deadlocking.
 */
function lockedBatch(
  status: 'scheduled' | 'processing',
  arrays: { name: string; type: string }[] = [],
  condition = '',
): string {
  const values = arrays.map((array, index) => `, $${index + 3}::${array.type}[]`).join('');
  const names = arrays.map((array) => `, ${array.name}`).join('');
  return `SELECT p.id${arrays.map((array) => `, w.${array.name}`).join('')}
      FROM scheduled_posts p
      JOIN unnest($1::int[], $2::int[]${values}) AS w(id, version${names})
        ON p.id = w.id AND p.version = w.version
      WHERE p.status IS NOT DISTINCT FROM '${status}'${condition}
      ORDER BY p.id
      FOR UPDATE OF p`;
}

/**
 * One statement, one round trip for a batch of posts: the conditional UPDATE that takes each post
 * (only one worker can win it), returning the posts joined with what the publish needs. `$1` ids,
 * `$2` versions, `$3` the lease in milliseconds.
 */
function claimStatement(set: string, status: 'scheduled' | 'processing', condition = ''): string {
  return `WITH mine AS (${lockedBatch(status, [], condition)}),
    post AS (
      UPDATE scheduled_posts p SET ${set}, lease_until = now() + $3 * interval '1 millisecond',
        updated_at = now()
      FROM mine WHERE p.id = mine.id
      RETURNING p.id, p.version, p.user_id, p.account_id, p.image_id, p.platform, p.caption,
        p.hashtags, p.checkpoint, p.metadata, p.attempts
    )
    SELECT post.*, account.status AS account_status, account.account_id AS account_platform_id,
      account.access_token_encrypted, account.refresh_token_encrypted, image.rendition_key
    FROM post
    LEFT JOIN social_accounts account ON account.id = post.account_id
    LEFT JOIN generated_images image ON image.id = post.image_id`;
}

/** A named statement: prepared once per connection, so PostgreSQL plans it once, not per post. */
export interface Statement {
  name: string;
  text: string;
}

/** Scheduled posts of these versions become processing, one attempt more, under a lease. */
const CLAIM: Statement = {
  name: 'publish-posts-claim',
  text: claimStatement(`status = 'processing', attempts = p.attempts + 1`, 'scheduled'),
};
/** Posts left in processing past their lease are taken over for reconciliation, as new versions. */
const TAKE_OVER: Statement = {
  name: 'publish-posts-take-over',
  // A new version: the worker that lost the lease can no longer write (nor record a step).
  text: claimStatement(
    `status = 'processing', version = p.version + 1`,
    'processing',
    ' AND p.lease_until < now()',
  ),
};

/**
 * Our claim passed to another worker (our lease ran out and the post was taken over): stop
 * before any further platform call, write nothing.
 */
class ClaimLost extends Error {
  constructor(postId: number) {
    super(`Post ${postId}: the claim passed to another worker`);
  }
}

/** Every write of a result is conditional on the claim still being ours. */
const OURS = only('processing');

/** `$3` the steps to merge into the checkpoints, before the platform calls that need them. */
const RECORD: Statement = {
  name: 'publish-posts-record',
  text: `WITH mine AS (${lockedBatch('processing', [{ name: 'step', type: 'jsonb' }])})
    UPDATE scheduled_posts p SET checkpoint = p.checkpoint || mine.step, updated_at = now()
    FROM mine WHERE p.id = mine.id
    RETURNING p.id`,
};
const RENEW_LEASE: Statement = {
  name: 'publish-post-renew-lease',
  text: `UPDATE scheduled_posts SET lease_until = now() + $3 * interval '1 millisecond' WHERE ${OURS}`,
};
/** `$3` the platform's post ids, `$4` their URLs, `$5` metadata to merge. */
const POSTED: Statement = {
  name: 'publish-posts-posted',
  text: `WITH mine AS (${lockedBatch('processing', [
    { name: 'post_id', type: 'text' },
    { name: 'url', type: 'text' },
    { name: 'metadata', type: 'jsonb' },
  ])})
    UPDATE scheduled_posts p SET status = 'posted', posted_at = now(), platform_post_id = mine.post_id,
      platform_post_url = mine.url, metadata = p.metadata || mine.metadata, error_message = '',
      error_code = NULL, lease_until = NULL, updated_at = now()
    FROM mine WHERE p.id = mine.id
    RETURNING p.id`,
};

/** The statements every publish runs (a test checks how PostgreSQL plans them). */
export const PUBLISH_STATEMENTS: readonly Statement[] = [
  CLAIM,
  TAKE_OVER,
  RECORD,
  RENEW_LEASE,
  POSTED,
];

/**
 * Publishes a post exactly once. The claim is one conditional UPDATE (only one worker can win
 * it); every step is recorded in the post's checkpoint before the platform call that needs it;
 * an answer lost after the platform may have accepted the post is reconciled, never retried
 * blindly; what cannot be known fails with `outcome_unknown` for a person to check. A publish
 * takes part in three statements, named so that they are planned once per connection: the claim
 * (with the post's account and image), the checkpoint before the platform call, and the result.
 * Each is sent for all the publishes that reach it in the same turn of the event loop at once:
 * a burst's fifty publishes cost a few statements, not a hundred and fifty.
 */
@Injectable()
export class PublishPostProcessor {
  private readonly logger = new Logger(PublishPostProcessor.name);
  private readonly claims = this.batched<ClaimRow>(CLAIM, () => [this.config.publishing.leaseMs]);
  private readonly takeOvers = this.batched<ClaimRow>(TAKE_OVER, () => [
    this.config.publishing.leaseMs,
  ]);
  private readonly records = this.batched(RECORD);
  private readonly results = this.batched(POSTED);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PLATFORM) private readonly platforms: Record<PlatformName, Platform>,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    private readonly signer: MediaUrlSigner,
    private readonly accounts: AccountsService,
    private readonly posts: PostsService,
  ) {}

  @OnJob(JobName.PublishPost)
  async publish({
    postId,
    version,
  }: JobPayloads[JobName.PublishPost]): Promise<{ outcome: Outcome }> {
    const claimed = await this.claim(this.claims, postId, version);
    if (!claimed) return { outcome: 'skipped' };
    return { outcome: await this.whileHoldingLease(claimed.post, () => this.attempt(claimed)) };
  }

  /** The sweep found the post in processing past its lease: decide from what was recorded. */
  @OnJob(JobName.ReconcilePost)
  async reconcile({
    postId,
    version,
  }: JobPayloads[JobName.ReconcilePost]): Promise<{ outcome: Outcome }> {
    const claimed = await this.claim(this.takeOvers, postId, version);
    if (!claimed) return { outcome: 'skipped' };
    const { post } = claimed;
    if (Object.keys(post.checkpoint).length === 0)
      return {
        outcome: await this.retryLater(
          post,
          'timeout',
          'The worker stopped before calling the platform.',
          0,
        ),
      };
    const prepared = this.prepare(claimed);
    if ('failure' in prepared)
      return { outcome: await this.fail(post, prepared.failure.code, prepared.failure.message) };
    const { platform, request } = prepared;
    return {
      outcome: await this.whileHoldingLease(post, () =>
        this.settleUnknown(post, platform, request, 'The worker stopped while publishing.'),
      ),
    };
  }

  /**
   * Renews the post's lease while this worker works on it, so the lease can be short (a dead
   * worker's post is reconciled soon) without cutting into a slow but live platform call.
   */
  private async whileHoldingLease(post: Post, work: () => Promise<Outcome>): Promise<Outcome> {
    const { leaseMs } = this.config.publishing;
    const renew = setInterval(
      () => {
        void this.run(RENEW_LEASE, [post.id, post.version, leaseMs]).catch((error: Error) =>
          this.logger.warn(`Could not renew the lease of post ${post.id}: ${error.message}`),
        );
      },
      Math.max(200, Math.floor(leaseMs / 3)),
    );
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ClaimLost)) throw error;
      this.logger.warn(error.message);
      return 'skipped';
    } finally {
      clearInterval(renew);
    }
  }

  /**
   * Through the driver's pool (the one TypeORM uses): TypeORM's query() sends every statement
   * unnamed, so PostgreSQL would plan the claim's CTE again for each post.
   */
  private async run<R extends object = Record<string, unknown>>(
    statement: Statement,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    return pool.query<R>({ name: statement.name, text: statement.text, values });
  }

  /**
   * The publishes running at once send each batched statement together (see StatementBatcher):
   * `$1` the posts' ids, `$2` their versions, then one array per value of `values`, then
   * `constants`. Each post gets its row back, or null when the statement did not touch it.
   */
  private batched<Row extends { id: number }>(
    statement: Statement,
    constants: () => unknown[] = () => [],
  ): StatementBatcher<BatchItem, Row | null> {
    return new StatementBatcher<BatchItem, Row | null>(
      async (items) => {
        const columns = (items[0]?.values ?? []).map((_, index) =>
          items.map((item) => item.values[index]),
        );
        const { rows } = await this.run<Row>(statement, [
          items.map((item) => item.id),
          items.map((item) => item.version),
          ...columns,
          ...constants(),
        ]);
        const byId = new Map(rows.map((row) => [row.id, row]));
        return items.map((item) => byId.get(item.id) ?? null);
      },
      (item) => item.id,
    );
  }

  /** A claim (`this.claims`) or a take-over (`this.takeOvers`) of one post version. */
  private async claim(
    batcher: StatementBatcher<BatchItem, ClaimRow | null>,
    postId: number,
    version: number,
  ): Promise<Claimed | null> {
    const row = await batcher.add({ id: postId, version, values: [] });
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

  /** An UPDATE's count of rows changed. */
  private async update(sql: string, params: unknown[]): Promise<number> {
    const [, affected] = (await this.dataSource.query(sql, params)) as [unknown, number];
    return affected;
  }

  private async attempt(claimed: Claimed): Promise<Outcome> {
    const { post } = claimed;
    const prepared = this.prepare(claimed);
    if ('failure' in prepared)
      return this.fail(post, prepared.failure.code, prepared.failure.message);
    const { platform, request, accountId } = prepared;
    let refreshed = false;
    for (;;) {
      let result: PublishResult;
      try {
        result = await platform.publish(request);
      } catch (error) {
        if (error instanceof ClaimLost) throw error;
        if (!(error instanceof PlatformError)) {
          return this.retryLater(post, 'timeout', (error as Error).message ?? String(error));
        }
        if (error.options.mayHaveBeenAccepted)
          return this.settleUnknown(post, platform, request, error.message);
        if (error.code === 'reconnect_required' && !refreshed) {
          const refresh = await this.refresh(platform, post.userId, accountId, request);
          if (refresh === 'refreshed') {
            // Once, with the new token; whatever follows goes through the same policy.
            refreshed = true;
            continue;
          }
          if (refresh instanceof PlatformError) {
            // The token endpoint failed for a passing reason: the account may be fine.
            return this.retryLater(
              post,
              refresh.code === 'rate_limited' ? 'rate_limited' : 'timeout',
              `Refreshing the ${post.platform} token failed: ${refresh.message}`,
              refresh.options.retryAfterMs,
            );
          }
        }
        return this.failed(post, accountId, error);
      }
      // Outside the try: the platform took the post. Should writing so fail (PostgreSQL gone,
      // a value the column refuses), the error leaves the job with the post still processing
      // and its steps recorded; the lease runs out and the sweep reconciles it, which finds it
      // published. Retrying or failing it from here could post it again.
      return this.posted(post, result);
    }
  }

  /** A platform error that proves nothing was published: retry later, or fail for good. */
  private async failed(post: Post, accountId: number, error: PlatformError): Promise<Outcome> {
    switch (error.code) {
      case 'reconnect_required':
        await this.dataSource.query(
          `UPDATE social_accounts SET status = 'reconnect_required', updated_at = now() WHERE id = $1`,
          [accountId],
        );
        return this.fail(
          post,
          'reconnect_required',
          `The ${post.platform} account must be reconnected: ${error.message}`,
        );
      case 'rate_limited':
        return this.retryLater(post, 'rate_limited', error.message, error.options.retryAfterMs);
      case 'transient':
      case 'timeout':
        return this.retryLater(post, 'timeout', error.message);
      default:
        return this.fail(post, error.code, error.message);
    }
  }

  /** Everything a platform call needs, or why there is nothing to call with. */
  private prepare(
    claimed: Claimed,
  ):
    | { platform: Platform; request: PublishRequest; accountId: number }
    | { failure: { code: PostErrorCode; message: string } } {
    const { post, account, renditionKey } = claimed;
    if (post.accountId === null)
      return {
        failure: { code: 'account_missing', message: 'The account of this post was disconnected.' },
      };
    if (!account || account.status === 'disabled')
      return {
        failure: {
          code: 'account_missing',
          message: 'The account of this post is disconnected or disabled.',
        },
      };
    if (account.status === 'reconnect_required')
      return {
        failure: {
          code: 'reconnect_required',
          message: `The ${post.platform} account must be reconnected.`,
        },
      };
    if (!renditionKey)
      return {
        failure: { code: 'image_unavailable', message: 'The image of this post no longer exists.' },
      };
    const tokens = this.accounts.open(account);
    const checkpoint: Checkpoint = { ...(post.checkpoint as Checkpoint) };
    const request: PublishRequest = {
      account: {
        accountId: tokens.platformAccountId,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
      },
      text: composeText(post.caption, post.hashtags),
      imageUrl: this.signer.sign(renditionKey, this.config.publishing.mediaUrlTtlSeconds),
      imageBytes: async () => {
        const file = await this.storage.read(renditionKey);
        if (!file) throw new PlatformError('media_unreachable', 'The image file is missing.');
        return file.bytes ?? buffer(file.stream());
      },
      checkpoint,
      record: async (step) => {
        Object.assign(checkpoint, step);
        const recorded = await this.records.add({
          id: post.id,
          version: post.version,
          values: [JSON.stringify(step)],
        });
        if (!recorded) throw new ClaimLost(post.id);
      },
      signal: AbortSignal.timeout(this.config.publishing.requestTimeoutMs),
    };
    return { platform: this.platforms[post.platform], request, accountId: account.id };
  }

  /**
   * The platform may have published: ask it, from what was recorded. If asking fails for a
   * passing reason, the post stays in processing: its lease runs out and the sweep asks again,
   * a few times, before giving up with outcome_unknown.
   */
  private async settleUnknown(
    post: Post,
    platform: Platform,
    request: PublishRequest,
    why: string,
  ): Promise<Outcome> {
    let reconciliation: Reconciliation;
    try {
      reconciliation = await platform.reconcile({
        ...request,
        signal: AbortSignal.timeout(this.config.publishing.requestTimeoutMs),
      });
    } catch (error) {
      if (error instanceof ClaimLost) throw error;
      const tries = Number(post.metadata.reconcile_attempts ?? 0) + 1;
      const passing =
        error instanceof PlatformError &&
        ['rate_limited', 'transient', 'timeout'].includes(error.code);
      if (passing && tries < RECONCILE_TRIES) {
        await this.dataSource.query(
          `UPDATE scheduled_posts SET metadata = metadata || $3::jsonb, updated_at = now() WHERE ${OURS}`,
          [
            post.id,
            post.version,
            JSON.stringify({ reconcile_attempts: tries, last_error: (error as Error).message }),
          ],
        );
        return 'retrying';
      }
      return this.fail(
        post,
        'outcome_unknown',
        `${why} Reconciling failed too (${(error as Error).message}); check the account before publishing again.`,
      );
    }
    if (reconciliation.outcome === 'published') return this.posted(post, reconciliation.result);
    if (reconciliation.outcome === 'not_published') return this.retryLater(post, 'timeout', why, 0);
    return this.fail(
      post,
      'outcome_unknown',
      `${why} The platform cannot tell whether it was published (${reconciliation.reason}); check the account before publishing again.`,
    );
  }

  /**
   * New tokens from the platform's OAuth client, stored sealed and put into `request`:
   * 'refreshed'; 'impossible' without a refresh token or client, or when the platform refused
   * the refresh token (the account must be reconnected); or the error when the token endpoint
   * failed for a passing reason (time-out, 5xx, rate limit), which says nothing of the account.
   */
  private async refresh(
    platform: Platform,
    userId: number,
    accountId: number,
    request: PublishRequest,
  ): Promise<'refreshed' | 'impossible' | PlatformError> {
    if (!platform.refreshTokens || !request.account.refreshToken) return 'impossible';
    try {
      const tokens = await platform.refreshTokens(request.account, request.signal);
      await this.accounts.update(userId, accountId, {
        access_token: tokens.accessToken,
        ...(tokens.refreshToken ? { refresh_token: tokens.refreshToken } : {}),
        ...(tokens.expiresAt ? { expires_at: tokens.expiresAt.toISOString() } : {}),
      });
      request.account = {
        ...request.account,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken ?? request.account.refreshToken,
      };
      return 'refreshed';
    } catch (error) {
      this.logger.warn(
        `Refreshing the tokens of account ${accountId} failed: ${(error as Error).message}`,
      );
      return error instanceof PlatformError &&
        ['rate_limited', 'transient', 'timeout'].includes(error.code)
        ? error
        : 'impossible';
    }
  }

  private async posted(post: Post, result: PublishResult): Promise<Outcome> {
    const recorded = await this.results.add({
      id: post.id,
      version: post.version,
      values: [result.platformPostId, result.platformPostUrl, JSON.stringify(result.metadata)],
    });
    if (!recorded) {
      // The platform took it, but the post had passed to another worker meanwhile: say so loudly,
      // with what a person needs to find it on the platform.
      this.logger.error(
        `Post ${post.id} was published as ${result.platformPostId} after its claim passed to another worker`,
      );
      return 'skipped';
    }
    return 'posted';
  }

  private async fail(post: Post, code: PostErrorCode, message: string): Promise<Outcome> {
    this.logger.warn(`Post ${post.id} failed (${code}): ${message}`);
    await this.dataSource.query(
      `UPDATE scheduled_posts SET status = 'failed', error_code = $3, error_message = $4,
         lease_until = NULL, updated_at = now()
       WHERE ${OURS}`,
      [post.id, post.version, code, message.slice(0, 2000)],
    );
    return 'failed';
  }

  /**
   * Not published, safe to try again: back to scheduled as a new version, with a delayed job
   * (the platform's reset for rate limits, else a doubling backoff). Past the tries, failed.
   */
  private async retryLater(
    post: Post,
    code: PostErrorCode,
    message: string,
    delayMs?: number,
  ): Promise<Outcome> {
    if (post.attempts >= this.config.publishing.attempts) return this.fail(post, code, message);
    const wait = delayMs ?? this.config.publishing.backoffMs * 2 ** Math.max(0, post.attempts - 1);
    const version = post.version + 1;
    const affected = await this.update(
      `UPDATE scheduled_posts SET status = 'scheduled', version = $3, lease_until = NULL,
         metadata = metadata || $4::jsonb, updated_at = now()
       WHERE ${OURS}`,
      [
        post.id,
        post.version,
        version,
        JSON.stringify({ last_error: message, last_error_code: code }),
      ],
    );
    if (!affected) return 'skipped';
    const now = new Date();
    await this.posts.enqueue(
      { id: post.id, version, scheduledTime: new Date(now.getTime() + wait) },
      now,
    );
    return 'retrying';
  }
}
