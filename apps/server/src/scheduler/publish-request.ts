import { buffer } from 'node:stream/consumers';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { type ClaimedPost, ScheduledPostQueries } from '@app/database';
import { fitForPlatform, fittedKey, PLATFORM_ASPECTS } from '../images/editing/platform-fit.js';
import { MEDIA_STORAGE, type MediaStorage } from '../media/media-storage.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { AccountsService } from './accounts.service.js';
import { type Checkpoint, PlatformError, type PublishRequest } from './platforms/platform.js';
import { composeText } from './platforms/platform.registry.js';

/**
 * Our claim passed to another worker (our lease ran out and the post was taken over): stop
 * before any further platform call, write nothing.
 */
export class ClaimLost extends Error {
  constructor(postId: number) {
    super(`Post ${postId}: the claim passed to another worker`);
  }
}

/**
 * What a platform call gets for a claimed post: its tokens opened, its text composed, a signed
 * URL and the bytes of its JPEG rendition, its checkpoint, and `record()`, which persists a step
 * before the call that needs it (throwing ClaimLost when the post is no longer this claim's).
 */
@Injectable()
export class PublishRequests {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
    private readonly signer: MediaUrlSigner,
    private readonly accounts: AccountsService,
    private readonly posts: ScheduledPostQueries,
  ) {}

  /**
   * Call only with a post that `unpublishable()` passed: it has an account and a rendition. A
   * rendition of a shape the platform refuses is replaced by a copy cropped to fit.
   */
  async build({ post, account, renditionKey: scheduled }: ClaimedPost): Promise<PublishRequest> {
    if (!account || !scheduled) throw new Error(`Post ${post.id} cannot be published`);
    const renditionKey = await this.fitted(post.platform, scheduled);
    const tokens = this.accounts.open(account);
    const checkpoint: Checkpoint = { ...(post.checkpoint as Checkpoint) };
    return {
      account: {
        accountId: tokens.platformAccountId,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
      },
      text: composeText(post.caption, post.hashtags),
      imageUrl: this.signer.sign(renditionKey, this.config.publishing.mediaUrlTtlSeconds),
      imageBytes: async () => {
        const file = await this.storage.read(renditionKey);
        if (!file) throw new PlatformError('media_unreachable', 'The image file is missing.');
        return file.bytes ?? buffer(file.stream());
      },
      checkpoint,
      record: async (step) => {
        Object.assign(checkpoint, step);
        if (!(await this.posts.recordStep(post, step))) throw new ClaimLost(post.id);
      },
      signal: this.signal(),
    };
  }

  /**
   * The key of what to send: the rendition, or its copy cropped to the platform's shapes (made
   * once, kept beside it; a rendition never changes, a new version has new files).
   */
  private async fitted(platform: string, renditionKey: string): Promise<string> {
    if (!PLATFORM_ASPECTS[platform]) return renditionKey;
    const key = fittedKey(renditionKey);
    if (await this.storage.read(key)) return key;
    const file = await this.storage.read(renditionKey);
    if (!file) return renditionKey;
    const fitted = await fitForPlatform(platform, file.bytes ?? (await buffer(file.stream())));
    if (!fitted) return renditionKey;
    await this.storage.put(key, fitted);
    return key;
  }

  /** A platform call's time limit. */
  signal(): AbortSignal {
    return AbortSignal.timeout(this.config.publishing.requestTimeoutMs);
  }
}
