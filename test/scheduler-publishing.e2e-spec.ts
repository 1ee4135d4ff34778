import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as graphFake from './fakes/graph.fake.js';
import * as xFake from './fakes/x.fake.js';
import { AccountsService } from '../apps/server/src/scheduler/accounts.service.js';
import {
  connectAccount,
  inSeconds,
  userWithValidatedImage,
  waitForPostStatus,
} from './factories/post.factory.js';
import { bearer, type RegisteredUser } from './factories/user.factory.js';
import { accountStatus } from './factories/scheduling.js';
import { PublishingSweep } from '../apps/server/src/scheduler/publishing.sweep.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

describe('publishing to Instagram through the Graph fake', () => {
  let fake: graphFake.GraphFake;
  let app: TestApp;
  let user: RegisteredUser;
  let imageId: number;
  let accountId: number;

  beforeAll(async () => {
    fake = await graphFake.start();
    app = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
        FACEBOOK_GRAPH_URL: fake.graphUrl,
      },
      { listen: true },
    );
    ({ user, imageId } = await userWithValidatedImage(app));
    accountId = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  const schedule = (body: Record<string, unknown>) =>
    app.http().post('/api/scheduler/schedule/').set(bearer(user.access)).send(body);

  it('publishes at its time, once, with the image fetched from a signed URL', async () => {
    const before = fake.media.length;
    const response = await schedule({
      image: imageId,
      platform: 'instagram',
      scheduled_time: inSeconds(2),
      caption: 'Dawn',
      hashtags: ['#sea', '#dawn'],
    }).expect(201);
    expect(response.body.post).toMatchObject({
      status: 'scheduled',
      account: accountId,
      hashtags: '#sea #dawn',
      image: imageId,
      is_due: false,
      can_be_cancelled: true,
    });
    expect(response.body.task_id).toBe(`publish-post:${response.body.post.id}:1`);

    const post = await waitForPostStatus(app, user, response.body.post.id, ['posted', 'failed']);
    expect(post.status).toBe('posted');
    expect(post.error_message).toBe('');
    expect(fake.media.length).toBe(before + 1);
    const media = fake.media[fake.media.length - 1];
    expect(post.platform_post_id).toBe(media.id);
    expect(media.caption).toBe('Dawn\n\n#sea #dawn');
    const lateness = Date.parse(post.posted_at) - Date.parse(post.scheduled_time);
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(5000);
  });

  it('a worker whose claim passed to another stops before publishing, and writes nothing', async () => {
    const before = { media: fake.media.length, publishes: fake.calls.media_publish ?? 0 };
    const containers = fake.calls.media ?? 0;
    // The container call hangs; meanwhile the post is taken over (as the sweep's reconcile
    // does when a lease runs out): a new version, still processing.
    fake.delay('media', 1500);
    const response = await schedule({
      image: imageId,
      platform: 'instagram',
      scheduled_time: inSeconds(1),
      caption: 'Taken over',
    }).expect(201);
    const id = response.body.post.id as number;
    await waitFor(
      async () => ((fake.calls.media ?? 0) > containers ? true : undefined),
      10_000,
      'the container call',
    );
    await app.dataSource.query(
      `UPDATE scheduled_posts SET version = version + 1, lease_until = now() + interval '1 minute' WHERE id = $1 AND status = 'processing'`,
      [id],
    );
    // The container answer arrives; recording it fails, so media_publish is never called.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(fake.calls.media_publish ?? 0).toBe(before.publishes);
    expect(fake.media.length).toBe(before.media);
    const [row] = (await app.dataSource.query(
      'SELECT status, version, checkpoint FROM scheduled_posts WHERE id = $1',
      [id],
    )) as [{ status: string; version: number; checkpoint: Record<string, unknown> }];
    expect(row).toMatchObject({ status: 'processing', version: 2, checkpoint: {} });
    await app.dataSource.query(`UPDATE scheduled_posts SET status = 'cancelled' WHERE id = $1`, [
      id,
    ]);
  });

  it('keeps a post the platform took in processing when writing the result fails, never re-arming it', async () => {
    const pageAccount = await connectAccount(app, user, {
      platform: 'facebook',
      account_id: fake.pageId,
      access_token: fake.token,
    });
    const photos = fake.calls.photos ?? 0;
    // Meta answers with an id the column cannot hold: the platform has the post, the write fails.
    fake.fail('photos', 200, { id: '1', post_id: `${fake.pageId}_${'9'.repeat(300)}` });
    const response = await schedule({
      image: imageId,
      platform: 'facebook',
      account: pageAccount,
      scheduled_time: inSeconds(1),
      caption: 'Accepted, not recorded',
    }).expect(201);
    const id = response.body.post.id as number;
    await waitFor(
      async () => ((fake.calls.photos ?? 0) > photos ? true : undefined),
      10_000,
      'the photo post',
    );
    // Long enough for a retry to have re-armed it (the old behaviour) or sent it again.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const [row] = (await app.dataSource.query(
      'SELECT status, version, checkpoint, platform_post_id FROM scheduled_posts WHERE id = $1',
      [id],
    )) as [
      {
        status: string;
        version: number;
        checkpoint: Record<string, string>;
        platform_post_id: string | null;
      },
    ];
    // Left for the sweep to reconcile from what was recorded, once its lease runs out.
    expect(row).toMatchObject({ status: 'processing', version: 1, platform_post_id: null });
    expect(row.checkpoint.publishSentAt).toEqual(expect.any(String));
    expect(fake.calls.photos).toBe(photos + 1);
    await app.dataSource.query(`UPDATE scheduled_posts SET status = 'cancelled' WHERE id = $1`, [
      id,
    ]);
  });

  it('publishes now on demand, and refuses to publish a posted post again', async () => {
    const scheduled = await schedule({
      image: imageId,
      platform: 'instagram',
      scheduled_time: inSeconds(3600),
      caption: 'Later',
    }).expect(201);
    const id = scheduled.body.post.id;
    const now = await app
      .http()
      .post(`/api/scheduler/posts/${id}/publish-now/`)
      .set(bearer(user.access))
      .expect(202);
    expect(now.body.task_id).toBe(`publish-post:${id}:2`);
    const post = await waitForPostStatus(app, user, id, ['posted', 'failed']);
    expect(post.status).toBe('posted');
    const again = await app
      .http()
      .post(`/api/scheduler/posts/${id}/publish-now/`)
      .set(bearer(user.access))
      .expect(409);
    expect(again.headers['content-type']).toMatch(/problem\+json/);
  });

  it('a Facebook 500 to the post call, then a page listing without it: retried, posted once', async () => {
    const owner = await userWithValidatedImage(app);
    const page = await connectAccount(app, owner.user, {
      platform: 'facebook',
      account_id: fake.pageId,
      access_token: fake.token,
    });
    const before = fake.pagePosts.length;
    fake.fail('photos', 500);
    const response = await app
      .http()
      .post('/api/scheduler/schedule/')
      .set(bearer(owner.user.access))
      .send({
        image: owner.imageId,
        platform: 'facebook',
        account: page,
        scheduled_time: inSeconds(1),
        caption: 'Page after a 500',
      })
      .expect(201);
    const post = await waitForPostStatus(app, owner.user, response.body.post.id, [
      'posted',
      'failed',
    ]);
    expect(post).toMatchObject({ status: 'posted', error_code: null });
    expect(fake.pagePosts.length).toBe(before + 1);
    expect(post.platform_post_id).toBe(fake.pagePosts.at(-1)?.id);
  });

  it('fails with reconnect_required when the token expired, and marks the account', async () => {
    const expired = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: `${fake.igUserId}`.replace(/\d$/, '9'),
      access_token: graphFake.EXPIRED_TOKEN,
    });
    const scheduled = await schedule({
      image: imageId,
      platform: 'instagram',
      account: expired,
      scheduled_time: inSeconds(1),
      caption: 'Expired',
    }).expect(201);
    const post = await waitForPostStatus(app, user, scheduled.body.post.id, ['posted', 'failed']);
    expect(post).toMatchObject({ status: 'failed', error_code: 'reconnect_required' });
    const account = await app
      .http()
      .get(`/api/scheduler/accounts/${expired}/`)
      .set(bearer(user.access))
      .expect(200);
    expect(account.body.status).toBe('reconnect_required');
  });
});

