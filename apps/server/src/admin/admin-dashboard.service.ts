import { getQueueToken } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import {
  AdminDashboardQueries,
  type FailedImageRow,
  type FailedPostRow,
  POST_STATUSES,
  type PostStatus,
  ScheduledPostQueries,
  SocialAccountQueries,
} from '@app/database';
import { QueueName } from '../jobs/job.types.js';

const LATEST_FAILURES = 10;

export type { FailedImageRow, FailedPostRow };

/**
 * The admin dashboard: api.md's image and post statistics, summed over every user, the queues'
 * job counts and the latest failures. Image counts read the trigger-kept per-user counters
 * (one row per user); post counts are one grouped scan of scheduled_posts.
 */
@Injectable()
export class AdminDashboard {
  constructor(
    private readonly dashboard: AdminDashboardQueries,
    private readonly posts: ScheduledPostQueries,
    private readonly accounts: SocialAccountQueries,
    private readonly moduleRef: ModuleRef,
  ) {}

  async snapshot(now = new Date()) {
    const [images, posts, users, queues, failedPosts, failedImages] = await Promise.all([
      this.imageStatistics(),
      this.postStatistics(now),
      this.userCounts(),
      this.queueCounts(),
      this.dashboard.latestFailedPosts(LATEST_FAILURES),
      this.dashboard.latestFailedImages(LATEST_FAILURES),
    ]);
    return {
      images,
      posts,
      users,
      queues,
      latest_failures: { posts: failedPosts, images: failedImages },
      generated_at: now.toISOString(),
    };
  }

  private async imageStatistics() {
    const row = await this.dashboard.imageTotals();
    return {
      total_images: row.total,
      pending_images: row.pending,
      generating_images: row.generating,
      generated_images: row.generated,
      validated_images: row.validated,
      rejected_images: row.rejected,
      failed_images: row.failed,
      average_generation_time: row.timed ? round(row.time / row.timed) : 0,
      total_generation_time: round(row.time),
    };
  }

  private async postStatistics(now: Date) {
    const counts = await this.posts.counts(null, now);
    const count = (status: PostStatus) => counts.byStatus[status];
    return {
      total_scheduled: count('scheduled') + count('processing'),
      total_posted: count('posted'),
      total_failed: count('failed'),
      total_cancelled: count('cancelled'),
      upcoming_posts: counts.upcoming,
      posts_by_status: Object.fromEntries(POST_STATUSES.map((status) => [status, count(status)])),
      posts_by_platform: counts.byPlatform,
      average_engagement_rate: round(counts.averageEngagementRate),
    };
  }

  private async userCounts() {
    const [users, accounts] = await Promise.all([
      this.dashboard.userCounts(),
      this.accounts.countByStatus(),
    ]);
    return {
      total_users: users.total,
      active_users: users.active,
      staff_users: users.staff,
      accounts_by_status: accounts,
    };
  }

  /** Per queue: waiting, active, delayed, failed (what the queue board shows in detail). */
  private async queueCounts() {
    const entries = await Promise.all(
      Object.values(QueueName).map(async (name) => {
        const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
        const counts = await queue.getJobCounts();
        return [
          name,
          {
            waiting: counts.waiting,
            active: counts.active,
            delayed: counts.delayed,
            failed: counts.failed,
          },
        ] as const;
      }),
    );
    return Object.fromEntries(entries);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
