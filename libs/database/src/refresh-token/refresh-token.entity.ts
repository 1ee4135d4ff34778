import {
  BaseEntity,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
} from 'typeorm';
import { TokenFamily } from '../token-family/token-family.entity.js';

/** A refresh token's state, keyed by its `jti`. The token itself is never stored. */
@Entity({ name: 'refresh_tokens' })
@Index('refresh_tokens_family_id_idx', ['familyId'])
export class RefreshToken extends BaseEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'family_id', type: 'uuid' })
  familyId: string;

  @ManyToOne(() => TokenFamily, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'family_id' })
  family: Relation<TokenFamily>;

  @Column({ name: 'user_id' })
  userId: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  /** Set when the token was exchanged; presenting it again is reuse. */
  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}
