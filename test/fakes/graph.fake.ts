import type { ServerResponse } from 'node:http';
import sharp from 'sharp';
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
 * Meta's Graph API for Instagram content publishing and Facebook page photos, on one server,
 * under a version prefix (`{url}/v21.0/...`). Tokens come as `access_token` (form body or
 * query); errors are `{error: {message, type, code, error_subcode, fbtrace_id}}`, token expiry
 * being code 190 with HTTP 400. Like Meta, it downloads the image URL it is given, and like
 * Instagram's feed it refuses a picture outside 4:5 to 1.91:1 (code 36003, subcode 2207009).
 *
 * Endpoints, as named in `calls` and in the script methods:
 * - `media` POST /{ig-user-id}/media, `container` GET /{container-id},
 *   `media_publish` POST /{ig-user-id}/media_publish, `media_list` GET /{ig-user-id}/media,
 *   `media_get` GET /{media-id}, `insights` GET /{media-id}/insights
 * - `photos` POST /{page-id}/photos, `page_posts` GET /{page-id}/posts,
 *   `post_get` GET /{post-id}, `post_insights` GET /{post-id}/insights
 */
export interface GraphFake extends FakeServer {
  /** `{url}/v21.0`, what INSTAGRAM_GRAPH_URL / FACEBOOK_GRAPH_URL would be. */
  graphUrl: string;
  token: string;
  igUserId: string;
  pageId: string;
  containers: Map<string, Container>;
  /** Instagram media published, newest last. */
  media: IgMedia[];
  /** Facebook page posts created, newest last. */
  pagePosts: PagePost[];
  calls: Record<string, number>;
  fail(endpoint: string, status: number, body?: unknown, headers?: Record<string, string>): void;
  /** Graph throttling: `code` (4, 17, 32, 613) and the minutes Meta says access returns in. */
  rateLimit(endpoint: string, code?: number, minutes?: number): void;
  delay(endpoint: string, ms: number): void;
  /** Does the work (creates the post), then drops the connection without answering. */
  loseAnswer(endpoint: string): void;
  /** Containers created from now on stay IN_PROGRESS for this many status checks (default 1). */
  setProcessingPolls(polls: number): void;
  /** The next container created ends in ERROR with this status text instead of FINISHED. */
  failNextContainer(status: string): void;
  reset(): void;
}

export interface Container {
  id: string;
  igUserId: string;
  imageUrl: string;
  /** The picture as fetched from `imageUrl`. */
  image: Buffer;
  caption: string;
  status: 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'EXPIRED' | 'PUBLISHED';
  statusText: string;
  pollsLeft: number;
  mediaId?: string;
}

export interface IgMedia {
  id: string;
  containerId: string;
  caption: string;
  timestamp: string;
  permalink: string;
  insights: Record<string, number>;
}

export interface PagePost {
  id: string;
  photoId: string;
  message: string;
  created_time: string;
  reactions: number;
  comments: number;
  shares: number;
  insights: Record<string, number>;
}

type Step = CommonStep | { kind: 'lose' };

export const GRAPH_VERSION = 'v21.0';
export const GRAPH_TOKEN = 'EAAGraphTestToken0123';
/** A token Meta reports as expired (code 190, subcode 463). */
export const EXPIRED_TOKEN = 'expired';
const IG_INSIGHTS = new Set([
  'views',
  'reach',
  'likes',
  'comments',
  'shares',
  'saved',
  'total_interactions',
  'profile_visits',
  'follows',
]);

