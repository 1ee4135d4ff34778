import {
  type CommonStep,
  EndpointScript,
  type FakeServer,
  fetchImageLikeAPlatform,
  loseAnswer,
  playCommonStep,
  type RecordedRequest,
  sendJson,
  startFakeServer,
} from './fake-server.js';

/**
 * TikTok Content Posting API, photo mode: `init` POST /v2/post/publish/content/init/ (it
 * downloads the PULL_FROM_URL image, as TikTok does), `status` POST
 * /v2/post/publish/status/fetch/, `video_query` POST /v2/video/query/ (counts and `share_url`),
 * `token` POST /v2/oauth/token/. Every answer carries `error: {code, message, log_id}`, code
 * `ok` on success; an expired token is HTTP 401 `access_token_invalid`, throttling 429
 * `rate_limit_exceeded` (TikTok sends no reset header; a test may add one). A refresh token
 * is spent by its refresh, which answers its successor; a spent one is 400 `invalid_grant`.
 */
export interface TikTokFake extends FakeServer {
  token: string;
  openId: string;
  /** The creator's @name, in the share links. */
  username: string;
  clientKey: string;
  clientSecret: string;
  refreshToken: string;
  publishes: TikTokPublish[];
  calls: Record<string, number>;
  /** When each endpoint was called (Date.now()), in order: retries' spacing. */
  times: Record<string, number[]>;
  fail(endpoint: string, status: number, body?: unknown, headers?: Record<string, string>): void;
  rateLimit(endpoint: string, headers?: Record<string, string>): void;
  delay(endpoint: string, ms: number): void;
  loseAnswer(endpoint: string): void;
  /** Publishes created from now on report PROCESSING_DOWNLOAD for this many checks (default 1). */
  setProcessingPolls(polls: number): void;
  reset(): void;
}

export interface TikTokPublish {
  publishId: string;
  postId: string;
  body: Record<string, unknown>;
  /** What TikTok downloaded from each of `photo_images` (empty where the download failed). */
  images: Buffer[];
  status: 'PROCESSING_DOWNLOAD' | 'PUBLISH_COMPLETE' | 'FAILED';
  outcome: 'PUBLISH_COMPLETE' | 'FAILED';
  failReason: string;
  pollsLeft: number;
  metrics: { like_count: number; comment_count: number; share_count: number; view_count: number };
}

type Step = CommonStep | { kind: 'lose' };

export const TIKTOK_TOKEN = 'act.tiktokTestToken';
export const EXPIRED_TOKEN = 'expired';

