import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/common';
import {
  type ClaimedPost,
  type PostErrorCode,
  type PublishingPost,
  ScheduledPostQueries,
  SocialAccountQueries,
} from '@app/database';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { AccountsService } from './accounts.service.js';
import {
  afterPassingRefreshError,
  afterPublishError,
  accountGone,
  afterReconcile,
  afterRefusal,
  type Decision,
  isPassing,
  retryDelayMs,
  unpublishable,
} from './publish-decision.js';
import { ClaimLost, PublishRequests } from './publish-request.js';
import {
  PLATFORM,
  type Platform,
  PlatformError,
  type PlatformName,
  type PublishRequest,
  type PublishResult,
  type Reconciliation,
} from './platforms/platform.js';
import { PostEvents } from './post-events.js';
import { PostsService } from './posts.service.js';

type Outcome = 'posted' | 'failed' | 'retrying' | 'skipped';

/**
 * Publishes a post exactly once. The claim is one conditional UPDATE (only one worker can win
 * it); every step is recorded in the post's checkpoint before the platform call that needs it;
 * an answer lost after the platform may have accepted the post is reconciled, never retried
 * blindly; what cannot be known fails with `outcome_unknown` for a person to check. Which of these
 * follows each answer is `publish-decision.ts`; the statements, batched across the publishes
 * running at once, are `ScheduledPostQueries`'.
 */