describe('a slow but live publish outlasting its lease', () => {
  let fake: graphFake.GraphFake;
  let databaseUrl: string;
  let app: TestApp;

  beforeAll(async () => {
    fake = await graphFake.start();
    // Its own database: the sweep below looks at every row.
    databaseUrl = await migratedScratchDatabase('image_automation_lease');
    app = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
        DATABASE_URL: databaseUrl,
        PUBLISH_LEASE: '1s',
      },
      { listen: true },
    );
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
    await dropScratchDatabase(databaseUrl);
  });

  it('keeps its lease renewed, so the sweep does not reconcile it, it is posted once, and its metrics sync', async () => {
    const { user, imageId } = await userWithValidatedImage(app);
    await connectAccount(app, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
    fake.delay('media_publish', 3000);
    const created = await app
      .http()
      .post('/api/scheduler/schedule/')
      .set(bearer(user.access))
      .send({
        image: imageId,
        platform: 'instagram',
        scheduled_time: inSeconds(1),
        caption: 'Slow',
      })
      .expect(201);
    await waitFor(
      async () => (fake.calls.media_publish >= 1 ? true : undefined),
      15_000,
      'media_publish',
    );
    // Well past the one-second lease, while the platform is still answering.
    await new Promise((resolve) => setTimeout(resolve, 1800));
    expect(await app.app.get(PublishingSweep).tick()).toEqual({ requeued: 0, reconciling: 0 });
    const post = await waitForPostStatus(app, user, created.body.post.id, ['posted', 'failed']);
    expect(post).toMatchObject({ status: 'posted', error_code: null });
    expect(fake.media.filter((media) => media.caption === 'Slow')).toHaveLength(1);

    // The hourly sync picks up posted posts on its own (called here with its clock).
    const media = fake.media.find((item) => item.caption === 'Slow');
    media!.insights = { views: 200, reach: 150, likes: 20, comments: 3, shares: 1, saved: 0 };
    expect(await app.app.get(PublishingSweep).syncAnalytics(new Date())).toBe(1);
    const analytics = await waitFor(
      async () => {
        const { body } = await app
          .http()
          .get(`/api/scheduler/posts/${post.id}/analytics/`)
          .set(bearer(user.access))
          .expect(200);
        return body.last_synced_at ? body : undefined;
      },
      15_000,
      'the analytics sync',
    );
    expect(analytics).toMatchObject({
      likes: 20,
      comments: 3,
      shares: 1,
      views: 200,
      reach: 150,
      impressions: 200,
      engagement_rate: 12,
    });
    // Synced a moment ago: the next hourly pass leaves it alone.
    expect(await app.app.get(PublishingSweep).syncAnalytics(new Date())).toBe(0);
  });
});

