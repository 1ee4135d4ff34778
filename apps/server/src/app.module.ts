import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '@app/common';
import { DatabaseModule, dataSourceOptions } from '@app/database';
import { AdminPanelModule } from './admin/admin.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ConfigModule } from './config.module.js';
import { EventsModule } from './events/events.module.js';
import { ExportsModule } from './exports/exports.module.js';
import { HealthModule } from './health/health.module.js';
import { ContentTypeGuard } from './http/content-type.guard.js';
import { ProblemFilter } from './http/problem.filter.js';
import { ImagesModule } from './images/images.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { MailModule } from './mail/mail.module.js';
import { MediaModule } from './media/media.module.js';
import { RedisModule } from './redis/redis.module.js';
import { SchedulerModule } from './scheduler/scheduler.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

/**
 * One module tree for every role. The roles only decide what runs: HTTP is served when `api`
 * is one (main.ts), Bull consumers start with `worker`, and @Cron ticks fire with `scheduler`.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            redact: [
              'req.headers.authorization',
              'req.headers.cookie',
              'res.headers["set-cookie"]',
            ],
            autoLogging: { ignore: (request) => request.url === '/api/health' },
            quietReqLogger: true,
            serializers: {
              req: (request: { id: unknown; method: string; url: string }) => ({
                id: request.id,
                method: request.method,
                url: request.url,
              }),
              res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
            },
          },
        }),
        TypeOrmModule.forRoot({
          ...dataSourceOptions(config.database.url),
          extra: { max: 20, connectionTimeoutMillis: 5000 },
          // Failed queries surface as exceptions (logged by the problem filter when unexpected);
          // TypeORM's own logger would print expected ones (a duplicate caught as a 400) to the console.
          logging: false,
        }),
        DatabaseModule,
        RedisModule,
        JobsModule.forRoot(config),
        EventsModule,
        ...(config.roles.has('scheduler') ? [ScheduleModule.forRoot()] : []),
        MediaModule,
        MailModule,
        HealthModule,
        AuthModule,
        ImagesModule,
        SchedulerModule,
        WebhooksModule,
        ExportsModule,
        AdminPanelModule.forRoot(config),
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_GUARD, useClass: ContentTypeGuard },
      ],
    };
  }
}
