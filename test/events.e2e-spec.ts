import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ScheduleRunner } from '../apps/server/src/scheduler/schedule-runner.js';
import * as graphFake from './fakes/graph.fake.js';
import * as openaiFake from './fakes/openai.fake.js';
import * as tiktokFake from './fakes/tiktok.fake.js';
import { requestImage, waitForStatus } from './factories/image.factory.js';
import {
  connectAccount,
  inSeconds,
  userWithValidatedImage,
  waitForPostStatus,
} from './factories/post.factory.js';
import { schedulePost } from './factories/scheduling.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import {
  eventsOf,
  type RecordedEvent,
  RecordingConsumer,
  waitForDispatched,
  waitForEvents,
} from './support/events.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { createTestApp, type TestApp } from './support/test-app.js';

/** Signed URLs carry their expiry: the same file signed a second later differs in the query. */
function unsigned(value: unknown): unknown {
  if (typeof value === 'string' && value.includes('/media/')) return value.split('?')[0];
  if (Array.isArray(value)) return value.map(unsigned);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, unsigned(inner)]));
  return value;
}

/**
 * The consumer received the event once dispatched, with what the outbox holds; the outbox row
 * says every consumer took it.
 */
async function expectDelivered(
  app: TestApp,
  consumer: RecordingConsumer,
  event: RecordedEvent,
): Promise<void> {
  const dispatched = await waitForDispatched(app, event.id);
  expect(dispatched.consumedBy).toContain(consumer.name);
  const delivered = await consumer.waitForEvent(event.id);
  expect(delivered).toEqual({
    id: event.id,
    type: event.type,
    userId: event.userId,
    occurredAt: event.createdAt,
    data: event.data,
  });
}

describe('events recorded by the images API and the generation worker', () => {
  let fake: openaiFake.OpenAiFake;
  let app: TestApp;
  let openai: TestApp;
  const consumer = new RecordingConsumer('images-test');
  const openaiConsumer = new RecordingConsumer('images-openai-test');

  beforeAll(async () => {
    fake = await openaiFake.start();
    app = await createTestApp(
      { APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local' },
      { eventConsumers: [consumer] },
    );
    openai = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'openai',
        OPENAI_API_URL: fake.url,
        OPENAI_API_KEY: fake.apiKey,
      },
      { eventConsumers: [openaiConsumer] },
    );
  }, 60_000);
  afterAll(async () => {
    await openai?.close();
    await app?.close();
    await fake?.close();
  });

  async function detail(user: RegisteredUser, id: number) {
    return (await app.http().get(`/api/images/${id}/`).set(bearer(user.access)).expect(200)).body;
  }

  it('image.generated, then image.validated and image.rejected: the image as the API shows it', async () => {
    const user = await registerUser(app);
    const { image } = await requestImage(app, user);
    await waitForStatus(app, user, image.id, ['generated']);
    const [generated] = await waitForEvents(app, user.id, 'image.generated');
    expect(generated.data).toMatchObject({ id: image.id, status: 'generated' });
    expect(unsigned(generated.data)).toEqual(unsigned(await detail(user, image.id)));
    await expectDelivered(app, consumer, generated);

    const validated = await app
      .http()
      .patch(`/api/images/${image.id}/validate/`)
      .set(bearer(user.access))
      .send({ action: 'validate', validation_notes: 'Good' })
      .expect(200);
    const [validation] = await eventsOf(app, user.id, 'image.validated');
    expect(unsigned(validation.data)).toEqual(unsigned(validated.body.image));
    expect(validation.data).toMatchObject({ status: 'validated', validation_notes: 'Good' });
    await expectDelivered(app, consumer, validation);

    const rejected = await app
      .http()
      .patch(`/api/images/${image.id}/validate/`)
      .set(bearer(user.access))
      .send({ action: 'reject' })
      .expect(200);
    const [rejection] = await eventsOf(app, user.id, 'image.rejected');
    expect(unsigned(rejection.data)).toEqual(unsigned(rejected.body.image));
    expect(rejection.data).toMatchObject({ status: 'rejected', is_validated: false });
    await expectDelivered(app, consumer, rejection);
    expect((await eventsOf(app, user.id)).map((event) => event.type)).toEqual([
      'image.generated',
      'image.validated',
      'image.rejected',
    ]);
  });

  it('an image validated by its owner’s profile: image.generated and image.validated, both validated', async () => {
    const { user, imageId } = await userWithValidatedImage(app);
    const events = await eventsOf(app, user.id);
    expect(events.map((event) => [event.type, event.data.id, event.data.status])).toEqual([
      ['image.generated', imageId, 'validated'],
      ['image.validated', imageId, 'validated'],
    ]);
    for (const event of events) await expectDelivered(app, consumer, event);
  });

  it('a change refused records nothing: validating an image still pending', async () => {
    const user = await registerUser(app);
    fake.delay(5_000);
    const { image } = await requestImage(openai, user);
    await openai
      .http()
      .patch(`/api/images/${image.id}/validate/`)
      .set(bearer(user.access))
      .send({ action: 'validate' })
      .expect(409);
    expect(await eventsOf(openai, user.id, 'image.validated')).toEqual([]);
  });

  it('image.failed when the provider refuses, with the reason the API shows', async () => {
    const user = await registerUser(openai);
    fake.fail(400);
    const { image } = await requestImage(openai, user);
    const failed = await waitForStatus(openai, user, image.id, ['failed']);
    const [event] = await waitForEvents(openai, user.id, 'image.failed');
    expect(event.data).toMatchObject({
      id: image.id,
      status: 'failed',
      error_message: failed.error_message,
    });
    expect(unsigned(event.data)).toEqual(unsigned(failed));
    await expectDelivered(openai, openaiConsumer, event);
  });
});