describe('an expired X token with a refresh token', () => {
  let fake: xFake.XFake;
  let app: TestApp;

  beforeAll(async () => {
    fake = await xFake.start();
    app = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        X_API_URL: fake.url,
        X_CLIENT_ID: fake.clientId,
        X_CLIENT_SECRET: fake.clientSecret,
      },
      { listen: true },
    );
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  it('is refreshed once, stored sealed, and the post goes out', async () => {
    const { user, imageId } = await userWithValidatedImage(app);
    const accountId = await connectAccount(app, user, {
      platform: 'twitter',
      account_id: fake.userId,
      access_token: xFake.EXPIRED_TOKEN,
      refresh_token: fake.refreshToken,
    });
    const created = await app
      .http()
      .post('/api/scheduler/schedule/')
      .set(bearer(user.access))
      .send({
        image: imageId,
        platform: 'twitter',
        scheduled_time: inSeconds(1),
        caption: 'Fresh token',
      })
      .expect(201);
    const post = await waitForPostStatus(app, user, created.body.post.id, ['posted', 'failed']);
    expect(post).toMatchObject({ status: 'posted', error_code: null });
    // X appends the media's link to the text it keeps.
    expect(fake.tweets.filter((tweet) => tweet.text.startsWith('Fresh token'))).toHaveLength(1);
    const tokens = await app.app.get(AccountsService).tokens(accountId);
    expect(tokens.accessToken).not.toBe(xFake.EXPIRED_TOKEN);
    expect(tokens.refreshToken).not.toBe(fake.refreshToken);
    expect(await accountStatus(app, user, accountId)).toBe('active');
  });

  it('two posts due together on the expired account refresh once and both go out; the account stays active', async () => {
    const { user, imageId } = await userWithValidatedImage(app);
    const refreshToken = fake.issueRefreshToken();
    const accountId = await connectAccount(app, user, {
      platform: 'twitter',
      account_id: fake.userId,
      access_token: xFake.EXPIRED_TOKEN,
      refresh_token: refreshToken,
    });
    const tokenCalls = fake.calls.token ?? 0;
    // The first refresh is slow, so that the second post meets the expired token meanwhile.
    fake.delay('token', 500);
    const due = inSeconds(2);
    const ids = await Promise.all(
      ['Together one', 'Together two'].map(async (caption) => {
        const created = await app
          .http()
          .post('/api/scheduler/schedule/')
          .set(bearer(user.access))
          .send({ image: imageId, platform: 'twitter', scheduled_time: due, caption })
          .expect(201);
        return created.body.post.id as number;
      }),
    );
    const posts = await Promise.all(
      ids.map((id) => waitForPostStatus(app, user, id, ['posted', 'failed'])),
    );
    expect(posts.map((post) => [post.status, post.error_code])).toEqual([
      ['posted', null],
      ['posted', null],
    ]);
    for (const caption of ['Together one', 'Together two'])
      expect(fake.tweets.filter((tweet) => tweet.text.startsWith(caption))).toHaveLength(1);
    // The single-use refresh token was spent once: the second worker used the first's tokens.
    expect((fake.calls.token ?? 0) - tokenCalls).toBe(1);
    expect(await accountStatus(app, user, accountId)).toBe('active');
  });

  it('a refresh under way does not re-enable an account its owner disables meanwhile', async () => {
    const { user, imageId } = await userWithValidatedImage(app);
    const accountId = await connectAccount(app, user, {
      platform: 'twitter',
      account_id: fake.userId,
      access_token: xFake.EXPIRED_TOKEN,
      refresh_token: fake.issueRefreshToken(),
    });
    const tokenCalls = fake.calls.token ?? 0;
    fake.delay('token', 800);
    const created = await app
      .http()
      .post('/api/scheduler/schedule/')
      .set(bearer(user.access))
      .send({ image: imageId, platform: 'twitter', scheduled_time: inSeconds(1), caption: 'Off' })
      .expect(201);
    await waitFor(
      async () => ((fake.calls.token ?? 0) > tokenCalls ? true : undefined),
      15_000,
      'the token refresh',
    );
    await app
      .http()
      .patch(`/api/scheduler/accounts/${accountId}/`)
      .set(bearer(user.access))
      .send({ status: 'disabled' })
      .expect(200);
    await waitForPostStatus(app, user, created.body.post.id, ['posted', 'failed']);
    expect(await accountStatus(app, user, accountId)).toBe('disabled');
  });
});
