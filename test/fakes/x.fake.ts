import sharp from 'sharp';
import {
  type CommonStep,
  EndpointScript,
  type FakeServer,
  loseAnswer,
  parseMultipart,
  playCommonStep,
  type RecordedRequest,
  sendJson,
  startFakeServer,
} from './fake-server.js';

/**
 * X API v2 with OAuth 2 user tokens (`Authorization: Bearer`): `media_upload` POST
 * /2/media/upload (multipart `media`, `media_category`), `tweets` POST /2/tweets, `timeline`
 * GET /2/users/{id}/tweets, `tweet_get` GET /2/tweets/{id}, `token` POST /2/oauth2/token.
 * Errors are problem documents `{title, detail, type, status}`; 401 for a bad or expired token;
 * 429 with `x-rate-limit-limit/remaining/reset` (epoch seconds). Tweets with media get a t.co
 * link appended to their text, as X does. A refresh token is single-use: refreshing spends it and
 * rotates it, and a spent one is refused with 400 `invalid_request`.
 */
export interface XFake extends FakeServer {
  token: string;
  userId: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** A new single-use refresh token, as X issues when a user authorizes the app again. */
  issueRefreshToken(): string;
  media: Map<string, { bytes: number; category: string }>;
  tweets: Tweet[];
  calls: Record<string, number>;
  fail(endpoint: string, status: number, body?: unknown, headers?: Record<string, string>): void;
  /** 429 with X's headers, resetting `seconds` from now. */
  rateLimit(endpoint: string, seconds: number): void;
  delay(endpoint: string, ms: number): void;
  loseAnswer(endpoint: string): void;
  reset(): void;
}

export interface Tweet {
  id: string;
  text: string;
  created_at: string;
  media_ids: string[];
  public_metrics: {
    retweet_count: number;
    reply_count: number;
    like_count: number;
    quote_count: number;
    bookmark_count: number;
    impression_count: number;
  };
}

type Step = CommonStep | { kind: 'lose' };

export const X_TOKEN = 'x-user-access-token-1';
export const EXPIRED_TOKEN = 'expired';

