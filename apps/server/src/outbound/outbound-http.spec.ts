import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  excerpt,
  MESSAGE_LIMIT,
  nestedErrorMessage,
  parseJson,
  reasonFrom,
  retryAfterMs,
  sendRequest,
  textField,
  transportFailure,
} from './outbound-http.js';

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('reads delay-seconds, spaces around them allowed', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 5 ', now)).toBe(5_000);
    expect(retryAfterMs('0', now)).toBe(0);
  });

  it('reads an HTTP date as the time left until it, never negative', () => {
    expect(retryAfterMs('Mon, 07 Dec 2026 12:01:30 GMT', now)).toBe(90_000);
    expect(retryAfterMs('Mon, 07 Dec 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores a missing or unreadable header', () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});

describe('excerpt and parseJson', () => {
  it('collapses whitespace and keeps short texts whole', () => {
    expect(excerpt('  quota\n\n exceeded\t ')).toBe('quota exceeded');
    const exact = 'a'.repeat(MESSAGE_LIMIT);
    expect(excerpt(exact)).toBe(exact);
  });

  it('cuts a long text to the limit, an ellipsis included', () => {
    const cut = excerpt('b'.repeat(MESSAGE_LIMIT + 100));
    expect(cut).toHaveLength(MESSAGE_LIMIT);
    expect(cut.endsWith('…')).toBe(true);
  });

  it('gives undefined for an empty or non-JSON body', () => {
    expect(parseJson('')).toBeUndefined();
    expect(parseJson('  ')).toBeUndefined();
    expect(parseJson('<html>Bad Gateway</html>')).toBeUndefined();
    expect(parseJson('{"a":1}')).toEqual({ a: 1 });
  });
});

describe('reasonFrom', () => {
  const shapes = [nestedErrorMessage(), textField('detail'), textField('message')];

  it('reads the first shape the answer has, in the order given', () => {
    const answer = { error: { message: 'Invalid token' }, message: 'other' };
    expect(reasonFrom(answer, '', shapes)).toBe('Invalid token');
    expect(reasonFrom({ detail: 'Not Found', message: 'other' }, '', shapes)).toBe('Not Found');
    expect(reasonFrom({ message: 'Throttled' }, '', shapes)).toBe('Throttled');
  });

  it('skips empty fields unless the shape takes them', () => {
    const answer = { error: { message: '' }, message: 'fallback' };
    expect(reasonFrom(answer, '', shapes)).toBe('fallback');
    expect(reasonFrom(answer, 'raw', [nestedErrorMessage(true), textField('message')])).toBe('');
  });

  it('falls back to the raw text, excerpted, for unknown shapes and non-objects', () => {
    expect(reasonFrom({ status: 500 }, ' {"status": 500} ', shapes)).toBe('{"status": 500}');
    expect(reasonFrom(undefined, 'Bad\n Gateway', shapes)).toBe('Bad Gateway');
    expect(reasonFrom('text', 'x'.repeat(900), shapes)).toHaveLength(MESSAGE_LIMIT);
  });

  it('excerpts the reason a shape found', () => {
    const reason = reasonFrom({ detail: 'd'.repeat(900) }, '', shapes);
    expect(reason).toHaveLength(MESSAGE_LIMIT);
  });
});

describe('sendRequest over a loopback server', () => {
  const seen: { method?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({
          method: request.method,
          headers: request.headers,
          body: Buffer.concat(chunks).toString(),
        });
        if (request.url === '/echo') {
          response.writeHead(201, { 'Content-Type': 'application/json', 'X-Id': 'urn:1' });
          response.end('{"ok":true}');
        } else if (request.url === '/reset') {
          request.socket.destroy();
        } else if (request.url === '/stall-body') {
          // Headers and half an answer, then nothing: only the signal ends the wait.
          response.writeHead(200, { 'Content-Type': 'application/json' });
          response.write('{"half":');
        }
        // '/silent': never answers.
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends a JSON body with its type and length and returns status, headers and text', async () => {
    const answer = await sendRequest({
      method: 'POST',
      url: `${base}/echo`,
      json: { text: 'héllo' },
      signal: AbortSignal.timeout(2_000),
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-id')).toBe('urn:1');
    expect(answer.text).toBe('{"ok":true}');
    const request = seen.at(-1);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['content-length']).toBe(String(Buffer.byteLength('{"text":"héllo"}')));
    expect(request?.body).toBe('{"text":"héllo"}');
  });

  it('sends a form body url-encoded, and an empty POST with a length of 0', async () => {
    await sendRequest({
      method: 'POST',
      url: `${base}/echo`,
      form: { a: '1 2', b: 'é' },
      signal: AbortSignal.timeout(2_000),
    });
    expect(seen.at(-1)?.body).toBe('a=1+2&b=%C3%A9');
    await sendRequest({ method: 'POST', url: `${base}/echo`, signal: AbortSignal.timeout(2_000) });
    expect(seen.at(-1)?.headers['content-length']).toBe('0');
  });

  it('a server that never answers is a timeout', async () => {
    const signal = AbortSignal.timeout(100);
    const error = await sendRequest({ method: 'GET', url: `${base}/silent`, signal }).catch(
      (caught: unknown) => caught,
    );
    expect(transportFailure(error, signal)).toMatchObject({ kind: 'timeout', neverSent: false });
  });

  it('a server that stalls mid-answer is a timeout too', async () => {
    const signal = AbortSignal.timeout(100);
    const error = await sendRequest({ method: 'GET', url: `${base}/stall-body`, signal }).catch(
      (caught: unknown) => caught,
    );
    expect(transportFailure(error, signal).kind).toBe('timeout');
  });

  it('an abort that is not the time limit is told apart', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await sendRequest({
      method: 'GET',
      url: `${base}/silent`,
      signal: controller.signal,
    }).catch((caught: unknown) => caught);
    expect(transportFailure(error, controller.signal).kind).toBe('aborted');
  });

  it('a reset connection failed after sending: it may have arrived', async () => {
    const signal = AbortSignal.timeout(2_000);
    const error = await sendRequest({ method: 'POST', url: `${base}/reset`, signal }).catch(
      (caught: unknown) => caught,
    );
    expect(transportFailure(error, signal)).toEqual({
      kind: 'connection',
      detail: 'ECONNRESET',
      neverSent: false,
    });
  });

  it('a refused connection never sent anything, through node:http and fetch alike', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise((resolve) => closed.close(resolve));

    const signal = AbortSignal.timeout(2_000);
    const viaHttp = await sendRequest({ method: 'GET', url, signal }).catch(
      (caught: unknown) => caught,
    );
    const viaFetch = await fetch(url, { signal }).catch((caught: unknown) => caught);
    const refused = { kind: 'connection', detail: 'ECONNREFUSED', neverSent: true };
    expect(transportFailure(viaHttp, signal)).toEqual(refused);
    expect(transportFailure(viaFetch, signal)).toEqual(refused);
  });
});
