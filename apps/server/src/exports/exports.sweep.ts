import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DataExportQueries, withTryAdvisoryLock } from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import { exportFolder, exportJobId } from './build-export.processor.js';
import { ExportsService } from './exports.service.js';

const SWEEP_LOCK = 727_410;
const BATCH = 200;
/** A pending export is queued right after its commit; one older than this lost its job. */
const PENDING_GRACE_MS = 60_000;
/**
 * A running build writes its progress every second; one silent this long lost its worker for
 * good (Bull re-runs a stalled job twice within a few lock durations, then gives up).
 */
const RUNNING_STALE_MS = 15 * 60_000;

/**
 * Scheduler role, every minute: deletes the files of exports whose link has expired (the export
 * becomes `expired`), re-queues pending exports whose job was lost, and fails builds whose worker
 * is gone for good (the owner can start another).
 */
@Injectable()
export class ExportsSweep {
  private readonly logger = new Logger(ExportsSweep.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly exports: DataExportQueries,
    private readonly service: ExportsService,
    private readonly queue: JobQueue,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
  ) {}

  @Interval('sweep-exports', 60_000)
  async tick(now = new Date()): Promise<{ expired: number; requeued: number; failed: number }> {
    const outcome = await withTryAdvisoryLock(this.dataSource, SWEEP_LOCK, () => this.sweep(now));
    return outcome.ran ? outcome.result : { expired: 0, requeued: 0, failed: 0 };
  }

  private async sweep(now: Date) {
    let expired = 0;
    for (const row of await this.exports.expiredReady(now, BATCH)) {
      try {
        await this.storage.deletePrefix(exportFolder(row));
        await this.exports.markExpired(row.id);
        expired++;
      } catch (error) {
        // Still `ready` with its key: the next sweep tries again.
        this.logger.warn(`Export ${row.id}: file not deleted: ${(error as Error).message}`);
      }
    }
    let requeued = 0;
    let failed = 0;
    const queue = this.queue.queueFor(JobName.BuildExport);
    const stalePending = new Date(now.getTime() - PENDING_GRACE_MS);
    const staleRunning = new Date(now.getTime() - RUNNING_STALE_MS);
    for (const row of await this.exports.unfinishedSince(stalePending, BATCH)) {
      const job = await queue.getJob(exportJobId(row.id));
      const state = job ? await job.getState() : 'missing';
      const live = state !== 'missing' && state !== 'completed' && state !== 'failed';
      if (row.status === 'running' && row.updatedAt < staleRunning && !live) {
        if (
          await this.exports.markFailed(row.id, 'The build was interrupted; start a new export.')
        ) {
          await this.storage.deletePrefix(exportFolder(row)).catch(() => undefined);
          failed++;
        }
        continue;
      }
      if (row.status !== 'pending' || live) continue;
      if (job) await job.remove().catch(() => undefined);
      await this.exports.touch(row.id);
      await this.service.enqueue(row.id);
      requeued++;
    }
    if (expired || requeued || failed)
      this.logger.log(`Exports sweep: ${expired} expired, ${requeued} re-queued, ${failed} failed`);
    return { expired, requeued, failed };
  }
}
