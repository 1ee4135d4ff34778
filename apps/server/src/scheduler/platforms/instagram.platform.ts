import {
  type Platform,
  type PlatformAccount,
  PlatformError,
  type PostMetrics,
  type PublishRequest,
  type PublishResult,
  type Reconciliation,
} from './platform.js';
import {
  count,
  findSentPost,
  type PlatformCall,
  platformRequest,
  refuseIfSent,
  requireString,
  sendCreating,
  sleep,
} from './platform-http.js';
import { GRAPH_DIALECT } from './graph.dialect.js';

export interface InstagramOptions {
  /** Graph API base with its version, e.g. https://graph.facebook.com/v21.0 */
  graphUrl: string;
  /** Wait between two container status checks (Meta suggests polling; images take seconds). */
  pollIntervalMs?: number;
  /** Status checks before giving up for now; the container is recorded, a retry resumes it. */
  maxPolls?: number;
}

type ContainerStatus = 'EXPIRED' | 'ERROR' | 'FINISHED' | 'IN_PROGRESS' | 'PUBLISHED';

/** Instagram errors whose text says Meta could not download the picture. */
const DOWNLOAD_FAILURE = /2207052|2207003|2207020|download|fetch/i;

/**
 * Instagram Graph API content publishing: a media container from the image URL, polled until
 * FINISHED, then media_publish. The container id is recorded before polling and the moment of
 * media_publish before sending it, so a crash at any point is resumed or reconciled.
 */
export class InstagramPlatform implements Platform {
  readonly name = 'instagram' as const;
  private readonly graph: string;
  private readonly pollIntervalMs: number;
  private readonly maxPolls: number;

  constructor(options: InstagramOptions) {
    this.graph = options.graphUrl.replace(/\/+$/, '');
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.maxPolls = options.maxPolls ?? 30;
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    refuseIfSent(this.name, request.checkpoint, 'publishSentAt');
    const { account, signal } = request;
    let containerId: string | undefined = request.checkpoint.containerId;
    // A container lives 24 hours; one left by an attempt that long ago is replaced.
    if (containerId && (await this.status(containerId, account, signal)).status === 'EXPIRED') {
      containerId = undefined;
    }
    if (!containerId) {
      const call = this.call('container creation', 'POST', `/${account.accountId}/media`, signal);
      const answer = await platformRequest({
        ...call,
        form: {
          image_url: request.imageUrl,
          caption: request.text,
          access_token: account.accessToken,
        },
      });
      containerId = requireString(answer.body.id, call, 'a container id');
      await request.record({ containerId });
    }

    await this.waitFinished(containerId, account, signal);

    const call = {
      ...this.call('media_publish', 'POST', `/${account.accountId}/media_publish`, signal),
      createsPost: true,
    };
    const creationId = containerId;
    const answer = await sendCreating(request, 'publishSentAt', () =>
      platformRequest({
        ...call,
        form: { creation_id: creationId, access_token: account.accessToken },
      }),
    );
    const mediaId = requireString(answer.body.id, call, 'a media id');
    return {
      platformPostId: mediaId,
      platformPostUrl: await this.permalink(mediaId, account, signal),
      metadata: { container_id: containerId },
    };
  }

  async reconcile(request: PublishRequest): Promise<Reconciliation> {
    const { account, signal, checkpoint } = request;
    const { containerId, publishSentAt } = checkpoint;
    // Without a container nothing can have been published: containers alone are not posts.
    if (!containerId) return { outcome: 'not_published' };

    const { status } = await this.status(containerId, account, signal, 'status_code,id');
    if (status === 'PUBLISHED') {
      const media = await this.findMedia(request);
      if (media) {
        return {
          outcome: 'published',
          result: {
            platformPostId: media.id,
            platformPostUrl: media.permalink ?? (await this.permalink(media.id, account, signal)),
            metadata: { container_id: containerId, reconciled: true },
          },
        };
      }
      return {
        outcome: 'unknown',
        reason: `instagram container ${containerId} is PUBLISHED but no recent media carries the caption`,
      };
    }
    if (!publishSentAt) return { outcome: 'not_published' };
    return {
      outcome: 'unknown',
      reason: `instagram media_publish was sent at ${publishSentAt} and container ${containerId} is ${status}`,
    };
  }

