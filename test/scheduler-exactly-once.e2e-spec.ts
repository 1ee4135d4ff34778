import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { JobQueue } from '../apps/server/src/jobs/job-queue.service.js';
import { JobName } from '../apps/server/src/jobs/job.types.js';
import * as graphFake from './fakes/graph.fake.js';
import { connectAccount, userWithValidatedImage } from './factories/post.factory.js';
import {
  allPosts,
  type PostBody,
  schedulePost,
  tally,
  waitUntilSettled,
} from './factories/scheduling.js';
import type { RegisteredUser } from './factories/user.factory.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { ENTRY, killAll, type Spawned, start, waitUntil } from './support/spawn.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { testEnv } from './support/test-env.js';
import { waitFor } from './support/wait.js';

const BOOT_MS = 20_000;

/**
 * Publishing is exactly once across real processes: two workers racing for the same posts, a
 * worker killed mid-publish, and Redis losing the queue. Everything runs on a database of its
 * own (the scheduler's sweeps look at every row) and one Redis prefix.
 */
describe('exactly-once publishing across processes', () => {
  let fake: graphFake.GraphFake;
  let databaseUrl: string;
  let api: TestApp;
  let user: RegisteredUser;
  let imageId: number;

  /** A spawned `node dist/.../main.js` with these roles, pointed at the fake and at `api`. */
  async function startProcess(
    roles: string,
    env: Record<string, string> = {},
    waitReady = true,
  ): Promise<Spawned> {
    const child = await start(
      ENTRY.server,
      [],
      testEnv({
        APP_ROLES: roles,
        DATABASE_URL: databaseUrl,
        REDIS_PREFIX: api.config.redis.prefix,
        MEDIA_ROOT: api.config.mediaRoot,
        PUBLIC_BASE_URL: api.config.publicBaseUrl,
        IMAGE_PROVIDER: 'local',
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
        FACEBOOK_GRAPH_URL: fake.graphUrl,
        LOG_LEVEL: 'info',
        ...env,
      }),
    );
    if (waitReady) {
      await waitUntil(
        async () => (child.stdout.includes(`Running roles ${roles}`) ? true : undefined),
        BOOT_MS,
        child,
      );
    }
    return child;
  }

  async function scheduleMany(captions: string[], at: string): Promise<number[]> {
    const responses = await Promise.all(
      captions.map((caption) =>
        schedulePost(api, user, {
          image: imageId,
          platform: 'instagram',
          scheduled_time: at,
          caption,
        }).expect(201),
      ),
    );
    return responses.map((response) => response.body.post.id as number);
  }

  /** The user's posts among `ids`, as the API shows them. */
  async function postsAmong(ids: number[]): Promise<PostBody[]> {
    return (await allPosts(api, user)).filter((post) => ids.includes(post.id));
  }

  beforeAll(async () => {
    fake = await graphFake.start();
    databaseUrl = await migratedScratchDatabase('image_automation_once');
    // The API only writes rows and enqueues; it listens so that the fake can fetch the images.
    api = await createTestApp(
      { APP_ROLES: 'api', IMAGE_PROVIDER: 'local', DATABASE_URL: databaseUrl },
      { listen: true },
    );
    // An in-process worker generates the user's picture, then goes away (its files stay).
    const imageWorker = await createTestApp({
      APP_ROLES: 'worker',
      IMAGE_PROVIDER: 'local',
      DATABASE_URL: databaseUrl,
      REDIS_PREFIX: api.config.redis.prefix,
      MEDIA_ROOT: api.config.mediaRoot,
      PUBLIC_BASE_URL: api.config.publicBaseUrl,
    });
    try {
      ({ user, imageId } = await userWithValidatedImage(api));
    } finally {
      await imageWorker.app.close();
    }
    await connectAccount(api, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
  }, 60_000);
  afterEach(async () => {
    await killAll();
    fake.reset();
  });
  afterAll(async () => {
    await killAll();
    await api.close();
    await fake.close();
    await dropScratchDatabase(databaseUrl);
  });

  it('publishes 40 posts due at the same second once each, with two workers racing', async () => {
    fake.setProcessingPolls(0);
    const workers = await Promise.all([startProcess('worker'), startProcess('worker')]);
    const due = new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000).toISOString();
    const captions = Array.from({ length: 40 }, (_, index) => `Race ${index + 1}`);
    const ids = await scheduleMany(captions, due);
    await waitUntilSettled(api, ids, 30_000);

    const posts = await postsAmong(ids);
    expect(posts).toHaveLength(40);
    expect(posts.filter((post) => post.status !== 'posted')).toEqual([]);
    // The platform holds exactly one media per post, and each post names its own.
    expect(fake.media).toHaveLength(40);
    expect(
      [...tally(fake.media.map((media) => media.caption)).values()].every((n) => n === 1),
    ).toBe(true);
    expect(fake.media.map((media) => media.caption).sort()).toEqual([...captions].sort());
    const mediaIds = new Set(fake.media.map((media) => media.id));
    expect(new Set(posts.map((post) => post.platform_post_id)).size).toBe(40);
    for (const post of posts) {
      expect(mediaIds.has(post.platform_post_id as string)).toBe(true);
      const media = fake.media.find((item) => item.id === post.platform_post_id);
      expect(media?.caption).toBe(post.caption);
    }
    // Only one container was ever published per post: nobody went through media_publish twice.
    expect(fake.calls.media_publish).toBe(40);
    expect(workers.every((worker) => worker.isRunning)).toBe(true);
  }, 60_000);

  it('after a worker is killed mid-publish, publishes nothing twice and leaves nothing processing', async () => {
    fake.setProcessingPolls(0);
    const crashEnv = {
      JOB_LOCK_DURATION_MS: '1000',
      PUBLISH_LEASE: '3s',
      PUBLISH_RETRY_BACKOFF_MS: '200',
    };
    const first = await startProcess('worker', crashEnv);

    // A: hangs in media_publish (sent, answer never comes): its outcome cannot be known.
    fake.delay('media_publish', 120_000);
    const [a] = await scheduleMany(['Crash A'], new Date(Date.now() + 1000).toISOString());
    await waitFor(async () => (fake.calls.media_publish >= 1 ? true : undefined), 15_000, 'A');
    // B: hangs while its container is polled (created and recorded, never published).
    fake.delay('container', 120_000);
    const containersBefore = fake.calls.container ?? 0;
    const [b] = await scheduleMany(['Crash B'], new Date(Date.now() + 1000).toISOString());
    await waitFor(
      async () => ((fake.calls.container ?? 0) > containersBefore ? true : undefined),
      15_000,
      'B',
    );
    // C: hangs while its container is being created (nothing recorded yet).
    fake.delay('media', 120_000);
    const mediaCallsBefore = fake.calls.media ?? 0;
    const [c] = await scheduleMany(['Crash C'], new Date(Date.now() + 1000).toISOString());
    await waitFor(
      async () => ((fake.calls.media ?? 0) > mediaCallsBefore ? true : undefined),
      15_000,
      'C',
    );
    const during = await postsAmong([a, b, c]);
    expect(during.map((post) => post.status)).toEqual(['processing', 'processing', 'processing']);

    first.child.kill('SIGKILL');
    await first.waitForExit(5000);
    expect(fake.media).toHaveLength(0);

    // A worker with the scheduler role: Bull hands it the dead worker's jobs, the sweep
    // reconciles the posts whose lease ran out.
    await startProcess('worker,scheduler', crashEnv);
    await waitUntilSettled(api, [a, b, c], 40_000);

    const after = new Map((await postsAmong([a, b, c])).map((post) => [post.id, post]));
    expect(after.get(a)).toMatchObject({ status: 'failed', error_code: 'outcome_unknown' });
    expect(after.get(a)?.error_message).toMatch(/check the account/);
    expect(after.get(b)).toMatchObject({ status: 'posted', error_code: null });
    expect(after.get(c)).toMatchObject({ status: 'posted', error_code: null });
    // At most one media per post: none for A (its media_publish never completed), one for B and C.
    const byCaption = tally(fake.media.map((media) => media.caption));
    expect(Object.fromEntries(byCaption)).toEqual({ 'Crash B': 1, 'Crash C': 1 });
    expect(after.get(b)?.platform_post_id).toBe(
      fake.media.find((media) => media.caption === 'Crash B')?.id,
    );
    // B resumed its recorded container rather than creating another one.
    expect(after.get(b)?.metadata.container_id).toBe(
      [...fake.containers.values()].find(
        (container) => container.caption === 'Crash B' && container.status === 'PUBLISHED',
      )?.id,
    );
    expect([...fake.containers.values()].filter((x) => x.caption === 'Crash B')).toHaveLength(1);
  }, 60_000);

  it('rebuilds the publishing jobs from the rows after Redis lost the queue', async () => {
    fake.setProcessingPolls(0);
    const captions = ['Lost 1', 'Lost 2', 'Lost 3'];
    const ids = await scheduleMany(captions, new Date(Date.now() + 3000).toISOString());
    const queue = api.app.get(JobQueue).queueFor(JobName.PublishPost);
    expect((await queue.getJobCounts()).delayed).toBeGreaterThanOrEqual(3);
    await queue.obliterate({ force: true });
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0 });

    // Only the sweep of a scheduler-role process can bring these posts back.
    await startProcess('worker,scheduler');
    await waitUntilSettled(api, ids, 30_000);

    const posts = await postsAmong(ids);
    expect(posts.map((post) => post.status)).toEqual(['posted', 'posted', 'posted']);
    const lost = fake.media.filter((media) => media.caption.startsWith('Lost'));
    expect(Object.fromEntries(tally(lost.map((media) => media.caption)))).toEqual({
      'Lost 1': 1,
      'Lost 2': 1,
      'Lost 3': 1,
    });
    for (const post of posts) {
      expect(Date.parse(post.posted_at as string)).toBeGreaterThanOrEqual(
        Date.parse(post.scheduled_time),
      );
    }
  }, 60_000);
});
