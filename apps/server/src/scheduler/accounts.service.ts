import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import {
  APP_CONFIG,
  type AppConfig,
  FieldValidationError,
  NotFoundError,
  TokenCipher,
} from '@app/common';
import { SocialAccount, SocialAccountQueries } from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import type { CreateAccountDto, UpdateAccountDto } from './dto/account.dto.js';
import type { RefreshedTokens } from './platforms/platform.js';

export interface AccountTokens {
  /** The platform's own id of the account (Instagram user id, page id...). */
  platformAccountId: string;
  accessToken: string;
  refreshToken: string | null;
}

/** What a token is sealed to: its row and field (moved elsewhere, it no longer opens). */
export const tokenContext = (accountId: number, field: 'access_token' | 'refresh_token') =>
  `social_accounts:${accountId}:${field}`;

/** Connected accounts; the only place their tokens are sealed and opened. */
@Injectable()
export class AccountsService {
  private readonly cipher: TokenCipher;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly rows: SocialAccountQueries,
  ) {
    this.cipher = new TokenCipher(config.crypto.tokenEncryptionKeys);
  }

  list(userId: number, window: PageWindow): Promise<{ count: number; rows: SocialAccount[] }> {
    return this.rows.pageOfUser(userId, window);
  }

  async get(
    userId: number,
    id: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<SocialAccount> {
    const account = await this.rows.findOwned(userId, id, manager);
    if (!account) throw new NotFoundError('account');
    return account;
  }

  /** Tokens are sealed to their row, so the row comes first; both in one transaction. */
  async create(userId: number, dto: CreateAccountDto): Promise<SocialAccount> {
    return this.dataSource.transaction(async (manager) => {
      const id = await this.rows
        .insert(
          {
            userId,
            platform: dto.platform,
            accountId: dto.account_id,
            displayName: dto.display_name ?? '',
            expiresAt: dto.expires_at ? new Date(dto.expires_at) : null,
          },
          manager,
        )
        .catch((error: unknown) => {
          throw duplicateAccount(error) ?? error;
        });
      await this.rows.change(
        userId,
        id,
        {
          accessTokenEncrypted: this.cipher.encrypt(
            dto.access_token,
            tokenContext(id, 'access_token'),
          ),
          refreshTokenEncrypted: dto.refresh_token
            ? this.cipher.encrypt(dto.refresh_token, tokenContext(id, 'refresh_token'))
            : null,
        },
        manager,
      );
      return this.get(userId, id, manager);
    });
  }

  async update(userId: number, id: number, dto: UpdateAccountDto): Promise<SocialAccount> {
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.rows.lockOwned(userId, id, manager))) throw new NotFoundError('account');
      const changes: Parameters<SocialAccountQueries['change']>[2] = {};
      if (dto.display_name !== undefined) changes.displayName = dto.display_name;
      if (dto.expires_at !== undefined) changes.expiresAt = new Date(dto.expires_at);
      if (dto.status !== undefined) changes.status = dto.status;
      if (dto.access_token !== undefined) {
        changes.accessTokenEncrypted = this.cipher.encrypt(
          dto.access_token,
          tokenContext(id, 'access_token'),
        );
        // New tokens are a reconnection.
        if (dto.status === undefined) changes.status = 'active';
      }
      if (dto.refresh_token !== undefined) {
        changes.refreshTokenEncrypted = this.cipher.encrypt(
          dto.refresh_token,
          tokenContext(id, 'refresh_token'),
        );
      }
      await this.rows.change(userId, id, changes, manager);
      return this.get(userId, id, manager);
    });
  }

  /** Disconnects it; the schedules that named it forget it (their platform falls back to the rule for none). */
  async delete(userId: number, id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (!(await this.rows.disconnect(userId, id, manager))) throw new NotFoundError('account');
    });
  }

  /**
   * For the publish worker: new tokens for an account whose access token `stale` the platform
   * refused, one refresh per account at a time. Under the account's row lock (held across the
   * token call, which `refresh` bounds with its signal): when the stored access token is no
   * longer `stale`, another worker refreshed meanwhile, and its tokens are the answer (a refresh
   * token is single-use, so refreshing again would be refused); when the owner disabled the
   * account, or disconnected it, 'gone' and no refresh; else `refresh` runs and its tokens are
   * stored, the status untouched (only the owner re-enables an account).
   */
  async refreshLocked(
    accountId: number,
    stale: string,
    refresh: (current: AccountTokens) => Promise<RefreshedTokens>,
  ): Promise<AccountTokens | 'gone'> {
    return this.dataSource.transaction(async (manager) => {
      const row = await this.rows.lockWithSealedTokens(accountId, manager);
      if (!row || row.status === 'disabled') return 'gone';
      const current = this.open(row);
      if (current.accessToken !== stale) return current;
      const fresh = await refresh(current);
      const refreshToken = fresh.refreshToken ?? current.refreshToken;
      await this.rows.change(
        row.userId,
        accountId,
        {
          accessTokenEncrypted: this.cipher.encrypt(
            fresh.accessToken,
            tokenContext(accountId, 'access_token'),
          ),
          ...(fresh.refreshToken
            ? {
                refreshTokenEncrypted: this.cipher.encrypt(
                  fresh.refreshToken,
                  tokenContext(accountId, 'refresh_token'),
                ),
              }
            : {}),
          ...(fresh.expiresAt ? { expiresAt: fresh.expiresAt } : {}),
        },
        manager,
      );
      return { ...current, accessToken: fresh.accessToken, refreshToken };
    });
  }

  /** For the workers only: the decrypted tokens of one account, with its platform id. */
  async tokens(
    accountId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<AccountTokens> {
    const row = await this.rows.withSealedTokens(accountId, manager);
    return this.open(row);
  }

  /** The tokens of a row the caller already read (the publish claim joins it), opened. */
  open(
    row: Pick<SocialAccount, 'id' | 'accountId' | 'accessTokenEncrypted' | 'refreshTokenEncrypted'>,
  ): AccountTokens {
    return {
      platformAccountId: row.accountId,
      accessToken: this.cipher.decrypt(
        row.accessTokenEncrypted,
        tokenContext(row.id, 'access_token'),
      ),
      refreshToken: row.refreshTokenEncrypted
        ? this.cipher.decrypt(row.refreshTokenEncrypted, tokenContext(row.id, 'refresh_token'))
        : null,
    };
  }
}

function duplicateAccount(error: unknown): FieldValidationError | null {
  if (
    error instanceof QueryFailedError &&
    (error.driverError as { code?: string }).code === '23505'
  ) {
    return FieldValidationError.of('account_id', 'This account is already connected.');
  }
  return null;
}
