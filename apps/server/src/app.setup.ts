import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { AppConfig } from '@app/common';
import { AdminPanel } from './admin/admin-panel.service.js';
import { hasAdminPanel } from './admin/admin.module.js';
import { installBodyParsing } from './http/body-parsing.js';
import { createOpenApiDocument } from './http/openapi.js';
import { AppValidationPipe } from './http/validation.pipe.js';
import { MediaRequestHandler } from './media/media-request.handler.js';

/** Everything an HTTP app needs beyond its modules; main.ts and the e2e tests share it. */
export function configureHttpApp(app: NestExpressApplication, config: AppConfig): void {
  app.useLogger(app.get(Logger));
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // Media downloads are answered ahead of Express and Nest: see MediaRequestHandler.
  app.get(MediaRequestHandler).install(app.getHttpServer() as Server);
  installBodyParsing(app);
  app.useGlobalPipes(new AppValidationPipe());
  app.enableShutdownHooks();
  // Built on the first request to /api/docs(-json|-yaml), not at boot (0.1-0.2 s of CPU that no
  // API request needs); Swagger's module keeps it once built.
  SwaggerModule.setup('api/docs', app, () => createOpenApiDocument(app), {
    jsonDocumentUrl: 'api/docs-json',
    yamlDocumentUrl: 'api/docs-yaml',
  });
}

/**
 * What a server leaves to later, started now: the admin panel (see AdminPanel), when this process
 * has one; a server starts it at the first request to /admin. The promise settles when the panel
 * answers (never rejects: a failure is logged and /admin stays 503). The tests await it.
 */
export function startDeferredWork(app: NestExpressApplication, config: AppConfig): Promise<void> {
  return adminPanelOf(app, config)?.start() ?? Promise.resolve();
}

/** Asked only when there is one: a missing provider makes `app.get` end the process. */
function adminPanelOf(app: NestExpressApplication, config: AppConfig): AdminPanel | undefined {
  return hasAdminPanel(config) ? app.get(AdminPanel, { strict: false }) : undefined;
}
