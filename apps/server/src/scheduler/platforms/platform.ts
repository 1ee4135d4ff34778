import type { SocialPlatform } from '@app/database';

/** The platforms are the values of social_accounts.platform: SOCIAL_PLATFORMS is the one list. */
export type PlatformName = SocialPlatform;

/** The account a post goes out through, with its tokens decrypted for this call only. */
export interface PlatformAccount {
  /** Instagram user id, Facebook page id, X user id, LinkedIn person/organization URN, TikTok open_id. */
  accountId: string;
  accessToken: string;
  refreshToken: string | null;
}

/**
 * What an earlier attempt recorded before its external calls (an Instagram container id, a
 * TikTok publish id, the moment the publish call was sent...). Platforms read it to resume or
 * to reconcile instead of creating the post twice.
 */
export type Checkpoint = Record<string, string>;

export interface PublishRequest {
  account: PlatformAccount;
  /** caption + "\n\n" + hashtags, already within the platform's limits. */
  text: string;
  /** An absolute, signed, public URL of the JPEG rendition (what Meta and TikTok fetch). */
  imageUrl: string;
  /** The same JPEG's bytes, for platforms that take an upload (X, LinkedIn). */
  imageBytes: () => Promise<Buffer>;
  checkpoint: Checkpoint;
  /**
   * Persists `step` merged into the checkpoint; a platform MUST await it before the external
   * call whose outcome it will need after a crash (e.g. before media_publish).
   */
  record: (step: Checkpoint) => Promise<void>;
  signal: AbortSignal;
}

export interface PublishResult {
  platformPostId: string;
  platformPostUrl: string | null;
  metadata: Record<string, string | number | boolean | null>;
}

/** After a crash mid-publish: published after all, safely not published, or impossible to tell. */
export type Reconciliation =
  | { outcome: 'published'; result: PublishResult }
  | { outcome: 'not_published' }
  | { outcome: 'unknown'; reason: string };

export interface PostMetrics {
  likes: number;
  comments: number;
  shares: number;
  views: number;
  reach: number;
  impressions: number;
}

export interface RefreshedTokens {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
}

export interface Platform {
  readonly name: PlatformName;
  publish(request: PublishRequest): Promise<PublishResult>;
  reconcile(request: PublishRequest): Promise<Reconciliation>;
  metrics(
    account: PlatformAccount,
    platformPostId: string,
    signal: AbortSignal,
  ): Promise<PostMetrics>;
  /** Only where the platform issues refresh tokens (X, LinkedIn, TikTok). */
  refreshTokens?(account: PlatformAccount, signal: AbortSignal): Promise<RefreshedTokens>;
}

export type PlatformErrorCode =
  | 'reconnect_required'
  | 'rate_limited'
  | 'platform_rejected'
  | 'media_unreachable'
  | 'timeout'
  | 'transient';

/**
 * Every failure of a platform call, classified. `mayHaveBeenAccepted` is true when the request
 * that creates the post was sent and its answer was lost (timeout, reset, 5xx after sending):
 * the caller must reconcile, never blindly retry.
 */
export class PlatformError extends Error {
  constructor(
    readonly code: PlatformErrorCode,
    message: string,
    readonly options: {
      retryAfterMs?: number;
      mayHaveBeenAccepted?: boolean;
      status?: number;
    } = {},
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}

export const PLATFORM = Symbol('PLATFORMS');
