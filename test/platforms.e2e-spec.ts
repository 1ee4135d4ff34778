import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { FacebookPlatform } from '../apps/server/src/scheduler/platforms/facebook.platform.js';
import { InstagramPlatform } from '../apps/server/src/scheduler/platforms/instagram.platform.js';
import {
  LINKEDIN_VERSION,
  LinkedInPlatform,
  littleText,
} from '../apps/server/src/scheduler/platforms/linkedin.platform.js';
import {
  type Checkpoint,
  type PlatformAccount,
  PlatformError,
  type PublishRequest,
} from '../apps/server/src/scheduler/platforms/platform.js';
import { TikTokPlatform } from '../apps/server/src/scheduler/platforms/tiktok.platform.js';
import { TwitterPlatform } from '../apps/server/src/scheduler/platforms/twitter.platform.js';
import { FAKE_IMAGE_PATH, fakeImagePng, type RecordedRequest } from './fakes/fake-server.js';
import * as graphFake from './fakes/graph.fake.js';
import * as linkedinFake from './fakes/linkedin.fake.js';
import * as tiktokFake from './fakes/tiktok.fake.js';
import * as xFake from './fakes/x.fake.js';

const patient = () => AbortSignal.timeout(10_000);
const TEXT = 'Sunrise over the bay & the old lighthouse (day 3)\n\n#sunrise #sea';

let jpeg: Buffer;
beforeAll(async () => {
  jpeg = await sharp(await fakeImagePng())
    .jpeg()
    .toBuffer();
});

interface Harness {
  request: PublishRequest;
  /** Each record() call with the fake's call counters at that moment. */
  log: { step: Checkpoint; calls: Record<string, number> }[];
  /** What record() persisted, as the worker's row would hold it. */
  saved: Checkpoint;
  /** The same post again, from the persisted checkpoint (a retry or a reconcile). */
  again(): PublishRequest;
}

function harness(
  account: PlatformAccount,
  imageUrl: string,
  calls: Record<string, number>,
  checkpoint: Checkpoint = {},
  text = TEXT,
): Harness {
  const log: Harness['log'] = [];
  const saved: Checkpoint = { ...checkpoint };
  const make = (): PublishRequest => ({
    account,
    text,
    imageUrl,
    imageBytes: async () => jpeg,
    checkpoint: { ...saved },
    record: async (step) => {
      log.push({ step, calls: { ...calls } });
      Object.assign(saved, step);
    },
    signal: patient(),
  });
  return { request: make(), log, saved, again: make };
}

async function platformError(promise: Promise<unknown>): Promise<PlatformError> {
  const outcome = await promise.then(
    () => new Error('expected a PlatformError, but it resolved'),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(PlatformError);
  return outcome as PlatformError;
}

function form(request: RecordedRequest): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(String(request.body)));
}

function only(requests: RecordedRequest[], method: string, prefix: string): RecordedRequest[] {
  return requests.filter((item) => item.method === method && item.path.startsWith(prefix));
}

