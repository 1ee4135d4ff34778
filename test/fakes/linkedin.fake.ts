import sharp from 'sharp';
import {
  type CommonStep,
  EndpointScript,
  type FakeServer,
  loseAnswer,
  playCommonStep,
  type RecordedRequest,
  sendJson,
  startFakeServer,
} from './fake-server.js';

/**
 * LinkedIn's versioned REST API (`LinkedIn-Version: YYYYMM`, `X-Restli-Protocol-Version:
 * 2.0.0`, Bearer token): `images_init` POST /rest/images?action=initializeUpload, `upload` PUT
 * to the uploadUrl it gave, `posts_create` POST /rest/posts (201, URN in `x-restli-id`),
 * `posts_find` GET /rest/posts?author=..&q=author, `social_actions` GET
 * /rest/socialActions/{urn}, `token` POST /oauth/v2/accessToken. Errors are `{status,
 * serviceErrorCode, code, message}`; 401 for expired tokens; 429 without any reset header; a
 * version LinkedIn no longer serves (it keeps each monthly version for about a year) is 426
 * NONEXISTENT_VERSION, as the real API answers.
 */
export interface LinkedInFake extends FakeServer {
  token: string;
  author: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  images: Map<string, LinkedInImage>;
  posts: LinkedInPost[];
  calls: Record<string, number>;
  /** When each endpoint was called (Date.now()), in order: retries' spacing. */
  times: Record<string, number[]>;
  fail(endpoint: string, status: number, body?: unknown, headers?: Record<string, string>): void;
  rateLimit(endpoint: string, headers?: Record<string, string>): void;
  delay(endpoint: string, ms: number): void;
  loseAnswer(endpoint: string): void;
  reset(): void;
}

export interface LinkedInImage {
  uploaded: boolean;
  bytes: number;
  /** What the PUT carried. */
  data: Buffer;
}

export interface LinkedInPost {
  id: string;
  author: string;
  /** As sent, in LinkedIn's "little text" format. */
  commentary: string;
  /** The commentary as LinkedIn shows it (escapes and hashtag templates rendered). */
  text: string;
  createdAt: number;
  imageUrn: string;
  likes: number;
  comments: number;
}

type Step = CommonStep | { kind: 'lose' };

export const LINKEDIN_TOKEN = 'AQVlinkedinTestToken';
export const EXPIRED_TOKEN = 'expired';

