import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
} from 'typeorm';
import { GeneratedImage } from '../generated-image/generated-image.entity.js';
import type { JsonObject } from '../json.js';

/**
 * One version of an image: the operation list applied to version 1's master, and the files it
 * made. Version 1 is the generated picture (no operations). A restored version reuses the files
 * of the version it restores, so two rows may name the same keys.
 */
@Entity({ name: 'image_versions' })
@Unique('image_versions_image_version_key', ['imageId', 'version'])
export class ImageVersion extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'image_id' })
  imageId: number;

  @ManyToOne(() => GeneratedImage, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'image_id' })
  image: Relation<GeneratedImage>;

  @Column({ type: 'int' })
  version: number;

  /** The whole list from the original, each `{op, ...params}` as validated. */
  @Column({ type: 'jsonb', default: () => "'[]'::jsonb" })
  operations: JsonObject[];

  /** The version this one restored, when it was made by a restore. */
  @Column({ name: 'restored_from', type: 'int', nullable: true })
  restoredFrom: number | null;

  @Column({ name: 'master_key', type: 'varchar', length: 255 })
  masterKey: string;

  @Column({ name: 'rendition_key', type: 'varchar', length: 255 })
  renditionKey: string;

  @Column({ name: 'thumbnail_key', type: 'varchar', length: 255 })
  thumbnailKey: string;

  @Column({ type: 'int' })
  width: number;

  @Column({ type: 'int' })
  height: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