  async metrics(
    account: PlatformAccount,
    platformPostId: string,
    signal: AbortSignal,
  ): Promise<PostMetrics> {
    const call = this.call('insights', 'GET', `/${platformPostId}/insights`, signal, {
      metric: 'views,reach,likes,comments,shares,saved',
      access_token: account.accessToken,
    });
    const answer = await platformRequest(call);
    const values: Record<string, number> = {};
    const data = answer.body.data as
      { name?: string; values?: { value?: unknown }[] }[] | undefined;
    for (const item of Array.isArray(data) ? data : []) {
      if (item.name) values[item.name] = count(item.values?.[0]?.value);
    }
    // Meta retired `impressions` for media created after July 2024; `views` replaces it.
    return {
      likes: values.likes ?? 0,
      comments: values.comments ?? 0,
      shares: values.shares ?? 0,
      views: values.views ?? 0,
      reach: values.reach ?? 0,
      impressions: values.views ?? 0,
    };
  }

  private async waitFinished(
    containerId: string,
    account: PlatformAccount,
    signal: AbortSignal,
  ): Promise<void> {
    for (let poll = 1; ; poll += 1) {
      const { status, detail } = await this.status(containerId, account, signal);
      if (status === 'FINISHED') return;
      if (status === 'ERROR') {
        const message = `instagram container ${containerId} failed: ${detail || 'ERROR'}`;
        throw new PlatformError(
          DOWNLOAD_FAILURE.test(detail) ? 'media_unreachable' : 'platform_rejected',
          message,
        );
      }
      if (status === 'EXPIRED') {
        throw new PlatformError('platform_rejected', `instagram container ${containerId} expired`);
      }
      if (status === 'PUBLISHED') {
        // Someone published it although this attempt never sent media_publish: never again.
        throw new PlatformError(
          'transient',
          `instagram container ${containerId} is already published`,
          {
            mayHaveBeenAccepted: true,
          },
        );
      }
      if (poll >= this.maxPolls) {
        throw new PlatformError(
          'timeout',
          `instagram container ${containerId} still ${status} after ${poll} checks`,
        );
      }
      await sleep(this.pollIntervalMs, signal, 'instagram container polling');
    }
  }

  private async status(
    containerId: string,
    account: PlatformAccount,
    signal: AbortSignal,
    fields = 'status_code,status',
  ): Promise<{ status: ContainerStatus; detail: string }> {
    const call = this.call('container status', 'GET', `/${containerId}`, signal, {
      fields,
      access_token: account.accessToken,
    });
    const answer = await platformRequest(call);
    const status = requireString(answer.body.status_code, call, 'status_code') as ContainerStatus;
    const detail = typeof answer.body.status === 'string' ? answer.body.status : '';
    return { status, detail };
  }

  /** The account's recent media carrying our caption, created after we sent media_publish. */
  private async findMedia(
    request: PublishRequest,
  ): Promise<{ id: string; permalink?: string } | undefined> {
    const { account, signal, checkpoint } = request;
    const call = this.call('media lookup', 'GET', `/${account.accountId}/media`, signal, {
      fields: 'id,caption,timestamp,permalink',
      limit: '25',
      access_token: account.accessToken,
    });
    const answer = await platformRequest(call);
    const found = findSentPost<{
      id?: string;
      caption?: string;
      timestamp?: string;
      permalink?: string;
    }>(answer.body.data, request.text, checkpoint.publishSentAt, (media) => ({
      text: media.caption,
      created: media.timestamp,
    }));
    return found ? { id: found.id, permalink: found.permalink } : undefined;
  }

  /** The post's public URL; optional, so any failure gives null. */
  private async permalink(
    mediaId: string,
    account: PlatformAccount,
    signal: AbortSignal,
  ): Promise<string | null> {
    try {
      const call = this.call('permalink', 'GET', `/${mediaId}`, signal, {
        fields: 'permalink',
        access_token: account.accessToken,
      });
      const answer = await platformRequest(call);
      return typeof answer.body.permalink === 'string' ? answer.body.permalink : null;
    } catch {
      return null;
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
