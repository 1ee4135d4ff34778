import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/common';
import {
  GeneratedImageQueries,
  ImageGenerationHistoryQueries,
  type InFlightImage,
  withTryAdvisoryLock,
} from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { ImageEvents } from './image-events.js';
import { ImageGenerationService, generationJobId } from './image-generation.service.js';

const SWEEP_LOCK = 727_201;
const BATCH = 200;

/**
 * PostgreSQL is the truth, Redis only carries work: an image left pending or generating whose
 * job is gone (Redis emptied, enqueue failed after the commit) gets its job back; one whose job
 * ended without settling it (the worker died on it repeatedly) is failed with that reason.
 */
@Injectable()
export class ImageGenerationSweep {
  private readonly logger = new Logger(ImageGenerationSweep.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly generation: ImageGenerationService,
    private readonly images: GeneratedImageQueries,
    private readonly imageHistory: ImageGenerationHistoryQueries,
    private readonly queue: JobQueue,
    private readonly events: ImageEvents,
  ) {}

  @Cron(CronExpression.EVERY_MINUTE, { name: 'sweep-image-generation' })
  async tick(now = new Date()): Promise<{ requeued: number; failed: number }> {
    const outcome = await withTryAdvisoryLock(this.dataSource, SWEEP_LOCK, () => this.sweep(now));
    return outcome.ran ? outcome.result : { requeued: 0, failed: 0 };
  }

  private async sweep(now: Date): Promise<{ requeued: number; failed: number }> {
    // Younger rows may still be between their commit and their enqueue.
    const quietFor = Math.max(30_000, this.config.jobs.lockDurationMs * 2);
    const stuck = await this.images.inFlightUntouchedSince(
      new Date(now.getTime() - quietFor),
      BATCH,
    );
    const queue = this.queue.queueFor(JobName.GenerateImage);
    let requeued = 0;
    let failed = 0;
    for (const image of stuck) {
      const job = await queue.getJob(generationJobId(image.id, image.generation));
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing') {
        await this.generation.enqueue(image);
        requeued++;
      } else if (state === 'failed' || state === 'completed') {
        await this.failLost(image, job?.failedReason);
        failed++;
      }
    }
    if (requeued || failed)
      this.logger.warn(`Image sweep: ${requeued} re-enqueued, ${failed} failed`);
    return { requeued, failed };
  }

  private async failLost(image: InFlightImage, why?: string): Promise<void> {
    const reason = `Generation stopped without a result${why ? ` (${why})` : ''}; regenerate the image to try again.`;
    await this.dataSource.transaction(async (manager) => {
      const failed = await this.images.failGeneration(
        image.id,
        image.generation,
        ['pending', 'generating'],
        reason,
        manager,
      );
      if (failed) {
        await this.imageHistory.record(image.userId, image.id, 'failed', { reason }, manager);
        await this.events.record(manager, 'image.failed', image.userId, image.id);
      }
    });
  }
}
