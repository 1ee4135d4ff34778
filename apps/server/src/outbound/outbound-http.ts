import http from 'node:http';
import https from 'node:https';

/**
 * What every call to a third party (social platforms, image providers, image downloads) shares:
 * the keep-alive transport, reading an answer's reason, Retry-After, and telling a time-out
 * from a refused connection. Each caller keeps only its own error type and policy.
 */

/** Long enough to keep a third party's reason readable in error_message, short enough for a column. */
export const MESSAGE_LIMIT = 500;

/** Connection failures that prove the request never reached the other side. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whitespace runs collapsed, cut at MESSAGE_LIMIT with an ellipsis. */
export function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MESSAGE_LIMIT ? `${flat.slice(0, MESSAGE_LIMIT - 1)}…` : flat;
}

/** The JSON value of `text`, or undefined when it is empty or not JSON. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * One way a third party words the reason of a failure: the reason (possibly empty, which ends
 * the search) when the answer has this shape, else undefined.
 */
export type ReasonShape = (answer: Record<string, unknown>) => string | undefined;

/**
 * The reason an error answer gives, read with the first of `shapes` that recognises it, else
 * the raw text; excerpted either way.
 */
export function reasonFrom(answer: unknown, text: string, shapes: readonly ReasonShape[]): string {
  if (answer && typeof answer === 'object') {
    for (const shape of shapes) {
      const reason = shape(answer as Record<string, unknown>);
      if (reason !== undefined) return excerpt(reason);
    }
  }
  return excerpt(text);
}

/** `{[name]: "..."}`, non-empty (X's `detail` and `title`, LinkedIn's and FastAPI's `message`). */
export function textField(name: string): ReasonShape {
  return (answer) => {
    const value = answer[name];
    return typeof value === 'string' && value ? value : undefined;
  };
}

/** `{error: {message}}` (Graph, TikTok, OpenAI, Blackbox); `allowEmpty` stops at an empty one. */
export function nestedErrorMessage(allowEmpty = false): ReasonShape {
  return (answer) => {
    const error = answer.error as { message?: unknown } | null | undefined;
    if (!error || typeof error !== 'object' || typeof error.message !== 'string') return undefined;
    return error.message || allowEmpty ? error.message : undefined;
  };
}

/** What went wrong when no answer came back. */
export interface TransportFailure {
  /** `timeout`: the signal's time limit; `aborted`: another abort; `connection`: the network. */
  kind: 'timeout' | 'aborted' | 'connection';
  /** The system error's code (ECONNRESET...) or, lacking one, its message. */
  detail: string;
  /** The connection was never made (refused, unknown host): the request cannot have arrived. */
  neverSent: boolean;
}

/** Reads a transport error under `signal` (works for node:http's errors and fetch's alike). */
export function transportFailure(error: unknown, signal: AbortSignal): TransportFailure {
  // node:http puts the system error's code on the error itself, fetch puts it on its cause (and
  // a DOMException's code is a number).
  const failure = error as {
    code?: unknown;
    message?: string;
    cause?: { code?: unknown; message?: string };
  };
  const code = [failure.code, failure.cause?.code].find(
    (value): value is string => typeof value === 'string',
  );
  const neverSent = code !== undefined && NOT_SENT.has(code);
  const detail = code ?? failure.cause?.message ?? String(failure.message);
  return { kind: signal.aborted ? abortKind(signal) : 'connection', detail, neverSent };
}

/** Why `signal` aborted: its AbortSignal.timeout() ran out, or someone aborted it. */
export function abortKind(signal: AbortSignal): 'timeout' | 'aborted' {
  return (signal.reason as Error | undefined)?.name === 'TimeoutError' ? 'timeout' : 'aborted';
}

/**
 * Outbound calls go through node:http(s) rather than fetch: a profile of the publishing worker
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

export interface OutboundRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  /** One of: a JSON body, a form-urlencoded body, or raw bytes / multipart. */
  json?: unknown;
  form?: Record<string, string>;
  body?: FormData | Buffer;
  signal: AbortSignal;
}

/** What came back, before it is read as JSON. */
export interface OutboundAnswer {
  status: number;
  headers: Headers;
  /** The body as sent, decoded as UTF-8. */
  text: string;
}

/**
 * One request and its whole answer over the keep-alive agents. Rejects with the system error
 * (`error.code`) or the abort: read it with transportFailure().
 */
export async function sendRequest(request: OutboundRequest): Promise<OutboundAnswer> {
  const { headers, body } = await encode(request);
  return exchange(request, headers, body);
}

/** The request's headers and body bytes, with the Content-Type and Content-Length they need. */
async function encode(
  request: OutboundRequest,
): Promise<{ headers: Record<string, string>; body?: Buffer }> {
  // The User-Agent fetch sent, so the other side sees the same requests as before.
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'User-Agent': 'node',
    ...request.headers,
  };
  let body: Buffer | undefined;
  if (request.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = Buffer.from(JSON.stringify(request.json));
  } else if (request.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = Buffer.from(new URLSearchParams(request.form).toString());
  } else if (Buffer.isBuffer(request.body)) {
    body = request.body;
  } else if (request.body) {
    // Multipart (X's media upload) is rare: let the WHATWG classes encode it and pick the boundary.
    const encoded = new Request('http://localhost/', { method: 'POST', body: request.body });
    body = Buffer.from(await encoded.arrayBuffer());
    headers['Content-Type'] ??= encoded.headers.get('content-type') ?? '';
  }
  // As fetch: a POST or PUT without a body says so with a length of 0.
  if (body || request.method !== 'GET') headers['Content-Length'] = String(body?.length ?? 0);
  return { headers, body };
}

/**
 * Connecting, sending, the headers and the body, all under `request.signal`, so a server that
 * stalls mid-answer times out too. Redirects are not followed. No Accept-Encoding is sent, so
 * answers come uncompressed.
 */
function exchange(
  request: OutboundRequest,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<OutboundAnswer> {
  return new Promise<OutboundAnswer>((resolve, reject) => {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const options = {
      method: request.method,
      headers,
      agent: secure ? httpsAgent : httpAgent,
      signal: request.signal,
    };
    const outgoing = (secure ? https : http).request(url, options, (response) => {
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
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
