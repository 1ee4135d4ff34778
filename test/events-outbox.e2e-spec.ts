import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventRecorder, dispatchJobId } from '../apps/server/src/events/event-recorder.js';
import { EventsSweep } from '../apps/server/src/events/events.sweep.js';
import { JobQueue } from '../apps/server/src/jobs/job-queue.service.js';
import { JobName } from '../apps/server/src/jobs/job.types.js';
import { insertImages } from './factories/image.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { eventsOf, RecordingConsumer, waitForDispatched, waitForEvents } from './support/events.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { ENTRY, killAll, start, waitUntil } from './support/spawn.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { testEnv } from './support/test-env.js';

/** Rejects an image of the user's through the API: the change that records `image.rejected`. */
async function rejectAnImage(app: TestApp, user: RegisteredUser): Promise<number> {
  const [imageId] = await insertImages(app, user.id, [{ status: 'generated' }]);
  await app
    .http()
    .patch(`/api/images/${imageId}/validate/`)
    .set(bearer(user.access))
    .send({ action: 'reject' })
    .expect(200);
  return imageId;
}

describe('the outbox: recorded with the change, dispatched at least once', () => {
  let app: TestApp;
  let user: RegisteredUser;
  const steady = new RecordingConsumer('steady');
  // Fails the first call for each event: the job retries; `steady` is not called again.
  const flaky = new RecordingConsumer('flaky', async (_event, call) => {
    if (call === 1) throw new Error('receiver down');
  });

  beforeAll(async () => {
    app = await createTestApp(
      { APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local' },
      { eventConsumers: [steady, flaky] },
    );
    user = await registerUser(app);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it('is only recorded inside the transaction of a change, and vanishes with its rollback', async () => {
    const recorder = app.app.get(EventRecorder);
    await expect(
      recorder.record(app.dataSource.manager, { userId: user.id, type: 'ping', data: {} }),
    ).rejects.toThrow(/must be recorded in the transaction of its change/);
    let recordedId = '';
    await expect(
      app.dataSource.transaction(async (manager) => {
        recordedId = (
          await recorder.record(manager, { userId: user.id, type: 'ping', data: { n: 1 } })
        ).id;
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(recordedId).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(await eventsOf(app, user.id, 'ping')).toEqual([]);
    // Nor was a dispatch job queued for it.
    const queue = app.app.get(JobQueue).queueFor(JobName.DispatchEvent);
    expect(await queue.getJob(dispatchJobId(recordedId))).toBeNull();
  });

  it('retries a failing consumer with backoff, without calling the others again', async () => {
    const imageId = await rejectAnImage(app, user);
    const [event] = await waitForEvents(app, user.id, 'image.rejected', {
      matching: (recorded) => recorded.data.id === imageId,
    });
    const dispatched = await waitForDispatched(app, event.id);
    expect(dispatched).toMatchObject({ attempts: 2, lastError: null });
    // The product's own consumers (webhook fan-out, email notifications) took it too, once each.
    expect(dispatched.consumedBy.sort()).toEqual([
      'email-notifications',
      'flaky',
      'steady',
      'webhooks',
    ]);
    expect(flaky.calls.get(event.id)).toBe(2);
    expect(flaky.deliveriesOf(event.id)).toHaveLength(1);
    expect(steady.deliveriesOf(event.id)).toHaveLength(1);
    expect(steady.deliveriesOf(event.id)[0]).toMatchObject({
      id: event.id,
      type: 'image.rejected',
      userId: user.id,
      data: { id: imageId, status: 'rejected' },
    });
  });

  it('goes with its user', async () => {
    const other = await registerUser(app);
    await rejectAnImage(app, other);
    expect(await eventsOf(app, other.id)).toHaveLength(1);
    await app.dataSource.query('DELETE FROM users WHERE id = $1', [other.id]);
    expect(await eventsOf(app, other.id)).toEqual([]);
  });
});

describe('an event whose dispatch job never reached Redis', () => {
  let databaseUrl: string;
  let api: TestApp;
  let worker: TestApp;
  const consumer = new RecordingConsumer('after-the-sweep');

  beforeAll(async () => {
    // A database of its own: the sweep looks at every row.
    databaseUrl = await migratedScratchDatabase('image_automation_outbox');
    api = await createTestApp({ APP_ROLES: 'api', DATABASE_URL: databaseUrl });
    worker = await createTestApp(
      {
        APP_ROLES: 'worker',
        DATABASE_URL: databaseUrl,
        REDIS_PREFIX: api.config.redis.prefix,
        MEDIA_ROOT: api.config.mediaRoot,
      },
      { eventConsumers: [consumer] },
    );
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    if (databaseUrl) await dropScratchDatabase(databaseUrl);
  });

  it('is enqueued by the sweep, once, and delivered', async () => {
    const user = await registerUser(api);
    // The API's Bull connection is closed across the request (a Redis blip, or a process that
    // died right after its commit): the change and its event commit, the enqueue is lost.
    const queue = api.app.get(JobQueue).queueFor(JobName.DispatchEvent);
    await queue.isReady();
    queue.client.disconnect();
    let imageId: number;
    try {
      imageId = await rejectAnImage(api, user);
    } finally {
      await queue.client.connect();
    }
    const [event] = await eventsOf(api, user.id, 'image.rejected');
    expect(event.data).toMatchObject({ id: imageId, status: 'rejected' });
    expect(await queue.getJob(dispatchJobId(event.id))).toBeNull();
    expect(event.dispatchedAt).toBeNull();

    const sweep = api.app.get(EventsSweep);
    // Too young: it may still be between its commit and its enqueue.
    expect(await sweep.tick(new Date())).toEqual({ requeued: 0 });
    const later = new Date(Date.now() + 11_000);
    expect(await sweep.tick(later)).toEqual({ requeued: 1 });
    await waitForDispatched(api, event.id);
    expect(consumer.deliveriesOf(event.id)).toHaveLength(1);
    // Dispatched: nothing more to sweep, nothing delivered twice.
    expect(await sweep.tick(new Date(Date.now() + 11_000))).toEqual({ requeued: 0 });
    expect(consumer.deliveriesOf(event.id)).toHaveLength(1);
  });
});

describe('a worker killed between the change and the delivery', () => {
  let api: TestApp;
  let second: TestApp | undefined;
  const consumer = new RecordingConsumer('after-the-crash');

  beforeAll(async () => {
    api = await createTestApp({ APP_ROLES: 'api' });
  });
  afterAll(async () => {
    await killAll();
    await second?.close();
    await api?.close();
  });

  it('loses no event: the next worker delivers it', async () => {
    const user = await registerUser(api);
    // The change is committed with its event; no worker runs yet.
    const imageId = await rejectAnImage(api, user);
    const [event] = await eventsOf(api, user.id, 'image.rejected');
    expect(event.data).toMatchObject({ id: imageId });

    // Hold the event's row: the first worker's dispatch stops at its first statement, after
    // it took the job and before any consumer ran.
    const holder = api.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('SELECT id FROM events WHERE id = $1 FOR UPDATE', [event.id]);
    const workerEnv = testEnv({
      APP_ROLES: 'worker',
      REDIS_PREFIX: api.config.redis.prefix,
      MEDIA_ROOT: api.config.mediaRoot,
      // A dead worker's lock runs out after a second, so the test does not wait Bull's 30 s.
      JOB_LOCK_DURATION_MS: '1000',
    });
    const first = await start(ENTRY.server, [], workerEnv);
    try {
      await waitUntil(
        async () => {
          const [{ n }] = await api.dataSource.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND query LIKE 'UPDATE events SET attempts%'`,
          );
          return n > 0 ? true : undefined;
        },
        30_000,
        first,
      );
      first.child.kill('SIGKILL');
      await first.waitForExit(5000);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect((await eventsOf(api, user.id, 'image.rejected'))[0].dispatchedAt).toBeNull();

    second = await createTestApp(
      {
        APP_ROLES: 'worker',
        REDIS_PREFIX: api.config.redis.prefix,
        MEDIA_ROOT: api.config.mediaRoot,
        JOB_LOCK_DURATION_MS: '1000',
      },
      { eventConsumers: [consumer] },
    );
    const delivered = await consumer.waitForEvent(event.id, 30_000);
    expect(delivered).toMatchObject({ id: event.id, type: 'image.rejected', data: event.data });
    const dispatched = await waitForDispatched(api, event.id);
    expect(dispatched.consumedBy.sort()).toEqual([
      'after-the-crash',
      'email-notifications',
      'webhooks',
    ]);
    expect(consumer.deliveriesOf(event.id)).toHaveLength(1);
  }, 90_000);
});