export async function start(): Promise<LinkedInFake> {
  const script = new EndpointScript<Step>();
  const author = 'urn:li:person:AbCdEf123';
  const clientId = 'li-client-id';
  const clientSecret = 'li-client-secret';
  const tokens = new Set([LINKEDIN_TOKEN]);
  const refreshTokens = new Set(['li-refresh-token-1']);
  const images = new Map<string, LinkedInImage>();
  const posts: LinkedInPost[] = [];
  const times: Record<string, number[]> = {};
  let nextId = 1;
  const newId = () => String(7100000000000000000n + BigInt(nextId++));

  const server = await startFakeServer(async (request, res) => {
    const url = new URL(request.path, 'http://fake');
    const endpoint = endpointOf(request.method, url);
    if (!endpoint)
      return sendJson(
        res,
        404,
        error(404, 'RESOURCE_NOT_FOUND', `No resource found for ${url.pathname}`),
      );
    (times[endpoint] ??= []).push(Date.now());
    if (endpoint !== 'token') {
      const token = request.headers.authorization?.replace(/^Bearer /, '');
      if (token === EXPIRED_TOKEN) {
        return sendJson(
          res,
          401,
          error(401, 'EXPIRED_ACCESS_TOKEN', 'The token used in the request has expired', 65601),
        );
      }
      if (!token || !tokens.has(token)) {
        return sendJson(
          res,
          401,
          error(401, 'INVALID_ACCESS_TOKEN', 'Invalid access token', 65600),
        );
      }
    }
    if (url.pathname.startsWith('/rest/')) {
      const version = String(request.headers['linkedin-version'] ?? '');
      if (!/^\d{6}$/.test(version)) {
        return sendJson(
          res,
          400,
          error(
            400,
            'VERSION_MISSING',
            'A version must be present. Please specify a version by adding the LinkedIn-Version header.',
          ),
        );
      }
      if (!isActiveVersion(version)) {
        return sendJson(
          res,
          426,
          error(426, 'NONEXISTENT_VERSION', `Requested version ${version} is not active`),
        );
      }
      if (request.headers['x-restli-protocol-version'] !== '2.0.0') {
        return sendJson(
          res,
          400,
          error(400, 'INVALID_PROTOCOL_VERSION', 'X-Restli-Protocol-Version 2.0.0 is required'),
        );
      }
    }
    const step = script.next(endpoint);
    if (step && step.kind !== 'lose' && (await playCommonStep(step, res))) return;
    const answer = await handlers[endpoint](request, url);
    if (step?.kind === 'lose') return loseAnswer(res);
    if (answer.body === undefined) {
      res.writeHead(answer.status ?? 200, { 'Content-Length': 0, ...answer.headers });
      res.end();
      return;
    }
    sendJson(res, answer.status ?? 200, answer.body, answer.headers);
  });

  type Answer = { status?: number; body?: unknown; headers?: Record<string, string> };
  const handlers: Record<string, (request: RecordedRequest, url: URL) => Promise<Answer>> = {
    images_init: async (request) => {
      const owner = (request.body as { initializeUploadRequest?: { owner?: unknown } })
        ?.initializeUploadRequest?.owner;
      if (owner !== author) {
        return {
          status: 403,
          body: error(
            403,
            'ACCESS_DENIED',
            `Not enough permissions to access: owner ${String(owner)}`,
            100,
          ),
        };
      }
      const id = `urn:li:image:D4E${newId()}`;
      images.set(id, { uploaded: false, bytes: 0, data: Buffer.alloc(0) });
      return {
        body: {
          value: {
            uploadUrlExpiresAt: Date.now() + 3600_000,
            uploadUrl: `${server.url}/dms-uploads/${encodeURIComponent(id)}`,
            image: id,
          },
        },
      };
    },
    upload: async (request, url) => {
      const id = decodeURIComponent(url.pathname.slice('/dms-uploads/'.length));
      const image = images.get(id);
      const bytes = request.raw ?? Buffer.alloc(0);
      const format = await sharp(bytes)
        .metadata()
        .then((metadata) => metadata.format)
        .catch(() => undefined);
      if (!image || !format)
        return { status: 400, body: error(400, 'BAD_REQUEST', 'Invalid upload') };
      image.uploaded = true;
      image.bytes = bytes.length;
      image.data = bytes;
      return { status: 201 };
    },
    posts_create: async (request) => {
      const body = request.body as Record<string, unknown>;
      const problem = validatePost(body, author, images);
      if (problem) return { status: 422, body: error(422, 'UNPROCESSABLE_ENTITY', problem) };
      const id = `urn:li:share:${newId()}`;
      posts.push({
        id,
        author,
        commentary: body.commentary as string,
        text: renderLittleText(body.commentary as string),
        createdAt: Date.now(),
        imageUrn: (body.content as { media: { id: string } }).media.id,
        likes: 0,
        comments: 0,
      });
      return { status: 201, headers: { 'x-restli-id': id, 'x-linkedin-id': id } };
    },
    posts_find: async (_request, url) => {
      if (url.searchParams.get('q') !== 'author' || url.searchParams.get('author') !== author) {
        return {
          status: 400,
          body: error(400, 'BAD_REQUEST', 'author finder needs q=author and an author URN'),
        };
      }
      const count = Number(url.searchParams.get('count') ?? 10);
      const elements = [...posts]
        .reverse()
        .slice(0, count)
        .map((post) => ({
          id: post.id,
          author: post.author,
          commentary: post.commentary,
          visibility: 'PUBLIC',
          lifecycleState: 'PUBLISHED',
          createdAt: post.createdAt,
          publishedAt: post.createdAt,
          lastModifiedAt: post.createdAt,
          content: { media: { id: post.imageUrn } },
        }));
      return { body: { paging: { start: 0, count, links: [] }, elements } };
    },
    social_actions: async (_request, url) => {
      const urn = decodeURIComponent(url.pathname.slice('/rest/socialActions/'.length));
      const post = posts.find((candidate) => candidate.id === urn);
      if (!post)
        return { status: 404, body: error(404, 'NOT_FOUND', `No social actions for ${urn}`) };
      return {
        body: {
          target: urn,
          likesSummary: {
            totalLikes: post.likes,
            aggregatedTotalLikes: post.likes,
            likedByCurrentUser: false,
          },
          commentsSummary: {
            totalFirstLevelComments: post.comments,
            aggregatedTotalComments: post.comments,
          },
        },
      };
    },
    token: async (request) => {
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
        return {
          status: 401,
          body: { error: 'invalid_client', error_description: 'Client authentication failed' },
        };
      }
      const refresh = form.get('refresh_token') ?? '';
      if (form.get('grant_type') !== 'refresh_token' || !refreshTokens.has(refresh)) {
        return {
          status: 400,
          body: {
            error: 'invalid_request',
            error_description:
              'The provided authorization grant or refresh token is invalid, expired or revoked',
          },
        };
      }
      const access = `AQV${newId()}`;
      tokens.add(access);
      // LinkedIn keeps the same refresh token until it expires (365 days from issue).
      return {
        body: {
          access_token: access,
          expires_in: 5184000,
          refresh_token: refresh,
          refresh_token_expires_in: 31000000,
        },
      };
    },
  };

  return {
    ...server,
    token: LINKEDIN_TOKEN,
    author,
    clientId,
    clientSecret,
    refreshToken: 'li-refresh-token-1',
    images,
    posts,
    calls: script.calls,
    times,
    fail: (
      endpoint,
      status,
      body = error(status, 'INTERNAL_SERVER_ERROR', 'Internal Server Error'),
      headers,
    ) => script.push(endpoint, { kind: 'fail', status, body, headers }),
    rateLimit: (endpoint, headers) =>
      script.push(endpoint, {
        kind: 'fail',
        status: 429,
        body: {
          message:
            'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.',
          status: 429,
        },
        headers,
      }),
    delay: (endpoint, ms) => script.push(endpoint, { kind: 'delay', ms }),
    loseAnswer: (endpoint) => script.push(endpoint, { kind: 'lose' }),
    reset: () => {
      server.requests.length = 0;
      script.reset();
      images.clear();
      posts.length = 0;
      for (const key of Object.keys(times)) delete times[key];
    },
  };
}

