import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { PageSlice } from '../page-slice.js';
import { StatementBatcher } from '../statement-batcher.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';

/** An event as a delivery records it. */
export interface DeliveredEvent {
  id: string;
  type: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

/** A delivery claimed for one attempt, with what sending it needs from its endpoint. */
export interface ClaimedDelivery {
  id: number;
  endpointId: number;
  userId: number;
  url: string;
  endpointActive: boolean;
  eventId: string;
  eventType: string;
  occurredAt: Date;
  data: Record<string, unknown>;
  /** Attempts made, this one included. */
  attempts: number;
  /** Retries already made in this round (0 on a round's first attempt). */
  retryIndex: number;
  secretEncrypted: string;
  previousSecretEncrypted: string | null;
  previousSecretExpiresAt: Date | null;
}

/** A delivery whose attempt is due: its id and the attempts made so far (the job's id). */
export interface DueDelivery {
  id: number;
  attempts: number;
}

/** Every statement on `webhook_deliveries`. */
@Injectable()
export class WebhookDeliveryQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * One pending delivery of the event per active endpoint of `userId` that takes its type, in one
   * statement; an (endpoint, event) pair that exists already is left alone, so handing the same
   * event over again creates nothing. Answers the deliveries created now.
   */
  async fanOut(
    userId: number,
    event: DeliveredEvent,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<DueDelivery[]> {
    const rows: { id: number }[] = await manager.query(
      `WITH inserted AS (
         INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, occurred_at, data, next_attempt_at)
         SELECT id, $2::varchar, $3::varchar, $4::timestamptz, $5::jsonb, now() FROM webhook_endpoints
         WHERE user_id = $1 AND is_active AND (cardinality(events) = 0 OR $3::varchar = ANY(events))
         ORDER BY id
         ON CONFLICT (endpoint_id, event_id) DO NOTHING
         RETURNING id, endpoint_id
       ), locked AS (
         -- Counter rows locked in id order: two fan-outs at once would otherwise deadlock.
         SELECT id FROM webhook_endpoints WHERE id IN (SELECT endpoint_id FROM inserted)
         ORDER BY id FOR NO KEY UPDATE
       ), counted AS (
         UPDATE webhook_endpoints e SET delivery_count = e.delivery_count + 1
         FROM locked WHERE e.id = locked.id
       )
       SELECT id FROM inserted`,
      [userId, event.id, event.type, event.occurredAt, event.data],
    );
    return rows.map((row) => ({ id: row.id, attempts: 0 }));
  }

  /** One delivery of the event to this endpoint whatever its filter or state (a ping). */
  async insertFor(
    endpointId: number,
    event: DeliveredEvent,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<WebhookDelivery> {
    const [row]: { id: number }[] = await manager.query(
      `WITH inserted AS (
         INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, occurred_at, data, next_attempt_at)
         VALUES ($1, $2::varchar, $3::varchar, $4::timestamptz, $5::jsonb, now()) RETURNING id
       ), counted AS (
         UPDATE webhook_endpoints SET delivery_count = delivery_count + 1 WHERE id = $1
       )
       SELECT id FROM inserted`,
      [endpointId, event.id, event.type, event.occurredAt, event.data],
    );
    return manager.getRepository(WebhookDelivery).findOneByOrFail({ id: row.id });
  }

  /**
   * Takes attempt number `attempts + 1` of a pending delivery: counted, and its next attempt
   * pushed `leaseMs` ahead (past any attempt's time limit), so that if this process dies the
   * sweep finds it due again. Null when the delivery moved on (another attempt ran, it was
   * settled): the job is stale. The claims a worker makes at about the same moment go to
   * PostgreSQL as one statement (see StatementBatcher): one round trip and one commit for a
   * burst instead of one each.
   */
  claim(id: number, attempts: number, leaseMs: number): Promise<ClaimedDelivery | null> {
    return this.claims.add({ id, attempts, leaseMs });
  }

  /** The attempt got a 2xx: the delivery is done. Batched like the claims. */
  markSucceeded(id: number, statusCode: number, at: Date): Promise<void> {
    return this.successes.add({ id, statusCode, at });
  }

  private readonly claims = new StatementBatcher<
    { id: number; attempts: number; leaseMs: number },
    ClaimedDelivery | null
  >(
    async (items) => {
      // An UPDATE answers [rows, affected] through TypeORM.
      const [rows]: [Record<string, unknown>[], number] = await this.dataSource.query(
        `UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1, next_attempt_at = now() + c.lease_ms * interval '1 millisecond'
         FROM webhook_endpoints e,
           unnest($1::int[], $2::int[], $3::int[]) AS c(id, attempts, lease_ms)
         WHERE d.id = c.id AND d.status = 'pending' AND d.attempts = c.attempts
           AND e.id = d.endpoint_id
         RETURNING d.id, d.endpoint_id, e.user_id, e.url, e.is_active, d.event_id, d.event_type,
           d.occurred_at, d.data, d.attempts, d.attempts - 1 - d.round_start AS retry_index,
           e.secret_encrypted, e.previous_secret_encrypted, e.previous_secret_expires_at`,
        [
          items.map((item) => item.id),
          items.map((item) => item.attempts),
          items.map((item) => item.leaseMs),
        ],
      );
      const byId = new Map(rows.map((row) => [row.id as number, row]));
      return items.map((item) => claimedDelivery(byId.get(item.id)));
    },
    (item) => item.id,
  );

  private readonly successes = new StatementBatcher<
    { id: number; statusCode: number; at: Date },
    void
  >(
    async (items) => {
      await this.dataSource.query(
        `UPDATE webhook_deliveries d SET status = 'succeeded', last_status_code = s.status_code,
           last_error = NULL, next_attempt_at = NULL, delivered_at = s.at
         FROM unnest($1::int[], $2::int[], $3::timestamptz[]) AS s(id, status_code, at)
         WHERE d.id = s.id`,
        [
          items.map((item) => item.id),
          items.map((item) => item.statusCode),
          items.map((item) => item.at),
        ],
      );
      return items.map(() => undefined);
    },
    (item) => item.id,
  );

  /**
   * The attempt failed: retried at `nextAttemptAt`, or, when null, the delivery is failed for good.
   */
  async markAttemptFailed(
    id: number,
    failure: { statusCode: number | null; error: string },
    nextAttemptAt: Date | null,
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET status = $4, last_status_code = $2, last_error = $3,
         next_attempt_at = $5 WHERE id = $1`,
      [
        id,
        failure.statusCode,
        failure.error.slice(0, 500),
        nextAttemptAt ? 'pending' : 'failed',
        nextAttemptAt,
      ],
    );
  }

  /** Whether the endpoint's latest `count` deliveries exist and all failed. */
  async latestAllFailed(endpointId: number, count: number): Promise<boolean> {
    const [row]: { n: number; failed: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'failed')::int AS failed
       FROM (SELECT status FROM webhook_deliveries WHERE endpoint_id = $1
             ORDER BY id DESC LIMIT $2) latest`,
      [endpointId, count],
    );
    return row.n === count && row.failed === count;
  }

  /** A page of the endpoint's deliveries, newest first; `total` is the endpoint's counter. */
  pageOfEndpoint(endpointId: number, page: PageSlice): Promise<WebhookDelivery[]> {
    return this.dataSource.getRepository(WebhookDelivery).find({
      where: { endpointId },
      order: { id: 'DESC' },
      skip: page.offset,
      take: page.pageSize,
    });
  }

  findOfEndpoint(endpointId: number, id: number): Promise<WebhookDelivery | null> {
    return this.dataSource.getRepository(WebhookDelivery).findOneBy({ id, endpointId });
  }

  /**
   * Starts a new round of a settled delivery (same event, same `webhook-id`), due now; null when
   * it is still pending.
   */
  async redeliver(endpointId: number, id: number): Promise<DueDelivery | null> {
    const [rows]: [{ id: number; attempts: number }[], number] = await this.dataSource.query(
      `UPDATE webhook_deliveries SET status = 'pending', round_start = attempts, next_attempt_at = now()
       WHERE id = $1 AND endpoint_id = $2 AND status <> 'pending' RETURNING id, attempts`,
      [id, endpointId],
    );
    return rows[0] ?? null;
  }

  /**
   * Pending deliveries due before `before` (their job lost with Redis, or their worker gone
   * mid-attempt), oldest first: the sweep queues them again.
   */
  async findDue(before: Date, limit: number): Promise<DueDelivery[]> {
    return this.dataSource.query(
      `SELECT id, attempts FROM webhook_deliveries
       WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`,
      [before, limit],
    );
  }
}

function claimedDelivery(row: Record<string, unknown> | undefined): ClaimedDelivery | null {
  if (!row) return null;
  return {
    id: row.id as number,
    endpointId: row.endpoint_id as number,
    userId: row.user_id as number,
    url: row.url as string,
    endpointActive: row.is_active as boolean,
    eventId: row.event_id as string,
    eventType: row.event_type as string,
    occurredAt: row.occurred_at as Date,
    data: row.data as Record<string, unknown>,
    attempts: row.attempts as number,
    retryIndex: row.retry_index as number,
    secretEncrypted: row.secret_encrypted as string,
    previousSecretEncrypted: row.previous_secret_encrypted as string | null,
    previousSecretExpiresAt: row.previous_secret_expires_at as Date | null,
  };
}