export async function start(): Promise<TikTokFake> {
  const script = new EndpointScript<Step>();
  const openId = '-000AbCdEfGhIjKlMnOp';
  const username = 'harbour.lantern';
  const clientKey = 'tt-client-key';
  const clientSecret = 'tt-client-secret';
  const tokens = new Set([TIKTOK_TOKEN]);
  const refreshTokens = new Set(['rft.tiktok-1']);
  const publishes: TikTokPublish[] = [];
  const times: Record<string, number[]> = {};
  let nextId = 1;
  let nextRefresh = 1;
  let processingPolls = 1;

  const server = await startFakeServer(async (request, res) => {
    const url = new URL(request.path, 'http://fake');
    const endpoint = ENDPOINTS[`${request.method} ${url.pathname}`];
    if (!endpoint) return sendJson(res, 404, failure('not_found', 'Not found'));
    (times[endpoint] ??= []).push(Date.now());
    if (endpoint !== 'token') {
      const token = request.headers.authorization?.replace(/^Bearer /, '');
      if (!token || !tokens.has(token)) {
        return sendJson(
          res,
          401,
          failure(
            'access_token_invalid',
            'The access token is invalid or not found in the request.',
          ),
        );
      }
    }
    const step = script.next(endpoint);
    if (step && step.kind !== 'lose' && (await playCommonStep(step, res))) return;
    const answer = await handlers[endpoint](request, url);
    if (step?.kind === 'lose') return loseAnswer(res);
    const type: Record<string, string> = answer.json ? { 'Content-Type': 'application/json' } : {};
    sendJson(res, answer.status ?? 200, answer.body, type);
  });

  type Answer = { status?: number; body: unknown; json?: boolean };
  const handlers: Record<string, (request: RecordedRequest, url: URL) => Promise<Answer>> = {
    init: async (request) => {
      const body = request.body as Record<string, unknown>;
      const problem = validateInit(body);
      if (problem) return { status: 400, body: failure('invalid_params', problem) };
      const images = (body.source_info as { photo_images: string[] }).photo_images;
      const fetched = await Promise.all(images.map((image) => fetchImageLikeAPlatform(image)));
      const id = nextId++;
      const publish: TikTokPublish = {
        publishId: `p_pub_url~v2.${7300000000000000000n + BigInt(id)}`,
        postId: String(7400000000000000000n + BigInt(id)),
        body,
        images: fetched.map((item) => (item.ok ? item.bytes : Buffer.alloc(0))),
        status: 'PROCESSING_DOWNLOAD',
        outcome: fetched.every((item) => item.ok) ? 'PUBLISH_COMPLETE' : 'FAILED',
        failReason: fetched.every((item) => item.ok) ? '' : 'photo_pull_failed',
        pollsLeft: processingPolls,
        metrics: { like_count: 0, comment_count: 0, share_count: 0, view_count: 0 },
      };
      publishes.push(publish);
      return { body: { data: { publish_id: publish.publishId }, error: ok() } };
    },
    status: async (request) => {
      const publishId = (request.body as { publish_id?: unknown })?.publish_id;
      const publish = publishes.find((candidate) => candidate.publishId === publishId);
      if (!publish) {
        return { status: 400, body: failure('invalid_params', 'publish_id is invalid') };
      }
      if (publish.status === 'PROCESSING_DOWNLOAD') {
        if (publish.pollsLeft > 0) publish.pollsLeft -= 1;
        else publish.status = publish.outcome;
      }
      const data: Record<string, unknown> = {
        status: publish.status,
        publicaly_available_post_id: publish.status === 'PUBLISH_COMPLETE' ? ['__POST_ID__'] : [],
        uploaded_bytes: 0,
      };
      if (publish.status === 'FAILED') data.fail_reason = publish.failReason;
      // TikTok sends the ids as bare 64-bit integers, beyond what a JS number holds.
      const text = JSON.stringify({ data, error: ok() }).replace('"__POST_ID__"', publish.postId);
      return { body: text, json: true };
    },
    video_query: async (request, url) => {
      const fields = (url.searchParams.get('fields') ?? '').split(',').filter(Boolean);
      if (!fields.length)
        return { status: 400, body: failure('invalid_params', 'fields is required') };
      const ids =
        (request.body as { filters?: { video_ids?: unknown[] } })?.filters?.video_ids ?? [];
      const videos = publishes
        .filter(
          (publish) =>
            publish.status === 'PUBLISH_COMPLETE' && ids.map(String).includes(publish.postId),
        )
        .map((publish) => {
          const all: Record<string, unknown> = {
            id: publish.postId,
            share_url: `https://www.tiktok.com/@${username}/photo/${publish.postId}`,
            ...publish.metrics,
          };
          return Object.fromEntries(Object.entries(all).filter(([key]) => fields.includes(key)));
        });
      return { body: { data: { videos, cursor: 0, has_more: false }, error: ok() } };
    },
    token: async (request) => {
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      const refresh = form.get('refresh_token') ?? '';
      if (
        form.get('client_key') !== clientKey ||
        form.get('client_secret') !== clientSecret ||
        form.get('grant_type') !== 'refresh_token' ||
        !refreshTokens.has(refresh)
      ) {
        return {
          status: 400,
          body: {
            error: 'invalid_grant',
            error_description: 'Refresh token is invalid or expired.',
            log_id: 'log1',
          },
        };
      }
      // Spent once used, as a rotated refresh token is: the answer carries its successor.
      refreshTokens.delete(refresh);
      const rotated = `rft.tiktok-${++nextRefresh}`;
      refreshTokens.add(rotated);
      const access = `act.${nextId++}`;
      tokens.add(access);
      return {
        body: {
          access_token: access,
          expires_in: 86400,
          open_id: openId,
          refresh_expires_in: 31536000,
          refresh_token: rotated,
          scope: 'user.info.basic,video.publish,video.list',
          token_type: 'Bearer',
        },
      };
    },
  };

  return {
    ...server,
    token: TIKTOK_TOKEN,
    openId,
    username,
    clientKey,
    clientSecret,
    refreshToken: 'rft.tiktok-1',
    publishes,
    calls: script.calls,
    times,
    fail: (endpoint, status, body = failure('internal_error', 'Something went wrong'), headers) =>
      script.push(endpoint, { kind: 'fail', status, body, headers }),
    rateLimit: (endpoint, headers) =>
      script.push(endpoint, {
        kind: 'fail',
        status: 429,
        body: failure('rate_limit_exceeded', 'API rate limit exceeded, please retry later.'),
        headers,
      }),
    delay: (endpoint, ms) => script.push(endpoint, { kind: 'delay', ms }),
    loseAnswer: (endpoint) => script.push(endpoint, { kind: 'lose' }),
    setProcessingPolls: (polls) => {
      processingPolls = polls;
    },
    reset: () => {
      server.requests.length = 0;
      script.reset();
      publishes.length = 0;
      processingPolls = 1;
      for (const key of Object.keys(times)) delete times[key];
    },
  };
}

const ENDPOINTS: Record<string, string> = {
  'POST /v2/post/publish/content/init/': 'init',
  'POST /v2/post/publish/status/fetch/': 'status',
  'POST /v2/video/query/': 'video_query',
  'POST /v2/oauth/token/': 'token',
};

function ok() {
  return { code: 'ok', message: '', log_id: '20240501000000ABCDEF' };
}

function failure(code: string, message: string) {
  return { data: {}, error: { code, message, log_id: '20240501000000ABCDEF' } };
}

function validateInit(body: Record<string, unknown>): string | undefined {
  if (!body || typeof body !== 'object') return 'body must be JSON';
  if (body.media_type !== 'PHOTO') return 'media_type must be PHOTO for photo posts';
  if (body.post_mode !== 'DIRECT_POST' && body.post_mode !== 'MEDIA_UPLOAD')
    return 'post_mode is invalid';
  const info = body.post_info as Record<string, unknown> | undefined;
  if (!info || typeof info.privacy_level !== 'string') return 'post_info.privacy_level is required';
  if (typeof info.title === 'string' && Array.from(info.title).length > 90)
    return 'title is too long';
  if (typeof info.description === 'string' && info.description.length > 4000)
    return 'description is too long';
  const source = body.source_info as Record<string, unknown> | undefined;
  if (source?.source !== 'PULL_FROM_URL') return 'photo posts need source PULL_FROM_URL';
  const images = source.photo_images;
  if (!Array.isArray(images) || images.length < 1 || images.length > 35)
    return 'photo_images must hold 1 to 35 URLs';
  const cover = Number(source.photo_cover_index);
  if (!Number.isInteger(cover) || cover < 0 || cover >= images.length)
    return 'photo_cover_index is out of range';
  return undefined;
}
