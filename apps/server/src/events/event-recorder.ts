import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { EventQueries, type JsonObject, type OutboxEvent } from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { AfterCommit } from './after-commit.js';
import type { DomainEvent, EventType } from './event.types.js';

/** Tries of one dispatch job, doubling from DISPATCH_BACKOFF_MS (about 17 minutes in all). */
export const DISPATCH_ATTEMPTS = 10;
export const DISPATCH_BACKOFF_MS = 1000;

/** `evt_` + 32 hex digits: unique, opaque, and safe in a header (the Standard Webhooks `webhook-id`). */
export function newEventId(): string {
  return `evt_${randomUUID().replaceAll('-', '')}`;
}

/** One dispatch job per event, ever pending at once: the API's enqueue and the sweep's agree. */
export function dispatchJobId(eventId: string): string {
  return `dispatch-event:${eventId}`;
}

export function toDomainEvent(row: OutboxEvent): DomainEvent {
  return {
    id: row.id,
    type: row.type as EventType,
    userId: row.userId,
    occurredAt: row.createdAt,
    data: row.data as Record<string, unknown>,
  };
}

/**
 * Records events in the outbox. The insert uses the caller's manager, so the event commits with
 * the change it reports or not at all; its dispatch job is enqueued after that commit (and the
 * sweep enqueues it if the process dies in between).
 */
@Injectable()
export class EventRecorder {
  constructor(
    private readonly rows: EventQueries,
    private readonly afterCommit: AfterCommit,
    private readonly queue: JobQueue,
  ) {}

  async record(
    manager: EntityManager,
    event: { userId: number; type: EventType; data: Record<string, unknown> },
  ): Promise<DomainEvent> {
    const runner = manager.queryRunner;
    if (!runner?.isTransactionActive) {
      // Outside a transaction the event could commit without its change, or the change without it.
      throw new Error(`Event ${event.type} must be recorded in the transaction of its change`);
    }
    // As the API would serialise it (dates as ISO strings): what consumers read back is the same.
    const data = JSON.parse(JSON.stringify(event.data)) as JsonObject;
    const row = await this.rows.insert(
      { id: newEventId(), userId: event.userId, type: event.type, data },
      manager,
    );
    this.afterCommit.schedule(runner, () => this.enqueueDispatch(row.id));
    return toDomainEvent(row);
  }

  /** The event's dispatch job (a no-op while one with its id is waiting, delayed or running). */
  enqueueDispatch(eventId: string): Promise<string> {
    return this.queue.enqueueAfterCommit(
      JobName.DispatchEvent,
      { eventId },
      {
        jobId: dispatchJobId(eventId),
        attempts: DISPATCH_ATTEMPTS,
        backoffMs: DISPATCH_BACKOFF_MS,
      },
    );
  }
}
