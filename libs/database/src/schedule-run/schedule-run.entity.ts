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
import { PostingSchedule } from '../posting-schedule/posting-schedule.entity.js';

export const RUN_OUTCOMES = ['pending', 'completed', 'skipped'] as const;
/** pending: prepared ahead (its image is being generated); completed: posts created; skipped: see reason. */
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

/**
 * One occurrence of a schedule. The unique (schedule, occurrence) key is what makes each
 * occurrence materialise once, whatever the number of scheduler replicas.
 */
@Entity({ name: 'schedule_runs' })
// The runs list's order (latest occurrence, then id), read from the index alone.
@Index('schedule_runs_schedule_occurrence_id_idx', ['scheduleId', 'occurrenceAt', 'id'])
@Index('schedule_runs_schedule_occurrence_key', ['scheduleId', 'occurrenceAt'], { unique: true })
export class ScheduleRun extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'schedule_id' })
  scheduleId: number;

  @ManyToOne(() => PostingSchedule, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'schedule_id' })
  schedule: Relation<PostingSchedule>;

  /** The instant the schedule named (its local time resolved in its time zone). */
  @Column({ name: 'occurrence_at', type: 'timestamptz' })
  occurrenceAt: Date;

  @Column({ type: 'varchar', length: 10, default: 'pending' })
  outcome: RunOutcome;

  /** Why it was skipped, or which platforms could not be posted to. */
  @Column({ type: 'text', default: '' })
  reason: string;

  @Column({ name: 'image_id', type: 'int', nullable: true })
  imageId: number | null;

  @ManyToOne(() => GeneratedImage, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'image_id' })
  image: Relation<GeneratedImage> | null;

  @Column({ name: 'post_ids', type: 'int', array: true, default: () => "'{}'" })
  postIds: number[];

  /** When the occurrence was materialised (posts created or skip recorded). */
  @Column({ name: 'ran_at', type: 'timestamptz', nullable: true })
  ranAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