describe('events recorded by the scheduler API and the publish worker', () => {
  let graph: graphFake.GraphFake;
  let tiktok: tiktokFake.TikTokFake;
  let app: TestApp;
  let user: RegisteredUser;
  let imageId: number;
  let instagram: number;
  const consumer = new RecordingConsumer('posts-test');

  beforeAll(async () => {
    graph = await graphFake.start();
    tiktok = await tiktokFake.start();
    app = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        INSTAGRAM_GRAPH_URL: graph.graphUrl,
        FACEBOOK_GRAPH_URL: graph.graphUrl,
        TIKTOK_API_URL: tiktok.url,
      },
      { listen: true, eventConsumers: [consumer] },
    );
    ({ user, imageId } = await userWithValidatedImage(app));
    instagram = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: graph.igUserId,
      access_token: graph.token,
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await graph?.close();
    await tiktok?.close();
  });

  const postEvents = async (postId: number, type: string) =>
    (await eventsOf(app, user.id, type)).filter((event) => event.data.id === postId);

  it('post.published once the platform took it: the post as the API shows it, posted', async () => {
    const scheduled = await schedulePost(app, user, {
      image: imageId,
      platform: 'instagram',
      account: instagram,
      scheduled_time: inSeconds(1),
      caption: 'Evented',
    }).expect(201);
    const id = scheduled.body.post.id as number;
    const posted = await waitForPostStatus(app, user, id, ['posted', 'failed']);
    expect(posted.status).toBe('posted');
    const [event] = await waitForEvents(app, user.id, 'post.published', {
      matching: (recorded) => recorded.data.id === id,
    });
    expect(unsigned(event.data)).toEqual(unsigned(posted));
    expect(event.data).toMatchObject({ status: 'posted', platform_post_id: expect.any(String) });
    await expectDelivered(app, consumer, event);
    expect(await postEvents(id, 'post.failed')).toEqual([]);
  });

  it('post.cancelled when its owner cancels it', async () => {
    const scheduled = await schedulePost(app, user, {
      image: imageId,
      platform: 'instagram',
      account: instagram,
      scheduled_time: inSeconds(3600),
      caption: 'Never mind',
    }).expect(201);
    const id = scheduled.body.post.id as number;
    const cancelled = await app
      .http()
      .post(`/api/scheduler/posts/${id}/cancel/`)
      .set(bearer(user.access))
      .expect(200);
    const [event] = await postEvents(id, 'post.cancelled');
    expect(unsigned(event.data)).toEqual(unsigned(cancelled.body.post));
    expect(event.data).toMatchObject({ status: 'cancelled', can_be_cancelled: false });
    await expectDelivered(app, consumer, event);
  });

  it('post.failed and account.reconnect_required, once, when the platform refuses the token', async () => {
    const expired = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: `${graph.igUserId}`.replace(/\d$/, '8'),
      access_token: graphFake.EXPIRED_TOKEN,
    });
    const ids: number[] = [];
    for (const caption of ['Expired one', 'Expired two']) {
      const scheduled = await schedulePost(app, user, {
        image: imageId,
        platform: 'instagram',
        account: expired,
        scheduled_time: inSeconds(1),
        caption,
      }).expect(201);
      ids.push(scheduled.body.post.id as number);
    }
    for (const id of ids) {
      const failed = await waitForPostStatus(app, user, id, ['posted', 'failed']);
      expect(failed).toMatchObject({ status: 'failed', error_code: 'reconnect_required' });
      const [event] = await waitForEvents(app, user.id, 'post.failed', {
        matching: (recorded) => recorded.data.id === id,
      });
      expect(unsigned(event.data)).toEqual(unsigned(failed));
      await expectDelivered(app, consumer, event);
    }
    // The account changed once: one event, with the account as the API shows it.
    const reconnect = (await eventsOf(app, user.id, 'account.reconnect_required')).filter(
      (event) => event.data.id === expired,
    );
    expect(reconnect).toHaveLength(1);
    const account = await app
      .http()
      .get(`/api/scheduler/accounts/${expired}/`)
      .set(bearer(user.access))
      .expect(200);
    expect(reconnect[0].data).toEqual(account.body);
    expect(reconnect[0].data).toMatchObject({ status: 'reconnect_required' });
    await expectDelivered(app, consumer, reconnect[0]);
  });

  it('post.failed with outcome_unknown when nothing can tell whether the platform posted', async () => {
    const account = await connectAccount(app, user, {
      platform: 'tiktok',
      account_id: tiktok.openId,
      access_token: tiktok.token,
    });
    tiktok.fail('init', 500);
    const scheduled = await schedulePost(app, user, {
      image: imageId,
      platform: 'tiktok',
      account,
      scheduled_time: inSeconds(1),
      caption: 'Unknown',
    }).expect(201);
    const id = scheduled.body.post.id as number;
    const failed = await waitForPostStatus(app, user, id, ['posted', 'failed']);
    expect(failed).toMatchObject({ status: 'failed', error_code: 'outcome_unknown' });
    const [event] = await waitForEvents(app, user.id, 'post.failed', {
      matching: (recorded) => recorded.data.id === id,
    });
    expect(event.data).toMatchObject({ status: 'failed', error_code: 'outcome_unknown' });
    expect(unsigned(event.data)).toEqual(unsigned(failed));
    await expectDelivered(app, consumer, event);
  });
});

