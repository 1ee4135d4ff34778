import http from 'node:http';
import https from 'node:https';

import {
  type Checkpoint,
  PlatformError,
  type PlatformName,
  type PublishRequest,
  type RefreshedTokens,
} from './platform.js';

/** Long enough to keep a platform's reason readable in error_message, short enough for a column. */
const MESSAGE_LIMIT = 500;

/** How each platform words its errors. */
export type ErrorDialect = 'graph' | 'x' | 'linkedin' | 'tiktok';

export interface PlatformCall {
  platform: PlatformName;
  dialect: ErrorDialect;
  /** Names the step in error messages ("container creation"); never the URL (it may hold a token). */
  what: string;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  /** One of: a JSON body, a form-urlencoded body, or raw bytes / multipart. */
  json?: unknown;
  form?: Record<string, string>;
  body?: FormData | Buffer;
  signal: AbortSignal;
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

/** Graph error codes that mean "slow down" (app, user, page and custom-rate limits). */
const GRAPH_RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80001, 80002, 80004]);
/** Graph codes / subcodes for "Meta could not download the media from the URL given". */
const GRAPH_MEDIA_CODES = new Set([324, 9004]);
const GRAPH_MEDIA_SUBCODES = new Set([2207052, 2207003, 2207020, 2207026]);
/** Connection failures that prove the request never reached the platform. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Platform calls go through node:http(s) rather than fetch: a profile of the publishing worker
 * measured 0.42–0.70 ms of CPU per fetch (undici) against 0.11–0.19 ms for node:http with a
 * keep-alive agent, fetch being the worker's biggest single cost. The agents keep connections
 * open like fetch did; idle ones close after 4 s (fetch's default), or sooner when the server's
 * Keep-Alive hint says so, so that a request rarely meets a connection the server just closed.
 */
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000 };
const httpAgent = new http.Agent(AGENT_OPTIONS);
const httpsAgent = new https.Agent(AGENT_OPTIONS);
/** Decodes like fetch's `text()`: UTF-8, a leading byte order mark dropped. */
const utf8 = new TextDecoder();

/**
 * Sends one request to a platform and maps every failure to one PlatformError, the same way for
 * all platforms, so the worker's policy depends only on the code.
 */
export async function platformRequest(call: PlatformCall): Promise<PlatformResponse> {
  const label = `${call.platform} ${call.what}`;
  const { headers, body } = await encode(call);
  let response: Answer;
  try {
    response = await exchange(call, headers, body);
  } catch (error) {
    throw unreachable(label, error, call);
  }
  const { text } = response;

  const parsed = parseJson(text);
  const answer =
    parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  const tiktokError = call.dialect === 'tiktok' ? tiktokCode(answer) : undefined;
  if (response.status >= 200 && response.status <= 299 && !tiktokError) {
    if (answer === undefined && text.trim() !== '') {
      throw malformed(call, `${label} answered ${response.status} with a body that is not JSON`);
    }
    return { status: response.status, headers: response.headers, body: answer ?? {}, text };
  }
  throw classify(call, label, response.status, response.headers, answer, text);
}

/** What came back, before it is read as JSON. */
type Answer = Omit<PlatformResponse, 'body'>;

/** The request's headers and body bytes, with the Content-Type and Content-Length they need. */
async function encode(
  call: PlatformCall,
): Promise<{ headers: Record<string, string>; body?: Buffer }> {
  // The User-Agent fetch sent, so the platforms see the same requests as before.
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'User-Agent': 'node',
    ...call.headers,
  };
  let body: Buffer | undefined;
  if (call.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = Buffer.from(JSON.stringify(call.json));
  } else if (call.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = Buffer.from(new URLSearchParams(call.form).toString());
  } else if (Buffer.isBuffer(call.body)) {
    body = call.body;
  } else if (call.body) {
    // Multipart (X's media upload) is rare: let the WHATWG classes encode it and pick the boundary.
    const encoded = new Request('http://localhost/', { method: 'POST', body: call.body });
    body = Buffer.from(await encoded.arrayBuffer());
    headers['Content-Type'] ??= encoded.headers.get('content-type') ?? '';
  }
  // As fetch: a POST or PUT without a body says so with a length of 0.
  if (body || call.method !== 'GET') headers['Content-Length'] = String(body?.length ?? 0);
  return { headers, body };
}

