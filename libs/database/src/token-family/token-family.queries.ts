import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource, type EntityManager, IsNull, LessThan } from 'typeorm';
import { Profile } from '../profile/profile.entity.js';
import { RefreshToken } from '../refresh-token/refresh-token.entity.js';
import { User } from '../user/user.entity.js';
import type { UserWithProfile } from '../user/user.queries.js';
import { TokenFamily } from './token-family.entity.js';

/** Why a family was revoked (`token_families.revoked_reason`). */
export type RevocationReason = 'logout' | 'password_change' | 'password_reset' | 'reuse_detected';

type Row = Record<string, unknown>;

/**
 * The user a bearer token stands for, as the bearer check loads it: with the profile, and the
 * version of their image list (a decimal string; it changes whenever anything the list shows
 * changes, see migration ImageListVersions).
 */
export type AuthenticatedUser = UserWithProfile & { imagesVersion: string };

/** Sign-ins (token families) and their refresh tokens. */
@Injectable()
export class TokenFamilyQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertFamily(
    family: Pick<TokenFamily, 'id' | 'userId' | 'expiresAt'>,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.insert(TokenFamily, family);
  }

  async insertRefreshToken(
    token: Pick<RefreshToken, 'id' | 'familyId' | 'userId' | 'expiresAt'>,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.insert(RefreshToken, token);
  }

  /**
   * The refresh token (with its family) a rotation exchanges, row-locked until the caller's
   * transaction ends, so two rotations of one token run one after the other and the second sees
   * it used. Only the token's row is locked, not the family's; a statement that waited for the
   * lock re-reads the token's row, but its family as it was when the statement began.
   */
  lockRefreshToken(
    tokenId: string,
    manager: EntityManager,
  ): Promise<(RefreshToken & { family: TokenFamily }) | null> {
    return manager
      .createQueryBuilder(RefreshToken, 'token')
      .innerJoinAndSelect('token.family', 'family')
      .setLock('pessimistic_write', undefined, ['token'])
      .where('token.id = :id', { id: tokenId })
      .getOne();
  }

  /** The exchanged token is marked used and its family lives on until `familyExpiresAt`. */
  async markRotated(
    tokenId: string,
    familyId: string,
    familyExpiresAt: Date,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.update(RefreshToken, { id: tokenId }, { usedAt: new Date() });
    await manager.update(TokenFamily, { id: familyId }, { expiresAt: familyExpiresAt });
  }

  /** Revokes the family if still alive; the number revoked (0 or 1). */
  revokeFamily(
    familyId: string,
    reason: RevocationReason,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    return this.revoke(manager, { id: familyId }, reason);
  }

  /** Revokes the family only if it is this user's and still alive (logout); 0 or 1. */
  revokeFamilyOfUser(
    familyId: string,
    userId: number,
    reason: RevocationReason,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    return this.revoke(manager, { id: familyId, userId }, reason);
  }

  /** Revokes every live family of the user; the number revoked. */
  revokeAllOfUser(
    userId: number,
    reason: RevocationReason,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    return this.revoke(manager, { userId }, reason);
  }

  /** Deletes families (and, by cascade, their refresh tokens) expired before `before`. */
  async purgeExpired(before: Date): Promise<number> {
    const result = await this.dataSource.manager.delete(TokenFamily, {
      expiresAt: LessThan(before),
    });
    return result.affected ?? 0;
  }

  /**
   * The bearer check: the user, with profile, if active and the token's family is alive. One
   * query, on every authenticated request — so its SQL is built by TypeORM once, and rows are
   * mapped by the entities' column metadata instead of TypeORM's per-call hydration (which
   * cost more than the query; see docs/benchmarks.md). bench/lib/bare-auth.mjs holds its text.
   */
  async findAuthenticated(userId: number, familyId: string): Promise<AuthenticatedUser | null> {
    this.authenticatedQuery ??= this.buildAuthenticatedQuery();
    const { sql, user, profile } = this.authenticatedQuery;
    // Straight to pg's pool: TypeORM's query() makes a QueryRunner for each call, 20-30 µs of
    // CPU on every authenticated request (docs/benchmarks.md, auth-me).
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    const [row] = (await pool.query<Row>(sql, [familyId, userId])).rows;
    if (!row) return null;
    return Object.assign(user(row), {
      profile: profile(row),
      imagesVersion: row.images_version as string,
    });
  }

  private authenticatedQuery?: {
    sql: string;
    user: (row: Row) => User;
    profile: (row: Row) => Profile;
  };

  private buildAuthenticatedQuery() {
    const [sql, parameters] = this.dataSource
      .getRepository(User)
      .createQueryBuilder('user')
      .innerJoinAndSelect('user.profile', 'profile')
      .innerJoin(
        TokenFamily,
        'family',
        'family.id = :familyId AND family.user_id = user.id AND family.revoked_at IS NULL',
        { familyId: 'family' },
      )
      // The image list's version (migration ImageListVersions), for its cache: no row yet is 0.
      .leftJoin('user_list_versions', 'versions', 'versions.user_id = user.id')
      .addSelect('coalesce(versions.images, 0)', 'images_version')
      .where('user.id = :userId AND user.is_active', { userId: 'user' })
      .getQueryAndParameters();
    if (parameters.join() !== 'family,user')
      throw new Error('findAuthenticated: unexpected parameter order');
    return { sql, user: this.rowMapper(User, 'user'), profile: this.rowMapper(Profile, 'profile') };
  }

  /** Reads `<alias>_<column>` fields into a new entity, for the columns TypeORM selects. */
  private rowMapper<T extends object>(entity: new () => T, alias: string) {
    const columns = this.dataSource
      .getMetadata(entity)
      .columns.filter((column) => column.isSelect && !column.relationMetadata)
      .map((column) => [`${alias}_${column.databaseName}`, column.propertyName] as const);
    const foreignKeys = this.dataSource
      .getMetadata(entity)
      .columns.filter(
        (column) =>
          column.isSelect &&
          column.relationMetadata &&
          column.propertyName !== column.relationMetadata.propertyName,
      )
      .map((column) => [`${alias}_${column.databaseName}`, column.propertyName] as const);
    const all = [...columns, ...foreignKeys];
    return (row: Row): T => {
      const target = new entity() as Record<string, unknown>;
      for (const [field, property] of all) target[property] = row[field];
      return target as T;
    };
  }

  private async revoke(
    manager: EntityManager,
    where: { id?: string; userId?: number },
    reason: RevocationReason,
  ): Promise<number> {
    const result = await manager.update(
      TokenFamily,
      { ...where, revokedAt: IsNull() },
      { revokedAt: new Date(), revokedReason: reason },
    );
    return result.affected ?? 0;
  }
}
