import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig, TooManyRequestsError } from '@app/common';
import { REDIS } from '../redis/redis.module.js';

/**
 * Failed sign-ins counted in Redis, per account and per client IP, in a fixed window that starts
 * at the first failure. Past the limit every attempt is refused until the window ends, even with
 * the right password. Redis holds the counters, so every API replica sees the same numbers.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async assertAllowed(account: string, ip: string): Promise<void> {
    const keys = this.keys(account, ip);
    const counts = await this.redis.mget(...keys);
    const blocked = keys.filter(
      (_, index) => Number(counts[index] ?? 0) >= this.config.auth.loginMaxFailures,
    );
    if (blocked.length === 0) return;
    const ttls = await Promise.all(blocked.map((key) => this.redis.ttl(key)));
    const retryAfter = Math.max(1, ...ttls);
    throw new TooManyRequestsError(
      `Too many failed sign-in attempts. Try again in ${retryAfter} seconds.`,
      retryAfter,
    );
  }

  async recordFailure(account: string, ip: string): Promise<void> {
    const pipeline = this.redis.multi();
    for (const key of this.keys(account, ip)) {
      pipeline.incr(key).expire(key, this.config.auth.loginWindowSeconds, 'NX');
    }
    await pipeline.exec();
  }

  /** A successful sign-in clears the account's count; the IP's stays until its window ends. */
  async recordSuccess(account: string): Promise<void> {
    await this.redis.del(this.accountKey(account));
  }

  private keys(account: string, ip: string): [string, string] {
    return [this.accountKey(account), `login-failures:ip:${ip}`];
  }

  private accountKey(account: string): string {
    return `login-failures:account:${account.toLowerCase()}`;
  }
}
