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
import { PostTemplate } from '../post-template/post-template.entity.js';
import type { ImageStyle } from '../profile/profile.entity.js';
import type { SocialPlatform } from '../social-account/social-account.entity.js';
import { User } from '../user/user.entity.js';

export const SCHEDULE_FREQUENCIES = ['daily', 'weekly', 'monthly'] as const;
export type ScheduleFrequency = (typeof SCHEDULE_FREQUENCIES)[number];

/**
 * A recurring schedule: at each occurrence, in its own time zone, one post per platform with a
 * freshly generated image (`prompt`) or the oldest validated, never-posted image carrying one of
 * `tags`. `next_run_at` is stored (null while paused), so the due lookup is one index scan.
 */
@Entity({ name: 'posting_schedules' })
@Index('posting_schedules_user_idx', ['userId', 'id'])
@Index('posting_schedules_due_idx', ['nextRunAt'], { where: '"is_active"' })
export class PostingSchedule extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 10 })
  frequency: ScheduleFrequency;

  /** Local wall time, `HH:MM:SS`. */
  @Column({ name: 'time_of_day', type: 'time' })
  timeOfDay: string;

  /** 0 = Monday … 6 = Sunday; weekly schedules only. */
  @Column({ type: 'smallint', nullable: true })
  weekday: number | null;

  /** 1–31 (a short month uses its last day); monthly schedules only. */
  @Column({ name: 'day_of_month', type: 'smallint', nullable: true })
  dayOfMonth: number | null;

  /** IANA time zone the time of day is read in. */
  @Column({ type: 'varchar', length: 64 })
  timezone: string;

  @Column({ type: 'varchar', length: 20, array: true })
  platforms: SocialPlatform[];

  /** Chosen accounts (at most one per platform); a platform without one uses the user's only active account. */
  @Column({ name: 'account_ids', type: 'int', array: true, default: () => "'{}'" })
  accountIds: number[];

  @Column({ name: 'is_active', default: true })
  isActive: boolean;

  /** Empty: take an existing image by `tags` instead of generating one. */
  @Column({ type: 'varchar', length: 2000, default: '' })
  prompt: string;

  @Column({ type: 'varchar', length: 20, nullable: true })
  style: ImageStyle | null;

  /** Tag names, lower-cased. */
  @Column({ type: 'varchar', length: 50, array: true, default: () => "'{}'" })
  tags: string[];

  @Column({ type: 'varchar', length: 2200, default: '' })
  caption: string;

  /** Space-separated. */
  @Column({ type: 'varchar', length: 2200, default: '' })
  hashtags: string;

  /**
   * Rendered at each run instead of `caption`/`hashtags` (then empty). A template in use cannot
   * be deleted (the API answers 409; the foreign key is NO ACTION as a backstop).
   */
  @Column({ name: 'template_id', type: 'int', nullable: true })
  templateId: number | null;

  @ManyToOne(() => PostTemplate)
  @JoinColumn({ name: 'template_id' })
  template: Relation<PostTemplate> | null;

  /** The next occurrence to materialise; null while paused. */
  @Column({ name: 'next_run_at', type: 'timestamptz', nullable: true })
  nextRunAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
