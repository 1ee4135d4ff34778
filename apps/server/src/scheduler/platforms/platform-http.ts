import {
  abortKind,
  nestedErrorMessage,
  type OutboundRequest,
  parseJson,
  type ReasonShape,
  reasonFrom,
  retryAfterMs,
  sendRequest,
  textField,
  transportFailure,
} from '../../outbound/outbound-http.js';
import {
  type Checkpoint,
  PlatformError,
  type PlatformName,
  type PublishRequest,
  type RefreshedTokens,
} from './platform.js';

/**
 * How one platform words its failures (codes, rate limits, token expiry). Each platform file
 * holds its own; what HTTP itself says (401, 429, 5xx...) is read here for all of them.
 */
export interface ErrorDialect {
  /** The error code a 2xx answer carries in its body (TikTok), else undefined. */
  errorIn2xx?(answer: Record<string, unknown> | undefined): string | undefined;
  /** The platform's reading of a failed answer, ahead of its HTTP status; undefined defers to it. */
  classify?(failure: FailedAnswer): PlatformError | undefined;
  /** The wait a 429 asks for; by default the Retry-After header. */
  rateLimitWaitMs?(headers: Headers): number | undefined;
}

/** A failed answer as a dialect sees it, with the message every PlatformError of it carries. */
export interface FailedAnswer {
  status: number;
  headers: Headers;
  answer: Record<string, unknown> | undefined;
  message: string;
  /** The call creates the post: a 5xx or a time-out may mean it exists. */
  createsPost: boolean;
}

/** A request to a platform (see OutboundRequest) and how to read its failures. */
export interface PlatformCall extends OutboundRequest {
  platform: PlatformName;
  dialect: ErrorDialect;
  /** Names the step in error messages ("container creation"); never the URL (it may hold a token). */
  what: string;
  /**
   * This call creates the post: once it was sent, a lost answer, a time-out or a 5xx means the
   * post may exist, so the error says `mayHaveBeenAccepted` and the caller must reconcile.
   */
  createsPost?: boolean;
  /** An OAuth token call: a 400 (invalid_grant, revoked refresh token) means reconnect. */
  oauth?: boolean;
}

export interface PlatformResponse {
  status: number;
  headers: Headers;
  /** The JSON object answered, or {} for an empty body (LinkedIn's 201s, upload PUTs). */
  body: Record<string, unknown>;
  /** The answer as sent, for values JSON numbers cannot hold (TikTok's 64-bit ids). */
  text: string;
}

/**
 * Where the platforms put the reason of a failure, tried in this order for all of them (an
 * answer from a proxy or a fake may borrow another platform's shape): OAuth `{error,
 * error_description}`, Graph and TikTok `{error: {message}}`, TikTok `{error: {code}}`, X
 * `{detail}` / `{errors: [{message}]}`, LinkedIn `{message}`, X `{title}`, a bare `{error}`.
 */
const PLATFORM_REASONS: readonly ReasonShape[] = [
  (answer) =>
    typeof answer.error_description === 'string' && answer.error_description
      ? `${String(answer.error)}: ${answer.error_description}`
      : undefined,
  nestedErrorMessage(),
  (answer) => {
    const error = answer.error as { code?: unknown } | null | undefined;
    return error && typeof error === 'object' && typeof error.code === 'string'
      ? error.code
      : undefined;
  },
  textField('detail'),
  (answer) => {
    const errors = answer.errors as { message?: unknown }[] | undefined;
    return Array.isArray(errors) && typeof errors[0]?.message === 'string'
      ? errors.map((item) => String(item.message)).join('; ')
      : undefined;
  },
  textField('message'),
  textField('title'),
  textField('error'),
];

/**
 * Sends one request to a platform (node:http with keep-alive agents, see outbound-http.ts) and
 * maps every failure to one PlatformError, so the worker's policy depends only on the code.
 */
