import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type FieldErrors, FieldValidationError } from '@app/common';
import { type AuthenticatedUser, TokenFamilyQueries, UserQueries } from '@app/database';
import { AddressRateLimit } from './address-rate-limit.service.js';
import { InvalidCredentialsError } from './auth.errors.js';
import type { ChangePasswordDto } from './dto/change-password.dto.js';
import type { LoginDto } from './dto/login.dto.js';
import type { RegisterDto } from './dto/register.dto.js';
import { LoginThrottle } from './login-throttle.service.js';
import { hashPassword, verifyAgainstNothing, verifyPassword } from './password-hasher.js';
import { createUserWithProfile, type UserWithProfile } from './user-accounts.js';
import { checkPassword } from './password-policy.js';
import { type TokenPair, TokenService } from './token.service.js';

export type { UserWithProfile };

@Injectable()
export class AuthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
    private readonly addressLimits: AddressRateLimit,
    private readonly users: UserQueries,
    private readonly families: TokenFamilyQueries,
  ) {}

  async register(
    dto: RegisterDto,
    ip: string,
  ): Promise<{ user: UserWithProfile; tokens: TokenPair }> {
    await this.addressLimits.take('register', ip);
    const errors: FieldErrors = {};
    if (dto.password !== dto.password2)
      errors.password2 = ["The two password fields didn't match."];
    this.collectPasswordErrors(errors, 'password', dto.password, dto);
    if (Object.keys(errors).length > 0) throw new FieldValidationError(errors);
    return this.dataSource.transaction(async (manager) => {
      const user = await createUserWithProfile(
        this.users,
        {
          username: dto.username,
          email: dto.email,
          password: dto.password,
          firstName: dto.first_name,
          lastName: dto.last_name,
        },
        manager,
      );
      return { user, tokens: await this.tokens.startSession(user.id, manager) };
    });
  }

  async login(dto: LoginDto, ip: string): Promise<TokenPair> {
    const user = await this.users.findForSignIn(dto.username);
    const account = user ? `user:${user.id}` : dto.username;
    // Counted as a failure before the check: see LoginThrottle.
    await this.throttle.takeAttempt(account, ip);
    const valid = user
      ? await verifyPassword(user.password, dto.password)
      : (await verifyAgainstNothing(dto.password), false);
    if (!user || !valid || !user.isActive) throw new InvalidCredentialsError();
    await this.throttle.recordSuccess(account, ip);
    await this.users.recordSignIn(user.id);
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
      const user = await this.users.lockForPasswordChange(userId, manager);
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
      await this.users.setPassword(
        userId,
        await hashPassword(dto.new_password),
        new Date(),
        manager,
      );
      await this.tokens.revokeAllSessions(userId, 'password_change', manager);
    });
  }

  /** The bearer check: the user, with profile, if active and the token's family is alive. */
  findAuthenticated(userId: number, familyId: string): Promise<AuthenticatedUser | null> {
    return this.families.findAuthenticated(userId, familyId);
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
}
