import {
  BaseEntity,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
} from 'typeorm';
import { ScheduledPost } from '../scheduled-post/scheduled-post.entity.js';

/**
 * What one sync read from the platform for a post: its metrics at that time (cumulative, as the
 * platform counts them). Narrow on purpose: there are tens of millions.
 */
@Entity({ name: 'post_analytics_snapshots' })
@Index('post_analytics_snapshots_post_idx', ['scheduledPostId', 'syncedAt', 'id'])
export class PostAnalyticsSnapshot extends BaseEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'scheduled_post_id' })
  scheduledPostId: number;

  @ManyToOne(() => ScheduledPost, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'scheduled_post_id' })
  scheduledPost: Relation<ScheduledPost>;

  @Column({ name: 'synced_at', type: 'timestamptz' })
  syncedAt: Date;

  @Column({ type: 'int' }) likes: number;
  @Column({ type: 'int' }) comments: number;
  @Column({ type: 'int' }) shares: number;
  @Column({ type: 'int' }) views: number;
  @Column({ type: 'int' }) reach: number;
  @Column({ type: 'int' }) impressions: number;

  @Column({ name: 'engagement_rate', type: 'double precision' })
  engagementRate: number;
}
