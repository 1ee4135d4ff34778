import { retryAfterMs } from '../../outbound/outbound-http.js';
import {
  type Platform,
  type PlatformAccount,
  PlatformError,
  type PostMetrics,
  type PublishRequest,
  type PublishResult,
  type Reconciliation,
  type RefreshedTokens,
} from './platform.js';
import {
  count,
  type ErrorDialect,
  findSentPost,
  normalizeText,
  type PlatformCall,
  platformRequest,
  readTokens,
  refuseIfSent,
  requireString,
  sendCreating,
} from './platform-http.js';

export interface TwitterOptions {
  /** e.g. https://api.x.com */
  apiUrl: string;
  /** OAuth 2 client of the app; without them refreshTokens() cannot work. */
  clientId?: string;
  clientSecret?: string;
}

/** A recorded media id is reused only if it stays valid this much longer. */
const MEDIA_MARGIN_MS = 5 * 60_000;
/** X replaces every URL by a t.co link and appends one for attached media. */
const URL_PATTERN = /https?:\/\/\S+/g;

/**
 * X words its failures in HTTP statuses (401 an expired token) and says when a rate-limit window
 * ends in `x-rate-limit-reset` (epoch seconds), else in Retry-After.
 */
const X_DIALECT: ErrorDialect = {
  rateLimitWaitMs(headers) {
    const reset = headers.get('x-rate-limit-reset');
    if (reset && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset) * 1000 - Date.now());
    return retryAfterMs(headers.get('retry-after'));
  },
};

/**
 * X API v2 with the account's OAuth 2 user token: `POST /2/media/upload` (multipart) then
 * `POST /2/tweets`. The media id and the moment of the tweet call are recorded first.
 */
export class TwitterPlatform implements Platform {
  readonly name = 'twitter' as const;
  private readonly api: string;

  constructor(private readonly options: TwitterOptions) {
    this.api = options.apiUrl.replace(/\/+$/, '');
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    refuseIfSent(this.name, request.checkpoint, 'publishSentAt');
    const { account, signal, checkpoint } = request;
    let mediaId: string | undefined = checkpoint.mediaId;
    const expiresAt = Date.parse(checkpoint.mediaExpiresAt ?? '');
    if (!(expiresAt > Date.now() + MEDIA_MARGIN_MS)) mediaId = undefined;
    if (!mediaId) {
      const form = new FormData();
      const bytes = await request.imageBytes();
      form.append('media', new Blob([bytes], { type: 'image/jpeg' }), 'image.jpg');
      form.append('media_category', 'tweet_image');
      const call = this.call('media upload', 'POST', '/2/media/upload', account, signal);
      const answer = await platformRequest({ ...call, body: form });
      const data = answer.body.data as { id?: unknown; expires_after_secs?: unknown } | undefined;
      mediaId = requireString(data?.id, call, 'data.id');
      const lifetime = Number(data?.expires_after_secs) || 86_400;
      await request.record({
        mediaId,
        mediaExpiresAt: new Date(Date.now() + lifetime * 1000).toISOString(),
      });
    }

    const call = { ...this.call('tweet', 'POST', '/2/tweets', account, signal), createsPost: true };
    const mediaIds = [mediaId];
    const answer = await sendCreating(request, 'publishSentAt', () =>
      platformRequest({ ...call, json: { text: request.text, media: { media_ids: mediaIds } } }),
    );
    const tweetId = requireString((answer.body.data as { id?: unknown })?.id, call, 'data.id');
    return {
      platformPostId: tweetId,
      platformPostUrl: tweetUrl(tweetId),
      metadata: { media_id: mediaId },
    };
  }

  async reconcile(request: PublishRequest): Promise<Reconciliation> {
    const { account, signal, checkpoint } = request;
    if (!checkpoint.publishSentAt) return { outcome: 'not_published' };
    const query = new URLSearchParams({ max_results: '5', 'tweet.fields': 'created_at,text' });
    const call = this.call(
      'timeline lookup',
      'GET',
      `/2/users/${encodeURIComponent(account.accountId)}/tweets?${query.toString()}`,
      account,
      signal,
    );
    const answer = await platformRequest(call);
    const found = findSentPost<{ id?: string; text?: string; created_at?: string }>(
      answer.body.data,
      request.text,
      checkpoint.publishSentAt,
      (tweet) => ({ text: tweet.text, created: tweet.created_at }),
      comparable,
    );
    if (found) {
      return {
        outcome: 'published',
        result: {
          platformPostId: found.id,
          platformPostUrl: tweetUrl(found.id),
          metadata: { media_id: checkpoint.mediaId ?? null, reconciled: true },
        },
      };
    }
    return {
      outcome: 'unknown',
      reason: `x tweet was sent at ${checkpoint.publishSentAt} and none of the account's latest tweets carries its text`,
    };
  }

  async metrics(
    account: PlatformAccount,
    platformPostId: string,
    signal: AbortSignal,
  ): Promise<PostMetrics> {
    const call = this.call(
      'tweet metrics',
      'GET',
      `/2/tweets/${encodeURIComponent(platformPostId)}?tweet.fields=public_metrics`,
      account,
      signal,
    );
    const answer = await platformRequest(call);
    const metrics = ((answer.body.data as { public_metrics?: Record<string, unknown> })
      ?.public_metrics ?? {}) as Record<string, unknown>;
    const impressions = count(metrics.impression_count);
    return {
      likes: count(metrics.like_count),
      comments: count(metrics.reply_count),
      shares: count(metrics.retweet_count) + count(metrics.quote_count),
      views: impressions,
      reach: 0,
      impressions,
    };
  }

  async refreshTokens(account: PlatformAccount, signal: AbortSignal): Promise<RefreshedTokens> {
    const { clientId, clientSecret } = this.options;
    if (!account.refreshToken || !clientId) {
      throw new PlatformError(
        'reconnect_required',
        account.refreshToken
          ? 'x: no OAuth client configured to refresh tokens'
          : 'x: no refresh token',
      );
    }
    const headers: Record<string, string> = {};
    // Confidential clients authenticate with Basic; public ones send client_id alone.
    if (clientSecret) {
      headers.Authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
    }
    const call: PlatformCall = {
      platform: this.name,
      dialect: X_DIALECT,
      what: 'token refresh',
      method: 'POST',
      url: `${this.api}/2/oauth2/token`,
      headers,
      signal,
      oauth: true,
    };
    const answer = await platformRequest({
      ...call,
      form: {
        grant_type: 'refresh_token',
        refresh_token: account.refreshToken,
        client_id: clientId,
      },
    });
    return readTokens(answer.body, call, account.refreshToken);
  }

  private call(
    what: string,
    method: 'GET' | 'POST',
    path: string,
    account: PlatformAccount,
    signal: AbortSignal,
  ): PlatformCall {
    return {
      platform: this.name,
      dialect: X_DIALECT,
      what,
      method,
      url: `${this.api}${path}`,
      headers: { Authorization: `Bearer ${account.accessToken}` },
      signal,
    };
  }
}

function tweetUrl(id: string): string {
  return `https://x.com/i/web/status/${id}`;
}

/** The text without its URLs (X rewrites them), entities decoded, whitespace collapsed. */
function comparable(text: string): string {
  return normalizeText(normalizeText(text).replace(URL_PATTERN, ' '));
}
