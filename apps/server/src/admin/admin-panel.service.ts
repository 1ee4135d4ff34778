import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Express, RequestHandler, Router } from 'express';
import { buildProblem, PROBLEM_CONTENT_TYPE } from '@app/common';
import { ImagesService } from '../images/images.service.js';
import { PostsService } from '../scheduler/posts.service.js';
import { SchedulesService } from '../scheduler/schedules.service.js';
import { AdminDashboard } from './admin-dashboard.service.js';
import { ADMIN_ROOT_PATH, adminJsOptions } from './admin-options.js';
import { AdminRouterLoader } from './admin-router.loader.js';

/** What a client is told to wait while the panel starts (seconds). */
export const ADMIN_STARTING_RETRY_AFTER = 2;

let adapterRegistered = false;

/**
 * AdminJS and the queue board at /admin, started by the first request to /admin rather than during
 * the boot: importing `adminjs`, `@adminjs/typeorm`, `@adminjs/express` and Bull Board and building
 * the panel took about 40% of the time to the first 200 of /api/health (docs/benchmarks.md, "Boot"),
 * and the API needs none of it. A gate is mounted at /admin when the modules initialise, at the
 * place the panel's router would take (after the API's routes, before Nest's 404): until `start()`
 * has built the router it answers 503 problem+json with Retry-After; then it hands every request to
 * the router. Not on a timer after `listen`: loading AdminJS holds the event loop for 1.5 s or more
 * (module evaluation is synchronous), and API requests arriving then waited for it (the benchmarks'
 * first requests timed out after 5 s on the loaded machine). The tests await `start()`
 * (test/support/test-app.ts).
 */
@Injectable()
export class AdminPanel implements OnModuleInit {
  private readonly logger = new Logger('Admin');
  private router?: Router;
  private failed = false;
  private starting?: Promise<void>;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly loader: AdminRouterLoader,
    private readonly images: ImagesService,
    private readonly posts: PostsService,
    private readonly schedules: SchedulesService,
    private readonly dashboard: AdminDashboard,
  ) {}

  onModuleInit(): void {
    const app = this.adapterHost.httpAdapter.getInstance<Express>();
    app.use(ADMIN_ROOT_PATH, this.gate());
  }

  /** Builds the panel once; later calls return the same promise. Never rejects: a failure is logged. */
  start(): Promise<void> {
    this.starting ??= this.build().then(
      (router) => {
        this.router = router;
      },
      (error: unknown) => {
        this.failed = true;
        this.logger.error(error, 'The admin panel could not start; /admin answers 503');
      },
    );
    return this.starting;
  }

  private async build(): Promise<Router> {
    const started = performance.now();
    // One after the other: jest's ESM loader fails on two concurrent imports sharing modules.
    const { default: AdminJS } = await import('adminjs');
    const { Database, Resource } = await import('@adminjs/typeorm');
    if (!adapterRegistered) {
      AdminJS.registerAdapter({ Database, Resource });
      adapterRegistered = true;
    }
    // The components are prebuilt (frontend/admin-components.ts): AdminJS's rollup bundler and
    // its watcher never run (nothing calls initialize() or watch()).
    const admin = new AdminJS(
      adminJsOptions({
        images: this.images,
        posts: this.posts,
        schedules: this.schedules,
        dashboard: this.dashboard,
      }),
    );
    const router = await this.loader.buildRouter(admin);
    this.logger.log(
      `Admin panel ready at ${ADMIN_ROOT_PATH} in ${Math.round(performance.now() - started)} ms`,
    );
    return router;
  }

  private gate(): RequestHandler {
    return (request, response, next) => {
      if (this.router) return this.router(request, response, next);
      if (!this.failed) void this.start();
      const detail = this.failed
        ? 'The admin panel failed to start; see the server log.'
        : 'The admin panel is starting; try again in a moment.';
      const problem = buildProblem(
        503,
        'service_unavailable',
        detail,
        undefined,
        request.originalUrl.split('?')[0],
      );
      if (!this.failed) {
        response.setHeader('Retry-After', String(ADMIN_STARTING_RETRY_AFTER));
        // A staff member's browser reloads the page by itself once the panel is likely up.
        response.setHeader('Refresh', String(ADMIN_STARTING_RETRY_AFTER));
      }
      response.status(503).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
    };
  }
}
