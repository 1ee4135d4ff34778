import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression, Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ScheduledPostQueries, withTryAdvisoryLock } from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { PostsService, publishJobId } from './posts.service.js';
import { syncAnalyticsJobId } from './sync-analytics.processor.js';

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
    private readonly rows: ScheduledPostQueries,
  ) {}

  @Interval('sweep-posts', 5000)
  async tick(now = new Date()): Promise<{ requeued: number; reconciling: number }> {
    const outcome = await withTryAdvisoryLock(this.dataSource, DUE_LOCK, () => this.sweep(now));
    return outcome.ran ? outcome.result : { requeued: 0, reconciling: 0 };
  }

  private async sweep(now: Date): Promise<{ requeued: number; reconciling: number }> {
    // Due within the next minute, and untouched for a few seconds (the API enqueues right after its commit).
    const due = await this.rows.findDue(now, BATCH);
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
        await this.posts.enqueue(post, now);
        requeued++;
      }
    }
    const stuck = await this.rows.findStuck(now, BATCH);
    for (const post of stuck) {
      await this.queue.enqueue(
        JobName.ReconcilePost,
        { postId: post.id, version: post.version },
        {
          // Each reconcile extends the lease, so the next round has an id of its own.
          jobId: `reconcile-post:${post.id}:${post.version}:${post.leaseUntil.getTime()}`,
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
      const posts = await this.rows.findAnalyticsDue(now, 5000);
      for (const postId of posts) {
        // The id users' clicks use: a sync already pending for the post absorbs this one.
        await this.queue.enqueuePending(
          JobName.SyncPostAnalytics,
          { postId },
          { jobId: syncAnalyticsJobId(postId) },
        );
      }
      return posts.length;
    });
    return outcome.ran ? outcome.result : 0;
  }
}
