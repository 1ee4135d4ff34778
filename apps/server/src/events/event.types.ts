/**
 * The events the product reports (api.md, "Events, webhooks"). Each is written to the outbox in
 * the transaction of the change it reports, then handed at least once to every consumer: the
 * webhook fan-out and the email notifications.
 */
export const EVENT_TYPES = [
  'image.generated',
  'image.failed',
  'image.validated',
  'image.rejected',
  'image.edited',
  'post.published',
  'post.failed',
  'post.cancelled',
  'account.reconnect_required',
  'schedule.run_skipped',
  'export.ready',
  'ping',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** One recorded event, as consumers receive it. `data` is the resource as the API shows it. */
export interface DomainEvent {
  /** Stable across retries and redeliveries: the Standard Webhooks `webhook-id`. */
  id: string;
  type: EventType;
  userId: number;
  occurredAt: Date;
  data: Record<string, unknown>;
}

/**
 * Something that acts on every recorded event. Called at least once per event (a crash between
 * its work and the outbox's bookkeeping calls it again), so it must be idempotent by `event.id`.
 */
export interface EventConsumer {
  readonly name: string;
  consume(event: DomainEvent): Promise<void>;
}

/**
 * Tells an owner about something that is not a public event, by email when their profile says so
 * (the email module provides it; the webhook module calls it when it disables an endpoint).
 */
export interface OwnerNotifier {
  webhookDisabled(
    userId: number,
    endpoint: { id: number; url: string },
    reason: string,
  ): Promise<void>;
}

export const OWNER_NOTIFIER = Symbol('OWNER_NOTIFIER');