describe('instagram', () => {
  let fake: graphFake.GraphFake;
  let platform: InstagramPlatform;
  let account: PlatformAccount;
  let image: string;
  beforeAll(async () => {
    fake = await graphFake.start();
    platform = new InstagramPlatform({ graphUrl: fake.graphUrl, pollIntervalMs: 5, maxPolls: 5 });
    account = { accountId: fake.igUserId, accessToken: fake.token, refreshToken: null };
    image = `${fake.url}${FAKE_IMAGE_PATH}`;
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('creates a container, records it, polls until FINISHED, records, then publishes', async () => {
    const run = harness(account, image, fake.calls);
    const result = await platform.publish(run.request);

    const [item] = fake.media;
    expect(fake.media).toHaveLength(1);
    expect(result).toEqual({
      platformPostId: item.id,
      platformPostUrl: item.permalink,
      metadata: { container_id: item.containerId },
    });
    const v = `/${graphFake.GRAPH_VERSION}`;
    const [create] = only(fake.requests, 'POST', `${v}/${fake.igUserId}/media`);
    expect(form(create)).toEqual({ image_url: image, caption: TEXT, access_token: fake.token });
    const polls = only(fake.requests, 'GET', `${v}/${item.containerId}?`);
    expect(polls).toHaveLength(2);
    expect(polls[0].path).toContain('fields=status_code');
    const [publish] = only(fake.requests, 'POST', `${v}/${fake.igUserId}/media_publish`);
    expect(form(publish)).toEqual({ creation_id: item.containerId, access_token: fake.token });

    // The container id is saved before the first poll, the send time before media_publish.
    expect(run.log.map((entry) => Object.keys(entry.step))).toEqual([
      ['containerId'],
      ['publishSentAt'],
    ]);
    expect(run.log[0].step.containerId).toBe(item.containerId);
    expect(run.log[0].calls).toEqual({ media: 1 });
    expect(run.log[1].calls).toEqual({ media: 1, container: 2 });
  });

  it('maps an expired token (Graph code 190 with HTTP 400) to reconnect_required', async () => {
    const run = harness({ ...account, accessToken: graphFake.EXPIRED_TOKEN }, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.code).toBe('reconnect_required');
    expect(error.options.status).toBe(400);
    expect(error.message).toContain('Session has expired');
  });

  it.each([4, 17, 32, 613])('maps Graph code %i to rate_limited with Meta’s wait', async (code) => {
    fake.rateLimit('media', code, 7);
    const error = await platformError(
      platform.publish(harness(account, image, fake.calls).request),
    );
    expect(error.code).toBe('rate_limited');
    expect(error.options.retryAfterMs).toBe(7 * 60_000);
    expect(fake.containers.size).toBe(0);
  });

  it('fails a 500 before any post exists as transient, not maybe-accepted', async () => {
    fake.fail('media', 500);
    const error = await platformError(
      platform.publish(harness(account, image, fake.calls).request),
    );
    expect(error.code).toBe('transient');
    expect(error.options.mayHaveBeenAccepted).toBeFalsy();
  });

  it('reconciles a lost media_publish answer to the one media published', async () => {
    fake.loseAnswer('media_publish');
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.options.mayHaveBeenAccepted).toBe(true);
    expect(run.saved).toEqual({
      containerId: expect.any(String),
      publishSentAt: expect.any(String),
    });

    const outcome = await platform.reconcile(run.again());
    expect(fake.media).toHaveLength(1);
    expect(outcome).toEqual({
      outcome: 'published',
      result: {
        platformPostId: fake.media[0].id,
        platformPostUrl: fake.media[0].permalink,
        metadata: { container_id: run.saved.containerId, reconciled: true },
      },
    });
    expect(fake.calls.media_publish).toBe(1);
  });

  it('resumes from a FINISHED container never sent: not_published, then the same container', async () => {
    // media_publish is refused (429): nothing was created, so the send mark is cleared.
    fake.rateLimit('media_publish', 4, 1);
    const run = harness(account, image, fake.calls);
    expect((await platformError(platform.publish(run.request))).code).toBe('rate_limited');
    expect(run.saved.publishSentAt).toBe('');
    const [container] = fake.containers.values();
    expect(container.status).toBe('FINISHED');

    expect(await platform.reconcile(run.again())).toEqual({ outcome: 'not_published' });
    const result = await platform.publish(run.again());
    expect(fake.calls.media).toBe(1);
    expect(fake.containers.size).toBe(1);
    expect(fake.media).toEqual([expect.objectContaining({ containerId: container.id })]);
    expect(result.platformPostId).toBe(fake.media[0].id);
  });

  it('refuses to publish again when an unreconciled send is recorded', async () => {
    const run = harness(account, image, fake.calls, {
      containerId: '1',
      publishSentAt: new Date().toISOString(),
    });
    const error = await platformError(platform.publish(run.request));
    expect(error.options.mayHaveBeenAccepted).toBe(true);
    expect(fake.requests).toHaveLength(0);
  });

  it('says unknown when media_publish was sent and the container never got published', async () => {
    fake.fail('media_publish', 502);
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.options.mayHaveBeenAccepted).toBe(true);
    const outcome = await platform.reconcile(run.again());
    expect(outcome).toMatchObject({ outcome: 'unknown' });
  });

  it('maps an image Meta cannot download to media_unreachable', async () => {
    const run = harness(account, `${fake.url}/files/status/404`, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.code).toBe('media_unreachable');
    expect(fake.containers.size).toBe(0);
  });

  it('maps a container in ERROR to platform_rejected and never publishes it', async () => {
    fake.failNextContainer('Error: The aspect ratio is not supported. (2207009)');
    const error = await platformError(
      platform.publish(harness(account, image, fake.calls).request),
    );
    expect(error.code).toBe('platform_rejected');
    expect(fake.calls.media_publish).toBeUndefined();
  });

  it('gives up polling after maxPolls with a timeout, container kept for a resume', async () => {
    fake.setProcessingPolls(50);
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.code).toBe('timeout');
    expect(error.options.mayHaveBeenAccepted).toBeFalsy();
    expect(fake.calls.container).toBe(5);
    expect(await platform.reconcile(run.again())).toEqual({ outcome: 'not_published' });
  });

  it('maps insights per the API (impressions = views)', async () => {
    const { platformPostId } = await platform.publish(harness(account, image, fake.calls).request);
    fake.media[0].insights = { views: 120, reach: 80, likes: 10, comments: 3, shares: 2, saved: 4 };
    const metrics = await platform.metrics(account, platformPostId, patient());
    expect(metrics).toEqual({
      likes: 10,
      comments: 3,
      shares: 2,
      views: 120,
      reach: 80,
      impressions: 120,
    });
    const insights = fake.requests.at(-1) as RecordedRequest;
    expect(insights.path).toContain(
      `/${platformPostId}/insights?metric=views%2Creach%2Clikes%2Ccomments%2Cshares%2Csaved`,
    );
  });
});

