import { AdminModule, type AdminModuleOptions } from '@adminjs/nestjs';
import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@app/common';
import { LoginThrottle } from '../auth/login-throttle.service.js';
import { ImagesModule } from '../images/images.module.js';
import { ImagesService } from '../images/images.service.js';
import { PostsService } from '../scheduler/posts.service.js';
import { SchedulesService } from '../scheduler/schedules.service.js';
import { SchedulerModule } from '../scheduler/scheduler.module.js';
import { AdminDashboard } from './admin-dashboard.service.js';
import { adminJsOptions } from './admin-options.js';
import { AdminRouterLoader } from './admin-router.loader.js';
import { AdminSignIn } from './admin-sign-in.service.js';

/** What the panel's router, actions and dashboard use: the API's own services. */
@Module({
  imports: [ImagesModule, SchedulerModule],
  // A second LoginThrottle instance over the same Redis counters as the API's.
  providers: [AdminSignIn, AdminDashboard, LoginThrottle],
  exports: [AdminSignIn, AdminDashboard, ImagesModule, SchedulerModule],
})
class AdminSupportModule {}

/**
 * AdminJS at /admin through @adminjs/nestjs, with the queue board at /admin/queues. Only an
 * `api` process serves it, and ADMIN_ENABLED=false leaves it out (AdminJS is then never loaded).
 */
@Module({})
export class AdminPanelModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!config.admin.enabled || !config.roles.has('api')) return { module: AdminPanelModule };
    return {
      module: AdminPanelModule,
      imports: [
        AdminModule.createAdminAsync({
          imports: [AdminSupportModule],
          inject: [ImagesService, PostsService, SchedulesService, AdminDashboard],
          useFactory: adminModuleOptions,
          // Ours also in tests: without it @adminjs/nestjs picks its no-op loader whenever the
          // HTTP adapter does not exist yet when providers are built (Test.createTestingModule).
          customLoader: AdminRouterLoader,
        }),
      ],
    };
  }
}

let adapterRegistered = false;

/**
 * AdminJS (about 1.5 s to import) is loaded here, when the module is built, so that processes
 * without the panel never load it.
 */
async function adminModuleOptions(
  images: ImagesService,
  posts: PostsService,
  schedules: SchedulesService,
  dashboard: AdminDashboard,
): Promise<AdminModuleOptions> {
  // One after the other: jest's ESM loader fails on two concurrent imports sharing modules.
  const { default: AdminJS } = await import('adminjs');
  const { Database, Resource } = await import('@adminjs/typeorm');
  if (!adapterRegistered) {
    AdminJS.registerAdapter({ Database, Resource });
    adapterRegistered = true;
  }
  // @adminjs/nestjs calls admin.watch() on every boot outside production: a rollup watcher that
  // bundles custom components into .adminjs/ and keeps the process (and jest) alive. Our
  // components are prebuilt (frontend/admin-components.ts): there is nothing to watch.
  AdminJS.prototype.watch = () => Promise.resolve(undefined);
  return { adminJsOptions: adminJsOptions({ images, posts, schedules, dashboard }) };
}