function endpointOf(method: string, url: URL): string | undefined {
  const path = url.pathname;
  if (
    method === 'POST' &&
    path === '/rest/images' &&
    url.searchParams.get('action') === 'initializeUpload'
  ) {
    return 'images_init';
  }
  if (method === 'PUT' && path.startsWith('/dms-uploads/')) return 'upload';
  if (method === 'POST' && path === '/rest/posts') return 'posts_create';
  if (method === 'GET' && path === '/rest/posts') return 'posts_find';
  if (method === 'GET' && path.startsWith('/rest/socialActions/')) return 'social_actions';
  if (method === 'POST' && path === '/oauth/v2/accessToken') return 'token';
  return undefined;
}

/**
 * LinkedIn serves each monthly version for about a year, then answers 426 to it: here, the
 * versions from twelve months before this month up to this month.
 */
function isActiveVersion(version: string, now = new Date()): boolean {
  const month = (year: number, zeroBasedMonth: number) => year * 12 + zeroBasedMonth;
  const asked = month(Number(version.slice(0, 4)), Number(version.slice(4, 6)) - 1);
  const current = month(now.getUTCFullYear(), now.getUTCMonth());
  return Number(version.slice(4, 6)) >= 1 && asked <= current && asked >= current - 12;
}

/**
 * "Little text" as LinkedIn shows it: `{hashtag|\#|word}` is `#word`, a backslash-escaped
 * reserved character is the character.
 */
export function renderLittleText(commentary: string): string {
  return commentary
    .replace(/\{hashtag\|\\#\|((?:\\.|[^}\\])*)\}/g, (_match, tag: string) => `#${tag}`)
    .replace(/\\(.)/g, '$1');
}

function validatePost(
  body: Record<string, unknown>,
  author: string,
  images: Map<string, { uploaded: boolean }>,
): string | undefined {
  if (!body || typeof body !== 'object') return 'body must be a JSON object';
  if (body.author !== author) return `/author: ${String(body.author)} is not the token's member`;
  if (typeof body.commentary !== 'string') return '/commentary is required';
  if (body.visibility !== 'PUBLIC') return '/visibility must be PUBLIC';
  if (body.lifecycleState !== 'PUBLISHED') return '/lifecycleState must be PUBLISHED';
  const distribution = body.distribution as Record<string, unknown> | undefined;
  if (
    distribution?.feedDistribution !== 'MAIN_FEED' ||
    !Array.isArray(distribution.targetEntities) ||
    !Array.isArray(distribution.thirdPartyDistributionChannels)
  ) {
    return '/distribution is invalid';
  }
  const mediaId = (body.content as { media?: { id?: unknown } } | undefined)?.media?.id;
  if (typeof mediaId !== 'string' || !images.get(mediaId)?.uploaded) {
    return `/content/media/id: ${String(mediaId)} is not an uploaded image`;
  }
  return undefined;
}

function error(status: number, code: string, message: string, serviceErrorCode?: number) {
  return { status, ...(serviceErrorCode === undefined ? {} : { serviceErrorCode }), code, message };
}
