// Records webhook events in a process of the built app, as the outbox's dispatcher does: each
// event handed to the registered `webhooks` consumer (fan-out into deliveries, then their jobs).
// Usage: node bench/lib/webhook-events.mjs <appDist> <userId> <count> <concurrency>; the app's
// settings come from the environment. Prints {recordedMs} as JSON once every event is recorded.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [appDist, userId, count, concurrency] = process.argv.slice(2);
const load = (file) => import(pathToFileURL(path.join(appDist, file)).href);
const { NestFactory } = await import('@nestjs/core');
const { loadConfig } = await load('libs/common/src/index.js');
const { AppModule } = await load('apps/server/src/app.module.js');
const { EventConsumers } = await load('apps/server/src/events/event-consumers.js');

const app = await NestFactory.createApplicationContext(AppModule.forRoot(loadConfig()), {
  logger: ['error'],
});
const consumer = app
  .get(EventConsumers)
  .all()
  .find((registered) => registered.name === 'webhooks');
const started = Date.now();
let next = 0;
const total = Number(count);
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < total) {
      const index = next++;
      await consumer.consume({
        id: randomUUID(),
        type: 'post.published',
        userId: Number(userId),
        occurredAt: new Date(),
        data: {
          id: index + 1,
          platform: 'instagram',
          status: 'posted',
          caption: `Bench post ${index + 1}`,
          hashtags: '#bench #webhooks',
          platform_post_id: `1784${String(index).padStart(10, '0')}`,
        },
      });
    }
  }),
);
const recordedMs = Date.now() - started;
await app.close();
console.log(JSON.stringify({ recordedMs }));
