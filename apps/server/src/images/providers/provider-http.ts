import { type ImageRequest, ProviderError } from './image-provider.js';

/** Long enough to keep a provider's reason readable in error_message, short enough for a column. */
const MESSAGE_LIMIT = 500;

export interface ProviderCall<T> {
  /** Names the provider in every error message. */
  provider: string;
  url: string;
  headers?: Record<string, string>;
  body: unknown;
  signal: AbortSignal;
  /** Picks the expected field out of a 2xx answer; undefined means the answer is malformed. */
  read: (answer: Record<string, unknown>) => T | undefined;
  /** What `read` looks for, named in the error when it is missing. */
  expected: string;
  /** Recognises a provider's own way of refusing content, before the generic status mapping. */
  refusal?: (status: number, answer: unknown) => boolean;
}

/**
 * POSTs JSON to a provider and maps every failure to one ProviderError, the same way for all
 * providers, so the worker's retry policy depends only on `transient`.
 */
export async function postProviderJson<T>(call: ProviderCall<T>): Promise<T> {
  let status: number;
  let text: string;
  let retryAfter: string | null;
  try {
    const response = await fetch(call.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...call.headers },
      body: JSON.stringify(call.body),
      signal: call.signal,
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    // The body is read under the same signal: a provider that stalls mid-answer times out too.
    text = await response.text();
  } catch (error) {
    throw unreachable(call.provider, error, call.signal);
  }

  const answer = parseJson(text);
  if (status < 200 || status > 299) {
    const reason = errorMessage(answer, text) || `HTTP ${status}`;
    if (call.refusal?.(status, answer)) {
      throw new ProviderError(`${call.provider} refused the prompt: ${reason}`, false);
    }
    const transient = status === 408 || status === 429 || status >= 500;
    const retryAfterMs = status === 429 ? parseRetryAfter(retryAfter) : undefined;
    throw new ProviderError(
      `${call.provider} answered ${status}: ${reason}`,
      transient,
      retryAfterMs,
    );
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
    throw new ProviderError(
      `${call.provider} answered ${status} with a body that is not a JSON object: ${excerpt(text)}`,
      false,
    );
  }
  const value = call.read(answer as Record<string, unknown>);
  if (value === undefined) {
    throw new ProviderError(
      `${call.provider}'s answer has no ${call.expected}: ${excerpt(text)}`,
      false,
    );
  }
  return value;
}

/** Providers without a negative prompt get it in words; empty ones add nothing. */
export function promptWithNegative(request: ImageRequest): string {
  const negative = request.negativePrompt.trim();
  return negative ? `${request.prompt}, avoid: ${negative}` : request.prompt;
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Network failures and time limits are worth another try; the signal tells which it was. */
export function unreachable(what: string, error: unknown, signal: AbortSignal): ProviderError {
  if (signal.aborted) {
    const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError';
    return new ProviderError(
      timedOut ? `${what} did not answer within the time limit` : `${what} request was aborted`,
      true,
    );
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new ProviderError(`${what} could not be reached: ${detail}`, true);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The reason a provider gave, in the shapes they use: OpenAI and Blackbox `{error: {message}}`,
 * some proxies `{error: "..."}`, FastAPI (Automatic1111) `{detail}` as text or a list of
 * `{loc, msg}`, else `{message}`, else the raw text.
 */
function errorMessage(answer: unknown, text: string): string {
  if (answer && typeof answer === 'object') {
    const body = answer as {
      error?: unknown;
      detail?: unknown;
      message?: unknown;
      errors?: unknown;
    };
    const error = body.error as { message?: unknown } | string | undefined;
    // Automatic1111 sends the exception's class in `error` and its text in `errors`.
    if (typeof error === 'string' && error) {
      return excerpt(
        typeof body.errors === 'string' && body.errors ? `${error}: ${body.errors}` : error,
      );
    }
    if (error && typeof error === 'object' && typeof error.message === 'string') {
      return excerpt(error.message);
    }
    if (typeof body.detail === 'string' && body.detail) return excerpt(body.detail);
    if (Array.isArray(body.detail)) {
      const parts = body.detail.map((item: { loc?: unknown[]; msg?: unknown }) =>
        [item?.loc?.join('.'), item?.msg].filter(Boolean).join(': '),
      );
      return excerpt(parts.join('; '));
    }
    if (typeof body.message === 'string' && body.message) return excerpt(body.message);
  }
  return excerpt(text);
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MESSAGE_LIMIT ? `${flat.slice(0, MESSAGE_LIMIT - 1)}…` : flat;
}
