import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got, with what the reference algorithm made of its signature. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  /** `webhook-id`, `webhook-timestamp` and each `v1,` signature of `webhook-signature`. */
  id: string;
  timestamp: number;
  signatures: string[];
  /** The body as sent, and parsed. */
  raw: string;
  body: { type: string; timestamp: string; data: Record<string, unknown> };
  /** The known secrets (see `secrets`) that standardwebhooks' `verify` accepted it with. */
  verifiedWith: string[];
}

/** How the receiver answers one request; by default 200 `ok`. */
export type ReceiverStep =
  | { kind: 'status'; status: number; body?: string }
  /** Answers nothing until the client gives up. */
  | { kind: 'hang' }
  /** Answers `status` (302 by default) to `to`. */
  | { kind: 'redirect'; to: string; status?: number }
  /** Answers `status`, then a body that never ends (it stops when the client hangs up). */
  | { kind: 'endless'; status: number };

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>`; every path is a receiving endpoint. */
  url: string;
  /** Every request that reached it, in order. */
  received: ReceivedWebhook[];
  /** Secrets signatures are checked with (a test sets them once it created the endpoint). */
  secrets: string[];
  /** Answers to play, one per request, before the default 200. */
  steps: ReceiverStep[];
  /** Bytes written of `endless` bodies, per request, when the client hung up. */
  endlessBytes: number[];
  close(): Promise<void>;
}

/**
 * A webhook receiver on loopback, as a customer would run one: it reads the raw body and checks
 * `webhook-signature` with the `standardwebhooks` package, the specification's reference code,
 * against every secret it was told; then answers as scripted.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: Omit<WebhookReceiver, 'url' | 'close'> = {
    received: [],
    secrets: [],
    steps: [],
    endlessBytes: [],
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      receiver.received.push(record(req.url ?? '/', req.headers, raw, receiver.secrets));
      void answer(receiver.steps.shift(), res, receiver.endlessBytes);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  });
}

function record(
  path: string,
  headers: IncomingHttpHeaders,
  raw: string,
  secrets: string[],
): ReceivedWebhook {
  const header = (name: string) => String(headers[name] ?? '');
  const verifiedWith = secrets.filter((secret) => {
    try {
      new Webhook(secret).verify(raw, {
        'webhook-id': header('webhook-id'),
        'webhook-timestamp': header('webhook-timestamp'),
        'webhook-signature': header('webhook-signature'),
      });
      return true;
    } catch {
      return false;
    }
  });
  let body: ReceivedWebhook['body'];
  try {
    body = JSON.parse(raw) as ReceivedWebhook['body'];
  } catch {
    body = { type: '', timestamp: '', data: {} };
  }
  return {
    path,
    headers,
    id: header('webhook-id'),
    timestamp: Number(header('webhook-timestamp')),
    signatures: header('webhook-signature').split(' ').filter(Boolean),
    raw,
    body,
    verifiedWith,
  };
}

async function answer(
  step: ReceiverStep | undefined,
  res: ServerResponse,
  endlessBytes: number[],
): Promise<void> {
  if (!step) {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
  } else if (step.kind === 'status') {
    res.writeHead(step.status, { 'Content-Type': 'text/plain' }).end(step.body ?? '');
  } else if (step.kind === 'redirect') {
    res.writeHead(step.status ?? 302, { Location: step.to }).end();
  } else if (step.kind === 'endless') {
    res.writeHead(step.status, { 'Content-Type': 'text/plain' });
    const closed = new Promise<void>((resolve) => res.once('close', resolve));
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let written = 0;
    // Ten times the read limit would be written without back-pressure; the client must hang up.
    while (!res.destroyed && written < 64 * 1024 * 1024) {
      written += chunk.length;
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), closed]);
    }
    endlessBytes.push(written);
    if (!res.destroyed) res.end();
  }
  // `hang`: nothing, until the client gives up and the socket closes.
}
