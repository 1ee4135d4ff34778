import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobQueue } from '../apps/server/src/jobs/job-queue.service.js';
import { JobName } from '../apps/server/src/jobs/job.types.js';
import { PublishingSweep } from '../apps/server/src/scheduler/publishing.sweep.js';
import * as graphFake from './fakes/graph.fake.js';
import { generatedImage } from './factories/image.factory.js';
import {
  connectAccount,
  inSeconds,
  userWithValidatedImage,
  waitForPostStatus,
} from './factories/post.factory.js';
import { type PostBody, schedulePost } from './factories/scheduling.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

const POST_KEYS = [
  'account',
  'can_be_cancelled',
  'caption',
  'created_at',
  'error_code',
  'error_message',
  'hashtags',
  'id',
  'image',
  'image_details',
  'image_version',
  'is_due',
  'is_published',
  'metadata',
  'platform',
  'platform_post_id',
  'platform_post_url',
  'posted_at',
  'schedule',
  'scheduled_time',
  'status',
  'template',
  'updated_at',
  'user',
];
const ANALYTICS_KEYS = [
  'comments',
  'created_at',
  'engagement_rate',
  'id',
  'impressions',
  'last_synced_at',
  'likes',
  'platform',
  'reach',
  'scheduled_post_id',
  'shares',
  'views',
];
const IN_AN_HOUR = () => inSeconds(3600);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Poster {
  user: RegisteredUser;
  imageId: number;
  instagram: number;
}

