import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { excerpt, transportFailure } from '../outbound/outbound-http.js';
import type { WebhookTarget } from './webhook-target.js';

/** api.md: a 2xx within 10 s is success. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** api.md: at most 64 KB of a receiver's answer is read; the connection is dropped past it. */
export const ANSWER_READ_LIMIT = 64 * 1024;

/** How one attempt went: the receiver's status, or why there was none. */
export type AttemptResult =
  { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

/**
 * Receivers are many and mostly keep connections open: keep-alive agents of their own, apart
 * from the platforms' (a slow receiver must not take their sockets). A pooled socket stays
 * connected to the address that was checked when it was opened.
 */
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000 };
const httpAgent = new http.Agent(AGENT_OPTIONS);
const httpsAgent = new https.Agent(AGENT_OPTIONS);

/**
 * POSTs `body` to the checked target, connecting to its checked address whatever DNS says now
 * (the host name still goes in Host and, over TLS, in SNI and the certificate check). Redirects
 * are not followed: a 3xx is a failure. At most ANSWER_READ_LIMIT bytes of the answer are read,
 * all of it within DELIVERY_TIMEOUT_MS. Never throws.
 */
export function sendWebhook(
  target: WebhookTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs = DELIVERY_TIMEOUT_MS,
): Promise<AttemptResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    else callback(null, target.address, target.family);
  };
  const bytes = Buffer.from(body);
  const secure = target.url.protocol === 'https:';
  return new Promise<AttemptResult>((resolve) => {
    const request = (secure ? https : http).request(
      target.url,
      {
        method: 'POST',
        agent: secure ? httpsAgent : httpAgent,
        lookup: pinned,
        signal,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': String(bytes.length),
          'User-Agent': 'ImageAutomation-Webhooks/1',
          ...headers,
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let read = 0;
        let settled = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          resolve(judge(status, Buffer.concat(chunks).toString('utf8'), response.headers));
        };
        response.on('data', (chunk: Buffer) => {
          const room = ANSWER_READ_LIMIT - read;
          chunks.push(room < chunk.length ? chunk.subarray(0, room) : chunk);
          read += Math.min(room, chunk.length);
          if (read >= ANSWER_READ_LIMIT) {
            // Enough read: the rest is not ours to wait for (the socket is not reused).
            settle();
            response.destroy();
          }
        });
        response.on('end', settle);
        response.on('error', (error) => {
          if (settled) return;
          settled = true;
          resolve(failure(error, signal, status));
        });
      },
    );
    request.on('error', (error) => resolve(failure(error, signal, null)));
    request.end(bytes);
  });
}

function judge(status: number, text: string, headers: http.IncomingHttpHeaders): AttemptResult {
  if (status >= 200 && status < 300) return { ok: true, statusCode: status };
  if (status >= 300 && status < 400) {
    const location = headers.location ? ` to ${headers.location}` : '';
    return {
      ok: false,
      statusCode: status,
      error: excerpt(`HTTP ${status}: redirect${location} not followed`),
    };
  }
  return { ok: false, statusCode: status, error: excerpt(`HTTP ${status}: ${text}`) };
}

function failure(error: unknown, signal: AbortSignal, status: number | null): AttemptResult {
  const { kind, detail } = transportFailure(error, signal);
  const reason =
    kind === 'timeout'
      ? `timeout: no complete answer within ${DELIVERY_TIMEOUT_MS / 1000} s`
      : `${kind}: ${detail}`;
  return { ok: false, statusCode: status, error: excerpt(reason) };
}
