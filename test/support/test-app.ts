import { rm } from 'node:fs/promises';
import type { DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { type AppConfig, loadConfig } from '@app/common';
import { AppModule } from '../../apps/server/src/app.module.js';
import { configureHttpApp, startDeferredWork } from '../../apps/server/src/app.setup.js';
import { EventConsumers } from '../../apps/server/src/events/event-consumers.js';
import type { EventConsumer } from '../../apps/server/src/events/event.types.js';
import { freePort } from './spawn.js';
import { testEnv } from './test-env.js';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  dataSource: DataSource;
  /** supertest bound to the running app. */
  http: () => ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * The real app (same modules and HTTP setup as main.ts) on the test database and Redis. With
 * `listen`, it serves on a free loopback port that PUBLIC_BASE_URL names, so that third-party
 * fakes can fetch its signed media URLs as the real platforms do.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  options: {
    listen?: boolean;
    /** Registered before the app starts, so a worker hands them every event from its first job. */
    eventConsumers?: EventConsumer[];
    /**
     * Values for injection tokens, whether or not the app provides them (e.g. a recording
     * OWNER_NOTIFIER): provided by a global module, and overriding the app's own.
     */
    providers?: { provide: string | symbol; useValue: unknown }[];
    /**
     * false: the admin panel is left as a server has it after boot (the first request to /admin
     * starts it, and 503 answers until it is up); by default it is started and awaited.
     */
    startDeferred?: boolean;
  } = {},
): Promise<TestApp> {
  const port = options.listen ? await freePort() : undefined;
  const config = loadConfig(
    testEnv(
      port ? { PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, ...env } : env,
    ),
  );
  const providers = options.providers ?? [];
  const builder = Test.createTestingModule({
    imports: [
      AppModule.forRoot(config),
      ...(providers.length > 0 ? [testProviders(providers)] : []),
    ],
  });
  for (const { provide, useValue } of providers)
    builder.overrideProvider(provide).useValue(useValue);
  const moduleRef = await builder.compile();
  for (const consumer of options.eventConsumers ?? [])
    moduleRef.get(EventConsumers).register(consumer);
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    logger: false,
  });
  configureHttpApp(app, config);
  if (port) await app.listen(port, '127.0.0.1');
  else await app.init();
  if (options.startDeferred !== false) await startDeferredWork(app, config);
  const server = app.getHttpServer();
  return {
    app,
    config,
    dataSource: app.get<DataSource>(getDataSourceToken()),
    http: () => request(server),
    close: async () => {
      await app.close();
      await rm(config.mediaRoot, { recursive: true, force: true });
    },
  };
}

class TestProviders {}

function testProviders(
  providers: { provide: string | symbol; useValue: unknown }[],
): DynamicModule {
  return {
    module: TestProviders,
    global: true,
    providers,
    exports: providers.map(({ provide }) => provide),
  };
}