export async function start(): Promise<GraphFake> {
  const script = new EndpointScript<Step>();
  const igUserId = '17841400000000001';
  const pageId = '100000000000001';
  const containers = new Map<string, Container>();
  const media: IgMedia[] = [];
  const pagePosts: PagePost[] = [];
  let nextId = 1;
  let processingPolls = 1;
  let nextContainerError: string | undefined;
  const newId = (prefix: string) => `${prefix}${String(nextId++).padStart(6, '0')}`;

  const server = await startFakeServer(async (request, res) => {
    const url = new URL(request.path, 'http://fake');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== GRAPH_VERSION || parts.length < 2 || parts.length > 3) {
      return sendJson(res, 400, graphError('Unknown path components', 'OAuthException', 2500));
    }
    const params = paramsOf(request, url);
    const token = params.get('access_token');
    if (token === EXPIRED_TOKEN) {
      return sendJson(
        res,
        400,
        graphError(
          'Error validating access token: Session has expired on Tuesday, 01-Oct-24 10:00:00 PDT.',
          'OAuthException',
          190,
          463,
        ),
      );
    }
    if (token !== GRAPH_TOKEN) {
      return sendJson(
        res,
        400,
        graphError('Invalid OAuth access token - Cannot parse access token', 'OAuthException', 190),
      );
    }
    const [, id, edge] = parts;
    const endpoint = endpointOf(request.method, id, edge);
    if (!endpoint) {
      return sendJson(
        res,
        400,
        graphError(
          `Unsupported ${request.method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
          'GraphMethodException',
          100,
          33,
        ),
      );
    }
    const step = script.next(endpoint);
    if (step && step.kind !== 'lose' && (await playCommonStep(step, res))) return;
    const answer = await handlers[endpoint](id, params, res);
    if (!answer) return;
    if (step?.kind === 'lose') return loseAnswer(res);
    sendJson(res, answer.status ?? 200, answer.body);
  });

  type Answer = { status?: number; body: unknown } | undefined;
  const handlers: Record<
    string,
    (id: string, params: URLSearchParams, res: ServerResponse) => Promise<Answer>
  > = {
    media: async (_id, params) => {
      const imageUrl = params.get('image_url') ?? '';
      if (!imageUrl) return invalid('(#100) The parameter image_url is required');
      const fetched = await fetchImageLikeAPlatform(imageUrl);
      if (!fetched.ok) {
        return {
          status: 400,
          body: {
            error: {
              message: 'Only photo or video can be accepted as media type.',
              type: 'OAuthException',
              code: 9004,
              error_subcode: 2207052,
              is_transient: false,
              error_user_title: 'Media download has failed.',
              error_user_msg: `The media could not be fetched from the URI: ${fetched.reason}`,
              fbtrace_id: 'AFakeTraceId',
            },
          },
        };
      }
      // Instagram's feed takes 4:5 to 1.91:1 and refuses the rest at container creation.
      const { width, height } = await sharp(fetched.bytes).metadata();
      if (width / height < 0.8 - 0.001 || width / height > 1.91 + 0.001) {
        return {
          status: 400,
          body: {
            error: {
              message: 'The aspect ratio is not supported.',
              type: 'OAuthException',
              code: 36003,
              error_subcode: 2207009,
              is_transient: false,
              error_user_title: 'Cannot Post Image: Aspect Ratio',
              error_user_msg:
                'The aspect ratio of the image is not supported. Images must have an aspect ratio between 4:5 and 1.91:1.',
              fbtrace_id: 'AFakeTraceId',
            },
          },
        };
      }
      const container: Container = {
        id: newId('17900000'),
        igUserId,
        imageUrl,
        image: fetched.bytes,
        caption: params.get('caption') ?? '',
        status: 'IN_PROGRESS',
        statusText: 'In Progress: Media is still being processed.',
        pollsLeft: processingPolls,
      };
      if (nextContainerError !== undefined) {
        container.status = 'ERROR';
        container.statusText = nextContainerError;
        nextContainerError = undefined;
      }
      containers.set(container.id, container);
      return { body: { id: container.id } };
    },
    container: async (id, params) => {
      const container = containers.get(id) as Container;
      if (container.status === 'IN_PROGRESS') {
        if (container.pollsLeft > 0) container.pollsLeft -= 1;
        else {
          container.status = 'FINISHED';
          container.statusText = 'Finished: Media has been uploaded and it is complete.';
        }
      }
      const all: Record<string, unknown> = {
        id,
        status_code: container.status,
        status: container.statusText,
      };
      return { body: pick(all, params.get('fields')) };
    },
    media_publish: async (_id, params) => {
      const container = containers.get(params.get('creation_id') ?? '');
      if (!container) {
        return invalid('(#100) Param creation_id must be a valid media container id');
      }
      if (container.status !== 'FINISHED') {
        return {
          status: 400,
          body: graphError(
            'The media is not ready for publishing, please wait for a moment',
            'OAuthException',
            9007,
            2207027,
          ),
        };
      }
      const item: IgMedia = {
        id: newId('18000000'),
        containerId: container.id,
        caption: container.caption,
        timestamp: graphTime(new Date()),
        permalink: '',
        insights: {},
      };
      item.permalink = `https://www.instagram.com/p/Fake${item.id}/`;
      media.push(item);
      container.status = 'PUBLISHED';
      container.statusText = 'Published: Media has been published.';
      container.mediaId = item.id;
      return { body: { id: item.id } };
    },
    media_list: async (_id, params) => ({
      body: {
        data: [...media]
          .reverse()
          .slice(0, Number(params.get('limit') ?? 25))
          .map((item) =>
            pick(
              {
                id: item.id,
                caption: item.caption,
                timestamp: item.timestamp,
                permalink: item.permalink,
              },
              params.get('fields'),
            ),
          ),
        paging: { cursors: { before: 'b', after: 'a' } },
      },
    }),
    media_get: async (id, params) => {
      const item = media.find((candidate) => candidate.id === id) as IgMedia;
      return {
        body: pick(
          { id, caption: item.caption, timestamp: item.timestamp, permalink: item.permalink },
          params.get('fields'),
        ),
      };
    },
    insights: async (id, params) => {
      const item = media.find((candidate) => candidate.id === id) as IgMedia;
      const metrics = (params.get('metric') ?? '').split(',').filter(Boolean);
      const unsupported = metrics.find((metric) => !IG_INSIGHTS.has(metric));
      if (!metrics.length || unsupported) {
        return invalid(
          `(#100) metric[0] must be one of the following values: ${[...IG_INSIGHTS].join(', ')}`,
        );
      }
      return { body: { data: metrics.map((name) => insight(id, name, item.insights[name] ?? 0)) } };
    },
    photos: async (_id, params) => {
      const imageUrl = params.get('url') ?? '';
      const fetched = imageUrl ? await fetchImageLikeAPlatform(imageUrl) : undefined;
      if (!fetched?.ok) {
        return {
          status: 400,
          body: graphError('(#324) Missing or invalid image file', 'OAuthException', 324),
        };
      }
      const photoId = newId('20000000');
      const post: PagePost = {
        id: `${pageId}_${newId('30000000')}`,
        photoId,
        message: params.get('message') ?? '',
        created_time: graphTime(new Date()),
        reactions: 0,
        comments: 0,
        shares: 0,
        insights: {},
      };
      pagePosts.push(post);
      return { body: { id: photoId, post_id: post.id } };
    },
    page_posts: async (_id, params) => ({
      body: {
        data: [...pagePosts]
          .reverse()
          .slice(0, Number(params.get('limit') ?? 25))
          .map((post) =>
            pick(
              { id: post.id, message: post.message, created_time: post.created_time },
              params.get('fields'),
            ),
          ),
      },
    }),
    post_get: async (id, params) => {
      const post = pagePosts.find((candidate) => candidate.id === id) as PagePost;
      const fields = params.get('fields') ?? '';
      const body: Record<string, unknown> = { id };
      if (fields.includes('reactions')) {
        body.reactions = {
          data: [],
          summary: { total_count: post.reactions, viewer_reaction: 'NONE' },
        };
      }
      if (fields.includes('comments')) {
        body.comments = {
          data: [],
          summary: { order: 'ranked', total_count: post.comments, can_comment: true },
        };
      }
      // Graph leaves `shares` out altogether while nobody shared.
      if (fields.includes('shares') && post.shares > 0) body.shares = { count: post.shares };
      return { body };
    },
    post_insights: async (id, params) => {
      const post = pagePosts.find((candidate) => candidate.id === id) as PagePost;
      const metrics = (params.get('metric') ?? '').split(',').filter(Boolean);
      return { body: { data: metrics.map((name) => insight(id, name, post.insights[name] ?? 0)) } };
    },
  };

  function endpointOf(method: string, id: string, edge: string | undefined): string | undefined {
    if (id === igUserId) {
      if (method === 'POST' && edge === 'media') return 'media';
      if (method === 'POST' && edge === 'media_publish') return 'media_publish';
      if (method === 'GET' && edge === 'media') return 'media_list';
    }
    if (id === pageId) {
      if (method === 'POST' && edge === 'photos') return 'photos';
      if (method === 'GET' && (edge === 'posts' || edge === 'feed')) return 'page_posts';
    }
    if (method !== 'GET') return undefined;
    if (containers.has(id) && !edge) return 'container';
    if (media.some((item) => item.id === id)) {
      if (!edge) return 'media_get';
      if (edge === 'insights') return 'insights';
    }
    if (pagePosts.some((post) => post.id === id)) {
      if (!edge) return 'post_get';
      if (edge === 'insights') return 'post_insights';
    }
    return undefined;
  }

  return {
    ...server,
    graphUrl: `${server.url}/${GRAPH_VERSION}`,
    token: GRAPH_TOKEN,
    igUserId,
    pageId,
    containers,
    media,
    pagePosts,
    calls: script.calls,
    fail: (
      endpoint,
      status,
      body = graphError('An unexpected error has occurred.', 'OAuthException', 2),
      headers,
    ) => script.push(endpoint, { kind: 'fail', status, body, headers }),
    rateLimit: (endpoint, code = 4, minutes = 5) =>
      script.push(endpoint, {
        kind: 'fail',
        status: 400,
        body: graphError(
          code === 4
            ? '(#4) Application request limit reached'
            : `(#${code}) User request limit reached`,
          'OAuthException',
          code,
        ),
        headers: {
          'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 30, total_time: 40 }),
          'x-business-use-case-usage': JSON.stringify({
            [igUserId]: [
              {
                type: 'instagram',
                call_count: 100,
                total_cputime: 20,
                total_time: 30,
                estimated_time_to_regain_access: minutes,
              },
            ],
          }),
        },
      }),
    delay: (endpoint, ms) => script.push(endpoint, { kind: 'delay', ms }),
    loseAnswer: (endpoint) => script.push(endpoint, { kind: 'lose' }),
    setProcessingPolls: (polls) => {
      processingPolls = polls;
    },
    failNextContainer: (status) => {
      nextContainerError = status;
    },
    reset: () => {
      server.requests.length = 0;
      script.reset();
      containers.clear();
      media.length = 0;
      pagePosts.length = 0;
      processingPolls = 1;
      nextContainerError = undefined;
    },
  };
}

export function graphError(message: string, type: string, code: number, subcode?: number) {
  return {
    error: {
      message,
      type,
      code,
      ...(subcode === undefined ? {} : { error_subcode: subcode }),
      fbtrace_id: 'AFakeTraceId',
    },
  };
}

function invalid(message: string): { status: number; body: unknown } {
  return { status: 400, body: graphError(message, 'OAuthException', 100) };
}

/** Graph reads parameters from the query and from a form or JSON body alike. */
function paramsOf(request: RecordedRequest, url: URL): URLSearchParams {
  const params = new URLSearchParams(url.search);
  if (typeof request.body === 'string' && request.body) {
    for (const [key, value] of new URLSearchParams(request.body)) params.set(key, value);
  } else if (request.body && typeof request.body === 'object') {
    for (const [key, value] of Object.entries(request.body)) params.set(key, String(value));
  }
  return params;
}

/** Only the fields asked for (and the id), as Graph answers. */
function pick(all: Record<string, unknown>, fields: string | null): Record<string, unknown> {
  if (!fields) return { id: all.id };
  const wanted = new Set(['id', ...fields.split(',').map((field) => field.trim())]);
  return Object.fromEntries(Object.entries(all).filter(([key]) => wanted.has(key)));
}

function insight(id: string, name: string, value: number) {
  return {
    name,
    period: 'lifetime',
    values: [{ value }],
    title: name,
    description: `${name} of the media`,
    id: `${id}/insights/${name}/lifetime`,
  };
}

/** Graph's time format: `2024-05-01T12:00:00+0000`. */
export function graphTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+0000');
}
