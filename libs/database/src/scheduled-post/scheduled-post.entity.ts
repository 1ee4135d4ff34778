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
import { GeneratedImage } from '../generated-image/generated-image.entity.js';
import type { JsonObject } from '../json.js';
import { PostingSchedule } from '../posting-schedule/posting-schedule.entity.js';
import { PostTemplate } from '../post-template/post-template.entity.js';
import { SocialAccount, type SocialPlatform } from '../social-account/social-account.entity.js';
import { User } from '../user/user.entity.js';

export const POST_STATUSES = ['scheduled', 'processing', 'posted', 'failed', 'cancelled'] as const;
export type PostStatus = (typeof POST_STATUSES)[number];

export const POST_ERROR_CODES = [
  'outcome_unknown',
  'reconnect_required',
  'rate_limited',
  'platform_rejected',
  'media_unreachable',
  'timeout',
  'account_missing',
  'image_unavailable',
] as const;
export type PostErrorCode = (typeof POST_ERROR_CODES)[number];

/**
 * A post to publish once, at its time. The due lookup reads the partial index on
 * (scheduled_time) of scheduled rows only, so it stays cheap with millions of posted rows.
 */
@Entity({ name: 'scheduled_posts' })
@Index('scheduled_posts_user_time_idx', ['userId', 'scheduledTime', 'id'])
@Index('scheduled_posts_user_status_time_idx', ['userId', 'status', 'scheduledTime', 'id'])
@Index('scheduled_posts_due_idx', ['scheduledTime'], { where: `"status" = 'scheduled'` })
@Index('scheduled_posts_processing_idx', ['leaseUntil'], { where: `"status" = 'processing'` })
export class ScheduledPost extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  /** Null once the image is deleted: the post then fails with image_unavailable. */
  @Column({ name: 'image_id', type: 'int', nullable: true })
  imageId: number | null;

  @ManyToOne(() => GeneratedImage, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'image_id' })
  image: Relation<GeneratedImage> | null;

  /**
   * The image's version current when the post was scheduled: the one published, whatever edits
   * follow. Null for posts older than versions (they publish the image's current files).
   */
  @Column({ name: 'image_version', type: 'int', nullable: true })
  imageVersion: number | null;

  /** Null once the account is disconnected: the post then fails with account_missing. */
  @Column({ name: 'account_id', type: 'int', nullable: true })
  accountId: number | null;

  @ManyToOne(() => SocialAccount, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'account_id' })
  account: Relation<SocialAccount> | null;

  /** The recurring schedule that created it, if any. */
  @Column({ name: 'schedule_id', type: 'int', nullable: true })
  scheduleId: number | null;

  /** Deleting a schedule keeps the posts it made. */
  @ManyToOne(() => PostingSchedule, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'schedule_id' })
  schedule: Relation<PostingSchedule> | null;

  /** The template its text was rendered from when it was scheduled, for reference only. */
  @Column({ name: 'template_id', type: 'int', nullable: true })
  templateId: number | null;

  /** Deleting a template keeps the posts rendered from it (their text is their own). */
  @ManyToOne(() => PostTemplate, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'template_id' })
  template: Relation<PostTemplate> | null;

  @Column({ type: 'varchar', length: 20 })
  platform: SocialPlatform;

  @Column({ type: 'varchar', length: 2200, default: '' })
  caption: string;

  /** Space-separated. */
  @Column({ type: 'varchar', length: 2200, default: '' })
  hashtags: string;

  @Column({ name: 'scheduled_time', type: 'timestamptz' })
  scheduledTime: Date;

  @Column({ type: 'varchar', length: 16, default: 'scheduled' })
  status: PostStatus;

  @Column({ name: 'posted_at', type: 'timestamptz', nullable: true })
  postedAt: Date | null;

  @Column({ name: 'error_message', type: 'text', default: '' })
  errorMessage: string;

  @Column({ name: 'error_code', type: 'varchar', length: 32, nullable: true })
  errorCode: PostErrorCode | null;

  @Column({ name: 'platform_post_id', type: 'varchar', length: 255, nullable: true })
  platformPostId: string | null;

  @Column({ name: 'platform_post_url', type: 'text', nullable: true })
  platformPostUrl: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  metadata: JsonObject;

  /** Steps recorded before each external call (container id, publish sent at...): what reconciliation reads. */
  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  checkpoint: JsonObject;

  /** Bumped whenever the time changes or the post is re-armed: the job id carries it, a stale job exits. */
  @Column({ type: 'int', default: 1 })
  version: number;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  /** While processing: after this, the post is reconciled by the sweep. */
  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
