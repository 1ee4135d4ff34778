import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { JobQueue } from '../apps/server/src/jobs/job-queue.service.js';
import { JobName } from '../apps/server/src/jobs/job.types.js';
import { AccountsService } from '../apps/server/src/scheduler/accounts.service.js';
import {
  LINKEDIN_VERSION,
  LinkedInPlatform,
} from '../apps/server/src/scheduler/platforms/linkedin.platform.js';
import { PlatformError } from '../apps/server/src/scheduler/platforms/platform.js';
import * as linkedinFake from './fakes/linkedin.fake.js';
import * as tiktokFake from './fakes/tiktok.fake.js';
import {
  connectAccount,
  inSeconds,
  userWithValidatedImage,
  waitForPostStatus,
} from './factories/post.factory.js';
import { accountStatus, type PostBody, schedulePost } from './factories/scheduling.js';
import { bearer, type RegisteredUser } from './factories/user.factory.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

/**
 * LinkedIn and TikTok end to end: a post scheduled through the API, published by the worker's
 * Bull job against the loopback fakes (which receive or fetch the image as the platforms do),
 * then its metrics synced; and the failures that matter (expired tokens, throttling, 5xx).
 */

const BACKOFF_MS = 1000;
const CAPTION = 'Harbour at dawn (day 3) & the old lighthouse';
const HASHTAGS = ['#sea', '#dawn_light'];
const TEXT = `${CAPTION}\n\n#sea #dawn_light`;

interface Owner {
  user: RegisteredUser;
  imageId: number;
}

function fakeEnv(linkedin: linkedinFake.LinkedInFake, tiktok: tiktokFake.TikTokFake) {
  return {
    APP_ROLES: 'api,worker',
    IMAGE_PROVIDER: 'local',
    LINKEDIN_API_URL: linkedin.url,
    TIKTOK_API_URL: tiktok.url,
    PUBLISH_RETRY_BACKOFF_MS: String(BACKOFF_MS),
  };
}

/** The JPEG every platform must get: the rendition, fetched from its signed URL like a client. */
async function renditionBytes(app: TestApp, owner: Owner): Promise<Buffer> {
  const { body } = await app
    .http()
    .get(`/api/images/${owner.imageId}/`)
    .set(bearer(owner.user.access))
    .expect(200);
  const response = await fetch(body.image_url_display as string);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('image/jpeg');
  return Buffer.from(await response.arrayBuffer());
}

/** POST sync-analytics/ as the user would, then the analytics once the job wrote them. */
async function syncedAnalytics(app: TestApp, owner: Owner, postId: number) {
  await app
    .http()
    .post(`/api/scheduler/posts/${postId}/sync-analytics/`)
    .set(bearer(owner.user.access))
    .expect(202);
  return waitFor(
    async () => {
      const { body } = await app
        .http()
        .get(`/api/scheduler/posts/${postId}/analytics/`)
        .set(bearer(owner.user.access))
        .expect(200);
      return body.last_synced_at ? (body as Record<string, unknown>) : undefined;
    },
    15_000,
    `the analytics of post ${postId}`,
  );
}

/**
 * The job that retries the post (its second version, enqueued once the row went back to
 * scheduled), with the post as the API shows it then.
 */
async function retryJob(app: TestApp, owner: Owner, postId: number) {
  const queue = app.app.get(JobQueue).queueFor(JobName.PublishPost);
  const job = await waitFor(
    async () => (await queue.getJob(`publish-post:${postId}:2`)) ?? undefined,
    15_000,
    `the retry job of post ${postId}`,
  );
  const { body: post } = await app
    .http()
    .get(`/api/scheduler/posts/${postId}/`)
    .set(bearer(owner.user.access))
    .expect(200);
  return { post: post as PostBody, job, state: await job.getState() };
}

/** Milliseconds between consecutive calls of one endpoint. */
function gaps(times: number[] = []): number[] {
  return times.slice(1).map((time, index) => time - times[index]);
}

