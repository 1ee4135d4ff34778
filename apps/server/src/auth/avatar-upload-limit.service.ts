import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig, TooManyRequestsError } from '@app/common';
import { REDIS } from '../redis/redis.module.js';

const WINDOW_SECONDS = 3600;

/**
 * Avatar uploads per user, counted in Redis (every replica sees the same count) in a fixed
 * one-hour window from the user's first upload. Each upload costs a decode, so a refused file
 * counts as much as an accepted one.
 */
@Injectable()
export class AvatarUploadLimit {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Counts one upload, or throws 429 (with Retry-After) once the hour's allowance is used. */
  async take(userId: number): Promise<void> {
    const limit = this.config.auth.avatarUploadsPerHour;
    if (limit === 0) return;
    const key = `avatar-uploads:user:${userId}`;
    const [[, count], , [, ttl]] = (await this.redis
      .multi()
      .incr(key)
      .expire(key, WINDOW_SECONDS, 'NX')
      .ttl(key)
      .exec()) as [[unknown, number], unknown, [unknown, number]];
    if (count <= limit) return;
    const retryAfter = ttl > 0 ? ttl : WINDOW_SECONDS;
    throw new TooManyRequestsError(
      `Too many avatar uploads: ${limit} an hour. Try again in ${retryAfter} seconds.`,
      retryAfter,
    );
  }
}
