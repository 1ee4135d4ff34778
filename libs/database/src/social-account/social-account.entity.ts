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
  VirtualColumn,
} from 'typeorm';
import { User } from '../user/user.entity.js';

export const SOCIAL_PLATFORMS = ['instagram', 'facebook', 'twitter', 'linkedin', 'tiktok'] as const;
export type SocialPlatform = (typeof SOCIAL_PLATFORMS)[number];

export const ACCOUNT_STATUSES = ['active', 'reconnect_required', 'disabled'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/**
 * A connected account on a platform. Its tokens are stored encrypted (AES-256-GCM under
 * TOKEN_ENCRYPTION_KEY, bound to this row's id and field) and never leave through the API.
 */
@Entity({ name: 'social_accounts' })
// The accounts list's order (platform, then id): a page without sorting the user's accounts.
@Index('social_accounts_user_platform_id_idx', ['userId', 'platform', 'id'])
@Index('social_accounts_user_platform_account_key', ['userId', 'platform', 'accountId'], {
  unique: true,
})
export class SocialAccount extends BaseEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id' })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 20 })
  platform: SocialPlatform;

  /** The platform's id: Instagram user id, Facebook page id, X user id, LinkedIn URN, TikTok open_id. */
  @Column({ name: 'account_id', type: 'varchar', length: 255 })
  accountId: string;

  @Column({ name: 'display_name', type: 'varchar', length: 100, default: '' })
  displayName: string;

  @Column({ name: 'access_token_encrypted', type: 'text', select: false })
  accessTokenEncrypted: string;

  @Column({ name: 'refresh_token_encrypted', type: 'text', nullable: true, select: false })
  refreshTokenEncrypted: string | null;

  /** Whether a refresh token is stored, read without selecting (or opening) it. */
  @VirtualColumn({
    type: 'boolean',
    query: (alias) => `${alias}.refresh_token_encrypted IS NOT NULL`,
  })
  hasRefreshToken: boolean;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: AccountStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
