import { Injectable, Logger } from '@nestjs/common';
import { EventQueries } from '@app/database';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { EventConsumers } from './event-consumers.js';
import { toDomainEvent } from './event-recorder.js';

type Payload = JobPayloads[JobName.DispatchEvent];

/** A consumer (or several) failed: Bull retries the job with backoff, the others are not called again. */
export class EventDispatchError extends Error {}

/**
 * The worker's side of the outbox: hands one event to every registered consumer that has not
 * taken it yet, then stamps it dispatched. At least once: a crash after a consumer's work and
 * before its bookkeeping calls that consumer again, hence consumers idempotent by event id.
 */
@Injectable()
export class EventDispatchProcessor {
  private readonly logger = new Logger(EventDispatchProcessor.name);

  constructor(
    private readonly rows: EventQueries,
    private readonly consumers: EventConsumers,
  ) {}

  @OnJob(JobName.DispatchEvent)
  async run(payload: Payload): Promise<{ status: string; consumers?: number }> {
    const row = await this.rows.claim(payload.eventId);
    // Dispatched already (a redundant job from the sweep), or deleted with its user.
    if (!row) return { status: 'skipped' };
    const event = toDomainEvent(row);
    const pending = this.consumers
      .all()
      .filter((consumer) => !row.consumedBy.includes(consumer.name));
    const outcomes = await Promise.allSettled(
      pending.map(async (consumer) => {
        await consumer.consume(event);
        await this.rows.markConsumed(event.id, consumer.name);
      }),
    );
    const failures = outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected'
        ? [
            `${pending[index].name}: ${(outcome.reason as Error)?.message ?? String(outcome.reason)}`,
          ]
        : [],
    );
    if (failures.length > 0) {
      const message = `Event ${event.id} (${event.type}) not taken by ${failures.join('; ')}`;
      await this.rows.recordFailure(event.id, message);
      this.logger.warn(message);
      throw new EventDispatchError(message);
    }
    await this.rows.markDispatched(event.id, new Date());
    return { status: 'dispatched', consumers: pending.length };
  }
}
