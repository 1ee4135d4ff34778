import { describe, expect, it } from '@jest/globals';
import type { ClaimedPost } from '@app/database';
import { PlatformError } from './platforms/platform.js';
import {
  afterPassingRefreshError,
  afterPublishError,
  afterReconcile,
  RECONCILE_TRIES,
  retryDelayMs,
  unpublishable,
} from './publish-decision.js';

function claimed(overrides: Partial<ClaimedPost> = {}): ClaimedPost {
  return {
    post: {
      id: 7,
      version: 1,
      userId: 3,
      accountId: 11,
      imageId: 5,
      platform: 'instagram',
      caption: 'Dawn',
      hashtags: '',
      checkpoint: {},
      metadata: {},
      attempts: 1,
    },
    account: {
      id: 11,
      status: 'active',
      accountId: '1784',
      accessTokenEncrypted: 'sealed',
      refreshTokenEncrypted: null,
    },
    renditionKey: 'images/5/rendition.jpg',
    ...overrides,
  };
}

describe('unpublishable()', () => {
  it('lets a post with an active account and a rendition through', () => {
    expect(unpublishable(claimed())).toBeNull();
  });

  it('names what is missing: the account, its reconnection, the image', () => {
    const post = claimed().post;
    expect(unpublishable(claimed({ post: { ...post, accountId: null }, account: null }))).toEqual({
      code: 'account_missing',
      message: 'The account of this post was disconnected.',
    });
    expect(unpublishable(claimed({ account: null }))?.code).toBe('account_missing');
    const disabled = { ...claimed().account!, status: 'disabled' as const };
    expect(unpublishable(claimed({ account: disabled }))?.code).toBe('account_missing');
    const expired = { ...claimed().account!, status: 'reconnect_required' as const };
    expect(unpublishable(claimed({ account: expired }))).toEqual({
      code: 'reconnect_required',
      message: 'The instagram account must be reconnected.',
    });
    expect(unpublishable(claimed({ renditionKey: null }))?.code).toBe('image_unavailable');
  });
});

describe('afterPublishError()', () => {
  it('reconciles, never retries, when the platform may have taken the post', () => {
    const lost = new PlatformError('timeout', 'No answer after sending', {
      mayHaveBeenAccepted: true,
    });
    expect(afterPublishError(lost, 'x', true)).toEqual({
      action: 'settle',
      why: 'No answer after sending',
    });
    // Even a code that would otherwise fail: what was sent may have been published.
    const rejected = new PlatformError('platform_rejected', 'Bad gateway', {
      mayHaveBeenAccepted: true,
    });
    expect(afterPublishError(rejected, 'x', false).action).toBe('settle');
  });

  it('refreshes an expired token once, then treats it as a reconnection', () => {
    const expired = new PlatformError('reconnect_required', 'Token expired');
    expect(afterPublishError(expired, 'twitter', true)).toEqual({ action: 'refresh' });
    expect(afterPublishError(expired, 'twitter', false)).toEqual({
      action: 'fail',
      reconnect: true,
      code: 'reconnect_required',
      message: 'The twitter account must be reconnected: Token expired',
    });
  });

  it("waits for a rate limit's reset, backs off after a passing failure", () => {
    const limited = new PlatformError('rate_limited', 'Slow down', { retryAfterMs: 90_000 });
    expect(afterPublishError(limited, 'x', true)).toEqual({
      action: 'retry',
      code: 'rate_limited',
      message: 'Slow down',
      delayMs: 90_000,
    });
    for (const code of ['transient', 'timeout'] as const)
      expect(afterPublishError(new PlatformError(code, 'Oops'), 'x', true)).toEqual({
        action: 'retry',
        code: 'timeout',
        message: 'Oops',
      });
  });

  it('fails for good on a refusal, and retries after an error that is not the platform’s', () => {
    expect(
      afterPublishError(new PlatformError('platform_rejected', 'Too long'), 'x', true),
    ).toEqual({ action: 'fail', code: 'platform_rejected', message: 'Too long' });
    expect(
      afterPublishError(new PlatformError('media_unreachable', 'No file'), 'x', true).action,
    ).toBe('fail');
    expect(afterPublishError(new TypeError('boom'), 'x', true)).toEqual({
      action: 'retry',
      code: 'timeout',
      message: 'boom',
    });
  });
});

describe('afterPassingRefreshError()', () => {
  it('retries later: the token endpoint failing says nothing of the account', () => {
    expect(
      afterPassingRefreshError(
        new PlatformError('rate_limited', '429', { retryAfterMs: 5000 }),
        'tiktok',
      ),
    ).toEqual({
      action: 'retry',
      code: 'rate_limited',
      message: 'Refreshing the tiktok token failed: 429',
      delayMs: 5000,
    });
    expect(afterPassingRefreshError(new PlatformError('transient', '503'), 'x').action).toBe(
      'retry',
    );
  });
});

describe('afterReconcile()', () => {
  const why = 'The worker stopped while publishing.';

  it('records the post when the platform has it, retries at once when it has not', () => {
    const result = { platformPostId: '1', platformPostUrl: null, metadata: {} };
    expect(afterReconcile({ reconciliation: { outcome: 'published', result } }, why, 1)).toEqual({
      action: 'posted',
    });
    expect(afterReconcile({ reconciliation: { outcome: 'not_published' } }, why, 1)).toEqual({
      action: 'retry',
      code: 'timeout',
      message: why,
      delayMs: 0,
    });
  });

  it('gives up with outcome_unknown when the platform cannot tell', () => {
    const decision = afterReconcile(
      { reconciliation: { outcome: 'unknown', reason: 'no listing' } },
      why,
      1,
    );
    expect(decision).toMatchObject({ action: 'fail', code: 'outcome_unknown' });
    expect((decision as { message: string }).message).toContain('no listing');
  });

  it('asks again after a passing failure, until its tries are spent', () => {
    const passing = { error: new PlatformError('transient', '502') };
    expect(afterReconcile(passing, why, RECONCILE_TRIES - 1)).toEqual({ action: 'wait' });
    expect(afterReconcile(passing, why, RECONCILE_TRIES)).toMatchObject({
      action: 'fail',
      code: 'outcome_unknown',
    });
    expect(
      afterReconcile({ error: new PlatformError('platform_rejected', 'gone') }, why, 1),
    ).toMatchObject({ action: 'fail', code: 'outcome_unknown' });
  });
});

describe('retryDelayMs()', () => {
  const policy = { attempts: 4, backoffMs: 1000 };

  it("doubles from the backoff per attempt, or takes the platform's delay", () => {
    expect([1, 2, 3].map((attempts) => retryDelayMs(attempts, policy))).toEqual([1000, 2000, 4000]);
    expect(retryDelayMs(2, policy, 30_000)).toBe(30_000);
    expect(retryDelayMs(2, policy, 0)).toBe(0);
  });

  it('answers null once the post has had its tries', () => {
    expect(retryDelayMs(4, policy)).toBeNull();
    expect(retryDelayMs(5, policy, 10)).toBeNull();
  });
});