export async function platformRequest(call: PlatformCall): Promise<PlatformResponse> {
  const label = `${call.platform} ${call.what}`;
  let response: Awaited<ReturnType<typeof sendRequest>>;
  try {
    response = await sendRequest(call);
  } catch (error) {
    throw unreachable(label, error, call);
  }
  const { text } = response;

  const parsed = parseJson(text);
  const answer =
    parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  const errorIn2xx = call.dialect.errorIn2xx?.(answer);
  if (response.status >= 200 && response.status <= 299 && !errorIn2xx) {
    if (answer === undefined && text.trim() !== '') {
      throw malformed(call, `${label} answered ${response.status} with a body that is not JSON`);
    }
    return { status: response.status, headers: response.headers, body: answer ?? {}, text };
  }
  throw classify(call, label, response.status, response.headers, answer, text);
}

/** A 2xx answer without what it should hold; after a creating call the post probably exists. */
export function malformed(call: Pick<PlatformCall, 'createsPost'>, message: string): PlatformError {
  return new PlatformError('transient', message, {
    mayHaveBeenAccepted: call.createsPost === true,
  });
}

/** The string at `value`, or a PlatformError naming what was missing. */
export function requireString(
  value: unknown,
  call: Pick<PlatformCall, 'platform' | 'what' | 'createsPost'>,
  expected: string,
): string {
  if (typeof value === 'string' && value) return value;
  if (typeof value === 'number') return String(value);
  throw malformed(call, `${call.platform} ${call.what} answered without ${expected}`);
}

function classify(
  call: PlatformCall,
  label: string,
  status: number,
  headers: Headers,
  answer: Record<string, unknown> | undefined,
  text: string,
): PlatformError {
  const reason = reasonFrom(answer, text, PLATFORM_REASONS) || `HTTP ${status}`;
  const message = `${label} failed (${status}): ${reason}`;
  const lost = call.createsPost === true;

  if (call.oauth && status >= 400 && status < 500 && status !== 429) {
    return new PlatformError('reconnect_required', message, { status });
  }
  const own = call.dialect.classify?.({ status, headers, answer, message, createsPost: lost });
  if (own) return own;

  if (status === 401) return new PlatformError('reconnect_required', message, { status });
  if (status === 429) {
    const wait = call.dialect.rateLimitWaitMs
      ? call.dialect.rateLimitWaitMs(headers)
      : retryAfterMs(headers.get('retry-after'));
    return new PlatformError('rate_limited', message, { status, retryAfterMs: wait });
  }
  if (status === 408 || status === 504) {
    return new PlatformError('timeout', message, { status, mayHaveBeenAccepted: lost });
  }
  if (status >= 500)
    return new PlatformError('transient', message, { status, mayHaveBeenAccepted: lost });
  return new PlatformError('platform_rejected', message, { status });
}

/**
 * Network failures and time limits. A refused connection never reached the platform; anything
 * else after a creating call was sent (reset, socket closed, time-out) may have been accepted.
 */
function unreachable(label: string, error: unknown, call: PlatformCall): PlatformError {
  const failure = transportFailure(error, call.signal);
  const mayHaveBeenAccepted = call.createsPost === true && !failure.neverSent;
  if (failure.kind === 'timeout') {
    return new PlatformError('timeout', `${label} did not answer within the time limit`, {
      mayHaveBeenAccepted,
    });
  }
  if (failure.kind === 'aborted') {
    return new PlatformError('transient', `${label} was aborted`, { mayHaveBeenAccepted });
  }
  return new PlatformError('transient', `${label}: connection failed (${failure.detail})`, {
    mayHaveBeenAccepted,
  });
}

/** Waits `ms`, or rejects as the signal's abort would (timeout or transient). */
export function sleep(ms: number, signal: AbortSignal, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = () => {
      clearTimeout(timer);
      const timedOut = abortKind(signal) === 'timeout';
      reject(
        new PlatformError(
          timedOut ? 'timeout' : 'transient',
          `${label} ${timedOut ? 'ran out of time' : 'was aborted'} while waiting`,
        ),
      );
    };
    if (signal.aborted) return fail();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', fail);
      resolve();
    }, ms);
    signal.addEventListener('abort', fail, { once: true });
  });
}

/**
 * An earlier attempt sent the creating call (its checkpoint says when) and nobody reconciled:
 * publishing again could post twice, so refuse and send the caller to reconcile().
 */
