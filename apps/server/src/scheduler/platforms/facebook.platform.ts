import type {
  Platform,
  PlatformAccount,
  PostMetrics,
  PublishRequest,
  PublishResult,
  Reconciliation,
} from './platform.js';
import {
  answeredKey,
  count,
  findSentPost,
  type PlatformCall,
  platformRequest,
  refuseIfSent,
  requireString,
  sendCreating,
} from './platform-http.js';
import { GRAPH_DIALECT } from './graph.dialect.js';

export interface FacebookOptions {
  /** Graph API base with its version, e.g. https://graph.facebook.com/v21.0 */
  graphUrl: string;
}

/**
 * A Facebook page photo post: one `POST /{page-id}/photos {url, message}`, which Meta answers
 * `{id (the photo), post_id (the page post)}`. There is no idempotency key, so the moment of the
 * call is recorded first and a lost answer is reconciled from the page's recent posts.
 */
export class FacebookPlatform implements Platform {
  readonly name = 'facebook' as const;
  private readonly graph: string;

  constructor(options: FacebookOptions) {
    this.graph = options.graphUrl.replace(/\/+$/, '');
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    refuseIfSent(this.name, request.checkpoint, 'publishSentAt');
    const { account, signal } = request;
    const call = {
      ...this.call('photo post', 'POST', `/${account.accountId}/photos`, signal),
      createsPost: true,
    };
    const answer = await sendCreating(request, 'publishSentAt', () =>
      platformRequest({
        ...call,
        form: { url: request.imageUrl, message: request.text, access_token: account.accessToken },
      }),
    );
    const postId = requireString(answer.body.post_id, call, 'post_id');
    const photoId = typeof answer.body.id === 'string' ? answer.body.id : null;
    return {
      platformPostId: postId,
      platformPostUrl: postUrl(postId),
      metadata: { photo_id: photoId },
    };
  }

  async reconcile(request: PublishRequest): Promise<Reconciliation> {
    const { account, signal, checkpoint } = request;
    if (!checkpoint.publishSentAt) return { outcome: 'not_published' };
    const call = this.call('recent posts', 'GET', `/${account.accountId}/posts`, signal, {
      fields: 'id,message,created_time',
      limit: '25',
      access_token: account.accessToken,
    });
    const answer = await platformRequest(call);
    const found = findSentPost<{ id?: string; message?: string; created_time?: string }>(
      answer.body.data,
      request.text,
      checkpoint.publishSentAt,
      (post) => ({ text: post.message, created: post.created_time }),
    );
    if (found) {
      return {
        outcome: 'published',
        result: {
          platformPostId: found.id,
          platformPostUrl: postUrl(found.id),
          // The listing does not give the photo id; the post id is what analytics need.
          metadata: { photo_id: null, reconciled: true },
        },
      };
    }
    if (checkpoint[answeredKey('publishSentAt')]) {
      // Meta answered the post call with a 5xx and the page does not hold the post: nothing was
      // published, so the next attempt may post it (an answer, unlike a lost one, ends the call).
      await request.record({ publishSentAt: '', [answeredKey('publishSentAt')]: '' });
      return { outcome: 'not_published' };
    }
    return {
      outcome: 'unknown',
      reason: `facebook photo post was sent at ${checkpoint.publishSentAt} and no page post since carries its message`,
    };
  }

  /**
   * Reactions, comments and shares from the post itself; reach and impressions from the page
   * post insights when the token may read them (pages_read_engagement + read_insights), else 0.
   */
  async metrics(
    account: PlatformAccount,
    platformPostId: string,
    signal: AbortSignal,
  ): Promise<PostMetrics> {
    const call = this.call('post metrics', 'GET', `/${platformPostId}`, signal, {
      fields: 'reactions.summary(true),comments.summary(true),shares',
      access_token: account.accessToken,
    });
    const answer = await platformRequest(call);
    const body = answer.body as {
      reactions?: { summary?: { total_count?: unknown } };
      comments?: { summary?: { total_count?: unknown } };
      shares?: { count?: unknown };
    };
    const insights = await this.insights(account, platformPostId, signal);
    return {
      likes: count(body.reactions?.summary?.total_count),
      comments: count(body.comments?.summary?.total_count),
      shares: count(body.shares?.count),
      views: 0,
      reach: insights.post_impressions_unique ?? 0,
      impressions: insights.post_impressions ?? 0,
    };
  }

  private async insights(
    account: PlatformAccount,
    postId: string,
    signal: AbortSignal,
  ): Promise<Record<string, number>> {
    try {
      const call = this.call('post insights', 'GET', `/${postId}/insights`, signal, {
        metric: 'post_impressions,post_impressions_unique',
        access_token: account.accessToken,
      });
      const answer = await platformRequest(call);
      const values: Record<string, number> = {};
      const data = answer.body.data as { name?: string; values?: { value?: unknown }[] }[];
      for (const item of Array.isArray(data) ? data : []) {
        if (item.name) values[item.name] = count(item.values?.[0]?.value);
      }
      return values;
    } catch {
      return {};
    }
  }

  private call(
    what: string,
    method: 'GET' | 'POST',
    path: string,
    signal: AbortSignal,
    query?: Record<string, string>,
  ): PlatformCall {
    const search = query ? `?${new URLSearchParams(query).toString()}` : '';
    return {
      platform: this.name,
      dialect: GRAPH_DIALECT,
      what,
      method,
      url: `${this.graph}${path}${search}`,
      signal,
    };
  }
}

/** Page post ids are `{page-id}_{post-id}`; facebook.com resolves them directly. */
function postUrl(postId: string): string {
  return `https://www.facebook.com/${postId}`;
}
