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
import { SocialAccount } from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import type { CreateAccountDto, UpdateAccountDto } from './dto/account.dto.js';

export interface AccountTokens {
  /** The platform's own id of the account (Instagram user id, page id...). */
  platformAccountId: string;
  accessToken: string;
  refreshToken: string | null;
}

const tokenContext = (accountId: number, field: 'access_token' | 'refresh_token') =>
  `social_accounts:${accountId}:${field}`;

/** Connected accounts; the only place their tokens are sealed and opened. */
@Injectable()
export class AccountsService {
  private readonly cipher: TokenCipher;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cipher = new TokenCipher(config.crypto.tokenEncryptionKey);
  }

  async list(
    userId: number,
    window: PageWindow,
  ): Promise<{ count: number; rows: SocialAccount[] }> {
    const [rows, count] = await this.dataSource.getRepository(SocialAccount).findAndCount({
      where: { userId },
      order: { platform: 'ASC', id: 'ASC' },
      skip: window.offset,
      take: window.pageSize,
    });
    return { count, rows };
  }

  async get(
    userId: number,
    id: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<SocialAccount> {
    const account = await manager.getRepository(SocialAccount).findOneBy({ id, userId });
    if (!account) throw new NotFoundError('account');
    return account;
  }

  /** Tokens are sealed to their row, so the row comes first; both in one transaction. */
  async create(userId: number, dto: CreateAccountDto): Promise<SocialAccount> {
    return this.dataSource.transaction(async (manager) => {
      const inserted = await manager
        .insert(SocialAccount, {
          userId,
          platform: dto.platform,
          accountId: dto.account_id,
          displayName: dto.display_name ?? '',
          accessTokenEncrypted: '',
          expiresAt: dto.expires_at ? new Date(dto.expires_at) : null,
        })
        .catch((error: unknown) => {
          throw duplicateAccount(error) ?? error;
        });
      const id = (inserted.identifiers[0] as { id: number }).id;
      await manager.update(
        SocialAccount,
        { id },
        {
          accessTokenEncrypted: this.cipher.encrypt(
            dto.access_token,
            tokenContext(id, 'access_token'),
          ),
          refreshTokenEncrypted: dto.refresh_token
            ? this.cipher.encrypt(dto.refresh_token, tokenContext(id, 'refresh_token'))
            : null,
        },
      );
      return this.get(userId, id, manager);
    });
  }

  async update(userId: number, id: number, dto: UpdateAccountDto): Promise<SocialAccount> {
    return this.dataSource.transaction(async (manager) => {
      await this.lock(manager, userId, id);
      const changes: Partial<SocialAccount> = { updatedAt: new Date() };
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
      await manager.update(SocialAccount, { id, userId }, changes);
      return this.get(userId, id, manager);
    });
  }

  /** Disconnects it; the schedules that named it forget it (their platform falls back to the rule for none). */
  async delete(userId: number, id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const result = await manager.getRepository(SocialAccount).delete({ id, userId });
      if (!result.affected) throw new NotFoundError('account');
      await manager.query(
        `UPDATE posting_schedules SET account_ids = array_remove(account_ids, $1), updated_at = now()
         WHERE user_id = $2 AND $1 = ANY(account_ids)`,
        [id, userId],
      );
    });
  }

  /** For the workers only: the decrypted tokens of one account, with its platform id. */
  async tokens(
    accountId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<AccountTokens> {
    const row = await manager
      .getRepository(SocialAccount)
      .createQueryBuilder('account')
      .addSelect(['account.accessTokenEncrypted', 'account.refreshTokenEncrypted'])
      .where('account.id = :accountId', { accountId })
      .getOneOrFail();
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

  private async lock(manager: EntityManager, userId: number, id: number): Promise<void> {
    const found = await manager
      .getRepository(SocialAccount)
      .createQueryBuilder('account')
      .setLock('pessimistic_write')
      .where('account.id = :id AND account.user_id = :userId', { id, userId })
      .getExists();
    if (!found) throw new NotFoundError('account');
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
