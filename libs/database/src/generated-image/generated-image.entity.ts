import type { JsonObject } from '../json.js';
import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  JoinTable,
  ManyToMany,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  UpdateDateColumn,
} from 'typeorm';
import { ImageTag } from '../image-tag/image-tag.entity.js';
import type { ImageStyle } from '../profile/profile.entity.js';
import { User } from '../user/user.entity.js';

export const IMAGE_STATUSES = [
  'pending',
  'generating',
  'generated',
  'validated',
  'rejected',
  'failed',
] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export const IMAGE_QUALITIES = ['standard', 'hd'] as const;
export type ImageQualityName = (typeof IMAGE_QUALITIES)[number];

/** The list's two access paths (an owner's images by date, and by status then date), and the sweep's (images in flight). */
@Entity({ name: 'generated_images' })
@Index('generated_images_user_created_idx', ['userId', 'createdAt', 'id'])
@Index('generated_images_user_status_created_idx', ['userId', 'status', 'createdAt', 'id'])
@Index('generated_images_in_flight_idx', ['updatedAt'], {
  where: `"status" IN ('pending', 'generating')`,
})
export class GeneratedImage extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 2000 })
  prompt: string;

  @Column({ name: 'negative_prompt', type: 'varchar', length: 2000, default: '' })
  negativePrompt: string;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: ImageStatus;

  @Column({ type: 'varchar', length: 20 })
  style: ImageStyle;

  @Column({ type: 'int' })
  width: number;

  @Column({ type: 'int' })
  height: number;

  @Column({ type: 'varchar', length: 10, default: 'standard' })
  quality: ImageQualityName;

  /** The provider that generated it (set by the worker). */
  @Column({ type: 'varchar', length: 20, default: '' })
  provider: string;

  /** The provider's own URL of the result, when it answered with one. */
  @Column({ name: 'image_url', type: 'text', nullable: true })
  imageUrl: string | null;

  /**
   * Media keys under MEDIA_ROOT: the provider's original, then the current version's PNG master,
   * JPEG rendition and thumbnail.
   */
  @Column({ name: 'original_key', type: 'varchar', length: 255, nullable: true })
  originalKey: string | null;

  @Column({ name: 'master_key', type: 'varchar', length: 255, nullable: true })
  masterKey: string | null;

  @Column({ name: 'rendition_key', type: 'varchar', length: 255, nullable: true })
  renditionKey: string | null;

  @Column({ name: 'thumbnail_key', type: 'varchar', length: 255, nullable: true })
  thumbnailKey: string | null;

  @Column({ name: 'error_message', type: 'text', default: '' })
  errorMessage: string;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  metadata: JsonObject;

  /** Seconds the provider and the renditions took, for the last successful generation. */
  @Column({ name: 'generation_time', type: 'double precision', nullable: true })
  generationTime: number | null;

  /** 0–100, written by the worker as it goes. */
  @Column({ type: 'smallint', default: 0 })
  progress: number;

  /**
   * The current version (see `image_versions`): the files above are its files, `width` and
   * `height` its size. 1 until the first edit; a regeneration starts again at 1.
   */
  @Column({ type: 'int', default: 1 })
  version: number;

  /** Bumped by each regeneration: the job id carries it, so a stale job is a no-op. */
  @Column({ type: 'int', default: 1 })
  generation: number;

  @Column({ name: 'validated_at', type: 'timestamptz', nullable: true })
  validatedAt: Date | null;

  @Column({ name: 'validation_notes', type: 'varchar', length: 1000, default: '' })
  validationNotes: string;

  @ManyToMany(() => ImageTag, (tag) => tag.images)
  @JoinTable({
    name: 'generated_image_tags',
    joinColumn: { name: 'image_id', referencedColumnName: 'id' },
    inverseJoinColumn: { name: 'tag_id', referencedColumnName: 'id' },
  })
  tags: Relation<ImageTag[]>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
