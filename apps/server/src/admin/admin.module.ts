import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@app/common';
import { LoginThrottle } from '../auth/login-throttle.service.js';
import { ImagesModule } from '../images/images.module.js';
import { SchedulerModule } from '../scheduler/scheduler.module.js';
import { AdminDashboard } from './admin-dashboard.service.js';
import { AdminPanel } from './admin-panel.service.js';
import { AdminRouterLoader } from './admin-router.loader.js';
import { AdminSignIn } from './admin-sign-in.service.js';

/** Whether this process serves the admin panel (an `api` process, unless ADMIN_ENABLED=false). */
export function hasAdminPanel(config: AppConfig): boolean {
  return config.admin.enabled && config.roles.has('api');
}

/**
 * AdminJS at /admin, with the queue board at /admin/queues. Only an `api` process serves it, and
 * ADMIN_ENABLED=false leaves it out. AdminJS itself is imported by `AdminPanel.start()`, after the
 * server listens (main.ts): no process loads it during its boot, and one without the panel never.
 */
@Module({})
export class AdminPanelModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!hasAdminPanel(config)) return { module: AdminPanelModule };
    return {
      module: AdminPanelModule,
      imports: [ImagesModule, SchedulerModule],
      // A second LoginThrottle instance over the same Redis counters as the API's.
      providers: [AdminSignIn, AdminDashboard, LoginThrottle, AdminRouterLoader, AdminPanel],
      exports: [AdminPanel],
    };
  }
}
