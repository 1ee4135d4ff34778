import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';
import { PLATFORM } from './platforms/platform.js';
import { createPlatforms } from './platforms/platform.registry.js';
import { PostsController } from './posts.controller.js';
import { PostsService } from './posts.service.js';
import { PublishPostProcessor } from './publish-post.processor.js';
import { PublishingSweep } from './publishing.sweep.js';
import { SyncAnalyticsProcessor } from './sync-analytics.processor.js';

/** The Scheduler section: connected accounts, posts and their exactly-once publishing. */
@Module({
  controllers: [AccountsController, PostsController],
  providers: [
    AccountsService,
    PostsService,
    PublishPostProcessor,
    SyncAnalyticsProcessor,
    PublishingSweep,
    {
      provide: PLATFORM,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => createPlatforms(config, config.platforms.oauth),
    },
  ],
  exports: [AccountsService, PostsService],
})
export class SchedulerModule {}