describe('LinkedIn and TikTok through the worker, OAuth clients configured', () => {
  let linkedin: linkedinFake.LinkedInFake;
  let tiktok: tiktokFake.TikTokFake;
  let app: TestApp;
  let owner: Owner;
  let jpeg: Buffer;
  let linkedinAccount: number;
  let tiktokAccount: number;

  beforeAll(async () => {
    linkedin = await linkedinFake.start();
    tiktok = await tiktokFake.start();
    app = await createTestApp(
      {
        ...fakeEnv(linkedin, tiktok),
        LINKEDIN_CLIENT_ID: linkedin.clientId,
        LINKEDIN_CLIENT_SECRET: linkedin.clientSecret,
        TIKTOK_CLIENT_KEY: tiktok.clientKey,
        TIKTOK_CLIENT_SECRET: tiktok.clientSecret,
      },
      { listen: true },
    );
    owner = await userWithValidatedImage(app);
    jpeg = await renditionBytes(app, owner);
    linkedinAccount = await connectAccount(app, owner.user, {
      platform: 'linkedin',
      account_id: linkedin.author,
      access_token: linkedin.token,
    });
    tiktokAccount = await connectAccount(app, owner.user, {
      platform: 'tiktok',
      account_id: tiktok.openId,
      access_token: tiktok.token,
    });
  }, 60_000);
  beforeEach(() => {
    linkedin.reset();
    tiktok.reset();
  });
  afterAll(async () => {
    await app.close();
    await linkedin.close();
    await tiktok.close();
  });

  /** A user of their own with an account whose tokens the test chooses (accounts are per user). */
  async function ownerWith(account: Record<string, unknown>): Promise<Owner & { account: number }> {
    const other = await userWithValidatedImage(app);
    return { ...other, account: await connectAccount(app, other.user, account) };
  }

  async function scheduled(
    who: Owner,
    platform: 'linkedin' | 'tiktok',
    account: number,
    caption: string,
    inSecondsFromNow = 1,
  ): Promise<number> {
    const response = await schedulePost(app, who.user, {
      image: who.imageId,
      platform,
      account,
      scheduled_time: inSeconds(inSecondsFromNow),
      caption,
      hashtags: HASHTAGS,
    }).expect(201);
    return response.body.post.id as number;
  }

  const settled = (who: Owner, id: number, timeoutMs = 20_000): Promise<PostBody> =>
    waitForPostStatus(app, who.user, id, ['posted', 'failed'], timeoutMs);

  describe('linkedin', () => {
    it('publishes at its time, once: the JPEG uploaded, the text as written, the URN and link kept; then its metrics sync', async () => {
      const id = await scheduled(owner, 'linkedin', linkedinAccount, CAPTION, 2);
      const post = await settled(owner, id);

      expect(post).toMatchObject({ status: 'posted', error_code: null, error_message: '' });
      expect(linkedin.posts).toHaveLength(1);
      const [created] = linkedin.posts;
      expect(created.text).toBe(TEXT);
      expect(created.author).toBe(linkedin.author);
      expect(post.platform_post_id).toBe(created.id);
      expect(post.platform_post_url).toBe(`https://www.linkedin.com/feed/update/${created.id}/`);
      expect(post.metadata).toMatchObject({ image_urn: created.imageUrn });
      // The bytes LinkedIn received are the rendition's, uploaded to the URL it handed out.
      expect(linkedin.images.get(created.imageUrn)?.data.equals(jpeg)).toBe(true);
      expect(linkedin.calls).toMatchObject({ images_init: 1, upload: 1, posts_create: 1 });
      for (const request of linkedin.requests.filter((r) => r.path.startsWith('/rest/'))) {
        expect(request.headers).toMatchObject({
          authorization: `Bearer ${linkedin.token}`,
          'linkedin-version': LINKEDIN_VERSION,
          'x-restli-protocol-version': '2.0.0',
        });
      }
      const lateness = Date.parse(post.posted_at as string) - Date.parse(post.scheduled_time);
      expect(lateness).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(5000);

      Object.assign(created, { likes: 14, comments: 3 });
      expect(await syncedAnalytics(app, owner, id)).toMatchObject({
        platform: 'linkedin',
        likes: 14,
        comments: 3,
        shares: 0,
        views: 0,
        engagement_rate: 0,
      });
      expect(linkedin.calls.social_actions).toBe(1);
    });

    it('refreshes an expired token once, keeps the new one sealed, and posts', async () => {
      const other = await ownerWith({
        platform: 'linkedin',
        account_id: linkedin.author,
        access_token: linkedinFake.EXPIRED_TOKEN,
        refresh_token: linkedin.refreshToken,
      });
      const id = await scheduled(other, 'linkedin', other.account, 'Fresh token');
      const post = await settled(other, id);
      expect(post).toMatchObject({ status: 'posted', error_code: null });
      expect(linkedin.calls.token).toBe(1);
      expect(linkedin.posts.map((item) => item.text)).toEqual(['Fresh token\n\n#sea #dawn_light']);
      const tokens = await app.app.get(AccountsService).tokens(other.account);
      expect(tokens.accessToken).not.toBe(linkedinFake.EXPIRED_TOKEN);
      expect(tokens.refreshToken).toBe(linkedin.refreshToken);
      const [row] = (await app.dataSource.query(
        'SELECT access_token_encrypted FROM social_accounts WHERE id = $1',
        [other.account],
      )) as [{ access_token_encrypted: string }];
      expect(row.access_token_encrypted).not.toContain(tokens.accessToken);
      expect(await accountStatus(app, other.user, other.account)).toBe('active');
    });

    it('without a refresh token, fails the post with reconnect_required and marks the account', async () => {
      const expired = await connectAccount(app, owner.user, {
        platform: 'linkedin',
        account_id: 'urn:li:person:Expired9',
        access_token: linkedinFake.EXPIRED_TOKEN,
      });
      const id = await scheduled(owner, 'linkedin', expired, 'Expired, no refresh token');
      const post = await settled(owner, id);
      expect(post).toMatchObject({ status: 'failed', error_code: 'reconnect_required' });
      expect(post.error_message).toMatch(/must be reconnected.*expired/);
      expect(await accountStatus(app, owner.user, expired)).toBe('reconnect_required');
      expect(linkedin.calls.token).toBeUndefined();
      expect(linkedin.posts).toHaveLength(0);
    });

    it('a refresh that fails for a passing reason (token endpoint 503) retries later and leaves the account active', async () => {
      const other = await ownerWith({
        platform: 'linkedin',
        account_id: linkedin.author,
        access_token: linkedinFake.EXPIRED_TOKEN,
        refresh_token: linkedin.refreshToken,
      });
      linkedin.fail('token', 503);
      const id = await scheduled(other, 'linkedin', other.account, 'Token endpoint hiccup');
      const post = await settled(other, id);
      expect(post).toMatchObject({ status: 'posted', error_code: null });
      expect(post.metadata).toMatchObject({ last_error_code: 'timeout' });
      expect(linkedin.calls.token).toBe(2);
      expect(gaps(linkedin.times.token)[0]).toBeGreaterThanOrEqual(BACKOFF_MS - 50);
      expect(linkedin.posts).toHaveLength(1);
      expect(await accountStatus(app, other.user, other.account)).toBe('active');
    });

    it('on 429 with Retry-After, waits that long, then posts once, reusing the uploaded image', async () => {
      linkedin.rateLimit('posts_create', { 'Retry-After': '2' });
      const id = await scheduled(owner, 'linkedin', linkedinAccount, 'Throttled once');
      const post = await settled(owner, id);
      expect(post).toMatchObject({ status: 'posted', error_code: null });
      expect(post.metadata).toMatchObject({ last_error_code: 'rate_limited' });
      expect(linkedin.calls).toMatchObject({ images_init: 1, upload: 1, posts_create: 2 });
      expect(gaps(linkedin.times.posts_create)[0]).toBeGreaterThanOrEqual(2000 - 50);
      expect(linkedin.posts).toHaveLength(1);
      expect(post.platform_post_id).toBe(linkedin.posts[0].id);
    });

    it('on 429 without a reset header, waits for the daily reset at midnight UTC, then posts once', async () => {
      linkedin.rateLimit('images_init');
      const id = await scheduled(owner, 'linkedin', linkedinAccount, 'Throttled for the day');
      const { post, job, state } = await retryJob(app, owner, id);
      expect(post.status).toBe('scheduled');
      expect(post.metadata).toMatchObject({ last_error_code: 'rate_limited' });
      expect(state).toBe('delayed');
      const now = new Date();
      const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
      expect(Math.abs(job.timestamp + Number(job.opts.delay) - midnight)).toBeLessThan(5000);
      expect(linkedin.posts).toHaveLength(0);

      // Midnight, sooner: the same job, as Bull would run it then.
      await job.promote();
      const done = await settled(owner, id);
      expect(done).toMatchObject({ status: 'posted', error_code: null });
      expect(linkedin.posts.map((item) => item.text)).toEqual([
        'Throttled for the day\n\n#sea #dawn_light',
      ]);
    });

    it('on 5xx before the post call, retries with a doubling backoff, then posts once', async () => {
      linkedin.fail('images_init', 500);
      linkedin.fail('upload', 503);
      const id = await scheduled(owner, 'linkedin', linkedinAccount, 'Flaky upload');
      const post = await settled(owner, id);
      expect(post).toMatchObject({ status: 'posted', error_code: null });
      expect(linkedin.calls).toMatchObject({ images_init: 3, upload: 2, posts_create: 1 });
      const [first, second] = gaps(linkedin.times.images_init);
      expect(first).toBeGreaterThanOrEqual(BACKOFF_MS - 50);
      expect(second).toBeGreaterThanOrEqual(2 * BACKOFF_MS - 50);
      expect(linkedin.posts).toHaveLength(1);
      const uploaded = linkedin.images.get(linkedin.posts[0].imageUrn);
      expect(uploaded?.data.equals(jpeg)).toBe(true);
    });

    it('after a lost answer to the post call, finds the post among the author’s and never posts twice', async () => {
      linkedin.loseAnswer('posts_create');
      const id = await scheduled(owner, 'linkedin', linkedinAccount, 'Answer lost');
      const post = await settled(owner, id);
      expect(post).toMatchObject({ status: 'posted', error_code: null });
      expect(post.metadata).toMatchObject({ reconciled: true });
      expect(linkedin.calls).toMatchObject({ posts_create: 1, posts_find: 1 });
      expect(linkedin.posts).toHaveLength(1);
      expect(post.platform_post_id).toBe(linkedin.posts[0].id);
    });

    it('sends a version LinkedIn still serves; a retired one is refused with 426, as LinkedIn does', async () => {
      const account = {
        accountId: linkedin.author,
        accessToken: linkedin.token,
        refreshToken: null,
      };
      const retired = new LinkedInPlatform({ apiUrl: linkedin.url, version: '202405' });
      const error = await retired
        .metrics(account, 'urn:li:share:1', AbortSignal.timeout(5000))
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toBeInstanceOf(PlatformError);
      expect(error).toMatchObject({ code: 'platform_rejected', options: { status: 426 } });
      expect((error as Error).message).toContain('Requested version 202405 is not active');
      const current = new LinkedInPlatform({ apiUrl: linkedin.url });
      const missing = await current
        .metrics(account, 'urn:li:share:1', AbortSignal.timeout(5000))
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(missing).toMatchObject({ options: { status: 404 } });
    });
  });

  describe('tiktok', () => {
    it('publishes at its time, once: TikTok pulls the signed JPEG, the status is polled to PUBLISH_COMPLETE, id and link kept; then its metrics sync', async () => {
      const id = await scheduled(owner, 'tiktok', tiktokAccount, CAPTION, 2);
      const post = await settled(owner, id);

      expect(post).toMatchObject({ status: 'posted', error_code: null, error_message: '' });
      expect(tiktok.publishes).toHaveLength(1);
      const [publish] = tiktok.publishes;
      expect(publish.status).toBe('PUBLISH_COMPLETE');
      expect(publish.body).toMatchObject({
        post_mode: 'DIRECT_POST',
        media_type: 'PHOTO',
        post_info: { title: CAPTION, description: TEXT },
        source_info: { source: 'PULL_FROM_URL', photo_cover_index: 0 },
      });
      const [url] = (publish.body.source_info as { photo_images: string[] }).photo_images;
      expect(url.startsWith(`${app.config.publicBaseUrl}/media/`)).toBe(true);
      expect(publish.images).toHaveLength(1);
      expect(publish.images[0].equals(jpeg)).toBe(true);
      // The 64-bit id as TikTok sent it, and the link video/query gives.
      expect(post.platform_post_id).toBe(publish.postId);
      expect(post.platform_post_url).toBe(
        `https://www.tiktok.com/@${tiktok.username}/photo/${publish.postId}`,
      );
      expect(post.metadata).toMatchObject({
        publish_id: publish.publishId,
        post_id_pending: false,
      });
      expect(tiktok.calls).toMatchObject({ init: 1, status: 2 });
      const statuses = tiktok.requests.filter((r) => r.path === '/v2/post/publish/status/fetch/');
      expect(statuses.map((request) => request.body)).toEqual([
        { publish_id: publish.publishId },
        { publish_id: publish.publishId },
      ]);

      publish.metrics = { like_count: 30, comment_count: 6, share_count: 4, view_count: 800 };
      expect(await syncedAnalytics(app, owner, id)).toMatchObject({
        platform: 'tiktok',
        likes: 30,
        comments: 6,
        shares: 4,
        views: 800,
        engagement_rate: 5,
      });
    });

    it('refreshes an expired token once, keeps the new one sealed, and posts', async () => {
      tiktok.setProcessingPolls(0);
      const other = await ownerWith({
        platform: 'tiktok',
        account_id: tiktok.openId,
        access_token: tiktokFake.EXPIRED_TOKEN,
        refresh_token: tiktok.refreshToken,
      });
      const id = await scheduled(other, 'tiktok', other.account, 'Fresh token');
      const post = await settled(other, id);
      expect(post).toMatchObject({ status: 'posted', error_code: null });
      expect(tiktok.calls.token).toBe(1);
      // Two inits, the first refused (401): only one publish exists.
      expect(tiktok.times.init).toHaveLength(2);
      expect(tiktok.publishes).toHaveLength(1);
      expect(tiktok.publishes[0].body).toMatchObject({
        post_info: { description: 'Fresh token\n\n#sea #dawn_light' },
      });
      const tokens = await app.app.get(AccountsService).tokens(other.account);
      expect(tokens.accessToken).toMatch(/^act\./);
      expect(tokens.accessToken).not.toBe(tiktokFake.EXPIRED_TOKEN);
      expect(await accountStatus(app, other.user, other.account)).toBe('active');
    });

    it('without a refresh token, fails the post with reconnect_required and marks the account', async () => {
      const expired = await connectAccount(app, owner.user, {
        platform: 'tiktok',
        account_id: '-000Expired',
        access_token: tiktokFake.EXPIRED_TOKEN,
      });
      const id = await scheduled(owner, 'tiktok', expired, 'Expired, no refresh token');
      const post = await settled(owner, id);
      expect(post).toMatchObject({ status: 'failed', error_code: 'reconnect_required' });
      expect(post.error_message).toMatch(/must be reconnected.*access token is invalid/);
      expect(await accountStatus(app, owner.user, expired)).toBe('reconnect_required');
      expect(tiktok.calls.token).toBeUndefined();
      expect(tiktok.publishes).toHaveLength(0);
    });

    it('on 429, waits out TikTok’s one-minute window, then posts once', async () => {
      tiktok.setProcessingPolls(0);
      tiktok.rateLimit('init');
      const id = await scheduled(owner, 'tiktok', tiktokAccount, 'Throttled once');
      const { post, job, state } = await retryJob(app, owner, id);
      expect(post.status).toBe('scheduled');
      expect(post.metadata).toMatchObject({ last_error_code: 'rate_limited' });
      expect(state).toBe('delayed');
      expect(Number(job.opts.delay)).toBeGreaterThanOrEqual(59_000);
      expect(Number(job.opts.delay)).toBeLessThanOrEqual(60_000);
      expect(tiktok.publishes).toHaveLength(0);

      // A minute, sooner: the same job, as Bull would run it then.
      await job.promote();
      const done = await settled(owner, id);
      expect(done).toMatchObject({ status: 'posted', error_code: null });
      expect(tiktok.calls.init).toBe(2);
      expect(tiktok.publishes).toHaveLength(1);
      expect(done.platform_post_id).toBe(tiktok.publishes[0].postId);
    });

    it('honours a Retry-After on 429 when TikTok sends one', async () => {
      tiktok.setProcessingPolls(0);
      tiktok.rateLimit('init', { 'Retry-After': '1' });
      const id = await scheduled(owner, 'tiktok', tiktokAccount, 'Throttled briefly');
      const post = await settled(owner, id);
      expect(post).toMatchObject({ status: 'posted', error_code: null });
      expect(gaps(tiktok.times.init)[0]).toBeGreaterThanOrEqual(1000 - 50);
      expect(tiktok.publishes).toHaveLength(1);
    });

    it('on 5xx while polling an accepted publish, resumes the same publish_id: posted once', async () => {
      tiktok.setProcessingPolls(0);
      tiktok.fail('status', 502);
      const id = await scheduled(owner, 'tiktok', tiktokAccount, 'Status hiccup');
      const post = await settled(owner, id);
      expect(post).toMatchObject({ status: 'posted', error_code: null });
      expect(tiktok.calls.init).toBe(1);
      expect(tiktok.publishes).toHaveLength(1);
      expect(post.platform_post_id).toBe(tiktok.publishes[0].postId);
      expect(post.metadata).toMatchObject({ publish_id: tiktok.publishes[0].publishId });
    });

    it('on 5xx of init itself, does not post again blindly: outcome_unknown for a person to check', async () => {
      // TikTok has no lookup by content: after a 5xx of the call that creates the post,
      // nothing can tell whether it exists, and a second init could post it twice.
      tiktok.fail('init', 500);
      const id = await scheduled(owner, 'tiktok', tiktokAccount, 'Init failed');
      const post = await settled(owner, id);
      expect(post).toMatchObject({ status: 'failed', error_code: 'outcome_unknown' });
      expect(post.error_message).toMatch(/check the account/);
      expect(tiktok.calls.init).toBe(1);
    });
  });
});

