import type { ClaimedPost, PostErrorCode } from '@app/database';
import { PlatformError, type Reconciliation } from './platforms/platform.js';

/**
 * The publish policy as pure functions: what to do after each answer of a platform. The
 * processor carries the decisions out (PostgreSQL writes, jobs); these say which, so the whole
 * table can be tested in milliseconds.
 */

/** Reconcile attempts (immediate, then one per lease) before a post is given up as outcome_unknown. */
export const RECONCILE_TRIES = 4;

export interface Failure {
  code: PostErrorCode;
  message: string;
}

/** What the processor does next with a claimed post. */
export type Decision =
  /** The platform may have taken the post: ask it, never post blindly again. */
  | { action: 'settle'; why: string }
  /** The token expired: refresh it once, then publish again. */
  | { action: 'refresh' }
  /** Not published, safe to try again later (at the platform's reset when it gave one). */
  | { action: 'retry'; code: PostErrorCode; message: string; delayMs?: number }
  /** Not published and never will be as it stands; `reconnect` marks the account too. */
  | ({ action: 'fail'; reconnect?: boolean } & Failure);

/** Why a claimed post cannot be sent at all (no account, no image), or null. */
export function unpublishable({ post, account, renditionKey }: ClaimedPost): Failure | null {
  if (post.accountId === null)
    return { code: 'account_missing', message: 'The account of this post was disconnected.' };
  if (!account || account.status === 'disabled')
    return {
      code: 'account_missing',
      message: 'The account of this post is disconnected or disabled.',
    };
  if (account.status === 'reconnect_required')
    return {
      code: 'reconnect_required',
      message: `The ${post.platform} account must be reconnected.`,
    };
  if (!renditionKey)
    return { code: 'image_unavailable', message: 'The image of this post no longer exists.' };
  return null;
}

/** The owner disabled or disconnected the account while its token was being refreshed. */
export const accountGone: Decision = {
  action: 'fail',
  code: 'account_missing',
  message: 'The account of this post was disconnected or disabled while publishing.',
};

/** A time-out, a 5xx or a rate limit: says nothing of the post or the account. */
export function isPassing(error: unknown): error is PlatformError {
  return (
    error instanceof PlatformError && ['rate_limited', 'transient', 'timeout'].includes(error.code)
  );
}

/** After publish() threw. `canRefresh`: the token was not refreshed yet in this attempt. */
export function afterPublishError(error: unknown, platform: string, canRefresh: boolean): Decision {
  if (!(error instanceof PlatformError))
    return {
      action: 'retry',
      code: 'timeout',
      message: (error as Error)?.message ?? String(error),
    };
  if (error.options.mayHaveBeenAccepted) return { action: 'settle', why: error.message };
  if (error.code === 'reconnect_required' && canRefresh) return { action: 'refresh' };
  return afterRefusal(error, platform);
}

/** A platform error that proves nothing was published: retry later, or fail for good. */
export function afterRefusal(error: PlatformError, platform: string): Decision {
  switch (error.code) {
    case 'reconnect_required':
      return {
        action: 'fail',
        reconnect: true,
        code: 'reconnect_required',
        message: `The ${platform} account must be reconnected: ${error.message}`,
      };
    case 'rate_limited':
      return {
        action: 'retry',
        code: 'rate_limited',
        message: error.message,
        delayMs: error.options.retryAfterMs,
      };
    case 'transient':
    case 'timeout':
      return { action: 'retry', code: 'timeout', message: error.message };
    default:
      return { action: 'fail', code: error.code, message: error.message };
  }
}

/** The token endpoint failed for a passing reason: the account may be fine, try again later. */
export function afterPassingRefreshError(error: PlatformError, platform: string): Decision {
  return {
    action: 'retry',
    code: error.code === 'rate_limited' ? 'rate_limited' : 'timeout',
    message: `Refreshing the ${platform} token failed: ${error.message}`,
    delayMs: error.options.retryAfterMs,
  };
}

/**
 * After asking the platform whether an unsure publish went through. `tries` counts this one;
 * 'wait' leaves the post in processing for the sweep to ask again after the lease.
 */
export function afterReconcile(
  answer: { reconciliation: Reconciliation } | { error: unknown },
  why: string,
  tries: number,
): Decision | { action: 'posted' } | { action: 'wait' } {
  if ('error' in answer) {
    if (isPassing(answer.error) && tries < RECONCILE_TRIES) return { action: 'wait' };
    return {
      action: 'fail',
      code: 'outcome_unknown',
      message: `${why} Reconciling failed too (${(answer.error as Error).message}); check the account before publishing again.`,
    };
  }
  const { reconciliation } = answer;
  if (reconciliation.outcome === 'published') return { action: 'posted' };
  if (reconciliation.outcome === 'not_published')
    return { action: 'retry', code: 'timeout', message: why, delayMs: 0 };
  return {
    action: 'fail',
    code: 'outcome_unknown',
    message: `${why} The platform cannot tell whether it was published (${reconciliation.reason}); check the account before publishing again.`,
  };
}

/**
 * When the next try runs, or null when the post has had its tries: the platform's delay when it
 * gave one, else a doubling backoff from the post's attempts so far.
 */
export function retryDelayMs(
  attempts: number,
  policy: { attempts: number; backoffMs: number },
  delayMs?: number,
): number | null {
  if (attempts >= policy.attempts) return null;
  return delayMs ?? policy.backoffMs * 2 ** Math.max(0, attempts - 1);
}
