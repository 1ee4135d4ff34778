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
} from 'typeorm';
import { User } from '../user/user.entity.js';

export const MAIL_KINDS = [
  'password_reset',
  'post_failed',
  'account_reconnect_required',
  'schedule_run_skipped',
  'webhook_disabled',
  'weekly_digest',
  'export_ready',
] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

/** queued → sent | failed; skipped: no SMTP_URL in production, nothing was sent. */
export const MAIL_STATUSES = ['queued', 'sent', 'failed', 'skipped'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

/**
 * The sent-mail log: one row per message, written when it is queued. Never the body: a reset
 * message's token (and its link) exists only in the job, sealed, and in the message itself.
 * `dedupe_key` makes a message once-only (`event:<id>`, `weekly-digest:<user>:<week>`).
 */
@Entity({ name: 'sent_mails' })
@Index('sent_mails_created_idx', ['createdAt'])
@Index('sent_mails_user_idx', ['userId'])
export class SentMail extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  /** Deleting the user deletes their log too: it holds their address. */
  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ name: 'to_address', type: 'varchar', length: 254 })
  to: string;

  @Column({ type: 'varchar', length: 32 })
  kind: MailKind;

  @Column({ type: 'varchar', length: 255 })
  subject: string;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status: MailStatus;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  /** The last SMTP error (or why it was skipped); '' once sent. */
  @Column({ type: 'text', default: '' })
  error: string;

  @Column({ name: 'dedupe_key', type: 'varchar', length: 200, nullable: true, unique: true })
  dedupeKey: string | null;

  /** The SMTP server's Message-ID once accepted. */
  @Column({ name: 'message_id', type: 'varchar', length: 255, nullable: true })
  messageId: string | null;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
