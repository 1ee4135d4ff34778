import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  OneToOne,
  PrimaryGeneratedColumn,
  type Relation,
  UpdateDateColumn,
} from 'typeorm';
import { User } from '../user/user.entity.js';
import type { EmailNotifications } from './email-notifications.js';

export const IMAGE_STYLES = [
  'realistic',
  'artistic',
  'cartoon',
  'abstract',
  'vintage',
  'minimalist',
  'anime',
  'digital_art',
] as const;
export type ImageStyle = (typeof IMAGE_STYLES)[number];

/** One per user, created in the same transaction as the user. */
@Entity({ name: 'profiles' })
// Partial, on the digest opt-in (written by the migration): the digest tick reads only those.
@Index('profiles_weekly_digest_idx', { synchronize: false })
export class Profile extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @OneToOne(() => User, (user) => user.profile, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 500, default: '' })
  bio: string;

  /** Path of the avatar relative to MEDIA_ROOT; served only through signed URLs. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  avatar: string | null;

  @Column({ name: 'phone_number', type: 'varchar', length: 20, default: '' })
  phoneNumber: string;

  @Column({ name: 'instagram_username', type: 'varchar', length: 100, default: '' })
  instagramUsername: string;

  @Column({ name: 'facebook_page_id', type: 'varchar', length: 100, default: '' })
  facebookPageId: string;

  @Column({ name: 'twitter_username', type: 'varchar', length: 100, default: '' })
  twitterUsername: string;

  @Column({ name: 'default_image_style', type: 'varchar', length: 20, default: 'realistic' })
  defaultImageStyle: ImageStyle;

  @Column({ name: 'auto_validate_images', default: false })
  autoValidateImages: boolean;

  @Column({ type: 'varchar', length: 64, default: 'UTC' })
  timezone: string;

  /** The email switches chosen (only those changed); see effectiveEmailNotifications(). */
  @Column({ name: 'email_notifications', type: 'jsonb', default: () => "'{}'::jsonb" })
  emailNotifications: Partial<EmailNotifications>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
