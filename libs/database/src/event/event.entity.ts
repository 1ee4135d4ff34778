import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
} from 'typeorm';
import type { JsonObject } from '../json.js';
import { User } from '../user/user.entity.js';

/**
 * The outbox: one row per event the product reports, inserted in the transaction of the change
 * it reports, so the change and its event commit (or vanish) together. A worker job hands it to
 * every consumer and then stamps `dispatched_at`; a sweep re-enqueues rows left without it.
 */
@Entity({ name: 'events' })
// The sweep's scan: only undispatched rows, oldest first; stays small whatever the history.
@Index('events_undispatched_idx', ['createdAt'], { where: '"dispatched_at" IS NULL' })
@Index('events_user_idx', ['userId', 'createdAt'])
export class OutboxEvent extends BaseEntity {
  /** `evt_` + 32 hex digits, made by the recorder: the Standard Webhooks `webhook-id`. */
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  /** One of EVENT_TYPES (apps/server/src/events/event.types.ts). */
  @Column({ type: 'varchar', length: 50 })
  type: string;

  /** The resource as the API shows it at the time of the change. */
  @Column({ type: 'jsonb' })
  data: JsonObject;

  /** clock_timestamp(): events recorded by one transaction keep their order. */
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  createdAt: Date;

  /** Null until every consumer has taken the event. */
  @Column({ name: 'dispatched_at', type: 'timestamptz', nullable: true })
  dispatchedAt: Date | null;

  /** Dispatch runs started (a retry after a failing consumer, or a run after a crash, counts). */
  @Column({ type: 'int', default: 0 })
  attempts: number;

  /** Consumers that have taken it: a retry calls only the others. */
  @Column({ name: 'consumed_by', type: 'varchar', length: 100, array: true, default: () => "'{}'" })
  consumedBy: string[];

  /** Why the last dispatch run failed (which consumer, what error); null once dispatched. */
  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;
}
