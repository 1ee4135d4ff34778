import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { PostAnalyticsQueries, ScheduledPostQueries } from '@app/database';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { AccountsService } from './accounts.service.js';
import {
  PLATFORM,
  type Platform,
  type PlatformName,
  type PostMetrics,
} from './platforms/platform.js';

/**
 * One id per post, without a time: a click and the hourly sweep share the pending sync, so no
 * amount of clicking queues more than one (JobQueue.enqueuePending frees the id once it ran).
 */
export function syncAnalyticsJobId(postId: number): string {
  return `sync-analytics:${postId}`;
}

/** (likes + comments + shares) / the largest of impressions, views, reach × 100; 0 without any. */
export function engagementRate(metrics: PostMetrics): number {
  const base = Math.max(metrics.impressions, metrics.views, metrics.reach);
  return base > 0
    ? Math.round(((metrics.likes + metrics.comments + metrics.shares) / base) * 10_000) / 100
    : 0;
}

/**
 * Fetches a posted post's metrics from its platform: keeps them as a snapshot and as the latest,
 * the analytics rollups following in the same statement's transaction.
 */
@Injectable()
export class SyncAnalyticsProcessor {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PLATFORM) private readonly platforms: Record<PlatformName, Platform>,
    private readonly accounts: AccountsService,
    private readonly posts: ScheduledPostQueries,
    private readonly analytics: PostAnalyticsQueries,
  ) {}

  @OnJob(JobName.SyncPostAnalytics)
  async run({ postId }: JobPayloads[JobName.SyncPostAnalytics]): Promise<{ synced: boolean }> {
    const post = await this.posts.findPosted(postId);
    if (!post?.platformPostId || post.accountId === null) return { synced: false };
    const account = await this.accounts.tokens(post.accountId);
    const metrics = await this.platforms[post.platform].metrics(
      {
        accountId: account.platformAccountId,
        accessToken: account.accessToken,
        refreshToken: account.refreshToken,
      },
      post.platformPostId,
      AbortSignal.timeout(this.config.publishing.requestTimeoutMs),
    );
    await this.analytics.recordSync(
      post.id,
      post.platform,
      { ...metrics, engagementRate: engagementRate(metrics) },
      new Date(),
    );
    return { synced: true };
  }
}
