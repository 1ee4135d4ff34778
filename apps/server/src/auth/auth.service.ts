import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { type FieldErrors, FieldValidationError } from '@app/common';
import { Profile, TokenFamily, User } from '@app/database';
import { InvalidCredentialsError } from './auth.errors.js';
import type { ChangePasswordDto } from './dto/change-password.dto.js';
import type { LoginDto } from './dto/login.dto.js';
import type { RegisterDto } from './dto/register.dto.js';
import { LoginThrottle } from './login-throttle.service.js';
import { hashPassword, verifyAgainstNothing, verifyPassword } from './password-hasher.js';
import { createUserWithProfile, emailTaken, type UserWithProfile } from './user-accounts.js';
import { checkPassword } from './password-policy.js';
import { type TokenPair, TokenService } from './token.service.js';

export type { UserWithProfile };

@Injectable()
export class AuthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
  ) {}

  async register(dto: RegisterDto): Promise<{ user: UserWithProfile; tokens: TokenPair }> {
    const errors: FieldErrors = {};
    if (dto.password !== dto.password2)
      errors.password2 = ["The two password fields didn't match."];
    this.collectPasswordErrors(errors, 'password', dto.password, dto);
    if (Object.keys(errors).length > 0) throw new FieldValidationError(errors);
    return this.dataSource.transaction(async (manager) => {
      const user = await createUserWithProfile(manager, {
        username: dto.username,
        email: dto.email,
        password: dto.password,
        firstName: dto.first_name,
        lastName: dto.last_name,
      });
      return { user, tokens: await this.tokens.startSession(user.id, manager) };
    });
  }

  async login(dto: LoginDto, ip: string): Promise<TokenPair> {
    const user = await this.dataSource
      .getRepository(User)
      .createQueryBuilder('user')
      .addSelect('user.password')
      .where('lower(user.username) = lower(:login) OR lower(user.email) = lower(:login)', {
        login: dto.username,
      })
      // A username that equals another account's email address signs in as the username.
      .orderBy('CASE WHEN lower(user.username) = lower(:login) THEN 0 ELSE 1 END')
      .getOne();
    const account = user ? `user:${user.id}` : dto.username;
    await this.throttle.assertAllowed(account, ip);
    const valid = user
      ? await verifyPassword(user.password, dto.password)
      : (await verifyAgainstNothing(dto.password), false);
    if (!user || !valid || !user.isActive) {
      await this.throttle.recordFailure(account, ip);
      throw new InvalidCredentialsError();
    }
    await this.throttle.recordSuccess(account);
    await this.dataSource.getRepository(User).update({ id: user.id }, { lastLogin: new Date() });
    return this.tokens.startSession(user.id);
  }

  refresh(refreshToken: string): Promise<TokenPair> {
    return this.tokens.rotate(refreshToken);
  }

  async logout(userId: number, refreshToken: string, field: string): Promise<void> {
    const revoked = await this.tokens.revokeSessionOf(refreshToken, userId);
    if (!revoked)
      throw FieldValidationError.of(field, 'Token is invalid, expired or already revoked.');
  }

  /** Every refresh and access token issued before the change dies with it. */
  async changePassword(userId: number, dto: ChangePasswordDto): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const user = await manager
        .createQueryBuilder(User, 'user')
        .addSelect('user.password')
        .setLock('pessimistic_write')
        .where('user.id = :userId', { userId })
        .getOneOrFail();
      const errors: FieldErrors = {};
      if (!(await verifyPassword(user.password, dto.old_password))) {
        throw FieldValidationError.of('old_password', 'Your old password was entered incorrectly.');
      }
      if (dto.new_password !== dto.new_password2)
        errors.new_password2 = ["The two password fields didn't match."];
      this.collectPasswordErrors(errors, 'new_password', dto.new_password, {
        username: user.username,
        email: user.email,
        first_name: user.firstName,
        last_name: user.lastName,
      });
      if (Object.keys(errors).length > 0) throw new FieldValidationError(errors);
      await manager.update(
        User,
        { id: userId },
        { password: await hashPassword(dto.new_password), passwordChangedAt: new Date() },
      );
      await this.tokens.revokeAllSessions(userId, 'password_change', manager);
    });
  }

  /**
   * The bearer check: the user, with profile, if active and the token's family is alive. One
   * query, on every authenticated request — so its SQL is built by TypeORM once, and rows are
   * mapped by the entities' column metadata instead of TypeORM's per-call hydration (which
   * cost more than the query; see docs/benchmarks.md).
   */
  async findAuthenticated(userId: number, familyId: string): Promise<UserWithProfile | null> {
    this.authenticatedQuery ??= this.buildAuthenticatedQuery();
    const { sql, user, profile } = this.authenticatedQuery;
    const [row] = (await this.dataSource.query(sql, [familyId, userId])) as Record<
      string,
      unknown
    >[];
    if (!row) return null;
    return Object.assign(user(row), { profile: profile(row) });
  }

  private authenticatedQuery?: {
    sql: string;
    user: (row: Record<string, unknown>) => User;
    profile: (row: Record<string, unknown>) => Profile;
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
    return (row: Record<string, unknown>): T => {
      const target = new entity() as Record<string, unknown>;
      for (const [field, property] of all) target[property] = row[field];
      return target as T;
    };
  }

  private collectPasswordErrors(
    errors: FieldErrors,
    field: string,
    password: string,
    user: Parameters<typeof checkPassword>[1],
  ) {
    const problems = checkPassword(password, user);
    if (problems.length > 0) errors[field] = problems;
  }

  isEmailTaken(
    email: string,
    exceptUserId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    return emailTaken(manager, email, exceptUserId);
  }
}
