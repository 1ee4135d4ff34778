import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '@app/common';

export const REDIS = Symbol('REDIS');

/**
 * How long a closing connection may take before its socket is destroyed. ioredis arms this timer
 * even when the socket is already gone (Redis unreachable), so its 2 s default kept a closed app's
 * process alive for 2 s; the queues' connections use the same value (jobs.module.ts).
 */
export const REDIS_DISCONNECT_TIMEOUT_MS = 200;

/** One shared connection for the app's own keys (throttling, locks); Bull keeps its own. */
@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        const redis = new Redis(config.redis.url, {
          keyPrefix: `${config.redis.prefix}:`,
          maxRetriesPerRequest: 2,
          disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS,
        });
        // Without a listener ioredis prints a stack trace on stderr at every reconnect attempt.
        const logger = new Logger('Redis');
        redis.on('error', (error: Error) =>
          logger.warn(`Redis connection error: ${error.message}`),
        );
        return redis;
      },
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
