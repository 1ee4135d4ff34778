import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { AppConfig } from '@app/common';
import { ProblemResponse } from './http/api-problems.decorator.js';
import { installBodyParsing } from './http/body-parsing.js';
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
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Image Automation API')
      .setDescription(
        'Generate images with AI, validate them, and publish them to social platforms on a schedule. ' +
          'Errors are RFC 9457 problem documents (application/problem+json).',
      )
      .setVersion('1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
    { extraModels: [ProblemResponse] },
  );
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/docs-json',
    yamlDocumentUrl: 'api/docs-yaml',
  });
}
