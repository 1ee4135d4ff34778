import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as graphFake from './fakes/graph.fake.js';
import { connectAccount, userWithValidatedImage } from './factories/post.factory.js';
import { bearer, type RegisteredUser } from './factories/user.factory.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { ENTRY, killAll, type Spawned, start, waitUntil } from './support/spawn.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { testEnv } from './support/test-env.js';
import { waitFor } from './support/wait.js';

const BOOT_MS = 20_000;

/**
 * The real thing, on the real clock: two built server processes with the scheduler role tick
 * on their own interval; a schedule due a few seconds from now runs once, and its post is
 * published once by the worker.
 */
describe('recurring schedules with two scheduler processes', () => {
  let fake: graphFake.GraphFake;
  let databaseUrl: string;
  let api: TestApp;
  let user: RegisteredUser;
  let imageId: number;

  function startScheduler(): Promise<Spawned> {
    return start(
      ENTRY.server,
      [],
      testEnv({
        APP_ROLES: 'scheduler',
        DATABASE_URL: databaseUrl,
        REDIS_PREFIX: api.config.redis.prefix,
        MEDIA_ROOT: api.config.mediaRoot,
        PUBLIC_BASE_URL: api.config.publicBaseUrl,
        IMAGE_PROVIDER: 'local',
        LOG_LEVEL: 'info',
      }),
    );
  }

  beforeAll(async () => {
    fake = await graphFake.start();
    databaseUrl = await migratedScratchDatabase('image_automation_sched');
    api = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        DATABASE_URL: databaseUrl,
        FACEBOOK_GRAPH_URL: fake.graphUrl,
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
      },
      { listen: true },
    );
    ({ user, imageId } = await userWithValidatedImage(api));
    await api
      .http()
      .patch(`/api/images/${imageId}/`)
      .set(bearer(user.access))
      .send({ tags: ['live'] })
      .expect(200);
    await connectAccount(api, user, {
      platform: 'facebook',
      account_id: fake.pageId,
      access_token: fake.token,
    });
  }, 60_000);

  afterAll(async () => {
    await killAll();
    await api?.close();
    await fake?.close();
    if (databaseUrl) await dropScratchDatabase(databaseUrl);
  });

  it('runs the occurrence once and publishes its post once', async () => {
    const schedulers = await Promise.all([startScheduler(), startScheduler()]);
    await Promise.all(
      schedulers.map((child) =>
        waitUntil(
          async () => (child.stdout.includes('Running roles scheduler') ? true : undefined),
          BOOT_MS,
          child,
        ),
      ),
    );
    // Whole seconds, UTC, about eight seconds from now.
    const due = new Date(Math.ceil((Date.now() + 8000) / 1000) * 1000);
    const created = await api
      .http()
      .post('/api/scheduler/schedules/')
      .set(bearer(user.access))
      .send({
        name: 'Live',
        frequency: 'daily',
        time_of_day: due.toISOString().slice(11, 19),
        timezone: 'UTC',
        platforms: ['facebook'],
        tags: ['live'],
        caption: 'Live from a schedule',
      })
      .expect(201);
    expect(created.body.next_run_at).toBe(due.toISOString());

    const run = await waitFor(
      async () => {
        const { body } = await api
          .http()
          .get(`/api/scheduler/schedules/${created.body.id}/`)
          .set(bearer(user.access))
          .expect(200);
        return body.recent_runs[0]?.outcome === 'completed' ? body.recent_runs[0] : undefined;
      },
      30_000,
      'the run',
    );
    await waitFor(
      async () => (fake.pagePosts.length > 0 ? true : undefined),
      20_000,
      'the page post',
    );
    // Several more ticks of both processes later, still one run and one post.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const { body } = await api
      .http()
      .get(`/api/scheduler/schedules/${created.body.id}/runs/`)
      .set(bearer(user.access))
      .expect(200);
    expect(body.count).toBe(1);
    expect(run).toMatchObject({ occurrence_at: due.toISOString(), posts_created: 1 });
    // Seconds late, not minutes: the ticks come every two seconds.
    expect(Date.parse(run.ran_at) - due.getTime()).toBeLessThan(10_000);
    expect(fake.pagePosts).toHaveLength(1);
    expect(fake.pagePosts[0].message).toBe('Live from a schedule');
    expect(schedulers.every((child) => child.isRunning)).toBe(true);
    expect(Date.parse(body.results[0].occurrence_at)).toBe(due.getTime());
  }, 90_000);
});
