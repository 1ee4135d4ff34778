import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Job } from 'bull';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import {
  APP_CONFIG,
  type AppConfig,
  type FieldErrors,
  FieldValidationError,
  TokenCipher,
} from '@app/common';
import {
  NotificationPreferenceQueries,
  PasswordResetTokenQueries,
  UserQueries,
} from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { Mailer } from '../mail/mailer.service.js';
import { REDIS } from '../redis/redis.module.js';
import { AddressRateLimit } from './address-rate-limit.service.js';
import type { PasswordResetConfirmDto } from './dto/password-reset.dto.js';
import { hashPassword } from './password-hasher.js';
import { checkPassword } from './password-policy.js';
import { TokenService } from './token.service.js';

const TOKEN_TTL_MS = 60 * 60 * 1000;
/** Reset mails one account may receive per hour; more requests are answered alike, unmailed. */
const MAILS_PER_ACCOUNT_PER_HOUR = 3;
const REQUEST_CONTEXT = 'password-reset-request';

const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

const INVALID_TOKEN = 'This password reset link is invalid, has expired or was already used.';

/**
 * Password reset by mail. The request does the same work whoever the address belongs to (the
 * per-address limit, then one job): the account is looked up by the worker, so neither the
 * answer nor its timing says whether the address is known. The worker mails a single-use token
 * valid one hour; only its hash is stored. Confirming sets the password and revokes every session.
 */
@Injectable()
export class PasswordResetService {
  private readonly logger = new Logger(PasswordResetService.name);
  private readonly cipher: TokenCipher;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly addressLimits: AddressRateLimit,
    private readonly queue: JobQueue,
    private readonly preferences: NotificationPreferenceQueries,
    private readonly resets: PasswordResetTokenQueries,
    private readonly users: UserQueries,
    private readonly tokens: TokenService,
    private readonly mailer: Mailer,
  ) {
    this.cipher = new TokenCipher(config.crypto.tokenEncryptionKeys);
  }

  async request(email: string, ip: string): Promise<void> {
    await this.addressLimits.take('password_reset', ip);
    await this.queue.enqueue(
      JobName.PasswordResetRequested,
      {
        sealedEmail: this.cipher.encrypt(email, REQUEST_CONTEXT),
        requestedAt: new Date().toISOString(),
      },
      { jobId: `password-reset:${randomUUID()}`, attempts: 3, backoffMs: 5000 },
    );
  }

  @OnJob(JobName.PasswordResetRequested)
  async issue(
    payload: JobPayloads[JobName.PasswordResetRequested],
    job: Job,
  ): Promise<{ status: string }> {
    const email = this.cipher.decrypt(payload.sealedEmail, REQUEST_CONTEXT);
    const recipient = await this.preferences.recipientByEmail(email);
    if (!recipient) return { status: 'no such account' };
    if (!(await this.withinAccountLimit(recipient.userId))) {
      this.logger.warn(`Password reset for user ${recipient.userId}: hourly mail limit reached`);
      return { status: 'limited' };
    }
    const token = randomBytes(32).toString('base64url');
    await this.resets.insert(
      recipient.userId,
      hashToken(token),
      new Date(Date.now() + TOKEN_TTL_MS),
    );
    await this.mailer.queueMail({
      userId: recipient.userId,
      to: recipient.email,
      kind: 'password_reset',
      template: 'password-reset',
      params: {
        name: recipient.firstName || recipient.username,
        username: recipient.username,
        valid_minutes: TOKEN_TTL_MS / 60_000,
      },
      secrets: {
        token,
        reset_url: this.config.mail.passwordResetUrl.replace('{token}', encodeURIComponent(token)),
      },
      dedupeKey: `password-reset:${String(job.id)}`,
    });
    return { status: 'mailed' };
  }

  /** Sets the password, spends the user's reset tokens and revokes every session, or changes nothing. */
  async confirm(dto: PasswordResetConfirmDto): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const now = new Date();
      const reset = await this.resets.lockByHash(hashToken(dto.token), manager);
      if (!reset || reset.usedAt || reset.expiresAt.getTime() <= now.getTime())
        throw FieldValidationError.of('token', INVALID_TOKEN);
      const user = await this.users.lockForPasswordChange(reset.userId, manager);
      if (!user.isActive) throw FieldValidationError.of('token', INVALID_TOKEN);
      const errors: FieldErrors = {};
      if (dto.new_password !== dto.new_password2)
        errors.new_password2 = ["The two password fields didn't match."];
      const problems = checkPassword(dto.new_password, {
        username: user.username,
        email: user.email,
        first_name: user.firstName,
        last_name: user.lastName,
      });
      if (problems.length > 0) errors.new_password = problems;
      if (Object.keys(errors).length > 0) throw new FieldValidationError(errors);
      await this.users.setPassword(user.id, await hashPassword(dto.new_password), now, manager);
      await this.resets.spendAllOfUser(user.id, now, manager);
      await this.tokens.revokeAllSessions(user.id, 'password_reset', manager);
    });
  }

  private async withinAccountLimit(userId: number): Promise<boolean> {
    const key = `password-reset-mails:${userId}`;
    const [counted] = (await this.redis.multi().incr(key).expire(key, 3600, 'NX').exec()) ?? [];
    if (counted?.[0]) throw counted[0];
    return Number(counted?.[1] ?? 0) <= MAILS_PER_ACCOUNT_PER_HOUR;
  }
}
