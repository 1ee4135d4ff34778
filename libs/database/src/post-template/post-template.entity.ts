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
import type { SocialPlatform } from '../social-account/social-account.entity.js';
import { User } from '../user/user.entity.js';

/** A platform's own text in a template: what it gives replaces the template's. */
export interface TemplateVariant {
  caption?: string;
  hashtags?: string;
}

export type TemplateVariants = Partial<Record<SocialPlatform, TemplateVariant>>;

/**
 * A user's post text with `{variables}` (checked when it is saved), and per-platform variants.
 * A one-off post is rendered from it when it is scheduled; a recurring schedule that names it
 * renders it at each run (`posting_schedules.template_id`, which keeps it from being deleted).
 */
@Entity({ name: 'post_templates' })
@Index('post_templates_user_idx', ['userId', 'id'])
export class PostTemplate extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 2200, default: '' })
  caption: string;

  /** Space-separated. */
  @Column({ type: 'varchar', length: 2200, default: '' })
  hashtags: string;

  /** Per platform name: `{caption?, hashtags?}`. */
  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  variants: TemplateVariants;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
