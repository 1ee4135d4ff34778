import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PasswordResetTokenQueries, TokenFamilyQueries, withTryAdvisoryLock } from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';

const PURGE_TICK_LOCK = 727_101;

/** Expired sign-in families are deleted daily: the scheduler finds the work, a worker does it. */
@Injectable()
export class TokenPurgeJob {
  private readonly logger = new Logger(TokenPurgeJob.name);

  constructor(
    private readonly families: TokenFamilyQueries,
    private readonly resets: PasswordResetTokenQueries,
    private readonly queue: JobQueue,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Fires only in the scheduler role (where ScheduleModule is loaded); one replica enqueues. */
  @Cron(CronExpression.EVERY_DAY_AT_3AM, { name: 'purge-expired-tokens' })
  async tick(now = new Date()): Promise<void> {
    const day = now.toISOString().slice(0, 10);
    await withTryAdvisoryLock(this.dataSource, PURGE_TICK_LOCK, () =>
      this.queue.enqueue(
        JobName.PurgeExpiredTokens,
        { before: now.toISOString() },
        { jobId: `purge-expired-tokens:${day}` },
      ),
    );
  }

  /** Deletes what can no longer be used: families whose refresh tokens have all expired, reset tokens past their hour. */
  @OnJob(JobName.PurgeExpiredTokens)
  async run(payload: JobPayloads[JobName.PurgeExpiredTokens]): Promise<{ deleted: number }> {
    const deleted = await this.families.purgeExpired(new Date(payload.before));
    const resets = await this.resets.purgeExpired(new Date(payload.before));
    this.logger.log(`Purged ${deleted} expired sign-in(s) and ${resets} password reset token(s)`);
    return { deleted };
  }
}
