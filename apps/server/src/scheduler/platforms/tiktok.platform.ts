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
  type PlatformCall,
  platformRequest,
  readTokens,
  refuseIfSent,
  requireString,
  sendCreating,
  sleep,
} from './platform-http.js';

export interface TikTokOptions {
  /** e.g. https://open.tiktokapis.com */
  apiUrl: string;
  clientKey?: string;
  clientSecret?: string;
  /** Must be one the creator allows; apps not yet audited by TikTok may only post SELF_ONLY. */
  privacyLevel?: string;
  pollIntervalMs?: number;
  maxPolls?: number;
}

/** TikTok's photo title limit (the whole text goes in the description, up to 4000). */
const TITLE_LIMIT = 90;
/** fail_reason values that mean TikTok could not fetch the picture from our URL. */
const PULL_FAILURE = /pull|download|fetch/i;

interface PublishStatus {
  status: string;
  failReason: string;
  postIds: string[];
}

/**
 * TikTok answers `{error: {code}}` with every response, "ok" on success and an error code
 * otherwise, sometimes with a 200: an expired or narrowed token, a rate limit per one-minute
 * window (without a reset header), or a refusal.
 */
const TIKTOK_DIALECT: ErrorDialect = {
  errorIn2xx: tiktokCode,
  classify({ status, headers, answer, message }) {
    const code = tiktokCode(answer);
    if (code === 'access_token_invalid' || code === 'scope_not_authorized') {
      return new PlatformError('reconnect_required', message, { status });
    }
    if (code === 'rate_limit_exceeded') {
      return new PlatformError('rate_limited', message, {
        status,
        retryAfterMs: retryAfterMs(headers.get('retry-after')) ?? 60_000,
      });
    }
    if (code && status >= 200 && status < 500) {
      return new PlatformError('platform_rejected', message, { status });
    }
    return undefined;
  },
};

