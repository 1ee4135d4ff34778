import { BullModule } from '@nestjs/bull';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { AppConfig } from '@app/common';
import { REDIS_DISCONNECT_TIMEOUT_MS } from '../redis/redis.module.js';
import { JobQueue } from './job-queue.service.js';
import { JobWorker } from './job-worker.service.js';
import { QueueName, RETRY_AFTER_BACKOFF, type RetryAfterHint } from './job.types.js';

/** Bull on Redis: every role can enqueue; only the worker role consumes. */
@Global()
@Module({})
export class JobsModule {
  static forRoot(config: AppConfig): DynamicModule {
    const redis = new URL(config.redis.url);
    const queues = BullModule.registerQueue(
      ...Object.values(QueueName).map((name) => ({
        name,
        settings: {
          // A worker killed mid-job loses its lock; after this long the job runs again elsewhere.
          lockDuration: config.jobs.lockDurationMs,
          stalledInterval: config.jobs.lockDurationMs,
          maxStalledCount: 2,
          backoffStrategies: {
            [RETRY_AFTER_BACKOFF]: (
              attemptsMade: number,
              error: RetryAfterHint & Error,
              options?: { base?: number },
            ) =>
              error?.retryAfterMs ?? (options?.base ?? 1000) * 2 ** Math.max(0, attemptsMade - 1),
          },
        },
      })),
    );
    return {
      module: JobsModule,
      imports: [
        BullModule.forRoot({
          redis: {
            host: redis.hostname,
            port: Number(redis.port || 6379),
            username: redis.username ? decodeURIComponent(redis.username) : undefined,
            password: redis.password ? decodeURIComponent(redis.password) : undefined,
            db: redis.pathname.length > 1 ? Number(redis.pathname.slice(1)) : 0,
            tls: redis.protocol === 'rediss:' ? {} : undefined,
            disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS,
          },
          prefix: `${config.redis.prefix}:bull`,
        }),
        queues,
        ...(config.roles.has('worker') ? [DiscoveryModule] : []),
      ],
      providers: [JobQueue, ...(config.roles.has('worker') ? [JobWorker] : [])],
      exports: [JobQueue, queues],
    };
  }
}