describe('facebook', () => {
  let fake: graphFake.GraphFake;
  let platform: FacebookPlatform;
  let account: PlatformAccount;
  let image: string;
  beforeAll(async () => {
    fake = await graphFake.start();
    platform = new FacebookPlatform({ graphUrl: fake.graphUrl });
    account = { accountId: fake.pageId, accessToken: fake.token, refreshToken: null };
    image = `${fake.url}${FAKE_IMAGE_PATH}`;
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('posts the photo with its message; post_id is the id, the photo id in metadata', async () => {
    const run = harness(account, image, fake.calls);
    const result = await platform.publish(run.request);
    const [post] = fake.pagePosts;
    expect(result).toEqual({
      platformPostId: post.id,
      platformPostUrl: `https://www.facebook.com/${post.id}`,
      metadata: { photo_id: post.photoId },
    });
    // The other request is Meta downloading the image.
    expect(fake.requests.map((request) => request.path)).toEqual([
      `/${graphFake.GRAPH_VERSION}/${fake.pageId}/photos`,
      FAKE_IMAGE_PATH,
    ]);
    expect(form(fake.requests[0])).toEqual({
      url: image,
      message: TEXT,
      access_token: fake.token,
    });
    expect(run.log).toEqual([{ step: { publishSentAt: expect.any(String) }, calls: {} }]);
  });

  it('maps an expired token to reconnect_required and clears the send mark', async () => {
    const run = harness({ ...account, accessToken: graphFake.EXPIRED_TOKEN }, image, fake.calls);
    expect((await platformError(platform.publish(run.request))).code).toBe('reconnect_required');
    expect(run.saved.publishSentAt).toBe('');
  });

  it('maps Graph code 32 to rate_limited', async () => {
    fake.rateLimit('photos', 32, 3);
    const error = await platformError(
      platform.publish(harness(account, image, fake.calls).request),
    );
    expect(error).toMatchObject({ code: 'rate_limited', options: { retryAfterMs: 180_000 } });
  });

  it('treats a 500 of the creating call as maybe accepted; a listing without the post then says not published', async () => {
    fake.fail('photos', 500);
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error).toMatchObject({ code: 'transient', options: { mayHaveBeenAccepted: true } });
    expect(fake.pagePosts).toHaveLength(0);
    // Meta answered (500): the call is over, so a post it made would be listed. It is not.
    expect(await platform.reconcile(run.again())).toEqual({ outcome: 'not_published' });
    expect(run.saved.publishSentAt).toBe('');
    await platform.publish(run.again());
    expect(fake.pagePosts).toHaveLength(1);
  });

  it('a lost answer (no answer at all) with a listing without the post stays unknown', async () => {
    fake.loseAnswer('photos');
    const run = harness(account, image, fake.calls);
    await platformError(platform.publish(run.request));
    // The listing may lag behind a call still running on Meta's side: it shows nothing yet.
    fake.pagePosts.length = 0;
    expect(await platform.reconcile(run.again())).toMatchObject({ outcome: 'unknown' });
  });

  it('reconciles a lost answer from the page posts to the same post id', async () => {
    fake.loseAnswer('photos');
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.options.mayHaveBeenAccepted).toBe(true);
    const outcome = await platform.reconcile(run.again());
    expect(fake.pagePosts).toHaveLength(1);
    expect(outcome).toEqual({
      outcome: 'published',
      result: {
        platformPostId: fake.pagePosts[0].id,
        platformPostUrl: `https://www.facebook.com/${fake.pagePosts[0].id}`,
        metadata: { photo_id: null, reconciled: true },
      },
    });
    const listing = fake.requests.at(-1) as RecordedRequest;
    expect(listing.path).toContain(`/${fake.pageId}/posts?fields=id%2Cmessage%2Ccreated_time`);
  });

  it('maps an image Meta cannot download to media_unreachable', async () => {
    const run = harness(account, `${fake.url}/files/not-an-image`, fake.calls);
    expect((await platformError(platform.publish(run.request))).code).toBe('media_unreachable');
    expect(fake.pagePosts).toHaveLength(0);
  });

  it('maps reactions, comments, shares and insights', async () => {
    const { platformPostId } = await platform.publish(harness(account, image, fake.calls).request);
    Object.assign(fake.pagePosts[0], {
      reactions: 7,
      comments: 2,
      shares: 1,
      insights: { post_impressions: 300, post_impressions_unique: 200 },
    });
    expect(await platform.metrics(account, platformPostId, patient())).toEqual({
      likes: 7,
      comments: 2,
      shares: 1,
      views: 0,
      reach: 200,
      impressions: 300,
    });
    // Graph leaves out `shares` while there are none.
    fake.pagePosts[0].shares = 0;
    expect(await platform.metrics(account, platformPostId, patient())).toMatchObject({ shares: 0 });
  });
});