function tiktokCode(answer: Record<string, unknown> | undefined): string | undefined {
  const code = (answer?.error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code !== 'ok' ? code : undefined;
}

/**
 * TikTok Content Posting API, photo mode: `content/init/` with PULL_FROM_URL (TikTok downloads
 * the JPEG), then `status/fetch/` until PUBLISH_COMPLETE. The moment of init is recorded before
 * it and the publish_id right after, so a crash resumes polling instead of posting again.
 */
export class TikTokPlatform implements Platform {
  readonly name = 'tiktok' as const;
  private readonly api: string;
  private readonly pollIntervalMs: number;
  private readonly maxPolls: number;

  constructor(private readonly options: TikTokOptions) {
    this.api = options.apiUrl.replace(/\/+$/, '');
    this.pollIntervalMs = options.pollIntervalMs ?? 3000;
    this.maxPolls = options.maxPolls ?? 40;
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    const { account, signal, checkpoint } = request;
    let publishId: string | undefined = checkpoint.publishId;
    if (!publishId) {
      refuseIfSent(this.name, checkpoint, 'initSentAt');
      const call = {
        ...this.call('publish init', '/v2/post/publish/content/init/', account, signal),
        createsPost: true,
      };
      const answer = await sendCreating(request, 'initSentAt', () =>
        platformRequest({
          ...call,
          json: {
            post_info: {
              title: title(request.text),
              description: request.text,
              privacy_level: this.options.privacyLevel ?? 'PUBLIC_TO_EVERYONE',
              disable_comment: false,
              auto_add_music: true,
            },
            source_info: {
              source: 'PULL_FROM_URL',
              photo_images: [request.imageUrl],
              photo_cover_index: 0,
            },
            post_mode: 'DIRECT_POST',
            media_type: 'PHOTO',
          },
        }),
      );
      publishId = requireString(
        (answer.body.data as { publish_id?: unknown })?.publish_id,
        call,
        'data.publish_id',
      );
      await request.record({ publishId });
    }
    return this.waitComplete(publishId, account, signal);
  }

  async reconcile(request: PublishRequest): Promise<Reconciliation> {
    const { account, signal, checkpoint } = request;
    if (!checkpoint.publishId) {
      return checkpoint.initSentAt
        ? {
            outcome: 'unknown',
            reason: `tiktok publish init was sent at ${checkpoint.initSentAt} and its publish_id was never received`,
          }
        : { outcome: 'not_published' };
    }
    const state = await this.fetchStatus(checkpoint.publishId, account, signal);
    if (state.status === 'PUBLISH_COMPLETE') {
      return {
        outcome: 'published',
        result: await this.completed(checkpoint.publishId, state, account, signal),
      };
    }
    // Still processing or failed: publish() resumes this same publish_id (never a new init) and
    // either waits for it or fails with TikTok's reason.
    return { outcome: 'not_published' };
  }

  /**
   * `POST /v2/video/query/` (scope video.list) with the public post id: likes, comments, shares
   * and views. A post it does not list (still in moderation, private) gives zeros.
   */
  async metrics(
    account: PlatformAccount,
    platformPostId: string,
    signal: AbortSignal,
  ): Promise<PostMetrics> {
    const video = await this.queryVideo(
      'post metrics',
      platformPostId,
      'id,like_count,comment_count,share_count,view_count',
      account,
      signal,
    );
    const views = count(video?.view_count);
    return {
      likes: count(video?.like_count),
      comments: count(video?.comment_count),
      shares: count(video?.share_count),
      views,
      reach: 0,
      impressions: 0,
    };
  }

  async refreshTokens(account: PlatformAccount, signal: AbortSignal): Promise<RefreshedTokens> {
    const { clientKey, clientSecret } = this.options;
    if (!account.refreshToken || !clientKey || !clientSecret) {
      throw new PlatformError(
        'reconnect_required',
        account.refreshToken
          ? 'tiktok: no client key configured to refresh tokens'
          : 'tiktok: no refresh token',
      );
    }
    const call: PlatformCall = {
      platform: this.name,
      dialect: TIKTOK_DIALECT,
      what: 'token refresh',
      method: 'POST',
      url: `${this.api}/v2/oauth/token/`,
      signal,
      oauth: true,
    };
    const answer = await platformRequest({
      ...call,
      form: {
        client_key: clientKey,
        client_secret: clientSecret,
        grant_type: 'refresh_token',
        refresh_token: account.refreshToken,
      },
    });
    return readTokens(answer.body, call, account.refreshToken);
  }

  private async waitComplete(
    publishId: string,
    account: PlatformAccount,
    signal: AbortSignal,
  ): Promise<PublishResult> {
    for (let poll = 1; ; poll += 1) {
      let state: PublishStatus;
      try {
        state = await this.fetchStatus(publishId, account, signal);
      } catch (error) {
        // TikTok has the post: whatever went wrong now, only reconcile() may follow.
        throw accepted(error);
      }
      if (state.status === 'PUBLISH_COMPLETE')
        return this.completed(publishId, state, account, signal);
      if (state.status === 'FAILED') {
        throw new PlatformError(
          PULL_FAILURE.test(state.failReason) ? 'media_unreachable' : 'platform_rejected',
          `tiktok publish ${publishId} failed: ${state.failReason || 'no reason given'}`,
        );
      }
      if (poll >= this.maxPolls) {
        throw new PlatformError(
          'timeout',
          `tiktok publish ${publishId} still ${state.status} after ${poll} checks`,
          { mayHaveBeenAccepted: true },
        );
      }
      try {
        await sleep(this.pollIntervalMs, signal, 'tiktok status polling');
      } catch (error) {
        throw accepted(error);
      }
    }
  }

  /**
   * The public post id once TikTok lists it, with its link (`share_url` from video/query; the
   * web URL needs the creator's @name, which the account does not hold). Until moderation makes
   * the post public the list is empty and the publish_id stands in (metadata says so). The post
   * exists either way: a failed link lookup only leaves the URL empty.
   */
  private async completed(
    publishId: string,
    state: PublishStatus,
    account: PlatformAccount,
    signal: AbortSignal,
  ): Promise<PublishResult> {
    const postId = state.postIds[0];
    return {
      platformPostId: postId ?? publishId,
      platformPostUrl: postId ? await this.shareUrl(postId, account, signal) : null,
      metadata: { publish_id: publishId, post_id_pending: postId === undefined },
    };
  }

  private async shareUrl(
    postId: string,
    account: PlatformAccount,
    signal: AbortSignal,
  ): Promise<string | null> {
    try {
      const video = await this.queryVideo('post link', postId, 'id,share_url', account, signal);
      return typeof video?.share_url === 'string' && /^https:\/\//.test(video.share_url)
        ? video.share_url
        : null;
    } catch {
      return null;
    }
  }

  /** `POST /v2/video/query/` for one post: its fields, or undefined when TikTok does not list it. */
  private async queryVideo(
    what: string,
    postId: string,
    fields: string,
    account: PlatformAccount,
    signal: AbortSignal,
  ): Promise<Record<string, unknown> | undefined> {
    const call = this.call(what, `/v2/video/query/?fields=${fields}`, account, signal);
    const answer = await platformRequest({ ...call, json: { filters: { video_ids: [postId] } } });
    const videos = (answer.body.data as { videos?: Record<string, unknown>[] } | undefined)?.videos;
    return (Array.isArray(videos) ? videos : []).find((item) => String(item.id) === postId);
  }

  private async fetchStatus(
    publishId: string,
    account: PlatformAccount,
    signal: AbortSignal,
  ): Promise<PublishStatus> {
    const call = this.call('publish status', '/v2/post/publish/status/fetch/', account, signal);
    const answer = await platformRequest({ ...call, json: { publish_id: publishId } });
    const data = answer.body.data as { status?: unknown; fail_reason?: unknown } | undefined;
    const status = requireString(data?.status, call, 'data.status');
    return {
      status,
      failReason: typeof data?.fail_reason === 'string' ? data.fail_reason : '',
      postIds: postIds(answer.text),
    };
  }

  private call(
    what: string,
    path: string,
    account: PlatformAccount,
    signal: AbortSignal,
  ): PlatformCall {
    return {
      platform: this.name,
      dialect: TIKTOK_DIALECT,
      what,
      method: 'POST',
      url: `${this.api}${path}`,
      headers: {
        Authorization: `Bearer ${account.accessToken}`,
        'Content-Type': 'application/json; charset=UTF-8',
      },
      signal,
    };
  }
}

/**
 * `publicaly_available_post_id` (TikTok's spelling) holds 64-bit integers, which JSON.parse
 * would round: they are read from the answer's text instead.
 */
function postIds(text: string): string[] {
  const list = /"publicaly_available_post_id"\s*:\s*\[([^\]]*)\]/.exec(text)?.[1] ?? '';
  return list
    .split(',')
    .map((item) => item.trim().replace(/^"|"$/g, ''))
    .filter(Boolean);
}

function title(text: string): string {
  const firstLine = text.split('\n', 1)[0].trim();
  const chars = Array.from(firstLine);
  return chars.length > TITLE_LIMIT ? `${chars.slice(0, TITLE_LIMIT - 1).join('')}…` : firstLine;
}

function accepted(error: unknown): PlatformError {
  if (error instanceof PlatformError) {
    return new PlatformError(error.code, error.message, {
      ...error.options,
      mayHaveBeenAccepted: true,
    });
  }
  return new PlatformError('transient', (error as Error).message, { mayHaveBeenAccepted: true });
}
