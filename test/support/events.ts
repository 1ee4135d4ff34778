import type { DataSource } from 'typeorm';
import type { DomainEvent, EventConsumer } from '../../apps/server/src/events/event.types.js';
import { waitFor } from './wait.js';

/** An outbox row as a test reads it. */
export interface RecordedEvent {
  id: string;
  userId: number;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
  dispatchedAt: Date | null;
  attempts: number;
  consumedBy: string[];
  lastError: string | null;
}

/** Where the outbox can be read: a TestApp, or any DataSource on the test's database. */
type Source = { dataSource: DataSource } | DataSource;

function dataSourceOf(source: Source): DataSource {
  return 'dataSource' in source ? source.dataSource : source;
}

/** The user's recorded events, oldest first, optionally of one type. */
export async function eventsOf(
  source: Source,
  userId: number,
  type?: string,
): Promise<RecordedEvent[]> {
  const rows: {
    id: string;
    user_id: number;
    type: string;
    data: Record<string, unknown>;
    created_at: Date;
    dispatched_at: Date | null;
    attempts: number;
    consumed_by: string[];
    last_error: string | null;
  }[] = await dataSourceOf(source).query(
    `SELECT * FROM events WHERE user_id = $1 AND ($2::varchar IS NULL OR type = $2)
     ORDER BY created_at, id`,
    [userId, type ?? null],
  );
  return rows.map((row) => ({
    id: row.id,
    userId: row.user_id,
    type: row.type,
    data: row.data,
    createdAt: row.created_at,
    dispatchedAt: row.dispatched_at,
    attempts: row.attempts,
    consumedBy: row.consumed_by,
    lastError: row.last_error,
  }));
}

/**
 * Waits for the user's `count`-th event of `type` (optionally only those `matching`) to be
 * recorded, and answers those events, oldest first.
 */
export function waitForEvents(
  source: Source,
  userId: number,
  type: string,
  options: {
    count?: number;
    matching?: (event: RecordedEvent) => boolean;
    timeoutMs?: number;
  } = {},
): Promise<RecordedEvent[]> {
  const { count = 1, matching = () => true, timeoutMs = 20_000 } = options;
  return waitFor(
    async () => {
      const events = (await eventsOf(source, userId, type)).filter(matching);
      return events.length >= count ? events : undefined;
    },
    timeoutMs,
    `${count} ${type} event(s) of user ${userId}`,
  );
}

/** Waits until the event has been taken by every consumer (dispatched_at set); answers it. */
export function waitForDispatched(
  source: Source,
  eventId: string,
  timeoutMs = 20_000,
): Promise<RecordedEvent> {
  return waitFor(
    async () => {
      const rows: { user_id: number }[] = await dataSourceOf(source).query(
        `SELECT user_id FROM events WHERE id = $1 AND dispatched_at IS NOT NULL`,
        [eventId],
      );
      if (rows.length === 0) return undefined;
      return (await eventsOf(source, rows[0].user_id)).find((event) => event.id === eventId);
    },
    timeoutMs,
    `event ${eventId} to be dispatched`,
  );
}

/**
 * A consumer for tests: keeps every event handed to it (each delivery, duplicates included).
 * `behaviour`, when given, runs first: throw to fail the delivery, wait to hold the worker.
 * Register it with `createTestApp(env, { eventConsumers: [consumer] })`.
 */
export class RecordingConsumer implements EventConsumer {
  readonly received: DomainEvent[] = [];

  constructor(
    readonly name = 'test-recorder',
    private readonly behaviour?: (event: DomainEvent, call: number) => Promise<void>,
  ) {}

  /** Calls per event id, failed ones included. */
  readonly calls = new Map<string, number>();

  async consume(event: DomainEvent): Promise<void> {
    const call = (this.calls.get(event.id) ?? 0) + 1;
    this.calls.set(event.id, call);
    await this.behaviour?.(event, call);
    this.received.push(event);
  }

  /** Every delivery of this event id so far. */
  deliveriesOf(eventId: string): DomainEvent[] {
    return this.received.filter((event) => event.id === eventId);
  }

  /** Waits until the event (by id) has been delivered at least once; answers its first delivery. */
  waitForEvent(eventId: string, timeoutMs = 20_000): Promise<DomainEvent> {
    return waitFor(
      async () => this.received.find((event) => event.id === eventId),
      timeoutMs,
      `event ${eventId} to reach consumer ${this.name}`,
    );
  }
}
