import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { type AccountStatus, SocialAccount, type SocialPlatform } from './social-account.entity.js';

/** What choosing an account to post with reads of each. */
export type AccountCandidate = Pick<SocialAccount, 'id' | 'status' | 'platform'>;

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
}
