import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { userListCount } from '../list-counts.js';
import type { PageSlice } from '../page-slice.js';
import { type AccountStatus, SocialAccount, type SocialPlatform } from './social-account.entity.js';

/** What choosing an account to post with reads of each. */
export type AccountCandidate = Pick<SocialAccount, 'id' | 'status' | 'platform'>;

/** An account's tokens as stored, sealed by TokenCipher. */
export type SealedTokens = Pick<
  SocialAccount,
  'id' | 'accessTokenEncrypted' | 'refreshTokenEncrypted'
>;

/** The account a post goes out with, or why there is none. */
export type AccountChoice =
  | { id: number }
  | { problem: 'none' }
  | { problem: 'several' }
  | { problem: 'inactive'; status: AccountStatus };

/**
 * The one rule for the account a post on a platform goes out with, used by one-off posts and by
 * recurring schedules alike: among the user's `accounts` on that platform, the chosen ones (ids in
 * `chosen`) if any of them is there, else the active ones; exactly one must remain, and it must be
 * active.
 */
export function chooseAccount(accounts: AccountCandidate[], chosen: number[]): AccountChoice {
  const picked = accounts.filter((account) => chosen.includes(account.id));
  const candidates =
    picked.length > 0 ? picked : accounts.filter((account) => account.status === 'active');
  if (candidates.length === 0) return { problem: 'none' };
  if (candidates.length > 1) return { problem: 'several' };
  const [account] = candidates;
  if (account.status !== 'active') return { problem: 'inactive', status: account.status };
  return { id: account.id };
}

