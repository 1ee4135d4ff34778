import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { PostAnalytics, ScheduledPost } from '@app/database';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { AccountsService } from './accounts.service.js';
import {
  PLATFORM,
  type Platform,
  type PlatformName,
  type PostMetrics,
} from './platforms/platform.js';

/** (likes + comments + shares) / the largest of impressions, views, reach × 100; 0 without any. */
export function engagementRate(metrics: PostMetrics): number {
  const base = Math.max(metrics.impressions, metrics.views, metrics.reach);
  return base > 0
    ? Math.round(((metrics.likes + metrics.comments + metrics.shares) / base) * 10_000) / 100
    : 0;
}

/** Fetches a posted post's metrics from its platform and keeps the latest. */
@Injectable()
export class SyncAnalyticsProcessor {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PLATFORM) private readonly platforms: Record<PlatformName, Platform>,
    private readonly accounts: AccountsService,
  ) {}

  @OnJob(JobName.SyncPostAnalytics)
  async run({ postId }: JobPayloads[JobName.SyncPostAnalytics]): Promise<{ synced: boolean }> {
    const post = await this.dataSource
      .getRepository(ScheduledPost)
      .findOneBy({ id: postId, status: 'posted' });
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
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(PostAnalytics)
      .values({
        scheduledPostId: post.id,
        platform: post.platform,
        ...metrics,
        engagementRate: engagementRate(metrics),
        lastSyncedAt: new Date(),
      })
      .orUpdate(
        [
          'likes',
          'comments',
          'shares',
          'views',
          'reach',
          'impressions',
          'engagement_rate',
          'last_synced_at',
        ],
        ['scheduled_post_id'],
      )
      .execute();
    return { synced: true };
  }
}
