import { randomUUID } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { NotFoundError } from '@app/common';
import {
  type DueDelivery,
  WebhookDelivery,
  WebhookDeliveryQueries,
  WebhookEndpointQueries,
} from '@app/database';
import { EventConsumers } from '../events/event-consumers.js';
import type { DomainEvent, EventConsumer } from '../events/event.types.js';
import type { PageWindow } from '../http/pagination.js';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { DeliveryPendingError } from './webhooks.errors.js';

/** One job per attempt: a second enqueue of the same attempt is a no-op. */
export function deliveryJobId(delivery: DueDelivery): string {
  return `webhook-delivery:${delivery.id}:${delivery.attempts}`;
}

/**
 * The webhook side of events: each recorded event becomes one delivery per matching active
 * endpoint of its user, each sent by the worker on the `webhooks` queue. Also the delivery log,
 * redelivery and the test ping.
 */
@Injectable()
export class WebhookDeliveriesService implements EventConsumer, OnModuleInit {
  readonly name = 'webhooks';

  constructor(
    private readonly consumers: EventConsumers,
    private readonly deliveries: WebhookDeliveryQueries,
    private readonly endpoints: WebhookEndpointQueries,
    private readonly queue: JobQueue,
  ) {}

  onModuleInit(): void {
    this.consumers.register(this);
  }

  /**
   * Called at least once per event: the unique (endpoint, event) key turns a second call into
   * nothing. A crash between the insert and the enqueue leaves pending rows the sweep queues.
   */
  async consume(event: DomainEvent): Promise<void> {
    const created = await this.deliveries.fanOut(event.userId, event);
    await Promise.all(created.map((delivery) => this.enqueue(delivery)));
  }

  /** A `ping` to the user's endpoint, with an event id of its own; answers its delivery. */
  async ping(userId: number, endpointId: number): Promise<WebhookDelivery> {
    const endpoint = await this.endpoints.findOwned(userId, endpointId);
    if (!endpoint) throw new NotFoundError('webhook');
    const delivery = await this.deliveries.insertFor(endpointId, {
      id: randomUUID(),
      type: 'ping',
      occurredAt: new Date(),
      data: { webhook_id: endpointId, message: 'Test ping from Image Automation.' },
    });
    await this.enqueue({ id: delivery.id, attempts: 0 });
    return delivery;
  }

  /** The user's endpoint's deliveries, newest first, counted by the endpoint's counter. */
  async list(
    userId: number,
    endpointId: number,
    window: PageWindow,
  ): Promise<{ count: number; rows: WebhookDelivery[] }> {
    const endpoint = await this.endpoints.findOwned(userId, endpointId);
    if (!endpoint) throw new NotFoundError('webhook');
    const rows = await this.deliveries.pageOfEndpoint(endpointId, window);
    return { count: endpoint.deliveryCount, rows };
  }

  /** Sends a settled delivery again: same event id (`webhook-id`), a fresh round of retries. */
  async redeliver(userId: number, endpointId: number, id: number): Promise<WebhookDelivery> {
    if (!(await this.endpoints.findOwned(userId, endpointId))) throw new NotFoundError('webhook');
    const existing = await this.deliveries.findOfEndpoint(endpointId, id);
    if (!existing) throw new NotFoundError('delivery');
    const due = await this.deliveries.redeliver(endpointId, id);
    if (!due) throw new DeliveryPendingError();
    await this.enqueue(due);
    return (await this.deliveries.findOfEndpoint(endpointId, id))!;
  }

  /** Queues the attempt now; logged rather than thrown on failure (the sweep queues it later). */
  enqueue(delivery: DueDelivery, delayMs?: number): Promise<string> {
    return this.queue.enqueueAfterCommit(
      JobName.DeliverWebhook,
      { deliveryId: delivery.id, attempts: delivery.attempts },
      { jobId: deliveryJobId(delivery), delayMs },
    );
  }
}