describe('twitter (X)', () => {
  let fake: xFake.XFake;
  let platform: TwitterPlatform;
  let account: PlatformAccount;
  beforeAll(async () => {
    fake = await xFake.start();
    platform = new TwitterPlatform({
      apiUrl: fake.url,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
    });
    account = { accountId: fake.userId, accessToken: fake.token, refreshToken: fake.refreshToken };
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());
  const image = 'https://media.example/not-used-by-x.jpg';

  it('uploads the media, records it, records the send, then tweets', async () => {
    const run = harness(account, image, fake.calls);
    const result = await platform.publish(run.request);
    const [tweet] = fake.tweets;
    const [mediaId] = fake.media.keys();
    expect(result).toEqual({
      platformPostId: tweet.id,
      platformPostUrl: `https://x.com/i/web/status/${tweet.id}`,
      metadata: { media_id: mediaId },
    });
    const [upload, create] = fake.requests;
    expect(upload.path).toBe('/2/media/upload');
    expect(upload.headers.authorization).toBe(`Bearer ${fake.token}`);
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(fake.media.get(mediaId)).toEqual({ bytes: jpeg.length, category: 'tweet_image' });
    expect(create.path).toBe('/2/tweets');
    expect(create.headers.authorization).toBe(`Bearer ${fake.token}`);
    expect(create.body).toEqual({ text: TEXT, media: { media_ids: [mediaId] } });
    expect(run.log.map((entry) => [Object.keys(entry.step), entry.calls])).toEqual([
      [['mediaId', 'mediaExpiresAt'], { media_upload: 1 }],
      [['publishSentAt'], { media_upload: 1 }],
    ]);
  });

  it('maps 401 to reconnect_required', async () => {
    const run = harness({ ...account, accessToken: xFake.EXPIRED_TOKEN }, image, fake.calls);
    expect((await platformError(platform.publish(run.request))).code).toBe('reconnect_required');
  });

  it('maps 429 to rate_limited until x-rate-limit-reset, and reuses the media after', async () => {
    fake.rateLimit('tweets', 120);
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.code).toBe('rate_limited');
    expect(error.options.retryAfterMs).toBeGreaterThan(118_000);
    expect(error.options.retryAfterMs).toBeLessThanOrEqual(120_000);
    expect(run.saved.publishSentAt).toBe('');

    await platform.publish(run.again());
    expect(fake.calls.media_upload).toBe(1);
    expect(fake.tweets).toHaveLength(1);
  });

  it('fails a 500 of the upload as transient, not maybe-accepted', async () => {
    fake.fail('media_upload', 500);
    const error = await platformError(
      platform.publish(harness(account, image, fake.calls).request),
    );
    expect(error).toMatchObject({ code: 'transient', options: { mayHaveBeenAccepted: false } });
  });

  it('reconciles a lost tweet answer from the timeline despite t.co links and &amp;', async () => {
    fake.loseAnswer('tweets');
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.options.mayHaveBeenAccepted).toBe(true);
    expect(fake.tweets[0].text).toContain('&amp;');
    expect(fake.tweets[0].text).toContain('https://t.co/');

    const outcome = await platform.reconcile(run.again());
    expect(fake.tweets).toHaveLength(1);
    expect(outcome).toEqual({
      outcome: 'published',
      result: {
        platformPostId: fake.tweets[0].id,
        platformPostUrl: `https://x.com/i/web/status/${fake.tweets[0].id}`,
        metadata: { media_id: run.saved.mediaId, reconciled: true },
      },
    });
    const lookup = fake.requests.at(-1) as RecordedRequest;
    expect(lookup.path).toBe(
      `/2/users/${fake.userId}/tweets?max_results=5&tweet.fields=created_at%2Ctext`,
    );
  });

  it('says unknown when the sent tweet is not on the timeline', async () => {
    const run = harness(account, image, fake.calls, { publishSentAt: new Date().toISOString() });
    expect(await platform.reconcile(run.request)).toMatchObject({ outcome: 'unknown' });
  });

  it('maps public_metrics per the API', async () => {
    const { platformPostId } = await platform.publish(harness(account, image, fake.calls).request);
    fake.tweets[0].public_metrics = {
      retweet_count: 3,
      reply_count: 4,
      like_count: 20,
      quote_count: 2,
      bookmark_count: 1,
      impression_count: 900,
    };
    expect(await platform.metrics(account, platformPostId, patient())).toEqual({
      likes: 20,
      comments: 4,
      shares: 5,
      views: 900,
      reach: 0,
      impressions: 900,
    });
    expect((fake.requests.at(-1) as RecordedRequest).path).toBe(
      `/2/tweets/${platformPostId}?tweet.fields=public_metrics`,
    );
  });

  it('refreshes tokens, and a dead refresh token means reconnect', async () => {
    const tokens = await platform.refreshTokens(account, patient());
    expect(tokens.accessToken).not.toBe(fake.token);
    expect(tokens.refreshToken).not.toBe(fake.refreshToken);
    expect(tokens.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 7000_000);
    expect(form(fake.requests[0])).toEqual({
      grant_type: 'refresh_token',
      refresh_token: fake.refreshToken,
      client_id: fake.clientId,
    });
    // The new access token works.
    const run = harness({ ...account, accessToken: tokens.accessToken }, image, fake.calls);
    await platform.publish(run.request);
    // The old refresh token was rotated away.
    const error = await platformError(platform.refreshTokens(account, patient()));
    expect(error.code).toBe('reconnect_required');
  });
});

