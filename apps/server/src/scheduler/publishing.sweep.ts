import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression, Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTryAdvisoryLock } from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { PostsService, publishJobId } from './posts.service.js';

const DUE_LOCK = 727_301;
const ANALYTICS_LOCK = 727_302;
const BATCH = 1000;

/**
 * PostgreSQL is the truth; Redis only carries work. Every few seconds: a post due (or due
 * within the look-ahead) whose job is gone gets it back; a post left in processing past its
 * lease gets a reconcile job. Hourly: posted posts' analytics are refreshed.
 */
@Injectable()
export class PublishingSweep {
  private readonly logger = new Logger(PublishingSweep.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly posts: PostsService,
    private readonly queue: JobQueue,
  ) {}

  @Interval('sweep-posts', 5000)
  async tick(now = new Date()): Promise<{ requeued: number; reconciling: number }> {
    const outcome = await withTryAdvisoryLock(this.dataSource, DUE_LOCK, () => this.sweep(now));
    return outcome.ran ? outcome.result : { requeued: 0, reconciling: 0 };
  }

  private async sweep(now: Date): Promise<{ requeued: number; reconciling: number }> {
    // Due within the next minute, and untouched for a few seconds (the API enqueues right after its commit).
    const due: { id: number; version: number; scheduled_time: Date }[] =
      await this.dataSource.query(
        `SELECT id, version, scheduled_time FROM scheduled_posts
       WHERE status = 'scheduled' AND scheduled_time <= $1::timestamptz + interval '1 minute' AND updated_at < $1::timestamptz - interval '5 seconds'
       ORDER BY scheduled_time LIMIT $2`,
        [now, BATCH],
      );
    const queue = this.queue.queueFor(JobName.PublishPost);
    const jobs = await Promise.all(
      due.map((post) => queue.getJob(publishJobId(post.id, post.version))),
    );
    let requeued = 0;
    for (const [index, post] of due.entries()) {
      const job = jobs[index];
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing' || state === 'completed' || state === 'failed') {
        // A finished job left a post still scheduled at this version: run it under a fresh id.
        if (job && state !== 'missing') await job.remove().catch(() => undefined);
        await this.posts.enqueue(
          { id: post.id, version: post.version, scheduledTime: new Date(post.scheduled_time) },
          now,
        );
        requeued++;
      }
    }
    const stuck: { id: number; version: number; lease_until: Date }[] = await this.dataSource.query(
      `SELECT id, version, lease_until FROM scheduled_posts WHERE status = 'processing' AND lease_until < $1 ORDER BY lease_until LIMIT $2`,
      [now, BATCH],
    );
    for (const post of stuck) {
      await this.queue.enqueue(
        JobName.ReconcilePost,
        { postId: post.id, version: post.version },
        {
          // Each reconcile extends the lease, so the next round has an id of its own.
          jobId: `reconcile-post:${post.id}:${post.version}:${new Date(post.lease_until).getTime()}`,
        },
      );
    }
    if (requeued || stuck.length)
      this.logger.warn(
        `Post sweep: ${requeued} job(s) rebuilt, ${stuck.length} post(s) to reconcile`,
      );
    return { requeued, reconciling: stuck.length };
  }

  @Cron(CronExpression.EVERY_HOUR, { name: 'sync-post-analytics' })
  async syncAnalytics(now = new Date()): Promise<number> {
    const outcome = await withTryAdvisoryLock(this.dataSource, ANALYTICS_LOCK, async () => {
      const posts: { id: number }[] = await this.dataSource.query(
        `SELECT p.id FROM scheduled_posts p LEFT JOIN post_analytics a ON a.scheduled_post_id = p.id
         WHERE p.status = 'posted' AND p.posted_at > $1::timestamptz - interval '30 days'
           AND (a.last_synced_at IS NULL OR a.last_synced_at < $1::timestamptz - interval '50 minutes')
         LIMIT 5000`,
        [now],
      );
      const hour = now.toISOString().slice(0, 13);
      for (const post of posts) {
        await this.queue.enqueue(
          JobName.SyncPostAnalytics,
          { postId: post.id },
          { jobId: `sync-analytics:${post.id}:${hour}` },
        );
      }
      return posts.length;
    });
    return outcome.ran ? outcome.result : 0;
  }
}
