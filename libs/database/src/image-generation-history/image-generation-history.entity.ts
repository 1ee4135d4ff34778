import type { JsonObject } from '../json.js';
import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
} from 'typeorm';

export const HISTORY_ACTIONS = [
  'requested',
  'generated',
  'failed',
  'validate',
  'reject',
  'updated',
  'edited',
  'restored',
  'deleted',
] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

/**
 * What happened to a user's images. `image_id` is a plain column, not a foreign key: the history
 * of a deleted image is kept.
 */
@Entity({ name: 'image_generation_history' })
@Index('image_generation_history_user_created_idx', ['userId', 'createdAt', 'id'])
export class ImageGenerationHistory extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @Column({ name: 'image_id', type: 'int', nullable: true })
  imageId: number | null;

  @Column({ type: 'varchar', length: 20 })
  action: HistoryAction;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  details: JsonObject;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