describe('linkedin', () => {
  let fake: linkedinFake.LinkedInFake;
  let platform: LinkedInPlatform;
  let account: PlatformAccount;
  beforeAll(async () => {
    fake = await linkedinFake.start();
    platform = new LinkedInPlatform({
      apiUrl: fake.url,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
    });
    account = { accountId: fake.author, accessToken: fake.token, refreshToken: fake.refreshToken };
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());
  const image = 'https://media.example/not-used-by-linkedin.jpg';

  it('initializes the upload, PUTs the bytes, records, then creates the post', async () => {
    const run = harness(account, image, fake.calls);
    const result = await platform.publish(run.request);
    const [post] = fake.posts;
    expect(result).toEqual({
      platformPostId: post.id,
      platformPostUrl: `https://www.linkedin.com/feed/update/${post.id}/`,
      metadata: { image_urn: post.imageUrn },
    });
    const [init, upload, create] = fake.requests;
    expect(init.path).toBe('/rest/images?action=initializeUpload');
    expect(init.body).toEqual({ initializeUploadRequest: { owner: fake.author } });
    for (const request of [init, create]) {
      expect(request.headers).toMatchObject({
        authorization: `Bearer ${fake.token}`,
        'linkedin-version': LINKEDIN_VERSION,
        'x-restli-protocol-version': '2.0.0',
      });
    }
    expect(upload.method).toBe('PUT');
    expect(upload.headers.authorization).toBe(`Bearer ${fake.token}`);
    expect(upload.raw?.equals(jpeg)).toBe(true);
    expect(create.body).toEqual({
      author: fake.author,
      commentary:
        'Sunrise over the bay & the old lighthouse \\(day 3\\)\n\n{hashtag|\\#|sunrise} {hashtag|\\#|sea}',
      visibility: 'PUBLIC',
      distribution: {
        feedDistribution: 'MAIN_FEED',
        targetEntities: [],
        thirdPartyDistributionChannels: [],
      },
      content: { media: { id: post.imageUrn } },
      lifecycleState: 'PUBLISHED',
      isReshareDisabledByAuthor: false,
    });
    expect(run.log).toEqual([
      { step: { imageUrn: post.imageUrn }, calls: { images_init: 1, upload: 1 } },
      { step: { publishSentAt: expect.any(String) }, calls: { images_init: 1, upload: 1 } },
    ]);
  });

  it('maps 401 to reconnect_required', async () => {
    const run = harness({ ...account, accessToken: linkedinFake.EXPIRED_TOKEN }, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.code).toBe('reconnect_required');
    expect(error.message).toContain('expired');
  });

  it('maps 429 to rate_limited: Retry-After when sent, else the daily reset at midnight UTC', async () => {
    fake.rateLimit('posts_create', { 'Retry-After': '30' });
    let error = await platformError(platform.publish(harness(account, image, fake.calls).request));
    expect(error).toMatchObject({ code: 'rate_limited', options: { retryAfterMs: 30_000 } });

    fake.rateLimit('images_init');
    error = await platformError(platform.publish(harness(account, image, fake.calls).request));
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    expect(error.code).toBe('rate_limited');
    expect(Math.abs((error.options.retryAfterMs ?? 0) - (midnight - now.getTime()))).toBeLessThan(
      5000,
    );
  });

  it('fails a 500 before the post call as transient, not maybe-accepted', async () => {
    fake.fail('images_init', 500);
    const error = await platformError(
      platform.publish(harness(account, image, fake.calls).request),
    );
    expect(error).toMatchObject({ code: 'transient', options: { mayHaveBeenAccepted: false } });
  });

  it('reconciles a lost post answer from the author’s posts to the same URN', async () => {
    fake.loseAnswer('posts_create');
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.options.mayHaveBeenAccepted).toBe(true);
    const outcome = await platform.reconcile(run.again());
    expect(fake.posts).toHaveLength(1);
    expect(outcome).toEqual({
      outcome: 'published',
      result: {
        platformPostId: fake.posts[0].id,
        platformPostUrl: `https://www.linkedin.com/feed/update/${fake.posts[0].id}/`,
        metadata: { image_urn: fake.posts[0].imageUrn, reconciled: true },
      },
    });
    const finder = fake.requests.at(-1) as RecordedRequest;
    expect(finder.path).toContain(`/rest/posts?author=${encodeURIComponent(fake.author)}&q=author`);
  });

  it('maps socialActions to likes and comments', async () => {
    const { platformPostId } = await platform.publish(harness(account, image, fake.calls).request);
    Object.assign(fake.posts[0], { likes: 12, comments: 5 });
    expect(await platform.metrics(account, platformPostId, patient())).toEqual({
      likes: 12,
      comments: 5,
      shares: 0,
      views: 0,
      reach: 0,
      impressions: 0,
    });
  });

  it('refreshes tokens; an unknown refresh token means reconnect', async () => {
    const tokens = await platform.refreshTokens(account, patient());
    expect(tokens).toMatchObject({ refreshToken: fake.refreshToken });
    expect(tokens.accessToken).not.toBe(fake.token);
    const error = await platformError(
      platform.refreshTokens({ ...account, refreshToken: 'revoked' }, patient()),
    );
    expect(error.code).toBe('reconnect_required');
  });

  it('escapes little-text reserved characters', () => {
    expect(littleText('a_b *c* [x](y) @me ~ | {} <> \\ #tag_1')).toBe(
      'a\\_b \\*c\\* \\[x\\]\\(y\\) \\@me \\~ \\| \\{\\} \\<\\> \\\\ {hashtag|\\#|tag\\_1}',
    );
  });
});

