import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { JsonObject } from '../json.js';
import { OutboxEvent } from './event.entity.js';

export interface NewOutboxEvent {
  id: string;
  userId: number;
  type: string;
  data: JsonObject;
}

/** An undispatched event the sweep looks at. */
export interface UndispatchedEvent {
  id: string;
  createdAt: Date;
}

interface EventRow {
  id: string;
  user_id: number;
  type: string;
  data: JsonObject;
  created_at: Date;
  dispatched_at: Date | null;
  attempts: number;
  consumed_by: string[];
  last_error: string | null;
}

function fromRow(row: EventRow): OutboxEvent {
  return Object.assign(new OutboxEvent(), {
    id: row.id,
    userId: row.user_id,
    type: row.type,
    data: row.data,
    createdAt: row.created_at,
    dispatchedAt: row.dispatched_at,
    attempts: row.attempts,
    consumedBy: row.consumed_by,
    lastError: row.last_error,
  });
}

/** Every statement on `events`, the outbox. */
@Injectable()
export class EventQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts the event with the caller's manager: in its transaction, beside the change. */
  async insert(event: NewOutboxEvent, manager: EntityManager): Promise<OutboxEvent> {
    const rows: EventRow[] = await manager.query(
      `INSERT INTO events (id, user_id, type, data) VALUES ($1, $2, $3, $4) RETURNING *`,
      [event.id, event.userId, event.type, JSON.stringify(event.data)],
    );
    return fromRow(rows[0]);
  }

  async findById(id: string): Promise<OutboxEvent | null> {
    const rows: EventRow[] = await this.dataSource.query(`SELECT * FROM events WHERE id = $1`, [
      id,
    ]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /**
   * Starts a dispatch run: counts the attempt and answers the event, or null when there is
   * nothing to do (dispatched already, or gone with its user). Waits for a run holding the row.
   */
  async claim(id: string): Promise<OutboxEvent | null> {
    // An UPDATE answers [rows, affected] through TypeORM's query().
    const [rows] = (await this.dataSource.query(
      `UPDATE events SET attempts = attempts + 1 WHERE id = $1 AND dispatched_at IS NULL RETURNING *`,
      [id],
    )) as [EventRow[], number];
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Notes that `consumer` has taken the event (once, however many times it is told). */
  async markConsumed(id: string, consumer: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE events SET consumed_by = array_append(consumed_by, $2::varchar)
       WHERE id = $1 AND NOT ($2::varchar = ANY (consumed_by))`,
      [id, consumer],
    );
  }

  /** Why the last run failed; the job's retry, or the sweep, runs it again. */
  async recordFailure(id: string, error: string): Promise<void> {
    await this.dataSource.query(`UPDATE events SET last_error = $2 WHERE id = $1`, [
      id,
      error.slice(0, 2000),
    ]);
  }

  /** Every consumer has taken it. False when it was dispatched already (or is gone). */
  async markDispatched(id: string, at: Date): Promise<boolean> {
    const [, affected] = (await this.dataSource.query(
      `UPDATE events SET dispatched_at = $2, last_error = NULL
       WHERE id = $1 AND dispatched_at IS NULL`,
      [id, at],
    )) as [unknown, number];
    return affected === 1;
  }

  /** Undispatched events created before `before`, oldest first (the partial index's order). */
  async undispatchedBefore(before: Date, limit: number): Promise<UndispatchedEvent[]> {
    const rows: { id: string; created_at: Date }[] = await this.dataSource.query(
      `SELECT id, created_at FROM events
       WHERE dispatched_at IS NULL AND created_at < $1
       ORDER BY created_at, id LIMIT $2`,
      [before, limit],
    );
    return rows.map((row) => ({ id: row.id, createdAt: row.created_at }));
  }

  /** The user's events, newest first, optionally of one type: what a test or an admin reads. */
  async ofUser(userId: number, type?: string, limit = 100): Promise<OutboxEvent[]> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT * FROM events WHERE user_id = $1 AND ($2::varchar IS NULL OR type = $2)
       ORDER BY created_at DESC, id DESC LIMIT $3`,
      [userId, type ?? null, limit],
    );
    return rows.map(fromRow);
  }
}
