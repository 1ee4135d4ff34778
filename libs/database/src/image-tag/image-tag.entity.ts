import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToMany,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
} from 'typeorm';
import { GeneratedImage } from '../generated-image/generated-image.entity.js';
import { User } from '../user/user.entity.js';

/** A user's own tag; names are lower-cased and unique per user. */
@Entity({ name: 'image_tags' })
@Index('image_tags_user_name_key', ['userId', 'name'], { unique: true })
export class ImageTag extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 50 })
  name: string;

  @Column({ type: 'varchar', length: 500, default: '' })
  description: string;

  @ManyToMany(() => GeneratedImage, (image) => image.tags, { onDelete: 'CASCADE' })
  images: Relation<GeneratedImage[]>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