describe('LinkedIn and TikTok through the worker, no OAuth client configured', () => {
  let linkedin: linkedinFake.LinkedInFake;
  let tiktok: tiktokFake.TikTokFake;
  let app: TestApp;
  let owner: Owner;

  beforeAll(async () => {
    linkedin = await linkedinFake.start();
    tiktok = await tiktokFake.start();
    app = await createTestApp(fakeEnv(linkedin, tiktok), { listen: true });
    owner = await userWithValidatedImage(app);
  }, 60_000);
  afterAll(async () => {
    await app.close();
    await linkedin.close();
    await tiktok.close();
  });

  it.each([
    ['linkedin', () => linkedin.author, linkedinFake.EXPIRED_TOKEN, () => linkedin.refreshToken],
    ['tiktok', () => tiktok.openId, tiktokFake.EXPIRED_TOKEN, () => tiktok.refreshToken],
  ] as const)(
    '%s: an expired token with a refresh token but no client to refresh it fails the post with reconnect_required',
    async (platform, accountId, token, refreshToken) => {
      const account = await connectAccount(app, owner.user, {
        platform,
        account_id: accountId(),
        access_token: token,
        refresh_token: refreshToken(),
      });
      const response = await schedulePost(app, owner.user, {
        image: owner.imageId,
        platform,
        account,
        scheduled_time: inSeconds(1),
        caption: 'No client',
      }).expect(201);
      const post = await waitForPostStatus(app, owner.user, response.body.post.id, [
        'posted',
        'failed',
      ]);
      expect(post).toMatchObject({ status: 'failed', error_code: 'reconnect_required' });
      expect(await accountStatus(app, owner.user, account)).toBe('reconnect_required');
      const fake = platform === 'linkedin' ? linkedin : tiktok;
      expect(fake.calls.token).toBeUndefined();
      expect(linkedin.posts.length + tiktok.publishes.length).toBe(0);
    },
  );
});
