import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  UpdateDateColumn,
} from 'typeorm';
import { User } from '../user/user.entity.js';

/**
 * Where a user wants their events POSTed. Its signing secret is stored sealed by TokenCipher
 * (bound to this row's id and field) and leaves through the API only when it is made; after a
 * rotation the previous one keeps signing until `previousSecretExpiresAt`.
 */
@Entity({ name: 'webhook_endpoints' })
@Index('webhook_endpoints_user_idx', ['userId', 'id'])
export class WebhookEndpoint extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  @Column({ type: 'varchar', length: 500, default: '' })
  description: string;

  /** The event types sent to it; empty: every one. */
  @Column({ type: 'varchar', length: 50, array: true, default: () => "'{}'" })
  events: string[];

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive: boolean;

  /** Why it was disabled (by the server after repeated failure); null while active. */
  @Column({ name: 'disabled_reason', type: 'varchar', length: 500, nullable: true })
  disabledReason: string | null;

  @Column({ name: 'secret_encrypted', type: 'text', select: false })
  secretEncrypted: string;

  @Column({ name: 'previous_secret_encrypted', type: 'text', nullable: true, select: false })
  previousSecretEncrypted: string | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt: Date | null;

  /** How many deliveries it has, kept with each insert: the delivery log's count without a scan. */
  @Column({ name: 'delivery_count', type: 'int', default: 0 })
  deliveryCount: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
