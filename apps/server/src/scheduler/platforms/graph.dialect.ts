import { retryAfterMs } from '../../outbound/outbound-http.js';
import { PlatformError } from './platform.js';
import type { ErrorDialect, FailedAnswer } from './platform-http.js';

/** Graph error codes that mean "slow down" (app, user, page and custom-rate limits). */
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80001, 80002, 80004]);
/** Graph codes / subcodes for "Meta could not download the media from the URL given". */
const MEDIA_CODES = new Set([324, 9004]);
const MEDIA_SUBCODES = new Set([2207052, 2207003, 2207020, 2207026]);

/**
 * How Meta's Graph API (Instagram and Facebook) words its failures: `{error: {code,
 * error_subcode}}`, whatever the HTTP status; 190 and 102 are an expired or revoked token.
 */
export const GRAPH_DIALECT: ErrorDialect = {
  classify({ status, headers, answer, message, createsPost }: FailedAnswer) {
    const error = answer?.error as { code?: unknown; error_subcode?: unknown } | undefined;
    const code = Number(error?.code);
    const subcode = Number(error?.error_subcode);
    if (code === 190 || code === 102) {
      return new PlatformError('reconnect_required', message, { status });
    }
    if (RATE_LIMIT_CODES.has(code)) {
      return new PlatformError('rate_limited', message, {
        status,
        retryAfterMs: regainAccessMs(headers) ?? retryAfterMs(headers.get('retry-after')),
      });
    }
    if (MEDIA_CODES.has(code) || MEDIA_SUBCODES.has(subcode)) {
      return new PlatformError('media_unreachable', message, { status });
    }
    if (status < 500 && Number.isFinite(code) && error) {
      // Graph's "temporary" codes (1 unknown, 2 service) sometimes come with a 400.
      if (code === 1 || code === 2) {
        return new PlatformError('transient', message, {
          status,
          mayHaveBeenAccepted: createsPost,
        });
      }
      return new PlatformError('platform_rejected', message, { status });
    }
    return undefined;
  },
};

/** Graph's business-use-case header says, in minutes, when a throttled app regains access. */
function regainAccessMs(headers: Headers): number | undefined {
  const header = headers.get('x-business-use-case-usage');
  if (!header) return undefined;
  try {
    const usage = JSON.parse(header) as Record<
      string,
      { estimated_time_to_regain_access?: number }[]
    >;
    const minutes = Object.values(usage)
      .flat()
      .map((entry) => Number(entry.estimated_time_to_regain_access))
      .filter((value) => Number.isFinite(value) && value > 0);
    return minutes.length ? Math.max(...minutes) * 60_000 : undefined;
  } catch {
    return undefined;
  }
}
