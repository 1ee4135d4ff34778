import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig, TooManyRequestsError } from '@app/common';
import { REDIS } from '../redis/redis.module.js';

/** What one client address may do a limited number of times per hour, whichever the account. */
export type AddressLimitedAction = 'register' | 'password_reset';

const WINDOW_SECONDS = 3600;

/**
 * Per-address limits on the public endpoints that cost us rows or mail (registration and
 * password reset, each counted apart under the same RATE_LIMIT_REGISTER_PER_HOUR): counted in Redis,
 * so every API process sees the same count, in a fixed hour from the address's first attempt.
 * The address is Express's `request.ip`, read across the TRUST_PROXY hops only.
 */
@Injectable()
export class AddressRateLimit {
  private readonly limits: Record<AddressLimitedAction, number>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // Password reset shares the setting (api.md, "Hardening details"), with a count of its own.
    this.limits = {
      register: config.auth.registrationsPerIpPerHour,
      password_reset: config.auth.registrationsPerIpPerHour,
    };
  }

  /** Counts the attempt; throws TooManyRequestsError past the limit (0: no limit, nothing counted). */
  async take(action: AddressLimitedAction, ip: string): Promise<void> {
    const limit = this.limits[action];
    if (limit === 0) return;
    const key = `address-limit:${action}:${ip}`;
    const [counted, , remaining] =
      (await this.redis.multi().incr(key).expire(key, WINDOW_SECONDS, 'NX').ttl(key).exec()) ?? [];
    if (counted?.[0]) throw counted[0];
    if (Number(counted?.[1] ?? 0) <= limit) return;
    const retryAfter = Math.max(1, Number(remaining?.[1] ?? WINDOW_SECONDS));
    throw new TooManyRequestsError(
      `Too many attempts from this address. Try again in ${retryAfter} seconds.`,
      retryAfter,
    );
  }
}
