import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';
import { AnalyticsController } from './analytics.controller.js';
import { AnalyticsService } from './analytics.service.js';
import { ImagesModule } from '../images/images.module.js';
import { PLATFORM } from './platforms/platform.js';
import { PostEvents } from './post-events.js';
import { createPlatforms } from './platforms/platform.registry.js';
import { PostsController } from './posts.controller.js';
import { PostsService } from './posts.service.js';
import { PublishPostProcessor } from './publish-post.processor.js';
import { PublishRequests } from './publish-request.js';
import { PublishingSweep } from './publishing.sweep.js';
import { ScheduleRunner } from './schedule-runner.js';
import { SchedulesController } from './schedules.controller.js';
import { SchedulesService } from './schedules.service.js';
import { SyncAnalyticsProcessor } from './sync-analytics.processor.js';
import { TemplatesController } from './templates.controller.js';
import { TemplatesService } from './templates.service.js';

/**
 * The Scheduler section: accounts, posts and their exactly-once publishing, recurring schedules,
 * post templates.
 */
@Module({
  imports: [ImagesModule],
  controllers: [
    AccountsController,
    AnalyticsController,
    PostsController,
    SchedulesController,
    TemplatesController,
  ],
  providers: [
    AccountsService,
    AnalyticsService,
    PostEvents,
    PostsService,
    PublishPostProcessor,
    PublishRequests,
    SyncAnalyticsProcessor,
    PublishingSweep,
    SchedulesService,
    ScheduleRunner,
    TemplatesService,
    {
      provide: PLATFORM,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => createPlatforms(config),
    },
  ],
  exports: [AccountsService, PostsService, SchedulesService, TemplatesService],
})
export class SchedulerModule {}
