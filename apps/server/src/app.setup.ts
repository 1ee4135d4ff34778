import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { AppConfig } from '@app/common';
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
  const document = createOpenApiDocument(app);
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/docs-json',
    yamlDocumentUrl: 'api/docs-yaml',
  });
}