/**
 * One request and its whole answer, all under `call.signal`: connecting, sending, the headers
 * and the body, so a platform that stalls mid-answer times out too. Rejects with the system
 * error (`error.code`) or the abort. Redirects are not followed (fetch did): the platform calls
 * made here are never answered with one. No Accept-Encoding is sent, so answers come
 * uncompressed (fetch asked for gzip and inflated it).
 */
function exchange(
  call: PlatformCall,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const url = new URL(call.url);
    const secure = url.protocol === 'https:';
    const options = {
      method: call.method,
      headers,
      agent: secure ? httpsAgent : httpAgent,
      signal: call.signal,
    };
    const request = (secure ? https : http).request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      // An abort or a lost connection mid-body destroys the response with an error.
      response.on('error', reject);
      response.on('end', () => {
        // Built as fetch does: repeated headers joined with ', '.
        const answerHeaders = new Headers();
        const raw = response.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) answerHeaders.append(raw[i], raw[i + 1]);
        resolve({
          status: response.statusCode ?? 0,
          headers: answerHeaders,
          text: utf8.decode(Buffer.concat(chunks)),
        });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
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
  const reason = errorMessage(answer, text) || `HTTP ${status}`;
  const message = `${label} failed (${status}): ${reason}`;
  const lost = call.createsPost === true;

  if (call.oauth && status >= 400 && status < 500 && status !== 429) {
    return new PlatformError('reconnect_required', message, { status });
  }

  if (call.dialect === 'graph') {
    const error = answer?.error as { code?: unknown; error_subcode?: unknown } | undefined;
    const code = Number(error?.code);
    const subcode = Number(error?.error_subcode);
    if (code === 190 || code === 102)
      return new PlatformError('reconnect_required', message, { status });
    if (GRAPH_RATE_LIMIT_CODES.has(code)) {
      return new PlatformError('rate_limited', message, {
        status,
        retryAfterMs: graphRegainAccessMs(headers) ?? retryAfterMs(headers),
      });
    }
    if (GRAPH_MEDIA_CODES.has(code) || GRAPH_MEDIA_SUBCODES.has(subcode)) {
      return new PlatformError('media_unreachable', message, { status });
    }
    if (status < 500 && Number.isFinite(code) && error) {
      // Graph's "temporary" codes (1 unknown, 2 service) sometimes come with a 400.
      if (code === 1 || code === 2) {
        return new PlatformError('transient', message, { status, mayHaveBeenAccepted: lost });
      }
      return new PlatformError('platform_rejected', message, { status });
    }
  }

  if (call.dialect === 'tiktok') {
    const code = tiktokCode(answer);
    if (code === 'access_token_invalid' || code === 'scope_not_authorized') {
      return new PlatformError('reconnect_required', message, { status });
    }
    if (code === 'rate_limit_exceeded') {
      // TikTok's limits are per one-minute window and it sends no reset header.
      return new PlatformError('rate_limited', message, {
        status,
        retryAfterMs: retryAfterMs(headers) ?? 60_000,
      });
    }
    if (code && status >= 200 && status < 500) {
      return new PlatformError('platform_rejected', message, { status });
    }
  }

  if (status === 401) return new PlatformError('reconnect_required', message, { status });
  if (status === 429) {
    let wait = retryAfterMs(headers);
    // LinkedIn documents daily limits that reset at midnight UTC and sends no header.
    if (wait === undefined && call.dialect === 'linkedin') wait = untilMidnightUtc();
    return new PlatformError('rate_limited', message, { status, retryAfterMs: wait });
  }
  if (status === 408 || status === 504) {
    return new PlatformError('timeout', message, { status, mayHaveBeenAccepted: lost });
  }
  if (status >= 500)
    return new PlatformError('transient', message, { status, mayHaveBeenAccepted: lost });
  return new PlatformError('platform_rejected', message, { status });
}

/** `x-rate-limit-reset` (X: epoch seconds) or `Retry-After` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const reset = headers.get('x-rate-limit-reset');
  if (reset && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset) * 1000 - now);
  const header = headers.get('retry-after');
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Graph's business-use-case header says, in minutes, when a throttled app regains access. */
function graphRegainAccessMs(headers: Headers): number | undefined {
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

function untilMidnightUtc(now = new Date()): number {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return midnight - now.getTime();
}

function tiktokCode(answer: Record<string, unknown> | undefined): string | undefined {
  const code = (answer?.error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code !== 'ok' ? code : undefined;
}

/**
 * Network failures and time limits. A refused connection never reached the platform; anything
 * else after a creating call was sent (reset, socket closed, time-out) may have been accepted.
 */
function unreachable(label: string, error: unknown, call: PlatformCall): PlatformError {
  // node:http puts the system error's code on the error itself, fetch put it on its cause (and
  // a DOMException's code is a number).
  const failure = error as { code?: unknown; message?: string; cause?: { code?: unknown } };
  const code = [failure.code, failure.cause?.code].find(
    (value): value is string => typeof value === 'string',
  );
  const neverSent = code !== undefined && NOT_SENT.has(code);
  const mayHaveBeenAccepted = call.createsPost === true && !neverSent;
  if (call.signal.aborted) {
    const timedOut = (call.signal.reason as Error | undefined)?.name === 'TimeoutError';
    return new PlatformError(
      timedOut ? 'timeout' : 'transient',
      timedOut ? `${label} did not answer within the time limit` : `${label} was aborted`,
      { mayHaveBeenAccepted },
    );
  }
  const detail = code ?? failure.message;
  return new PlatformError('transient', `${label}: connection failed (${detail})`, {
    mayHaveBeenAccepted,
  });
}

/**
 * The reason a platform gave: Graph and TikTok `{error: {message}}`, X `{detail}` / `{errors:
 * [{message}]}` / `{title}`, LinkedIn `{message}`, OAuth `{error, error_description}`.
 */
function errorMessage(answer: Record<string, unknown> | undefined, text: string): string {
  if (answer) {
    const error = answer.error as { message?: unknown; code?: unknown } | string | undefined;
    if (typeof answer.error_description === 'string' && answer.error_description) {
      return excerpt(`${String(answer.error)}: ${answer.error_description}`);
    }
    if (error && typeof error === 'object' && typeof error.message === 'string' && error.message) {
      return excerpt(error.message);
    }
    if (error && typeof error === 'object' && typeof error.code === 'string') {
      return excerpt(error.code);
    }
    if (typeof answer.detail === 'string' && answer.detail) return excerpt(answer.detail);
    const errors = answer.errors as { message?: unknown }[] | undefined;
    if (Array.isArray(errors) && typeof errors[0]?.message === 'string') {
      return excerpt(errors.map((item) => String(item.message)).join('; '));
    }
    if (typeof answer.message === 'string' && answer.message) return excerpt(answer.message);
    if (typeof answer.title === 'string' && answer.title) return excerpt(answer.title);
    if (typeof error === 'string' && error) return excerpt(error);
  }
  return excerpt(text);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MESSAGE_LIMIT ? `${flat.slice(0, MESSAGE_LIMIT - 1)}…` : flat;
}

/** Waits `ms`, or rejects as the signal's abort would (timeout or transient). */
export function sleep(ms: number, signal: AbortSignal, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = () => {
      clearTimeout(timer);
      const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError';
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
 * connection), so a later attempt may simply publish.
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
    }
    throw error;
  }
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
