import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { SocialPlatform } from '../social-account/social-account.entity.js';
import { PostAnalytics } from './post-analytics.entity.js';

/** The latest metrics of a post, as its platform reported them. */
export type PostMetricsValues = Pick<
  PostAnalytics,
  'likes' | 'comments' | 'shares' | 'views' | 'reach' | 'impressions' | 'engagementRate'
>;

@Injectable()
export class PostAnalyticsQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The post's analytics row, created empty (never synced) when it has none yet. */
  async findOrCreate(postId: number, platform: SocialPlatform): Promise<PostAnalytics> {
    const analytics = this.dataSource.getRepository(PostAnalytics);
    const existing = await analytics.findOneBy({ scheduledPostId: postId });
    if (existing) return existing;
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(PostAnalytics)
      .values({ scheduledPostId: postId, platform })
      .orIgnore()
      .execute();
    return analytics.findOneByOrFail({ scheduledPostId: postId });
  }

  /** The post's metrics as just synced: inserted, or replacing the previous ones. */
  async saveSynced(
    postId: number,
    platform: SocialPlatform,
    metrics: PostMetricsValues,
    syncedAt: Date,
  ): Promise<void> {
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(PostAnalytics)
      .values({ scheduledPostId: postId, platform, ...metrics, lastSyncedAt: syncedAt })
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
  }
}