export async function start(): Promise<XFake> {
  const script = new EndpointScript<Step>();
  const userId = '1500000000000000001';
  const clientId = 'x-client-id';
  const clientSecret = 'x-client-secret';
  const tokens = new Set([X_TOKEN]);
  const refreshTokens = new Set(['x-refresh-token-1']);
  const media = new Map<string, { bytes: number; category: string }>();
  const tweets: Tweet[] = [];
  let nextId = 1;
  const newId = (prefix: string) => `${prefix}${String(nextId++).padStart(6, '0')}`;

  const server = await startFakeServer(async (request, res) => {
    const url = new URL(request.path, 'http://fake');
    const endpoint = endpointOf(request.method, url.pathname);
    if (!endpoint) return sendJson(res, 404, problem('Not Found Error', 'Not found', 404));
    if (endpoint !== 'token') {
      const token = request.headers.authorization?.replace(/^Bearer /, '');
      if (!token || !tokens.has(token)) {
        return sendJson(res, 401, problem('Unauthorized', 'Unauthorized', 401));
      }
    }
    const step = script.next(endpoint);
    if (step && step.kind !== 'lose' && (await playCommonStep(step, res))) return;
    const answer = await handlers[endpoint](request, url);
    if (step?.kind === 'lose') return loseAnswer(res);
    sendJson(res, answer.status ?? 200, answer.body);
  });

  type Answer = { status?: number; body: unknown };
  const handlers: Record<string, (request: RecordedRequest, url: URL) => Promise<Answer>> = {
    media_upload: async (request) => {
      const form = await parseMultipart(request);
      const file = form?.get('media');
      if (!form || !(file instanceof Blob)) {
        return invalid('One or more parameters to your request was invalid: media is required');
      }
      const category = String(form.get('media_category') ?? 'tweet_image');
      if (
        !['tweet_image', 'tweet_gif', 'tweet_video', 'amplify_video', 'subtitles'].includes(
          category,
        )
      ) {
        return invalid(`media_category ${category} is not valid`);
      }
      const bytes = Buffer.from(await file.arrayBuffer());
      const format = await sharp(bytes)
        .metadata()
        .then((metadata) => metadata.format)
        .catch(() => undefined);
      if (!format) return invalid('media type unrecognized.');
      const id = newId('18600000');
      media.set(id, { bytes: bytes.length, category });
      return {
        body: {
          data: { id, media_key: `3_${id}`, size: bytes.length, expires_after_secs: 86400 },
        },
      };
    },
    tweets: async (request) => {
      const body = request.body as { text?: unknown; media?: { media_ids?: unknown } };
      if (!body || typeof body !== 'object') return invalid('Request body is not JSON');
      const ids = body.media?.media_ids;
      if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => !media.has(String(id))))) {
        return invalid('Your media IDs are invalid.');
      }
      const text = typeof body.text === 'string' ? body.text : '';
      if (!text && !ids) return invalid('text or media is required');
      if (tweets.some((tweet) => tweet.text.startsWith(text) && text)) {
        return {
          status: 403,
          body: problem(
            'Forbidden',
            'You are not allowed to create a Tweet with duplicate content.',
            403,
          ),
        };
      }
      const id = newId('17900000000000');
      const shown =
        ids && (ids as unknown[]).length ? `${text} https://t.co/Fk${id.slice(-4)}` : text;
      tweets.push({
        id,
        // X escapes &, < and > in the text it gives back.
        text: shown.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
        created_at: new Date().toISOString(),
        media_ids: (ids as string[] | undefined) ?? [],
        public_metrics: {
          retweet_count: 0,
          reply_count: 0,
          like_count: 0,
          quote_count: 0,
          bookmark_count: 0,
          impression_count: 0,
        },
      });
      return { status: 201, body: { data: { id, text: shown, edit_history_tweet_ids: [id] } } };
    },
    timeline: async (_request, url) => {
      const max = Number(url.searchParams.get('max_results') ?? 10);
      if (!Number.isInteger(max) || max < 5 || max > 100) {
        return invalid(
          `The \`max_results\` query parameter value [${max}] is not between 5 and 100`,
        );
      }
      const fields = (url.searchParams.get('tweet.fields') ?? '').split(',');
      const data = [...tweets]
        .reverse()
        .slice(0, max)
        .map((tweet) => view(tweet, fields));
      return {
        body: data.length
          ? {
              data,
              meta: {
                result_count: data.length,
                newest_id: data[0].id,
                oldest_id: data.at(-1)?.id,
              },
            }
          : { meta: { result_count: 0 } },
      };
    },
    tweet_get: async (_request, url) => {
      const id = url.pathname.split('/').at(-1);
      const tweet = tweets.find((candidate) => candidate.id === id);
      if (!tweet) {
        return {
          body: {
            errors: [
              {
                value: id,
                detail: `Could not find tweet with id: [${id}].`,
                title: 'Not Found Error',
                resource_type: 'tweet',
                type: 'https://api.twitter.com/2/problems/resource-not-found',
              },
            ],
          },
        };
      }
      return {
        body: { data: view(tweet, (url.searchParams.get('tweet.fields') ?? '').split(',')) },
      };
    },
    token: async (request) => {
      const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
      if (request.headers.authorization !== basic) {
        return {
          status: 401,
          body: {
            error: 'unauthorized_client',
            error_description: 'Missing valid authorization header',
          },
        };
      }
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      const refresh = form.get('refresh_token') ?? '';
      if (form.get('grant_type') !== 'refresh_token' || !refreshTokens.has(refresh)) {
        return {
          status: 400,
          body: {
            error: 'invalid_request',
            error_description: 'Value passed for the token was invalid.',
          },
        };
      }
      refreshTokens.delete(refresh);
      const access = newId('x-user-access-token-');
      const rotated = newId('x-refresh-token-');
      tokens.add(access);
      refreshTokens.add(rotated);
      return {
        body: {
          token_type: 'bearer',
          expires_in: 7200,
          access_token: access,
          scope: 'tweet.read tweet.write users.read media.write offline.access',
          refresh_token: rotated,
        },
      };
    },
  };

  return {
    ...server,
    token: X_TOKEN,
    userId,
    clientId,
    clientSecret,
    refreshToken: 'x-refresh-token-1',
    issueRefreshToken: () => {
      const issued = newId('x-refresh-token-');
      refreshTokens.add(issued);
      return issued;
    },
    media,
    tweets,
    calls: script.calls,
    fail: (
      endpoint,
      status,
      body = problem('Internal Server Error', 'Internal error', status),
      headers,
    ) => script.push(endpoint, { kind: 'fail', status, body, headers }),
    rateLimit: (endpoint, seconds) =>
      script.push(endpoint, {
        kind: 'fail',
        status: 429,
        body: problem('Too Many Requests', 'Too Many Requests', 429),
        headers: {
          'x-rate-limit-limit': '100',
          'x-rate-limit-remaining': '0',
          'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + seconds),
        },
      }),
    delay: (endpoint, ms) => script.push(endpoint, { kind: 'delay', ms }),
    loseAnswer: (endpoint) => script.push(endpoint, { kind: 'lose' }),
    reset: () => {
      server.requests.length = 0;
      script.reset();
      media.clear();
      tweets.length = 0;
    },
  };

  function endpointOf(method: string, path: string): string | undefined {
    if (method === 'POST' && path === '/2/media/upload') return 'media_upload';
    if (method === 'POST' && path === '/2/tweets') return 'tweets';
    if (method === 'POST' && path === '/2/oauth2/token') return 'token';
    if (method === 'GET' && path === `/2/users/${userId}/tweets`) return 'timeline';
    if (method === 'GET' && /^\/2\/tweets\/\d+$/.test(path)) return 'tweet_get';
    return undefined;
  }
}

function view(tweet: Tweet, fields: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {
    created_at: tweet.created_at,
    public_metrics: tweet.public_metrics,
  };
  const shown: Record<string, unknown> = {
    id: tweet.id,
    text: tweet.text,
    edit_history_tweet_ids: [tweet.id],
  };
  for (const field of fields) if (field in all) shown[field] = all[field];
  return shown;
}

function problem(title: string, detail: string, status: number) {
  return { title, detail, type: 'about:blank', status };
}

function invalid(message: string): { status: number; body: unknown } {
  return {
    status: 400,
    body: {
      errors: [{ message }],
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    },
  };
}
