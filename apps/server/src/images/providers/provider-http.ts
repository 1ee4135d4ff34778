import {
  excerpt,
  nestedErrorMessage,
  parseJson,
  type ReasonShape,
  reasonFrom,
  retryAfterMs,
  textField,
  transportFailure,
} from '../../outbound/outbound-http.js';
import { type ImageRequest, ProviderError } from './image-provider.js';

/**
 * Where the providers put the reason of a failure: Automatic1111 the exception's class in
 * `{error}` and its text in `{errors}`, OpenAI and Blackbox `{error: {message}}`, FastAPI
 * (Automatic1111) `{detail}` as text or a list of `{loc, msg}`, else `{message}`.
 */
const PROVIDER_REASONS: readonly ReasonShape[] = [
  ({ error, errors }) =>
    typeof error === 'string' && error
      ? typeof errors === 'string' && errors
        ? `${error}: ${errors}`
        : error
      : undefined,
  nestedErrorMessage(true),
  textField('detail'),
  ({ detail }) =>
    Array.isArray(detail)
      ? detail
          .map((item: { loc?: unknown[]; msg?: unknown }) =>
            [item?.loc?.join('.'), item?.msg].filter(Boolean).join(': '),
          )
          .join('; ')
      : undefined,
  textField('message'),
];

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
    const reason = reasonFrom(answer, text, PROVIDER_REASONS) || `HTTP ${status}`;
    if (call.refusal?.(status, answer)) {
      throw new ProviderError(`${call.provider} refused the prompt: ${reason}`, false);
    }
    const transient = status === 408 || status === 429 || status >= 500;
    throw new ProviderError(
      `${call.provider} answered ${status}: ${reason}`,
      transient,
      status === 429 ? retryAfterMs(retryAfter) : undefined,
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

/** Network failures and time limits are worth another try; the signal tells which it was. */
export function unreachable(what: string, error: unknown, signal: AbortSignal): ProviderError {
  const failure = transportFailure(error, signal);
  if (failure.kind === 'timeout') {
    return new ProviderError(`${what} did not answer within the time limit`, true);
  }
  if (failure.kind === 'aborted') return new ProviderError(`${what} request was aborted`, true);
  return new ProviderError(`${what} could not be reached: ${failure.detail}`, true);
}
