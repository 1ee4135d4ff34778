import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { WebhookDeliveryQueries, withTryAdvisoryLock } from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { deliveryJobId, WebhookDeliveriesService } from './webhook-deliveries.service.js';

const SWEEP_LOCK = 727_402;
const BATCH = 1000;
/** A delivery is enqueued right after its commit; only one overdue by this much lost its job. */
const GRACE_MS = 30_000;

/**
 * PostgreSQL is the truth; Redis only carries work. Every few seconds, a pending delivery overdue
 * (its job lost with Redis, its enqueue failed, its worker killed mid-attempt) gets its job back.
 */
@Injectable()
export class WebhookDeliverySweep {
  private readonly logger = new Logger(WebhookDeliverySweep.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly deliveries: WebhookDeliveryQueries,
    private readonly service: WebhookDeliveriesService,
    private readonly queue: JobQueue,
  ) {}

  @Interval('sweep-webhook-deliveries', 5000)
  async tick(now = new Date()): Promise<number> {
    const outcome = await withTryAdvisoryLock(this.dataSource, SWEEP_LOCK, () => this.sweep(now));
    return outcome.ran ? outcome.result : 0;
  }

  private async sweep(now: Date): Promise<number> {
    const due = await this.deliveries.findDue(new Date(now.getTime() - GRACE_MS), BATCH);
    const queue = this.queue.queueFor(JobName.DeliverWebhook);
    let requeued = 0;
    for (const delivery of due) {
      const job = await queue.getJob(deliveryJobId(delivery));
      const state = job ? await job.getState() : 'missing';
      if (state !== 'missing' && state !== 'completed' && state !== 'failed') continue;
      // A finished job under this attempt's id left the delivery due: run it again.
      if (job) await job.remove().catch(() => undefined);
      await this.service.enqueue(delivery);
      requeued++;
    }
    if (requeued) this.logger.warn(`Webhook sweep: ${requeued} delivery job(s) rebuilt`);
    return requeued;
  }
}
