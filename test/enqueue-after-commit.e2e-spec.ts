import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ImageGenerationSweep } from '../apps/server/src/images/image-generation.sweep.js';
import { JobQueue } from '../apps/server/src/jobs/job-queue.service.js';
import { JobName } from '../apps/server/src/jobs/job.types.js';
import { PublishingSweep } from '../apps/server/src/scheduler/publishing.sweep.js';
import * as graphFake from './fakes/graph.fake.js';
import {
  connectAccount,
  inSeconds,
  userWithValidatedImage,
  waitForPostStatus,
} from './factories/post.factory.js';
import { bearer, type RegisteredUser } from './factories/user.factory.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

const TEN_MINUTES = 10 * 60 * 1000;

/**
 * The row is committed, then the queue add fails (a Redis blip): the client still gets 201 (a 500
 * would make it retry and create the work twice), and the sweep later queues the work, once.
 * The blip is real: the API process's own Bull connection is closed for the request.
 */
describe('an enqueue that fails after the commit', () => {
  let databaseUrl: string;
  let fake: graphFake.GraphFake;
  let worker: TestApp;
  let api: TestApp;
  let user: RegisteredUser;
  let imageId: number;
  let account: number;

  beforeAll(async () => {
    // A database of its own: the sweeps look at every row.
    databaseUrl = await migratedScratchDatabase('image_automation_enqueue');
    fake = await graphFake.start();
    worker = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        DATABASE_URL: databaseUrl,
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
        FACEBOOK_GRAPH_URL: fake.graphUrl,
      },
      { listen: true },
    );
    api = await createTestApp({
      APP_ROLES: 'api',
      IMAGE_PROVIDER: 'local',
      DATABASE_URL: databaseUrl,
      REDIS_PREFIX: worker.config.redis.prefix,
      MEDIA_ROOT: worker.config.mediaRoot,
      PUBLIC_BASE_URL: worker.config.publicBaseUrl,
    });
    ({ user, imageId } = await userWithValidatedImage(worker));
    account = await connectAccount(worker, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
  });
  afterAll(async () => {
    await api.close();
    await worker.close();
    await fake.close();
    await dropScratchDatabase(databaseUrl);
  });

  /** Runs `request` on the API while its Bull connection for `job`'s queue is closed. */
  async function withQueueDown<T>(job: JobName, request: () => Promise<T>): Promise<T> {
    const queue = api.app.get(JobQueue).queueFor(job);
    await queue.isReady();
    queue.client.disconnect();
    try {
      return await request();
    } finally {
      await queue.client.connect();
    }
  }

  it('POST schedule/ answers 201 with the row kept; the publishing sweep queues it and it is posted once', async () => {
    const response = await withQueueDown(JobName.PublishPost, () =>
      api
        .http()
        .post('/api/scheduler/schedule/')
        .set(bearer(user.access))
        .send({
          image: imageId,
          platform: 'instagram',
          account,
          scheduled_time: inSeconds(1),
          caption: 'Queued by the sweep',
        }),
    );
    expect(response.status).toBe(201);
    const id = response.body.post.id as number;
    expect(response.body.task_id).toBe(`publish-post:${id}:1`);
    const queue = worker.app.get(JobQueue).queueFor(JobName.PublishPost);
    expect(await queue.getJob(`publish-post:${id}:1`)).toBeNull();

    // Past the few seconds the sweep leaves a fresh row for its own enqueue.
    const sweep = worker.app.get(PublishingSweep);
    expect(await sweep.tick(new Date(Date.now() + 6000))).toMatchObject({ requeued: 1 });
    const post = await waitForPostStatus(worker, user, id, ['posted', 'failed']);
    expect(post.status).toBe('posted');
    expect(fake.media.filter((media) => media.caption === 'Queued by the sweep')).toHaveLength(1);
    expect(await sweep.tick(new Date(Date.now() + 6000))).toMatchObject({ requeued: 0 });
  });

  it('POST images/generate/ answers 201 with the row kept; the image sweep queues it and it is generated once', async () => {
    const response = await withQueueDown(JobName.GenerateImage, () =>
      api
        .http()
        .post('/api/images/generate/')
        .set(bearer(user.access))
        .send({ prompt: 'A lantern after a blip', width: 256, height: 256 }),
    );
    expect(response.status).toBe(201);
    const id = response.body.image.id as number;
    expect(response.body.image.status).toBe('pending');

    const sweep = worker.app.get(ImageGenerationSweep);
    expect(await sweep.tick(new Date(Date.now() + TEN_MINUTES))).toEqual({
      requeued: 1,
      failed: 0,
    });
    await waitFor(async () => {
      const { body } = await worker
        .http()
        .get(`/api/images/${id}/`)
        .set(bearer(user.access))
        .expect(200);
      return ['generated', 'validated'].includes(body.status as string) ? body : undefined;
    });
    const [{ n }] = (await worker.dataSource.query(
      `SELECT count(*)::int AS n FROM image_generation_history
       WHERE action = 'generated' AND image_id = $1`,
      [id],
    )) as [{ n: number }];
    expect(n).toBe(1);
  });
});
