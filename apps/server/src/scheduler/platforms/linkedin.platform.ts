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
  malformed,
  type PlatformCall,
  platformRequest,
  readTokens,
  refuseIfSent,
  requireString,
  sendCreating,
} from './platform-http.js';

export interface LinkedInOptions {
  /** e.g. https://api.linkedin.com */
  apiUrl: string;
  /** Where /oauth/v2/accessToken lives: www.linkedin.com for the real API, else the API URL. */
  oauthUrl?: string;
  /** The `LinkedIn-Version` header (YYYYMM); LinkedIn supports each version for a year. */
  version?: string;
  clientId?: string;
  clientSecret?: string;
}

/**
 * The version sent when none is configured. LinkedIn serves each monthly version for about a
 * year and then answers 426 NONEXISTENT_VERSION to every call: bump it (and check LinkedIn's
 * changelog for the Images and Posts APIs) before September 2027.
 */
export const LINKEDIN_VERSION = '202609';

/** Characters that LinkedIn's "little text" commentary format reserves. */
const RESERVED = /[\\|{}@[\]()<>#*_~]/g;

/**
 * LinkedIn words its failures in HTTP statuses (401 an expired token); its documented limits are
 * daily and reset at midnight UTC, and a 429 usually comes without a Retry-After.
 */
const LINKEDIN_DIALECT: ErrorDialect = {
  rateLimitWaitMs: (headers) => retryAfterMs(headers.get('retry-after')) ?? untilMidnightUtc(),
};

/**
 * LinkedIn Posts API (versioned REST): initializeUpload an image, PUT its bytes, then create the
 * post, whose URN comes back in the `x-restli-id` header. The image URN and the moment of the
 * post call are recorded first.
 */
export class LinkedInPlatform implements Platform {
  readonly name = 'linkedin' as const;
  private readonly api: string;
  private readonly oauth: string;
  private readonly version: string;

  constructor(private readonly options: LinkedInOptions) {
    this.api = options.apiUrl.replace(/\/+$/, '');
    const official = /^https:\/\/api\.linkedin\.com$/.test(this.api);
    this.oauth = (options.oauthUrl ?? (official ? 'https://www.linkedin.com' : this.api)).replace(
      /\/+$/,
      '',
    );
    this.version = options.version ?? LINKEDIN_VERSION;
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    refuseIfSent(this.name, request.checkpoint, 'publishSentAt');
    const { account, signal } = request;
    let imageUrn: string | undefined = request.checkpoint.imageUrn;
    if (!imageUrn) {
      const init = this.call(
        'image upload initialization',
        'POST',
        '/rest/images?action=initializeUpload',
        account,
        signal,
      );
      const answer = await platformRequest({
        ...init,
        json: { initializeUploadRequest: { owner: account.accountId } },
      });
      const value = answer.body.value as { uploadUrl?: unknown; image?: unknown } | undefined;
      const uploadUrl = requireString(value?.uploadUrl, init, 'value.uploadUrl');
      const urn = requireString(value?.image, init, 'value.image');
      await platformRequest({
        platform: this.name,
        dialect: LINKEDIN_DIALECT,
        what: 'image upload',
        method: 'PUT',
        url: uploadUrl,
        headers: {
          Authorization: `Bearer ${account.accessToken}`,
          'Content-Type': 'application/octet-stream',
        },
        body: await request.imageBytes(),
        signal,
      });
      imageUrn = urn;
      await request.record({ imageUrn });
    }

    const call = {
      ...this.call('post creation', 'POST', '/rest/posts', account, signal),
      createsPost: true,
    };
    const mediaUrn = imageUrn;
    const answer = await sendCreating(request, 'publishSentAt', () =>
      platformRequest({
        ...call,
        json: {
          author: account.accountId,
          commentary: littleText(request.text),
          visibility: 'PUBLIC',
          distribution: {
            feedDistribution: 'MAIN_FEED',
            targetEntities: [],
            thirdPartyDistributionChannels: [],
          },
          content: { media: { id: mediaUrn } },
          lifecycleState: 'PUBLISHED',
          isReshareDisabledByAuthor: false,
        },
      }),
    );
    const postUrn = answer.headers.get('x-restli-id') ?? answer.headers.get('x-linkedin-id');
    if (!postUrn) throw malformed(call, 'linkedin post creation answered without x-restli-id');
    return {
      platformPostId: postUrn,
      platformPostUrl: postUrl(postUrn),
      metadata: { image_urn: imageUrn },
    };
  }

  async reconcile(request: PublishRequest): Promise<Reconciliation> {
    const { account, signal, checkpoint } = request;
    if (!checkpoint.publishSentAt) return { outcome: 'not_published' };
    const query = `author=${encodeURIComponent(account.accountId)}&q=author&count=10&sortBy=LAST_MODIFIED`;
    const call = this.call('recent posts', 'GET', `/rest/posts?${query}`, account, signal);
    const answer = await platformRequest({
      ...call,
      headers: { ...call.headers, 'X-RestLi-Method': 'FINDER' },
    });
    const found = findSentPost<{ id?: string; commentary?: string; createdAt?: number }>(
      answer.body.elements,
      littleText(request.text),
      checkpoint.publishSentAt,
      (post) => ({ text: post.commentary, created: post.createdAt }),
    );
    if (found) {
      return {
        outcome: 'published',
        result: {
          platformPostId: found.id,
          platformPostUrl: postUrl(found.id),
          metadata: { image_urn: checkpoint.imageUrn ?? null, reconciled: true },
        },
      };
    }
    return {
      outcome: 'unknown',
      reason: `linkedin post was sent at ${checkpoint.publishSentAt} and none of the author's recent posts carries its commentary`,
    };
  }

  /**
   * The Social Actions API (`GET /rest/socialActions/{urn}`): likes and comments. LinkedIn
   * exposes no repost count for members' posts there, so shares stay 0, as do views, reach and
   * impressions (only organization share statistics have them).
   */
  async metrics(
    account: PlatformAccount,
    platformPostId: string,
    signal: AbortSignal,
  ): Promise<PostMetrics> {
    const call = this.call(
      'social actions',
      'GET',
      `/rest/socialActions/${encodeURIComponent(platformPostId)}`,
      account,
      signal,
    );
    const answer = await platformRequest(call);
    const body = answer.body as {
      likesSummary?: { totalLikes?: unknown };
      commentsSummary?: { aggregatedTotalComments?: unknown; totalFirstLevelComments?: unknown };
    };
    return {
      likes: count(body.likesSummary?.totalLikes),
      comments: count(
        body.commentsSummary?.aggregatedTotalComments ??
          body.commentsSummary?.totalFirstLevelComments,
      ),
      shares: 0,
      views: 0,
      reach: 0,
      impressions: 0,
    };
  }

  async refreshTokens(account: PlatformAccount, signal: AbortSignal): Promise<RefreshedTokens> {
    const { clientId, clientSecret } = this.options;
    if (!account.refreshToken || !clientId || !clientSecret) {
      throw new PlatformError(
        'reconnect_required',
        account.refreshToken
          ? 'linkedin: no OAuth client configured to refresh tokens'
          : 'linkedin: no refresh token',
      );
    }
    const call: PlatformCall = {
      platform: this.name,
      dialect: LINKEDIN_DIALECT,
      what: 'token refresh',
      method: 'POST',
      url: `${this.oauth}/oauth/v2/accessToken`,
      signal,
      oauth: true,
    };
    const answer = await platformRequest({
      ...call,
      form: {
        grant_type: 'refresh_token',
        refresh_token: account.refreshToken,
        client_id: clientId,
        client_secret: clientSecret,
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
      dialect: LINKEDIN_DIALECT,
      what,
      method,
      url: `${this.api}${path}`,
      headers: {
        Authorization: `Bearer ${account.accessToken}`,
        'LinkedIn-Version': this.version,
        'X-Restli-Protocol-Version': '2.0.0',
      },
      signal,
    };
  }
}

function untilMidnightUtc(now = new Date()): number {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return midnight - now.getTime();
}

function postUrl(urn: string): string {
  return `https://www.linkedin.com/feed/update/${urn}/`;
}

/**
 * Commentary in LinkedIn's "little text" format: reserved characters escaped (unescaped ones
 * make LinkedIn cut the text), `#word` written as a hashtag template so it stays a hashtag.
 */
export function littleText(text: string): string {
  const escape = (part: string) => part.replace(RESERVED, (char) => `\\${char}`);
  return text
    .split(/(#[\p{L}\p{N}_]+)/u)
    .map((part, index) =>
      index % 2 === 1 ? `{hashtag|\\#|${escape(part.slice(1))}}` : escape(part),
    )
    .join('');
}
