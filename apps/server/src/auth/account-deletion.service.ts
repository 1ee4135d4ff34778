import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { FieldValidationError } from '@app/common';
import {
  AccountDeletionQueries,
  type MediaPurge,
  MediaPurgeQueries,
  UserQueries,
} from '@app/database';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import { REDIS } from '../redis/redis.module.js';
import { LoginThrottle } from './login-throttle.service.js';
import { verifyPassword } from './password-hasher.js';

/**
 * Where a user's files live in media storage: every key the app writes for a user starts with
 * one of these (images and their renditions and versions, the avatar, the exports). A new kind
 * of per-user file must live under one of them, or be added here.
 */
export const userMediaPrefixes = (userId: number) => [
  `images/${userId}/`,
  `avatars/${userId}/`,
  `exports/${userId}/`,
];

/**
 * `DELETE auth/me/`: the account and everything of it. In ONE transaction, after the password:
 * the user's scheduled and processing posts are cancelled (a new version each, so a queued
 * publish job finds nothing to claim) and the recurring schedules stopped, under the rows'
 * locks, so a job that claims a post or runs a schedule either got there first or finds nothing;
 * then the rows go (the user's row, and with it every row that names the user through the
 * foreign keys' ON DELETE CASCADE: profile, token families and refresh tokens, images, tags,
 * accounts, posts and analytics, schedules and runs, events, webhooks and their deliveries, sent
 * mail, reset tokens, exports, counters; image_generation_history, which has no foreign key, by
 * hand), and the media prefixes to delete are written to `media_purges`. After the commit the
 * files are deleted and the purge rows with them; a deletion that fails is retried by
 * MediaPurgeSweep. The access token stops working with the user's row (the bearer check reads
 * it on every request). No events are recorded: the user's webhooks are deleted in the same
 * transaction, so there would be no one to tell.
 */
@Injectable()
export class AccountDeletionService {
  private readonly logger = new Logger(AccountDeletionService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UserQueries,
    private readonly purges: MediaPurgeQueries,
    private readonly deletion: AccountDeletionQueries,
    private readonly throttle: LoginThrottle,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async delete(userId: number, username: string, password: string, ip: string): Promise<void> {
    // A wrong password here is a guess like a failed sign-in: counted and limited the same way.
    await this.throttle.takeAttempt(username, ip);
    const purges = await this.dataSource.transaction(async (manager) => {
      const user = await this.users.lockForPasswordChange(userId, manager);
      if (!(await verifyPassword(user.password, password))) {
        throw FieldValidationError.of('password', 'Your password was entered incorrectly.');
      }
      await this.deletion.stopActivity(userId, manager);
      const rows = await this.purges.insert(userMediaPrefixes(userId), manager);
      await this.deletion.deleteRows(userId, manager);
      return rows;
    });
    await this.throttle.recordSuccess(username, ip).catch(() => undefined);
    await this.forgetIdempotencyKeys(userId).catch((error: Error) =>
      this.logger.warn(`Idempotency keys of a deleted user not removed: ${error.message}`),
    );
    await this.purgeAll(purges);
  }

  /** Deletes each prefix's files, then its row; a failure leaves the row for the sweep. */
  async purgeAll(purges: MediaPurge[]): Promise<number> {
    let done = 0;
    for (const purge of purges) {
      try {
        await this.storage.deletePrefix(purge.prefix);
        await this.purges.done(purge.id);
        done++;
      } catch (error) {
        this.logger.warn(`Media purge ${purge.prefix} failed: ${(error as Error).message}`);
        await this.purges.failed(purge.id, (error as Error).message).catch(() => undefined);
      }
    }
    return done;
  }

  /** The stored answers of the user's creating POSTs (they hold the user's objects) go too. */
  private async forgetIdempotencyKeys(userId: number): Promise<void> {
    const prefix = this.redis.options.keyPrefix ?? '';
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${prefix}idempotency:${userId}:*`,
        'COUNT',
        500,
      );
      cursor = next;
      // SCAN answers keys with the prefix, which DEL would add again.
      if (keys.length > 0) await this.redis.del(...keys.map((key) => key.slice(prefix.length)));
    } while (cursor !== '0');
  }
}