@Injectable()
export class PublishPostProcessor {
  private readonly logger = new Logger(PublishPostProcessor.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PLATFORM) private readonly platforms: Record<PlatformName, Platform>,
    private readonly requests: PublishRequests,
    private readonly accounts: AccountsService,
    private readonly accountRows: SocialAccountQueries,
    private readonly rows: ScheduledPostQueries,
    private readonly posts: PostsService,
    private readonly events: PostEvents,
  ) {}

  @OnJob(JobName.PublishPost)
  async publish({
    postId,
    version,
  }: JobPayloads[JobName.PublishPost]): Promise<{ outcome: Outcome }> {
    const claimed = await this.rows.claim({ id: postId, version }, this.config.publishing.leaseMs);
    if (!claimed) return { outcome: 'skipped' };
    return { outcome: await this.whileHoldingLease(claimed.post, () => this.attempt(claimed)) };
  }

  /** The sweep found the post in processing past its lease: decide from what was recorded. */
  @OnJob(JobName.ReconcilePost)
  async reconcile({
    postId,
    version,
  }: JobPayloads[JobName.ReconcilePost]): Promise<{ outcome: Outcome }> {
    const claimed = await this.rows.takeOver(
      { id: postId, version },
      this.config.publishing.leaseMs,
    );
    if (!claimed) return { outcome: 'skipped' };
    const { post } = claimed;
    if (Object.keys(post.checkpoint).length === 0)
      return {
        outcome: await this.retryLater(post, {
          action: 'retry',
          code: 'timeout',
          message: 'The worker stopped before calling the platform.',
          delayMs: 0,
        }),
      };
    const failure = unpublishable(claimed);
    if (failure) return { outcome: await this.fail(post, failure.code, failure.message) };
    const request = await this.requests.build(claimed);
    return {
      outcome: await this.whileHoldingLease(post, () =>
        this.settleUnknown(post, request, 'The worker stopped while publishing.'),
      ),
    };
  }

  /**
   * Renews the post's lease while this worker works on it, so the lease can be short (a dead
   * worker's post is reconciled soon) without cutting into a slow but live platform call.
   */
  private async whileHoldingLease(
    post: PublishingPost,
    work: () => Promise<Outcome>,
  ): Promise<Outcome> {
    const { leaseMs } = this.config.publishing;
    const renew = setInterval(
      () => {
        void this.rows
          .renewLease(post, leaseMs)
          .catch((error: Error) =>
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

  private async attempt(claimed: ClaimedPost): Promise<Outcome> {
    const { post } = claimed;
    const failure = unpublishable(claimed);
    if (failure) return this.fail(post, failure.code, failure.message);
    const request = await this.requests.build(claimed);
    const platform = this.platforms[post.platform];
    let refreshed = false;
    for (;;) {
      let result: PublishResult;
      try {
        result = await platform.publish(request);
      } catch (error) {
        if (error instanceof ClaimLost) throw error;
        let decision = afterPublishError(error, post.platform, !refreshed);
        if (decision.action === 'refresh') {
          const refresh = await this.refresh(platform, post, request);
          if (refresh === 'refreshed') {
            // Once, with the new token; whatever follows goes through the same policy.
            refreshed = true;
            continue;
          }
          decision =
            refresh === 'gone'
              ? accountGone
              : refresh === 'impossible'
                ? afterRefusal(error as PlatformError, post.platform)
                : afterPassingRefreshError(refresh, post.platform);
        }
        return this.carryOut(post, decision, request);
      }
      // Outside the try: the platform took the post. Should writing so fail (PostgreSQL gone,
      // a value the column refuses), the error leaves the job with the post still processing
      // and its steps recorded; the lease runs out and the sweep reconciles it, which finds it
      // published. Retrying or failing it from here could post it again.
      return this.posted(post, result);
    }
  }

  private async carryOut(
    post: PublishingPost,
    decision: Decision,
    request: PublishRequest,
  ): Promise<Outcome> {
    switch (decision.action) {
      case 'settle':
        return this.settleUnknown(post, request, decision.why);
      case 'retry':
        return this.retryLater(post, decision);
      case 'fail':
        return this.fail(post, decision.code, decision.message, decision.reconnect);
      case 'refresh':
        throw new Error('A refresh is decided and carried out by attempt()');
    }
  }

  /**
   * The platform may have published: ask it, from what was recorded. If asking fails for a
   * passing reason, the post stays in processing: its lease runs out and the sweep asks again,
   * a few times, before giving up with outcome_unknown.
   */
  private async settleUnknown(
    post: PublishingPost,
    request: PublishRequest,
    why: string,
  ): Promise<Outcome> {
    let answer: { reconciliation: Reconciliation } | { error: unknown };
    try {
      answer = {
        reconciliation: await this.platforms[post.platform].reconcile({
          ...request,
          signal: this.requests.signal(),
        }),
      };
    } catch (error) {
      if (error instanceof ClaimLost) throw error;
      answer = { error };
    }
    const tries = Number(post.metadata.reconcile_attempts ?? 0) + 1;
    const decision = afterReconcile(answer, why, tries);
    switch (decision.action) {
      case 'posted':
        return this.posted(
          post,
          (answer as { reconciliation: { result: PublishResult } }).reconciliation.result,
        );
      case 'wait':
        await this.rows.noteInMetadata(post, {
          reconcile_attempts: tries,
          last_error: ((answer as { error: Error }).error as Error).message,
        });
        return 'retrying';
      default:
        return this.carryOut(post, decision, request);
    }
  }

  /**
   * New tokens from the platform's OAuth client, stored sealed and put into `request`:
   * 'refreshed' (by this worker, or by another that held the account's lock first); 'impossible'
   * without a refresh token or client, or when the platform refused the refresh token (the
   * account must be reconnected); 'gone' when the owner disabled or disconnected the account
   * meanwhile; or the error when the token endpoint failed for a passing reason (time-out, 5xx,
   * rate limit), which says nothing of the account.
   */
  private async refresh(
    platform: Platform,
    post: PublishingPost,
    request: PublishRequest,
  ): Promise<'refreshed' | 'impossible' | 'gone' | PlatformError> {
    if (!platform.refreshTokens || !request.account.refreshToken) return 'impossible';
    const accountId = post.accountId!;
    try {
      const tokens = await this.accounts.refreshLocked(
        accountId,
        request.account.accessToken,
        (current) =>
          platform.refreshTokens!(
            {
              ...request.account,
              accessToken: current.accessToken,
              refreshToken: current.refreshToken,
            },
            request.signal,
          ),
      );
      if (tokens === 'gone') return 'gone';
      request.account = {
        ...request.account,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
      };
      return 'refreshed';
    } catch (error) {
      this.logger.warn(
        `Refreshing the tokens of account ${accountId} failed: ${(error as Error).message}`,
      );
      return isPassing(error) ? error : 'impossible';
    }
  }

  private async posted(post: PublishingPost, result: PublishResult): Promise<Outcome> {
    // The event is written in the batch's transaction, with the post as it now is.
    const recorded = await this.rows.markPosted(post, result, (manager) =>
      this.events.post(manager, 'post.published', post.userId, post.id),
    );
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

  /**
   * Failed (with `reconnect`, its account marked for reconnection too), and the events of both
   * in the same transaction: the owner hears of each change once it is committed, never before.
   */
  private async fail(
    post: PublishingPost,
    code: PostErrorCode,
    message: string,
    reconnect = false,
  ): Promise<Outcome> {
    this.logger.warn(`Post ${post.id} failed (${code}): ${message}`);
    await this.dataSource.transaction(async (manager) => {
      if (reconnect && (await this.accountRows.markReconnectRequired(post.accountId!, manager)))
        await this.events.accountReconnectRequired(manager, post.userId, post.accountId!);
      if (await this.rows.markFailed(post, code, message, manager))
        await this.events.post(manager, 'post.failed', post.userId, post.id);
    });
    return 'failed';
  }

  /**
   * Not published, safe to try again: back to scheduled as a new version, with a delayed job
   * (the platform's reset for rate limits, else a doubling backoff). Past the tries, failed.
   */
  private async retryLater(
    post: PublishingPost,
    retry: Extract<Decision, { action: 'retry' }>,
  ): Promise<Outcome> {
    const wait = retryDelayMs(post.attempts, this.config.publishing, retry.delayMs);
    if (wait === null) return this.fail(post, retry.code, retry.message);
    const rearmed = await this.rows.rearmForRetry(post, {
      last_error: retry.message,
      last_error_code: retry.code,
    });
    if (!rearmed) return 'skipped';
    const now = new Date();
    await this.posts.enqueue(
      { id: post.id, version: post.version + 1, scheduledTime: new Date(now.getTime() + wait) },
      now,
    );
    return 'retrying';
  }
}
