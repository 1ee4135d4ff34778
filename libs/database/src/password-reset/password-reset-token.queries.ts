import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { PasswordResetToken } from './password-reset-token.entity.js';

/** Password reset tokens, by the hash of the token mailed. */
@Injectable()
export class PasswordResetTokenQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(userId: number, tokenHash: string, expiresAt: Date): Promise<void> {
    await this.dataSource
      .getRepository(PasswordResetToken)
      .insert({ userId, tokenHash, expiresAt });
  }

  /**
   * The token with this hash, row-locked until the caller's transaction ends: two confirmations
   * of one token run one after the other, and the second finds it used.
   */
  lockByHash(tokenHash: string, manager: EntityManager): Promise<PasswordResetToken | null> {
    return manager
      .createQueryBuilder(PasswordResetToken, 'token')
      .setLock('pessimistic_write')
      .where('token.token_hash = :tokenHash', { tokenHash })
      .getOne();
  }

  /** Spends every unused token of the user (the one used, and any other mailed before it). */
  async spendAllOfUser(userId: number, at: Date, manager: EntityManager): Promise<void> {
    await manager.update(PasswordResetToken, { userId, usedAt: IsNull() }, { usedAt: at });
  }

  /** Deletes tokens expired before `before` (used or not): nothing can be done with them. */
  async purgeExpired(before: Date): Promise<number> {
    const result = await this.dataSource
      .createQueryBuilder()
      .delete()
      .from(PasswordResetToken)
      .where('expires_at < :before', { before })
      .execute();
    return result.affected ?? 0;
  }
}
