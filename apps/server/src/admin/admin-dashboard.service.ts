import { getQueueToken } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { POST_STATUSES } from '@app/database';
import { QueueName } from '../jobs/job.types.js';

const LATEST_FAILURES = 10;

export interface FailedPostRow {
  id: number;
  username: string;
  platform: string;
  error_code: string | null;
  error_message: string;
  updated_at: Date;
}

export interface FailedImageRow {
  id: number;
  username: string;
  prompt: string;
  error_message: string;
  updated_at: Date;
}

/**
 * The admin dashboard: api.md's image and post statistics, summed over every user, the queues'
 * job counts and the latest failures. Image counts read the trigger-kept per-user counters
 * (one row per user); post counts are one grouped scan of scheduled_posts.
 */
@Injectable()
export class AdminDashboard {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly moduleRef: ModuleRef,
  ) {}

  async snapshot(now = new Date()) {
    const [images, posts, users, queues, failedPosts, failedImages] = await Promise.all([
      this.imageStatistics(),
      this.postStatistics(now),
      this.userCounts(),
      this.queueCounts(),
      this.dataSource.query<FailedPostRow[]>(
        `SELECT p.id, u.username, p.platform, p.error_code, left(p.error_message, 300) AS error_message, p.updated_at
           FROM scheduled_posts p JOIN users u ON u.id = p.user_id
          WHERE p.status = 'failed' ORDER BY p.updated_at DESC, p.id DESC LIMIT $1`,
        [LATEST_FAILURES],
      ),
      this.dataSource.query<FailedImageRow[]>(
        `SELECT i.id, u.username, left(i.prompt, 120) AS prompt, left(i.error_message, 300) AS error_message, i.updated_at
           FROM generated_images i JOIN users u ON u.id = i.user_id
          WHERE i.status = 'failed' ORDER BY i.updated_at DESC, i.id DESC LIMIT $1`,
        [LATEST_FAILURES],
      ),
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
    const [row] = await this.dataSource.query<Record<string, number>[]>(
      `SELECT coalesce(sum(total), 0)::int AS total, coalesce(sum(pending), 0)::int AS pending,
              coalesce(sum(generating), 0)::int AS generating, coalesce(sum(generated), 0)::int AS generated,
              coalesce(sum(validated), 0)::int AS validated, coalesce(sum(rejected), 0)::int AS rejected,
              coalesce(sum(failed), 0)::int AS failed,
              coalesce(sum(total_generation_time), 0)::float AS time, coalesce(sum(timed_count), 0)::int AS timed
         FROM user_image_stats`,
    );
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
    const [byStatus, byPlatform, [upcoming], [engagement]] = await Promise.all([
      this.dataSource.query<{ status: string; n: number }[]>(
        'SELECT status, count(*)::int AS n FROM scheduled_posts GROUP BY status',
      ),
      this.dataSource.query<{ platform: string; n: number }[]>(
        'SELECT platform, count(*)::int AS n FROM scheduled_posts GROUP BY platform ORDER BY platform',
      ),
      this.dataSource.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM scheduled_posts WHERE status = 'scheduled' AND scheduled_time > $1`,
        [now],
      ),
      this.dataSource.query<{ rate: number }[]>(
        `SELECT coalesce(avg(engagement_rate), 0)::float AS rate FROM post_analytics WHERE last_synced_at IS NOT NULL`,
      ),
    ]);
    const count = (status: string) => byStatus.find((row) => row.status === status)?.n ?? 0;
    return {
      total_scheduled: count('scheduled') + count('processing'),
      total_posted: count('posted'),
      total_failed: count('failed'),
      total_cancelled: count('cancelled'),
      upcoming_posts: upcoming.n,
      posts_by_status: Object.fromEntries(POST_STATUSES.map((status) => [status, count(status)])),
      posts_by_platform: Object.fromEntries(byPlatform.map((row) => [row.platform, row.n])),
      average_engagement_rate: round(engagement.rate),
    };
  }

  private async userCounts() {
    const [[users], accounts] = await Promise.all([
      this.dataSource.query<{ total: number; active: number; staff: number }[]>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE is_active)::int AS active,
                count(*) FILTER (WHERE is_staff)::int AS staff FROM users`,
      ),
      this.dataSource.query<{ status: string; n: number }[]>(
        'SELECT status, count(*)::int AS n FROM social_accounts GROUP BY status ORDER BY status',
      ),
    ]);
    return {
      total_users: users.total,
      active_users: users.active,
      staff_users: users.staff,
      accounts_by_status: Object.fromEntries(accounts.map((row) => [row.status, row.n])),
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