describe('tiktok', () => {
  let fake: tiktokFake.TikTokFake;
  let platform: TikTokPlatform;
  let account: PlatformAccount;
  let image: string;
  beforeAll(async () => {
    fake = await tiktokFake.start();
    platform = new TikTokPlatform({
      apiUrl: fake.url,
      clientKey: fake.clientKey,
      clientSecret: fake.clientSecret,
      pollIntervalMs: 5,
      maxPolls: 5,
    });
    account = { accountId: fake.openId, accessToken: fake.token, refreshToken: fake.refreshToken };
    image = `${fake.url}${FAKE_IMAGE_PATH}`;
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('records, inits a PULL_FROM_URL photo post, records the publish_id, polls to complete', async () => {
    const run = harness(account, image, fake.calls);
    const result = await platform.publish(run.request);
    const [publish] = fake.publishes;
    // The 64-bit post id survives (JSON numbers would round it).
    expect(result).toEqual({
      platformPostId: publish.postId,
      platformPostUrl: `https://www.tiktok.com/@${fake.username}/photo/${publish.postId}`,
      metadata: { publish_id: publish.publishId, post_id_pending: false },
    });
    const [init, ...polls] = fake.requests.filter((request) => !request.path.startsWith('/files/'));
    expect(init.path).toBe('/v2/post/publish/content/init/');
    expect(init.headers.authorization).toBe(`Bearer ${fake.token}`);
    expect(init.body).toEqual({
      post_info: {
        title: 'Sunrise over the bay & the old lighthouse (day 3)',
        description: TEXT,
        privacy_level: 'PUBLIC_TO_EVERYONE',
        disable_comment: false,
        auto_add_music: true,
      },
      source_info: { source: 'PULL_FROM_URL', photo_images: [image], photo_cover_index: 0 },
      post_mode: 'DIRECT_POST',
      media_type: 'PHOTO',
    });
    expect(polls.map((request) => [request.path, request.body])).toEqual([
      ['/v2/post/publish/status/fetch/', { publish_id: publish.publishId }],
      ['/v2/post/publish/status/fetch/', { publish_id: publish.publishId }],
      // The link, once the post is public.
      ['/v2/video/query/?fields=id,share_url', { filters: { video_ids: [publish.postId] } }],
    ]);
    expect(run.log).toEqual([
      { step: { initSentAt: expect.any(String) }, calls: {} },
      { step: { publishId: publish.publishId }, calls: { init: 1 } },
    ]);
  });

  it('maps access_token_invalid (401) to reconnect_required and clears the send mark', async () => {
    const run = harness({ ...account, accessToken: tiktokFake.EXPIRED_TOKEN }, image, fake.calls);
    expect((await platformError(platform.publish(run.request))).code).toBe('reconnect_required');
    expect(run.saved.initSentAt).toBe('');
  });

  it('maps rate_limit_exceeded to rate_limited for TikTok’s one-minute window', async () => {
    fake.rateLimit('init');
    const error = await platformError(
      platform.publish(harness(account, image, fake.calls).request),
    );
    expect(error).toMatchObject({ code: 'rate_limited', options: { retryAfterMs: 60_000 } });
  });

  it('treats a 500 of init as maybe accepted; without a publish_id reconcile says unknown', async () => {
    fake.fail('init', 500);
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error).toMatchObject({ code: 'transient', options: { mayHaveBeenAccepted: true } });
    expect(fake.publishes).toHaveLength(0);
    expect(await platform.reconcile(run.again())).toMatchObject({ outcome: 'unknown' });
  });

  it('a lost init answer cannot be reconciled (TikTok has no lookup by content): unknown', async () => {
    fake.loseAnswer('init');
    const run = harness(account, image, fake.calls);
    expect((await platformError(platform.publish(run.request))).options.mayHaveBeenAccepted).toBe(
      true,
    );
    expect(await platform.reconcile(run.again())).toMatchObject({ outcome: 'unknown' });
    expect(fake.publishes).toHaveLength(1);
  });

  it('reconciles from the recorded publish_id after a lost status answer', async () => {
    fake.setProcessingPolls(2);
    fake.loseAnswer('status');
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.options.mayHaveBeenAccepted).toBe(true);
    // Still processing: resume, never a new init.
    expect(await platform.reconcile(run.again())).toEqual({ outcome: 'not_published' });
    const outcome = await platform.reconcile(run.again());
    expect(outcome).toEqual({
      outcome: 'published',
      result: {
        platformPostId: fake.publishes[0].postId,
        platformPostUrl: `https://www.tiktok.com/@${fake.username}/photo/${fake.publishes[0].postId}`,
        metadata: { publish_id: fake.publishes[0].publishId, post_id_pending: false },
      },
    });
    expect(fake.publishes).toHaveLength(1);
    expect(fake.calls.init).toBe(1);
  });

  it('resumes polling the recorded publish_id instead of posting again', async () => {
    fake.setProcessingPolls(50);
    const run = harness(account, image, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error).toMatchObject({ code: 'timeout', options: { mayHaveBeenAccepted: true } });
    fake.publishes[0].pollsLeft = 0;
    const result = await platform.publish(run.again());
    expect(result.platformPostId).toBe(fake.publishes[0].postId);
    expect(fake.calls.init).toBe(1);
  });

  it('maps a picture TikTok cannot pull to media_unreachable', async () => {
    const run = harness(account, `${fake.url}/files/status/403`, fake.calls);
    const error = await platformError(platform.publish(run.request));
    expect(error.code).toBe('media_unreachable');
    expect(error.message).toContain('photo_pull_failed');
  });

  it('maps video/query counts to likes, comments, shares and views', async () => {
    const { platformPostId } = await platform.publish(harness(account, image, fake.calls).request);
    fake.publishes[0].metrics = {
      like_count: 9,
      comment_count: 2,
      share_count: 3,
      view_count: 400,
    };
    expect(await platform.metrics(account, platformPostId, patient())).toEqual({
      likes: 9,
      comments: 2,
      shares: 3,
      views: 400,
      reach: 0,
      impressions: 0,
    });
    const query = fake.requests.at(-1) as RecordedRequest;
    expect(query.path).toBe(
      '/v2/video/query/?fields=id,like_count,comment_count,share_count,view_count',
    );
    expect(query.body).toEqual({ filters: { video_ids: [platformPostId] } });
  });

  it('refreshes tokens; a bad refresh token means reconnect', async () => {
    const tokens = await platform.refreshTokens(account, patient());
    expect(tokens.accessToken).toMatch(/^act\./);
    expect(form(fake.requests[0])).toEqual({
      client_key: fake.clientKey,
      client_secret: fake.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: fake.refreshToken,
    });
    const error = await platformError(
      platform.refreshTokens({ ...account, refreshToken: 'nope' }, patient()),
    );
    expect(error.code).toBe('reconnect_required');
  });
});

describe('network failures', () => {
  it('a refused connection never reached the platform, even for the creating call', async () => {
    const closed = await graphFake.start();
    await closed.close();
    const platform = new FacebookPlatform({ graphUrl: closed.graphUrl });
    const run = harness({ accountId: '1', accessToken: 't', refreshToken: null }, 'x', {});
    const error = await platformError(platform.publish(run.request));
    expect(error).toMatchObject({ code: 'transient', options: { mayHaveBeenAccepted: false } });
  });

  it('a time-out of the creating call is a timeout that may have been accepted', async () => {
    const fake = await xFake.start();
    try {
      const platform = new TwitterPlatform({ apiUrl: fake.url });
      fake.delay('tweets', 2000);
      const run = harness(
        { accountId: fake.userId, accessToken: fake.token, refreshToken: null },
        'x',
        fake.calls,
      );
      const error = await platformError(
        platform.publish({ ...run.request, signal: AbortSignal.timeout(300) }),
      );
      expect(error).toMatchObject({ code: 'timeout', options: { mayHaveBeenAccepted: true } });
    } finally {
      await fake.close();
    }
  });
});
