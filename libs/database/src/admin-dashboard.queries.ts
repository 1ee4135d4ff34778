import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

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

/** Sums over the trigger-kept per-user image counters (one row per user). */
export interface ImageTotals {
  total: number;
  pending: number;
  generating: number;
  generated: number;
  validated: number;
  rejected: number;
  failed: number;
  /** Seconds of generation summed, over `timed` images. */
  time: number;
  timed: number;
}

/**
 * The admin dashboard's figures over every user that no feature asks of one user: image totals,
 * user counts and the latest failures. Post counts are `ScheduledPostQueries.counts(null)`, the
 * same statements as a user's statistics.
 */
@Injectable()
export class AdminDashboardQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async imageTotals(): Promise<ImageTotals> {
    const [row] = await this.dataSource.query<ImageTotals[]>(
      `SELECT coalesce(sum(total), 0)::int AS total, coalesce(sum(pending), 0)::int AS pending,
              coalesce(sum(generating), 0)::int AS generating, coalesce(sum(generated), 0)::int AS generated,
              coalesce(sum(validated), 0)::int AS validated, coalesce(sum(rejected), 0)::int AS rejected,
              coalesce(sum(failed), 0)::int AS failed,
              coalesce(sum(total_generation_time), 0)::float AS time, coalesce(sum(timed_count), 0)::int AS timed
         FROM user_image_stats`,
    );
    return row;
  }

  async userCounts(): Promise<{ total: number; active: number; staff: number }> {
    const [row] = await this.dataSource.query<{ total: number; active: number; staff: number }[]>(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE is_active)::int AS active,
              count(*) FILTER (WHERE is_staff)::int AS staff FROM users`,
    );
    return row;
  }

  latestFailedPosts(limit: number): Promise<FailedPostRow[]> {
    return this.dataSource.query<FailedPostRow[]>(
      `SELECT p.id, u.username, p.platform, p.error_code, left(p.error_message, 300) AS error_message, p.updated_at
         FROM scheduled_posts p JOIN users u ON u.id = p.user_id
        WHERE p.status = 'failed' ORDER BY p.updated_at DESC, p.id DESC LIMIT $1`,
      [limit],
    );
  }

  latestFailedImages(limit: number): Promise<FailedImageRow[]> {
    return this.dataSource.query<FailedImageRow[]>(
      `SELECT i.id, u.username, left(i.prompt, 120) AS prompt, left(i.error_message, 300) AS error_message, i.updated_at
         FROM generated_images i JOIN users u ON u.id = i.user_id
        WHERE i.status = 'failed' ORDER BY i.updated_at DESC, i.id DESC LIMIT $1`,
      [limit],
    );
  }
}
