import { readFile } from 'node:fs/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/common';
import {
  GeneratedImage,
  type JsonObject,
  type PostErrorCode,
  ScheduledPost,
  SocialAccount,
} from '@app/database';
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

type Outcome = 'posted' | 'failed' | 'retrying' | 'skipped';

/** Reconcile attempts (immediate, then one per lease) before a post is given up as outcome_unknown. */
const RECONCILE_TRIES = 4;

/**
 * Publishes a post exactly once. The claim is one conditional UPDATE (only one worker can win
 * it); every step is recorded in the post's checkpoint before the platform call that needs it;
 * an answer lost after the platform may have accepted the post is reconciled, never retried
 * blindly; what cannot be known fails with `outcome_unknown` for a person to check.
 */
@Injectable()
export class PublishPostProcessor {
  private readonly logger = new Logger(PublishPostProcessor.name);

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
    const post = await this.claim(postId, version);
    if (!post) return { outcome: 'skipped' };
    return { outcome: await this.whileHoldingLease(post, () => this.attempt(post)) };
  }

  /** The sweep found the post in processing past its lease: decide from what was recorded. */
  @OnJob(JobName.ReconcilePost)
  async reconcile({
    postId,
    version,
  }: JobPayloads[JobName.ReconcilePost]): Promise<{ outcome: Outcome }> {
    const leaseUntil = new Date(Date.now() + this.config.publishing.leaseMs);
    const result = await this.dataSource
      .createQueryBuilder()
      .update(ScheduledPost)
      .set({ leaseUntil })
      .where(
        `id = :postId AND version = :version AND status = 'processing' AND lease_until < now()`,
        { postId, version },
      )
      .execute();
    if (!result.affected) return { outcome: 'skipped' };
    const post = await this.dataSource.getRepository(ScheduledPost).findOneByOrFail({ id: postId });
    if (Object.keys(post.checkpoint).length === 0)
      return {
        outcome: await this.retryLater(
          post,
          'timeout',
          'The worker stopped before calling the platform.',
          0,
        ),
      };
    const prepared = await this.prepare(post);
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
  private async whileHoldingLease<T>(post: ScheduledPost, work: () => Promise<T>): Promise<T> {
    const { leaseMs } = this.config.publishing;
    const renew = setInterval(
      () => {
        void this.dataSource
          .query(
            `UPDATE scheduled_posts SET lease_until = now() + $1 * interval '1 millisecond'
           WHERE id = $2 AND version = $3 AND status = 'processing'`,
            [leaseMs, post.id, post.version],
          )
          .catch((error: Error) =>
            this.logger.warn(`Could not renew the lease of post ${post.id}: ${error.message}`),
          );
      },
      Math.max(200, Math.floor(leaseMs / 3)),
    );
    try {
      return await work();
    } finally {
      clearInterval(renew);
    }
  }

  private async claim(postId: number, version: number): Promise<ScheduledPost | null> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(ScheduledPost)
      .set({
        status: 'processing',
        attempts: () => 'attempts + 1',
        leaseUntil: new Date(Date.now() + this.config.publishing.leaseMs),
      })
      .where(`id = :postId AND version = :version AND status = 'scheduled'`, { postId, version })
      .execute();
    return result.affected
      ? this.dataSource.getRepository(ScheduledPost).findOneBy({ id: postId })
      : null;
  }

  private async attempt(post: ScheduledPost): Promise<Outcome> {
    const prepared = await this.prepare(post);
    if ('failure' in prepared)
      return this.fail(post, prepared.failure.code, prepared.failure.message);
    const { platform, request, accountId } = prepared;
    try {
      return await this.posted(post, await platform.publish(request));
    } catch (error) {
      if (!(error instanceof PlatformError)) {
        return this.retryLater(post, 'timeout', (error as Error).message ?? String(error));
      }
      if (error.options.mayHaveBeenAccepted)
        return this.settleUnknown(post, platform, request, error.message);
      switch (error.code) {
        case 'reconnect_required':
          if (await this.refreshed(platform, post.userId, accountId, request)) {
            try {
              return await this.posted(post, await platform.publish(request));
            } catch (retryError) {
              if (retryError instanceof PlatformError && retryError.options.mayHaveBeenAccepted) {
                return this.settleUnknown(post, platform, request, retryError.message);
              }
              if (
                !(retryError instanceof PlatformError) ||
                retryError.code !== 'reconnect_required'
              )
                throw retryError;
            }
          }
          await this.dataSource
            .getRepository(SocialAccount)
            .update({ id: accountId }, { status: 'reconnect_required' });
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
  }

  /** Everything a platform call needs, or why there is nothing to call with. */
  private async prepare(
    post: ScheduledPost,
  ): Promise<
    | { platform: Platform; request: PublishRequest; accountId: number }
    | { failure: { code: PostErrorCode; message: string } }
  > {
    if (post.accountId === null)
      return {
        failure: { code: 'account_missing', message: 'The account of this post was disconnected.' },
      };
    const account = await this.dataSource
      .getRepository(SocialAccount)
      .findOneBy({ id: post.accountId });
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
    const image = post.imageId
      ? await this.dataSource.getRepository(GeneratedImage).findOneBy({ id: post.imageId })
      : null;
    const renditionKey = image?.renditionKey;
    if (!renditionKey)
      return {
        failure: { code: 'image_unavailable', message: 'The image of this post no longer exists.' },
      };
    const tokens = await this.accounts.tokens(account.id);
    const checkpoint: Checkpoint = { ...(post.checkpoint as Checkpoint) };
    const request: PublishRequest = {
      account: {
        accountId: account.accountId,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
      },
      text: composeText(post.caption, post.hashtags),
      imageUrl: this.signer.sign(renditionKey, this.config.publishing.mediaUrlTtlSeconds),
      imageBytes: async () => {
        const file = await this.storage.locate(renditionKey);
        if (!file) throw new PlatformError('media_unreachable', 'The image file is missing.');
        return readFile(file);
      },
      checkpoint,
      record: async (step) => {
        Object.assign(checkpoint, step);
        await this.dataSource.query(
          `UPDATE scheduled_posts SET checkpoint = checkpoint || $1::jsonb, updated_at = now() WHERE id = $2 AND version = $3 AND status = 'processing'`,
          [JSON.stringify(step), post.id, post.version],
        );
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
    post: ScheduledPost,
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
      const tries = Number(post.metadata.reconcile_attempts ?? 0) + 1;
      const passing =
        error instanceof PlatformError &&
        ['rate_limited', 'transient', 'timeout'].includes(error.code);
      if (passing && tries < RECONCILE_TRIES) {
        await this.dataSource.getRepository(ScheduledPost).update(
          { id: post.id, version: post.version, status: 'processing' },
          {
            metadata: {
              ...post.metadata,
              reconcile_attempts: tries,
              last_error: (error as Error).message,
            },
          },
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

  private async refreshed(
    platform: Platform,
    userId: number,
    accountId: number,
    request: PublishRequest,
  ): Promise<boolean> {
    if (!platform.refreshTokens || !request.account.refreshToken) return false;
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
      return true;
    } catch (error) {
      this.logger.warn(
        `Refreshing the tokens of account ${accountId} failed: ${(error as Error).message}`,
      );
      return false;
    }
  }

  private async posted(post: ScheduledPost, result: PublishResult): Promise<Outcome> {
    const metadata: JsonObject = { ...post.metadata, ...result.metadata };
    await this.dataSource.getRepository(ScheduledPost).update(
      { id: post.id, version: post.version, status: 'processing' },
      {
        status: 'posted',
        postedAt: new Date(),
        platformPostId: result.platformPostId,
        platformPostUrl: result.platformPostUrl,
        metadata,
        errorMessage: '',
        errorCode: null,
        leaseUntil: null,
      },
    );
    return 'posted';
  }

  private async fail(post: ScheduledPost, code: PostErrorCode, message: string): Promise<Outcome> {
    this.logger.warn(`Post ${post.id} failed (${code}): ${message}`);
    await this.dataSource.getRepository(ScheduledPost).update(
      { id: post.id, version: post.version, status: 'processing' },
      {
        status: 'failed',
        errorCode: code,
        errorMessage: message.slice(0, 2000),
        leaseUntil: null,
      },
    );
    return 'failed';
  }

  /**
   * Not published, safe to try again: back to scheduled as a new version, with a delayed job
   * (the platform's reset for rate limits, else a doubling backoff). Past the tries, failed.
   */
  private async retryLater(
    post: ScheduledPost,
    code: PostErrorCode,
    message: string,
    delayMs?: number,
  ): Promise<Outcome> {
    if (post.attempts >= this.config.publishing.attempts) return this.fail(post, code, message);
    const wait = delayMs ?? this.config.publishing.backoffMs * 2 ** Math.max(0, post.attempts - 1);
    const version = post.version + 1;
    const updated = await this.dataSource.getRepository(ScheduledPost).update(
      { id: post.id, version: post.version, status: 'processing' },
      {
        status: 'scheduled',
        version,
        leaseUntil: null,
        metadata: { ...post.metadata, last_error: message, last_error_code: code },
      },
    );
    if (!updated.affected) return 'skipped';
    const now = new Date();
    await this.posts.enqueue(
      { id: post.id, version, scheduledTime: new Date(now.getTime() + wait) },
      now,
    );
    return 'retrying';
  }
}
