import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadConfig } from '@app/common';
import { AppModule } from './app.module.js';
import { configureHttpApp } from './app.setup.js';
import { runMigrations } from './boot/migrate.js';
import { preflight, PreflightError } from './boot/preflight.js';

/** Boot: validate config, check PostgreSQL and Redis, migrate, then start the roles asked for. */
async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const notices = [...config.notices, ...(await preflight(config))];
  const migrated = await runMigrations(config.database.url);
  if (migrated.length > 0) notices.push(`Applied migrations: ${migrated.join(', ')}`);

  const roles = [...config.roles].join(',');
  if (config.roles.has('api')) {
    const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
      bodyParser: false,
      bufferLogs: true,
    });
    configureHttpApp(app, config);
    await app.listen(config.port);
    announce(
      app.get(Logger),
      notices,
      `Serving roles ${roles} on ${config.publicBaseUrl} (API docs at /api/docs)`,
    );
    // The admin panel starts at the first request to /admin (503 + Retry-After until it is up).
  } else {
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      bufferLogs: true,
    });
    app.useLogger(app.get(Logger));
    app.enableShutdownHooks();
    announce(
      app.get(Logger),
      notices,
      `Running roles ${roles} (no HTTP: the api role is not one of them)`,
    );
  }
}

function announce(logger: Logger, notices: string[], ready: string): void {
  for (const notice of notices) logger.warn(notice, 'Boot');
  logger.log(ready, 'Boot');
}

bootstrap().catch((error: unknown) => {
  // Before the logger exists: one plain line on stderr, no stack trace for expected failures.
  if (error instanceof ConfigError || error instanceof PreflightError) {
    process.stderr.write(`Cannot start: ${error.message}\n`);
  } else if ((error as { code?: string }).code === 'EADDRINUSE') {
    process.stderr.write(
      `Cannot start: port ${process.env.PORT ?? 3000} is already in use (PORT).\n`,
    );
  } else {
    process.stderr.write(
      `Cannot start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