export function refuseIfSent(platform: PlatformName, checkpoint: Checkpoint, key: string): void {
  if (checkpoint[key]) {
    throw new PlatformError(
      'transient',
      `${platform}: an earlier attempt already sent the post at ${checkpoint[key]}; reconcile it instead of publishing again`,
      { mayHaveBeenAccepted: true },
    );
  }
}

/**
 * Records `key` (the moment of sending) before the call that creates the post, and clears it
 * again when the call failed in a way that proves nothing was created (a 4xx, a refused
 * connection), so a later attempt may simply publish. When the platform answered with a 5xx,
 * `answeredKey(key)` records it: the call is over on the platform's side (unlike a lost answer
 * or a time-out), so a reconcile that does not find the post may say it was not published.
 */
export async function sendCreating<T>(
  request: Pick<PublishRequest, 'record'>,
  key: string,
  send: () => Promise<T>,
): Promise<T> {
  await request.record({ [key]: new Date().toISOString() });
  try {
    return await send();
  } catch (error) {
    if (error instanceof PlatformError && error.options.mayHaveBeenAccepted !== true) {
      await request.record({ [key]: '' });
    } else if (answeredWithError(error)) {
      await request.record({ [answeredKey(key)]: `HTTP ${error.options.status}` });
    }
    throw error;
  }
}

/** The checkpoint key saying the creating call recorded under `key` was answered with a 5xx. */
export function answeredKey(key: string): string {
  return `${key}Answer`;
}

/** A 5xx the platform sent (not a time-out, a gateway's 504 or a lost answer). */
function answeredWithError(
  error: unknown,
): error is PlatformError & { options: { status: number } } {
  return (
    error instanceof PlatformError &&
    error.code === 'transient' &&
    typeof error.options.status === 'number' &&
    error.options.status >= 500
  );
}

/** Allowed clock difference between our record of the send and the platform's creation time. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** True when `created` (the platform's time) is not older than the recorded send, give or take skew. */
export function createdAfter(created: unknown, sentAt: string | undefined): boolean {
  if (!sentAt) return true;
  const time = typeof created === 'number' ? created : Date.parse(String(created));
  const sent = Date.parse(sentAt);
  if (Number.isNaN(time) || Number.isNaN(sent)) return false;
  return time >= sent - CLOCK_SKEW_MS;
}

/**
 * Reconciliation by content: in a listing of the account's recent posts, the first one whose
 * text is `wanted` (both through `normalize`) and that was created no earlier than the recorded
 * send. The platforms differ only in field names, hence `read`.
 */
export function findSentPost<T extends { id?: string }>(
  listing: unknown,
  wanted: string,
  sentAt: string | undefined,
  read: (item: T) => { text: string | undefined; created: unknown },
  normalize: (text: string) => string = normalizeText,
): (T & { id: string }) | undefined {
  const target = normalize(wanted);
  return (Array.isArray(listing) ? (listing as T[]) : []).find(
    (item): item is T & { id: string } => {
      if (typeof item.id !== 'string') return false;
      const { text, created } = read(item);
      return normalize(text ?? '') === target && createdAfter(created, sentAt);
    },
  );
}

/** Text as platforms give it back: HTML entities decoded, whitespace runs collapsed. */
export function normalizeText(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Numbers Meta/X/... send, possibly missing: missing is 0. */
export function count(value: unknown): number {
  const number = Number(value);
  return Number.isFinite(number) && number > 0 ? number : 0;
}

/** An OAuth 2 token answer (X, LinkedIn, TikTok all use these names). */
export function readTokens(
  body: Record<string, unknown>,
  call: Pick<PlatformCall, 'platform' | 'what'>,
  previousRefresh: string | null,
  now = Date.now(),
): RefreshedTokens {
  const accessToken = requireString(body.access_token, call, 'access_token');
  const refreshToken =
    typeof body.refresh_token === 'string' && body.refresh_token
      ? body.refresh_token
      : previousRefresh;
  const seconds = Number(body.expires_in);
  return {
    accessToken,
    refreshToken,
    expiresAt: Number.isFinite(seconds) && seconds > 0 ? new Date(now + seconds * 1000) : null,
  };
}