@Injectable()
export class SocialAccountQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The user's accounts on a platform, oldest first: the candidates of `chooseAccount()`. */
  onPlatform(
    userId: number,
    platform: SocialPlatform,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<AccountCandidate[]> {
    return manager.getRepository(SocialAccount).find({
      select: { id: true, status: true, platform: true },
      where: { userId, platform },
      order: { id: 'ASC' },
    });
  }

  /** Which of `accountIds` are the user's, with their platform: what a schedule may name. */
  ownedAmong(
    userId: number,
    accountIds: number[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Pick<SocialAccount, 'id' | 'platform'>[]> {
    return manager.getRepository(SocialAccount).find({
      select: { id: true, platform: true },
      where: { id: In(accountIds), userId },
    });
  }

  /** A user's accounts by platform, then id. */
  async pageOfUser(
    userId: number,
    page: PageSlice,
  ): Promise<{ count: number; rows: SocialAccount[] }> {
    // The count from the counters row; the page from social_accounts_user_platform_id_idx.
    const [rows, count] = await Promise.all([
      this.dataSource.getRepository(SocialAccount).find({
        where: { userId },
        order: { platform: 'ASC', id: 'ASC' },
        skip: page.offset,
        take: page.pageSize,
      }),
      userListCount(this.dataSource, userId, 'accounts'),
    ]);
    return { count, rows };
  }

  /** The user's account (tokens not selected); null when it is not theirs. */
  findOwned(
    userId: number,
    id: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<SocialAccount | null> {
    return manager.getRepository(SocialAccount).findOneBy({ id, userId });
  }

  /** Locks the user's account until the caller's transaction ends; false when not theirs. */
  lockOwned(userId: number, id: number, manager: EntityManager): Promise<boolean> {
    return manager
      .getRepository(SocialAccount)
      .createQueryBuilder('account')
      .setLock('pessimistic_write')
      .where('account.id = :id AND account.user_id = :userId', { id, userId })
      .getExists();
  }

  /**
   * A new account row, its tokens still empty (they are sealed to the row's id, which this
   * returns); a duplicate (user, platform, account id) throws PostgreSQL's unique violation.
   */
  async insert(
    account: Pick<SocialAccount, 'userId' | 'platform' | 'accountId' | 'displayName' | 'expiresAt'>,
    manager: EntityManager,
  ): Promise<number> {
    const inserted = await manager.insert(SocialAccount, { ...account, accessTokenEncrypted: '' });
    return (inserted.identifiers[0] as { id: number }).id;
  }

  /** New values of the user's account (sealed tokens included). */
  async change(
    userId: number,
    id: number,
    changes: Partial<
      Pick<
        SocialAccount,
        'displayName' | 'expiresAt' | 'status' | 'accessTokenEncrypted' | 'refreshTokenEncrypted'
      >
    >,
    manager: EntityManager,
  ): Promise<void> {
    await manager.update(SocialAccount, { id, userId }, { ...changes, updatedAt: new Date() });
  }

  /**
   * Disconnects the user's account: deleted, and forgotten by the schedules that named it (their
   * platform then falls back to the rule for none). False when it is not theirs.
   */
  async disconnect(userId: number, id: number, manager: EntityManager): Promise<boolean> {
    const result = await manager.getRepository(SocialAccount).delete({ id, userId });
    if (!result.affected) return false;
    await manager.query(
      `UPDATE posting_schedules SET account_ids = array_remove(account_ids, $1), updated_at = now()
       WHERE user_id = $2 AND $1 = ANY(account_ids)`,
      [id, userId],
    );
    return true;
  }

  /** The account with its sealed tokens, for the workers only. */
  withSealedTokens(
    id: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<SocialAccount> {
    return manager
      .getRepository(SocialAccount)
      .createQueryBuilder('account')
      .addSelect(['account.accessTokenEncrypted', 'account.refreshTokenEncrypted'])
      .where('account.id = :id', { id })
      .getOneOrFail();
  }

  /**
   * Up to `limit` accounts with ids above `afterId`, in id order, with their sealed tokens: one
   * batch of a pass over every stored token (the re-encryption), read without locks.
   */
  sealedTokensAfter(afterId: number, limit: number): Promise<SealedTokens[]> {
    return this.dataSource
      .getRepository(SocialAccount)
      .createQueryBuilder('account')
      .select(['account.id', 'account.accessTokenEncrypted', 'account.refreshTokenEncrypted'])
      .where('account.id > :afterId', { afterId })
      .orderBy('account.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  /**
   * The account with its status and sealed tokens, its row locked until the caller's transaction
   * ends (one token refresh, or one re-encryption, of an account at a time); null when it was
   * disconnected.
   */
  lockWithSealedTokens(id: number, manager: EntityManager): Promise<SocialAccount | null> {
    return manager
      .getRepository(SocialAccount)
      .createQueryBuilder('account')
      .setLock('pessimistic_write')
      .addSelect(['account.accessTokenEncrypted', 'account.refreshTokenEncrypted'])
      .where('account.id = :id', { id })
      .getOne();
  }

  /** The same tokens sealed anew (another key): nothing the owner sees changes, updated_at included. */
  async resealTokens(
    id: number,
    sealed: Pick<SealedTokens, 'accessTokenEncrypted' | 'refreshTokenEncrypted'>,
    manager: EntityManager,
  ): Promise<void> {
    // Raw: TypeORM's update() would also bump the @UpdateDateColumn.
    await manager.query(
      `UPDATE social_accounts SET access_token_encrypted = $2, refresh_token_encrypted = $3
       WHERE id = $1`,
      [id, sealed.accessTokenEncrypted, sealed.refreshTokenEncrypted],
    );
  }

  /**
   * The platform refused the account's token for good: its owner must connect it again. True
   * when this changed the status (it was not marked already): the change an event reports.
   */
  async markReconnectRequired(
    id: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const [, affected] = (await manager.query(
      `UPDATE social_accounts SET status = 'reconnect_required', updated_at = now()
       WHERE id = $1 AND status <> 'reconnect_required'`,
      [id],
    )) as [unknown, number];
    return affected > 0;
  }

  /** Accounts of every user by status, for the admin dashboard. */
  async countByStatus(): Promise<Record<string, number>> {
    const rows: { status: string; n: number }[] = await this.dataSource.query(
      'SELECT status, count(*)::int AS n FROM social_accounts GROUP BY status ORDER BY status',
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }
}
