import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig, TooManyRequestsError } from '@app/common';
import { REDIS } from '../redis/redis.module.js';

/**
 * Takes one attempt on every counter, or none: when a counter has reached the limit (ARGV[1]),
 * answers its remaining seconds (the largest when several have) and counts nothing; else counts
 * the attempt on each, a new counter living ARGV[2] seconds, and answers 0. One script, so two
 * attempts can never both read the last free slot.
 */
const TAKE_ATTEMPT = `
local limit = tonumber(ARGV[1])
local wait = 0
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= limit then
    wait = math.max(wait, redis.call('TTL', key), 1)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[2], 'NX')
end
return 0
`;

/** Gives an attempt back: counters above zero go down by one (a vanished one stays vanished). */
const GIVE_BACK_ATTEMPT = `
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
`;

/**
 * Failed sign-ins counted in Redis, per account and per client IP, in a fixed window that starts
 * at the first failure. Past the limit every attempt is refused until the window ends, even with
 * the right password. Redis holds the counters, so every API replica sees the same numbers.
 *
 * An attempt is counted as a failure before its password is checked (`takeAttempt`) and given
 * back once the password proves right: counting after the check let 200 guesses sent at once all
 * read "9 failures so far" and all be checked.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Counts the attempt as a failure, or throws TooManyRequestsError when either count is spent. */
  async takeAttempt(account: string, ip: string): Promise<void> {
    const keys = this.keys(account, ip);
    const retryAfter = Number(
      await this.redis.eval(
        TAKE_ATTEMPT,
        keys.length,
        ...keys,
        this.config.auth.loginMaxFailures,
        this.config.auth.loginWindowSeconds,
      ),
    );
    if (retryAfter === 0) return;
    throw new TooManyRequestsError(
      `Too many failed sign-in attempts. Try again in ${retryAfter} seconds.`,
      retryAfter,
    );
  }

  /**
   * The password was right: the attempt was no failure. The account's count is cleared; the
   * address keeps its earlier failures until its window ends.
   */
  async recordSuccess(account: string, ip: string): Promise<void> {
    await this.redis.del(this.accountKey(account));
    await this.giveBack([this.ipKey(ip)]);
  }

  /** The password was right but the sign-in refused for another reason (not staff): not a guess. */
  async giveBackAttempt(account: string, ip: string): Promise<void> {
    await this.giveBack(this.keys(account, ip));
  }

  private async giveBack(keys: string[]): Promise<void> {
    await this.redis.eval(GIVE_BACK_ATTEMPT, keys.length, ...keys);
  }

  private keys(account: string, ip: string): [string, string] {
    return [this.accountKey(account), this.ipKey(ip)];
  }

  private accountKey(account: string): string {
    return `login-failures:account:${account.toLowerCase()}`;
  }

  private ipKey(ip: string): string {
    return `login-failures:ip:${ip}`;
  }
}
