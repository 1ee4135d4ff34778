import {
  BaseEntity,
  Column,
  Entity,
  JoinColumn,
  OneToOne,
  PrimaryColumn,
  type Relation,
} from 'typeorm';
import { User } from '../user/user.entity.js';

/**
 * Per-user image counters, kept exact by triggers on generated_images and its history (migration
 * ImagesAndTags). The list's `count` and the statistics read one row instead of counting
 * 100,000; generation requests lock the row, which serialises one user's quota checks.
 */
@Entity({ name: 'user_image_stats' })
export class UserImageStats extends BaseEntity {
  @PrimaryColumn({ name: 'user_id' })
  userId: number;

  @OneToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'int', default: 0 }) total: number;
  @Column({ type: 'int', default: 0 }) pending: number;
  @Column({ type: 'int', default: 0 }) generating: number;
  @Column({ type: 'int', default: 0 }) generated: number;
  @Column({ type: 'int', default: 0 }) validated: number;
  @Column({ type: 'int', default: 0 }) rejected: number;
  @Column({ type: 'int', default: 0 }) failed: number;

  /** Sum and count of generation_time over images that have one. */
  @Column({ name: 'total_generation_time', type: 'double precision', default: 0 })
  totalGenerationTime: number;

  @Column({ name: 'timed_count', type: 'int', default: 0 })
  timedCount: number;

  /** Rows of image_generation_history, kept by its own trigger. */
  @Column({ name: 'history_count', type: 'int', default: 0 })
  historyCount: number;
}