describe('/api/scheduler/ posts', () => {
  let fake: graphFake.GraphFake;
  let app: TestApp;
  let owner: Poster;
  let facebook: number;
  let twitter: number;
  let other: Poster;

  /** A user with a validated image and an Instagram account at the fake. */
  async function newPoster(): Promise<Poster> {
    const { user, imageId } = await userWithValidatedImage(app);
    const instagram = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
    return { user, imageId, instagram };
  }

  const as = (user: RegisteredUser) => ({
    get: (path: string) => app.http().get(`/api/scheduler/${path}`).set(bearer(user.access)),
    post: (path: string, body?: object) =>
      app
        .http()
        .post(`/api/scheduler/${path}`)
        .set(bearer(user.access))
        .send(body ?? {}),
    patch: (path: string, body: object) =>
      app.http().patch(`/api/scheduler/${path}`).set(bearer(user.access)).send(body),
    put: (path: string, body: object) =>
      app.http().put(`/api/scheduler/${path}`).set(bearer(user.access)).send(body),
    delete: (path: string) => app.http().delete(`/api/scheduler/${path}`).set(bearer(user.access)),
  });

  /** A post scheduled through the API (201 checked); answers it. */
  async function scheduled(poster: Poster, body: Record<string, unknown> = {}): Promise<PostBody> {
    const response = await schedulePost(app, poster.user, {
      image: poster.imageId,
      platform: 'instagram',
      scheduled_time: IN_AN_HOUR(),
      caption: `Caption ${Math.random().toString(36).slice(2)}`,
      ...body,
    }).expect(201);
    return response.body.post;
  }

  /** Publish-now, and the post once it settled. */
  async function publishedNow(poster: Poster, id: number): Promise<PostBody> {
    await as(poster.user).post(`posts/${id}/publish-now/`).expect(202);
    return waitForPostStatus(app, poster.user, id, ['posted', 'failed']);
  }

  const mediaWith = (caption: string) => fake.media.filter((media) => media.caption === caption);
  /** Containers (Instagram's first step) made for this caption: none means it was never tried. */
  const containersWith = (caption: string) =>
    [...fake.containers.values()].filter((container) => container.caption === caption);

  beforeAll(async () => {
    fake = await graphFake.start();
    // Containers are ready at the first status check: no 2-second polling pause per post.
    fake.setProcessingPolls(0);
    app = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
        FACEBOOK_GRAPH_URL: fake.graphUrl,
        PUBLISH_RETRY_BACKOFF_MS: '300',
      },
      { listen: true },
    );
    [owner, other] = await Promise.all([newPoster(), newPoster()]);
    facebook = await connectAccount(app, owner.user, {
      platform: 'facebook',
      account_id: fake.pageId,
      access_token: fake.token,
    });
    twitter = await connectAccount(app, owner.user, {
      platform: 'twitter',
      account_id: '1500000000000000001',
      access_token: 'x-token',
    });
  }, 60_000);
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  describe('POST schedule/', () => {
    it('answers 201 {message, post, task_id}, joins a hashtag list, takes a numeric string image id and the only account', async () => {
      const response = await schedulePost(app, owner.user, {
        image: String(owner.imageId),
        platform: 'instagram',
        scheduled_time: IN_AN_HOUR(),
        caption: 'Harbour at dawn',
        hashtags: ['#sea', ' #dawn ', '#boats'],
      }).expect(201);
      expect(Object.keys(response.body).sort()).toEqual(['message', 'post', 'task_id']);
      expect(response.body.message).toEqual(expect.any(String));
      const post = response.body.post;
      expect(Object.keys(post).sort()).toEqual(POST_KEYS);
      expect(post).toMatchObject({
        user: owner.user.username,
        image: owner.imageId,
        account: owner.instagram,
        platform: 'instagram',
        caption: 'Harbour at dawn',
        hashtags: '#sea #dawn #boats',
        status: 'scheduled',
        posted_at: null,
        error_code: null,
        platform_post_id: null,
        is_due: false,
        can_be_cancelled: true,
        is_published: false,
        schedule: null,
      });
      expect(post.image_details).toMatchObject({ id: owner.imageId, status: 'validated' });
      expect(post.image_details.thumbnail).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
      expect(response.body.task_id).toBe(`publish-post:${post.id}:1`);
      await as(owner.user).delete(`posts/${post.id}/`).expect(204);
    });

    it('answers 400 naming `image` for a missing, malformed, foreign or unvalidated image', async () => {
      const base = { platform: 'instagram', scheduled_time: IN_AN_HOUR(), caption: 'Nope' };
      const unvalidatedOwner = await registerUser(app);
      const unvalidated = await generatedImage(app, unvalidatedOwner);
      expect(unvalidated.status).toBe('generated');
      for (const [user, body] of [
        [owner.user, base],
        [owner.user, { ...base, image: 'abc' }],
        [owner.user, { ...base, image: 1.5 }],
        [owner.user, { ...base, image: other.imageId }],
        [owner.user, { ...base, image: 2_000_000_000 }],
        [unvalidatedOwner, { ...base, image: unvalidated.id }],
      ] as const) {
        expectFieldError(await schedulePost(app, user, body), 'image');
      }
    });

    it('answers 400 naming `scheduled_time` or `platform` for a bad time or platform', async () => {
      const base = { image: owner.imageId, platform: 'instagram', caption: 'Nope' };
      for (const time of [new Date(Date.now() - 60_000).toISOString(), 'tomorrow', '2026-13-40']) {
        expectFieldError(
          await schedulePost(app, owner.user, { ...base, scheduled_time: time }),
          'scheduled_time',
        );
      }
      expectFieldError(
        await schedulePost(app, owner.user, {
          ...base,
          platform: 'myspace',
          scheduled_time: IN_AN_HOUR(),
        }),
        'platform',
      );
    });

    it("answers 400 naming `caption` past the platform's limits, hashtags counted", async () => {
      const base = { image: owner.imageId, scheduled_time: IN_AN_HOUR() };
      // X: 270 + "\n\n" + 9 = 281 > 280; one character less fits.
      expectFieldError(
        await schedulePost(app, owner.user, {
          ...base,
          platform: 'twitter',
          caption: 'x'.repeat(270),
          hashtags: '#abcdefgh',
        }),
        'caption',
      );
      const fits = await scheduled(owner, {
        platform: 'twitter',
        caption: 'x'.repeat(269),
        hashtags: '#abcdefgh',
      });
      expect(fits.account).toBe(twitter);
      await as(owner.user).delete(`posts/${fits.id}/`).expect(204);
      // Instagram: 30 hashtags fit, 31 do not.
      const tags = (n: number) => Array.from({ length: n }, (_, index) => `#tag${index}`);
      expectFieldError(
        await schedulePost(app, owner.user, {
          ...base,
          platform: 'instagram',
          caption: 'Many tags',
          hashtags: tags(31),
        }),
        'caption',
      );
      const thirty = await scheduled(owner, { caption: 'Many tags', hashtags: tags(30) });
      await as(owner.user).delete(`posts/${thirty.id}/`).expect(204);
    });

    it('answers 400 naming `account` for a foreign, other-platform, missing or ambiguous account', async () => {
      const base = { image: owner.imageId, scheduled_time: IN_AN_HOUR(), caption: 'Nope' };
      expectFieldError(
        await schedulePost(app, owner.user, {
          ...base,
          platform: 'instagram',
          account: other.instagram,
        }),
        'account',
      );
      expectFieldError(
        await schedulePost(app, owner.user, { ...base, platform: 'instagram', account: facebook }),
        'account',
      );
      expectFieldError(
        await schedulePost(app, owner.user, { ...base, platform: 'linkedin' }),
        'account',
      );
      const two = await newPoster();
      const second = await connectAccount(app, two.user, {
        platform: 'instagram',
        account_id: '17841400000000777',
        access_token: fake.token,
      });
      expectFieldError(
        await schedulePost(app, two.user, { ...base, image: two.imageId, platform: 'instagram' }),
        'account',
      );
      const chosen = await scheduled(two, { account: second });
      expect(chosen.account).toBe(second);
      await as(two.user).delete(`posts/${chosen.id}/`).expect(204);
    });
  });

  describe('GET posts/', () => {
    let lister: Poster;
    const ids: Record<string, number> = {};
    const hours = (n: number) => new Date(Date.now() + n * 3_600_000).toISOString();

    beforeAll(async () => {
      lister = await newPoster();
      await connectAccount(app, lister.user, {
        platform: 'facebook',
        account_id: fake.pageId,
        access_token: fake.token,
      });
      const specs: [string, Record<string, unknown>][] = [
        ['p1', { caption: 'Morning coffee', hashtags: '#cup', scheduled_time: hours(2) }],
        ['p2', { caption: 'Evening tea', platform: 'facebook', scheduled_time: hours(3) }],
        ['p4', { caption: 'Soon cancelled', scheduled_time: hours(4) }],
        ['p5', { caption: 'Coffee again', platform: 'facebook', scheduled_time: hours(5) }],
        ['p3', { caption: 'Lunch', hashtags: '#food', scheduled_time: hours(24) }],
      ];
      for (const [name, body] of specs) ids[name] = (await scheduled(lister, body)).id;
      await as(lister.user).post(`posts/${ids.p4}/cancel/`).expect(200);
    });

    const list = async (query: Record<string, string>) => {
      const { body } = await as(lister.user).get('posts/').query(query).expect(200);
      return body;
    };
    const idsOf = (body: { results: PostBody[] }) => body.results.map((post) => post.id);

    it('lists only your own posts, newest time first by default, in DRF pages', async () => {
      const all = await list({});
      expect(all.count).toBe(5);
      expect(idsOf(all)).toEqual([ids.p3, ids.p5, ids.p4, ids.p2, ids.p1]);
      expect(Object.keys(all.results[0]).sort()).toEqual(POST_KEYS);

      const first = await list({ page_size: '2' });
      expect(first).toMatchObject({ count: 5, previous: null });
      expect(idsOf(first)).toEqual([ids.p3, ids.p5]);
      expect(first.next).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/scheduler\/posts\/?\?.*page=2/);
      const last = await list({ page_size: '2', page: '3' });
      expect(idsOf(last)).toEqual([ids.p1]);
      expect(last.next).toBeNull();
      expect(last.previous).toEqual(expect.any(String));
      expectProblem(await as(lister.user).get('posts/').query({ page: '4', page_size: '2' }), 404);

      const theirs = await as(other.user).get('posts/').query({ page_size: '100' }).expect(200);
      expect(theirs.body.results.map((post: PostBody) => post.id)).not.toEqual(
        expect.arrayContaining([ids.p1]),
      );
      for (const id of Object.values(ids)) {
        expect(theirs.body.results.some((post: PostBody) => post.id === id)).toBe(false);
      }
    });

    it('filters by status, platform, dates and search, and orders', async () => {
      expect(idsOf(await list({ status: 'cancelled' }))).toEqual([ids.p4]);
      expect(idsOf(await list({ status: 'scheduled', platform: 'facebook' }))).toEqual([
        ids.p5,
        ids.p2,
      ]);
      expect(idsOf(await list({ start_date: hours(2.5), end_date: hours(4.5) }))).toEqual([
        ids.p4,
        ids.p2,
      ]);
      expect(idsOf(await list({ search: 'coffee' }))).toEqual([ids.p5, ids.p1]);
      expect(idsOf(await list({ search: '#food' }))).toEqual([ids.p3]);
      expect(idsOf(await list({ ordering: 'scheduled_time' }))).toEqual([
        ids.p1,
        ids.p2,
        ids.p4,
        ids.p5,
        ids.p3,
      ]);
      expect(idsOf(await list({ ordering: '-created_at' }))).toEqual([
        ids.p3,
        ids.p5,
        ids.p4,
        ids.p2,
        ids.p1,
      ]);
      for (const query of [
        { status: 'bogus' },
        { platform: 'myspace' },
        { start_date: 'yesterday' },
        { ordering: 'caption' },
      ]) {
        expectProblem(await as(lister.user).get('posts/').query(query), 400);
      }
    });
  });

  describe('GET/PATCH/PUT posts/{id}/', () => {
    it('shows every field of a post', async () => {
      const post = await scheduled(owner, { caption: 'Detail', hashtags: '#one' });
      const { body } = await as(owner.user).get(`posts/${post.id}/`).expect(200);
      expect(Object.keys(body).sort()).toEqual(POST_KEYS);
      expect(body).toMatchObject({ id: post.id, caption: 'Detail', hashtags: '#one' });
      await as(owner.user).get(`posts/${post.id}`).expect(200);
      await as(owner.user).delete(`posts/${post.id}/`).expect(204);
    });

    it('moves the time as a new version: the old job publishes nothing', async () => {
      const caption = `Moved ${Date.now()}`;
      const post = await scheduled(owner, { caption, scheduled_time: inSeconds(2) });
      const later = IN_AN_HOUR();
      const { body } = await as(owner.user)
        .patch(`posts/${post.id}/`, { scheduled_time: later })
        .expect(200);
      expect(body).toMatchObject({ status: 'scheduled', scheduled_time: later });
      const queue = app.app.get(JobQueue).queueFor(JobName.PublishPost);
      expect(await queue.getJob(`publish-post:${post.id}:2`)).not.toBeNull();
      await sleep(3500);
      expect(containersWith(caption)).toEqual([]);
      expect(mediaWith(caption)).toEqual([]);
      const after = await as(owner.user).get(`posts/${post.id}/`).expect(200);
      expect(after.body).toMatchObject({ status: 'scheduled', scheduled_time: later });
      await as(owner.user).delete(`posts/${post.id}/`).expect(204);
    });

    it("checks caption and hashtags against the platform's limits again", async () => {
      const post = await scheduled(owner, { caption: 'Short' });
      const tags = Array.from({ length: 31 }, (_, index) => `#t${index}`).join(' ');
      expectFieldError(
        await as(owner.user).patch(`posts/${post.id}/`, { hashtags: tags }),
        'caption',
      );
      expectFieldError(
        await as(owner.user).patch(`posts/${post.id}/`, { caption: 'y'.repeat(2201) }),
        'caption',
      );
      const { body } = await as(owner.user)
        .patch(`posts/${post.id}/`, { caption: 'Longer now', hashtags: ['#a', '#b'] })
        .expect(200);
      expect(body).toMatchObject({ caption: 'Longer now', hashtags: '#a #b' });
      await as(owner.user).delete(`posts/${post.id}/`).expect(204);
    });

    it('PUT replaces time and caption and refuses a body without caption', async () => {
      const post = await scheduled(owner, { caption: 'Before', hashtags: '#x' });
      expectFieldError(
        await as(owner.user).put(`posts/${post.id}/`, { scheduled_time: IN_AN_HOUR() }),
        'caption',
      );
      const time = inSeconds(7200);
      const { body } = await as(owner.user)
        .put(`posts/${post.id}/`, { scheduled_time: time, caption: 'After' })
        .expect(200);
      expect(body).toMatchObject({ caption: 'After', scheduled_time: time });
      expectFieldError(
        await as(owner.user).put(`posts/${post.id}/`, {
          scheduled_time: new Date(Date.now() - 1000).toISOString(),
          caption: 'Past',
        }),
        'scheduled_time',
      );
      await as(owner.user).delete(`posts/${post.id}/`).expect(204);
    });

    it('refuses edits while processing or once posted (409)', async () => {
      const caption = `Busy ${Date.now()}`;
      const post = await scheduled(owner, { caption });
      fake.delay('media', 2500);
      await as(owner.user).post(`posts/${post.id}/publish-now/`).expect(202);
      await waitForPostStatus(app, owner.user, post.id, ['processing']);
      expectProblem(await as(owner.user).patch(`posts/${post.id}/`, { caption: 'Now' }), 409);
      expectProblem(await as(owner.user).delete(`posts/${post.id}/`), 409);
      const posted = await waitForPostStatus(app, owner.user, post.id, ['posted', 'failed']);
      expect(posted.status).toBe('posted');
      expectProblem(await as(owner.user).patch(`posts/${post.id}/`, { caption: 'Now' }), 409);
      expectProblem(
        await as(owner.user).put(`posts/${post.id}/`, {
          scheduled_time: IN_AN_HOUR(),
          caption: 'Now',
        }),
        409,
      );
      expectProblem(await as(owner.user).delete(`posts/${post.id}/`), 409);
      expectProblem(await as(owner.user).post(`posts/${post.id}/cancel/`), 409);
      const { body } = await as(owner.user).get(`posts/${post.id}/`).expect(200);
      expect(body).toMatchObject({ status: 'posted', caption, can_be_cancelled: false });
      expect(mediaWith(caption)).toHaveLength(1);
    });
  });

  describe('cancel, delete, publish-now, republish', () => {
    it('DELETE cancels (204); a cancelled post cannot be cancelled again (409)', async () => {
      const post = await scheduled(owner);
      const response = await as(owner.user).delete(`posts/${post.id}/`).expect(204);
      expect(response.text).toBe('');
      const { body } = await as(owner.user).get(`posts/${post.id}/`).expect(200);
      expect(body).toMatchObject({ status: 'cancelled', can_be_cancelled: false });
      expectProblem(await as(owner.user).delete(`posts/${post.id}/`), 409);
    });

    it('POST cancel/ answers 200 {message, post}; 409 unless scheduled or failed', async () => {
      const post = await scheduled(owner);
      const { body } = await as(owner.user).post(`posts/${post.id}/cancel/`).expect(200);
      expect(Object.keys(body).sort()).toEqual(['message', 'post']);
      expect(body.post).toMatchObject({ id: post.id, status: 'cancelled' });
      expectProblem(await as(owner.user).post(`posts/${post.id}/cancel/`), 409);
    });

    it('never publishes a cancelled post', async () => {
      const caption = `Cancelled ${Date.now()}`;
      const post = await scheduled(owner, { caption, scheduled_time: inSeconds(1) });
      await as(owner.user).post(`posts/${post.id}/cancel/`).expect(200);
      await sleep(3000);
      expect(containersWith(caption)).toEqual([]);
      expect(mediaWith(caption)).toEqual([]);
      const { body } = await as(owner.user).get(`posts/${post.id}/`).expect(200);
      expect(body.status).toBe('cancelled');
    });

    it('publishes now (202 with a task id), a cancelled post too, and never a posted one again', async () => {
      const caption = `Now ${Date.now()}`;
      const post = await scheduled(owner, { caption });
      const { body } = await as(owner.user).post(`posts/${post.id}/publish-now/`).expect(202);
      expect(body.task_id).toBe(`publish-post:${post.id}:2`);
      expect(body.post.id).toBe(post.id);
      const posted = await waitForPostStatus(app, owner.user, post.id, ['posted', 'failed']);
      expect(posted).toMatchObject({ status: 'posted', is_published: true });
      expect(posted.platform_post_id).toBe(mediaWith(caption)[0]?.id);
      expectProblem(await as(owner.user).post(`posts/${post.id}/publish-now/`), 409);
      expect(mediaWith(caption)).toHaveLength(1);

      const cancelledCaption = `Revived ${Date.now()}`;
      const cancelled = await scheduled(owner, { caption: cancelledCaption });
      await as(owner.user).post(`posts/${cancelled.id}/cancel/`).expect(200);
      expect((await publishedNow(owner, cancelled.id)).status).toBe('posted');
      expect(mediaWith(cancelledCaption)).toHaveLength(1);
    });

    it('republishes a posted post as a new post with the same content, now or later', async () => {
      const caption = `Again ${Date.now()}`;
      const original = await scheduled(owner, { caption, hashtags: '#twice' });
      expectProblem(await as(owner.user).post(`posts/${original.id}/republish/`), 409);
      expect((await publishedNow(owner, original.id)).status).toBe('posted');

      const now = await as(owner.user).post(`posts/${original.id}/republish/`).expect(201);
      const copy = now.body.post;
      expect(copy.id).not.toBe(original.id);
      expect(copy).toMatchObject({
        image: owner.imageId,
        account: owner.instagram,
        platform: 'instagram',
        caption,
        hashtags: '#twice',
      });
      expect(now.body.task_id).toBe(`publish-post:${copy.id}:1`);
      expect((await waitForPostStatus(app, owner.user, copy.id, ['posted', 'failed'])).status).toBe(
        'posted',
      );
      expect(mediaWith(`${caption}\n\n#twice`)).toHaveLength(2);

      const later = IN_AN_HOUR();
      const waiting = await as(owner.user)
        .post(`posts/${original.id}/republish/`, { scheduled_time: later })
        .expect(201);
      expect(waiting.body.post).toMatchObject({ status: 'scheduled', scheduled_time: later });
      await sleep(1000);
      const still = await as(owner.user).get(`posts/${waiting.body.post.id}/`).expect(200);
      expect(still.body.status).toBe('scheduled');
      await as(owner.user).delete(`posts/${waiting.body.post.id}/`).expect(204);
      expectFieldError(
        await as(owner.user).post(`posts/${original.id}/republish/`, {
          scheduled_time: new Date(Date.now() - 1000).toISOString(),
        }),
        'scheduled_time',
      );
    });
  });

  describe('analytics and statistics', () => {
    it('answers 409 before posted, zeros after, and the platform figures after a sync', async () => {
      const post = await scheduled(owner, { caption: `Insights ${Date.now()}` });
      expectProblem(await as(owner.user).get(`posts/${post.id}/analytics/`), 409);
      expectProblem(await as(owner.user).post(`posts/${post.id}/sync-analytics/`), 409);
      const posted = await publishedNow(owner, post.id);
      expect(posted.status).toBe('posted');

      const zero = await as(owner.user).get(`posts/${post.id}/analytics/`).expect(200);
      expect(Object.keys(zero.body).sort()).toEqual(ANALYTICS_KEYS);
      expect(zero.body).toMatchObject({
        scheduled_post_id: post.id,
        platform: 'instagram',
        likes: 0,
        comments: 0,
        shares: 0,
        views: 0,
        reach: 0,
        impressions: 0,
        engagement_rate: 0,
        last_synced_at: null,
      });

      const media = fake.media.find((item) => item.id === posted.platform_post_id);
      expect(media).toBeDefined();
      media!.insights = { views: 300, reach: 250, likes: 30, comments: 6, shares: 4, saved: 9 };
      const sync = await as(owner.user).post(`posts/${post.id}/sync-analytics/`).expect(202);
      expect(Object.keys(sync.body).sort()).toEqual(['message', 'task_id']);
      const synced = await waitFor(
        async () => {
          const { body } = await as(owner.user).get(`posts/${post.id}/analytics/`).expect(200);
          return body.last_synced_at ? body : undefined;
        },
        15_000,
        'the analytics sync',
      );
      // Instagram: impressions are its views (Meta retired `impressions`); rate over the largest.
      expect(synced).toMatchObject({
        likes: 30,
        comments: 6,
        shares: 4,
        views: 300,
        reach: 250,
        impressions: 300,
        engagement_rate: 13.33,
      });
    });

    it('keeps one pending sync per post however often it is asked, and queues again once it ran', async () => {
      const post = await scheduled(owner, { caption: `Sync once ${Date.now()}` });
      const posted = await publishedNow(owner, post.id);
      expect(posted.status).toBe('posted');
      const media = fake.media.find((item) => item.id === posted.platform_post_id)!;
      media.insights = { views: 100, reach: 100, likes: 1, comments: 0, shares: 0, saved: 0 };

      const queue = app.app.get(JobQueue).queueFor(JobName.SyncPostAnalytics);
      const pendingFor = async () =>
        (await queue.getJobs(['waiting', 'delayed', 'active'])).filter(
          (job) => job?.data.postId === post.id,
        );
      // This process's worker takes nothing while paused, so the clicks' jobs stay waiting.
      await queue.pause(true);
      try {
        const clicks = [];
        for (let i = 0; i < 20; i++)
          clicks.push(await as(owner.user).post(`posts/${post.id}/sync-analytics/`).expect(202));
        // The hourly sweep shares the click's job rather than queueing one of its own.
        expect(await app.app.get(PublishingSweep).syncAnalytics(new Date())).toBeGreaterThan(0);
        expect(new Set(clicks.map((click) => click.body.task_id)).size).toBe(1);
        expect(await pendingFor()).toHaveLength(1);
      } finally {
        await queue.resume(true);
      }
      const synced = async (likes: number) =>
        waitFor(
          async () => {
            const { body } = await as(owner.user).get(`posts/${post.id}/analytics/`).expect(200);
            return body.likes === likes ? body : undefined;
          },
          15_000,
          `the analytics sync with ${likes} likes`,
        );
      await synced(1);
      await waitFor(async () => ((await pendingFor()).length === 0 ? true : undefined), 15_000);

      // The finished job keeps its id in Bull for a while: it must not swallow the next click.
      media.insights = { ...media.insights, likes: 2 };
      await as(owner.user).post(`posts/${post.id}/sync-analytics/`).expect(202);
      await synced(2);
    });

    it('counts posted, failed, cancelled and upcoming posts exactly, per platform too', async () => {
      const counted = await newPoster();
      await connectAccount(app, counted.user, {
        platform: 'facebook',
        account_id: fake.pageId,
        access_token: fake.token,
      });
      const empty = await as(counted.user).get('statistics/').expect(200);
      expect(empty.body).toEqual({
        total_scheduled: 0,
        total_posted: 0,
        total_failed: 0,
        total_cancelled: 0,
        upcoming_posts: 0,
        posts_by_platform: {},
        average_engagement_rate: 0,
      });
      const ig = await scheduled(counted);
      const fb = await scheduled(counted, { platform: 'facebook' });
      expect((await publishedNow(counted, ig.id)).status).toBe('posted');
      expect((await publishedNow(counted, fb.id)).status).toBe('posted');
      fake.failNextContainer('Error: Media download has failed. (2207052)');
      const failing = await scheduled(counted);
      expect((await publishedNow(counted, failing.id)).status).toBe('failed');
      const cancelled = await scheduled(counted);
      await as(counted.user).delete(`posts/${cancelled.id}/`).expect(204);
      await scheduled(counted);
      await scheduled(counted, { platform: 'facebook' });

      const { body } = await as(counted.user).get('statistics/').expect(200);
      expect(body).toEqual({
        total_scheduled: 2,
        total_posted: 2,
        total_failed: 1,
        total_cancelled: 1,
        upcoming_posts: 2,
        posts_by_platform: { instagram: 4, facebook: 2 },
        average_engagement_rate: 0,
      });
    });
  });

  describe('privacy and authentication', () => {
    it("answers 404 for another user's post on every verb, 404 for a bad id, 401 without a token", async () => {
      const theirs = await scheduled(other);
      const stranger = as(owner.user);
      const id = theirs.id;
      const attempts = [
        stranger.get(`posts/${id}/`),
        stranger.patch(`posts/${id}/`, { caption: 'Mine' }),
        stranger.put(`posts/${id}/`, { scheduled_time: IN_AN_HOUR(), caption: 'Mine' }),
        stranger.delete(`posts/${id}/`),
        stranger.post(`posts/${id}/cancel/`),
        stranger.post(`posts/${id}/publish-now/`),
        stranger.post(`posts/${id}/republish/`),
        stranger.get(`posts/${id}/analytics/`),
        stranger.post(`posts/${id}/sync-analytics/`),
      ];
      for (const attempt of attempts) expectProblem(await attempt, 404);
      expectProblem(await stranger.get('posts/abc/'), 404);
      expectProblem(await stranger.post('posts/abc/cancel/'), 404);
      for (const path of ['posts/', `posts/${id}/`, 'statistics/']) {
        expectProblem(await app.http().get(`/api/scheduler/${path}`), 401);
      }
      expectProblem(await app.http().post('/api/scheduler/schedule/').send({}), 401);
      const untouched = await as(other.user).get(`posts/${id}/`).expect(200);
      expect(untouched.body).toMatchObject({ status: 'scheduled', caption: theirs.caption });
      await as(other.user).delete(`posts/${id}/`).expect(204);
    });
  });

  describe('failures at the platform', () => {
    it('waits out a Graph rate limit (code 4), then posts', async () => {
      const caption = `Throttled ${Date.now()}`;
      const post = await scheduled(owner, { caption });
      const containersBefore = fake.calls.media ?? 0;
      fake.rateLimit('media', 4, 0);
      const posted = await publishedNow(owner, post.id);
      expect(posted).toMatchObject({ status: 'posted', error_code: null });
      expect(posted.metadata).toMatchObject({ last_error_code: 'rate_limited' });
      expect(fake.calls.media - containersBefore).toBe(2);
      expect(mediaWith(caption)).toHaveLength(1);
    });

    it('fails with media_unreachable when Meta cannot fetch the image; a new time schedules it again', async () => {
      const caption = `Unreachable ${Date.now()}`;
      const post = await scheduled(owner, { caption });
      fake.failNextContainer('Error: Media download has failed. (2207052)');
      const failed = await publishedNow(owner, post.id);
      expect(failed).toMatchObject({
        status: 'failed',
        error_code: 'media_unreachable',
        can_be_cancelled: true,
      });
      expect(failed.error_message).toMatch(/download/i);
      expect(mediaWith(caption)).toEqual([]);

      const later = IN_AN_HOUR();
      const { body } = await as(owner.user)
        .patch(`posts/${post.id}/`, { scheduled_time: later })
        .expect(200);
      expect(body).toMatchObject({
        status: 'scheduled',
        scheduled_time: later,
        error_code: null,
        error_message: '',
      });
      await as(owner.user).delete(`posts/${post.id}/`).expect(204);
    });

    it('reconciles a media_publish whose answer was lost after Meta accepted it', async () => {
      const caption = `Lost answer ${Date.now()}`;
      const post = await scheduled(owner, { caption });
      const publishesBefore = fake.calls.media_publish ?? 0;
      fake.loseAnswer('media_publish');
      const posted = await publishedNow(owner, post.id);
      expect(posted).toMatchObject({ status: 'posted', error_code: null });
      const media = mediaWith(caption);
      expect(media).toHaveLength(1);
      expect(posted.platform_post_id).toBe(media[0].id);
      expect(posted.metadata).toMatchObject({ reconciled: true });
      expect(fake.calls.media_publish - publishesBefore).toBe(1);
    });

    it('names the Facebook page post in platform_post_id and keeps the photo id in metadata', async () => {
      const caption = `Page photo ${Date.now()}`;
      const post = await scheduled(owner, { platform: 'facebook', caption });
      expect(post.account).toBe(facebook);
      const posted = await publishedNow(owner, post.id);
      expect(posted.status).toBe('posted');
      const pagePost = fake.pagePosts.find((item) => item.message === caption);
      expect(pagePost).toBeDefined();
      expect(posted.platform_post_id).toBe(pagePost!.id);
      expect(posted.platform_post_id).toMatch(new RegExp(`^${fake.pageId}_`));
      expect(posted.metadata).toMatchObject({ photo_id: pagePost!.photoId });
    });
  });
});