describe('schedule.run_skipped', () => {
  let databaseUrl: string;
  let app: TestApp;
  const consumer = new RecordingConsumer('schedules-test');

  beforeAll(async () => {
    // A database of its own: the runner looks at every schedule.
    databaseUrl = await migratedScratchDatabase('image_automation_events');
    app = await createTestApp(
      { APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local', DATABASE_URL: databaseUrl },
      { eventConsumers: [consumer] },
    );
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    if (databaseUrl) await dropScratchDatabase(databaseUrl);
  });

  it('is recorded with the run as the API lists it when an occurrence finds no image', async () => {
    const user = await registerUser(app);
    const created = await app
      .http()
      .post('/api/scheduler/schedules/')
      .set(bearer(user.access))
      .send({
        name: 'Mornings',
        frequency: 'daily',
        time_of_day: '09:00',
        timezone: 'Europe/Paris',
        platforms: ['instagram'],
        tags: ['nothing-carries-this'],
        caption: 'Good morning',
      })
      .expect(201);
    const occurrence = Date.parse(created.body.next_run_at);
    await app.app.get(ScheduleRunner).tick(new Date(occurrence + 1000));
    const runs = await app
      .http()
      .get(`/api/scheduler/schedules/${created.body.id}/runs/`)
      .set(bearer(user.access))
      .expect(200);
    expect(runs.body.results[0]).toMatchObject({ outcome: 'skipped' });
    const [event] = await eventsOf(app, user.id, 'schedule.run_skipped');
    expect(event.data).toEqual(runs.body.results[0]);
    await expectDelivered(app, consumer, event);
  });
});
