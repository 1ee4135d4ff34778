import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EventQueries, withTryAdvisoryLock } from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { EventRecorder, dispatchJobId } from './event-recorder.js';

const SWEEP_LOCK = 727_401;
const BATCH = 1000;
/** Younger rows may still be between their commit and their enqueue. */
const QUIET_MS = 10_000;
/**
 * A dispatch job that used up its tries is run again, from its first try, this long after it
 * failed: a consumer down for hours is retried every so often, never given up on, never hammered.
 */
const REARM_FAILED_AFTER_MS = 5 * 60_000;

/**
 * PostgreSQL is the truth, Redis only carries work: an event still undispatched whose dispatch
 * job is gone (the process died between commit and enqueue, Redis lost it) gets its job back,
 * under the id made from the event's, so a job still pending absorbs the enqueue.
 */
@Injectable()
export class EventsSweep {
  private readonly logger = new Logger(EventsSweep.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly rows: EventQueries,
    private readonly queue: JobQueue,
    private readonly recorder: EventRecorder,
  ) {}

  @Interval('sweep-events', 10_000)
  async tick(now = new Date()): Promise<{ requeued: number }> {
    const outcome = await withTryAdvisoryLock(this.dataSource, SWEEP_LOCK, () => this.sweep(now));
    return outcome.ran ? outcome.result : { requeued: 0 };
  }

  private async sweep(now: Date): Promise<{ requeued: number }> {
    const stale = await this.rows.undispatchedBefore(new Date(now.getTime() - QUIET_MS), BATCH);
    const queue = this.queue.queueFor(JobName.DispatchEvent);
    let requeued = 0;
    for (const event of stale) {
      const job = await queue.getJob(dispatchJobId(event.id));
      const state = job ? await job.getState() : 'missing';
      if (state === 'failed' || state === 'completed') {
        const failedLately = now.getTime() - (job?.finishedOn ?? 0) < REARM_FAILED_AFTER_MS;
        if (state === 'failed' && failedLately) continue;
        // A finished job holds the id and would absorb the enqueue: make room for a fresh one.
        await job?.remove().catch(() => undefined);
      } else if (state !== 'missing') {
        continue; // waiting, delayed or active: on its way
      }
      await this.recorder.enqueueDispatch(event.id);
      requeued++;
    }
    if (requeued) this.logger.warn(`Event sweep: ${requeued} dispatch job(s) rebuilt`);
    return { requeued };
  }
}
