import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  OneToOne,
  PrimaryGeneratedColumn,
  type Relation,
} from 'typeorm';
import { ScheduledPost } from '../scheduled-post/scheduled-post.entity.js';
import type { SocialPlatform } from '../social-account/social-account.entity.js';

/** The latest metrics of a posted post, as the platform reported them. */
@Entity({ name: 'post_analytics' })
export class PostAnalytics extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'scheduled_post_id' })
  scheduledPostId: number;

  @OneToOne(() => ScheduledPost, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'scheduled_post_id' })
  scheduledPost: Relation<ScheduledPost>;

  @Column({ type: 'varchar', length: 20 })
  platform: SocialPlatform;

  @Column({ type: 'int', default: 0 }) likes: number;
  @Column({ type: 'int', default: 0 }) comments: number;
  @Column({ type: 'int', default: 0 }) shares: number;
  @Column({ type: 'int', default: 0 }) views: number;
  @Column({ type: 'int', default: 0 }) reach: number;
  @Column({ type: 'int', default: 0 }) impressions: number;

  @Column({ name: 'engagement_rate', type: 'double precision', default: 0 })
  engagementRate: number;

  @Column({ name: 'last_synced_at', type: 'timestamptz', nullable: true })
  lastSyncedAt: Date | null;

  /** The post's owner, copied from the post by the database when the row is made. */
  @Column({ name: 'user_id', insert: false, update: false })
  userId: number;

  /**
   * The post's publication time while it is posted (null otherwise), kept by the database: the
   * analytics rollups count this row in its 15-minute bucket (migration AnalyticsSnapshotsAndRollups).
   */
  @Column({ name: 'posted_at', type: 'timestamptz', nullable: true, insert: false, update: false })
  postedAt: Date | null;

  /** How many syncs kept a snapshot: the history's `count`. */
  @Column({ name: 'snapshot_count', type: 'int', default: 0 })
  snapshotCount: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
