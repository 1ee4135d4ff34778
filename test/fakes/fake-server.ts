import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { overPixelLimitPng } from '../support/images.js';

/** One request a fake received, kept for assertions. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON when the body was JSON, else the text ('' when there was none). */
  body: unknown;
  /** The body's bytes as received (multipart uploads, binary PUTs). */
  raw?: Buffer;
}

export interface FakeServer {
  /** `http://127.0.0.1:<port>`, no trailing slash, like a configured API URL. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Answers one API request; files under /files/ are served by the helper itself. */
export type FakeRoute = (request: RecordedRequest, response: ServerResponse) => Promise<void>;

/** Steps every fake understands; each fake adds its own. */
export type CommonStep =
  | { kind: 'fail'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'delay'; ms: number };

/** The picture the fakes' answers point at: small, real, made once. */
export const FAKE_IMAGE_PATH = '/files/image.png';
/** Bytes served as image/png that are not one. */
export const NOT_AN_IMAGE_PATH = '/files/not-an-image';
/** An image/png of HUGE_BYTES, chunked without Content-Length, for download limits. */
export const HUGE_PATH = '/files/huge';
export const HUGE_BYTES = 8 * 1024 * 1024;
/** A 48-megapixel PNG of about 150 KB: over IMAGE_MAX_PIXELS, far under any byte limit. */
export const OVER_PIXEL_LIMIT_PATH = '/files/over-pixel-limit.png';
/** `/files/redirect?to=<url>&status=302` answers that redirect (302 unless `status` says). */
export const REDIRECT_PATH = '/files/redirect';
/** `/files/status/503` answers 503, for the download's status mapping. */
export const STATUS_PATH = '/files/status/';

let fakeImage: Promise<Buffer> | undefined;
export function fakeImagePng(): Promise<Buffer> {
  fakeImage ??= sharp({
    create: { width: 64, height: 48, channels: 3, background: { r: 30, g: 140, b: 90 } },
  })
    .png()
    .toBuffer();
  return fakeImage;
}

/** A PNG of one colour at any size: what the base64-answering fakes send back. */
export function solidPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 90, g: 60, b: 200 } } })
    .png()
    .toBuffer();
}

/** Starts a loopback server on a free port that records every request before `route` answers. */
export async function startFakeServer(route: FakeRoute): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: Error) => {
      if (!res.headersSent)
        sendJson(res, 500, { error: { message: `fake broke: ${error.message}` } });
      else res.destroy();
    });
  });
  async function handle(req: http.IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const text = raw.toString('utf8');
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: parseJson(text),
      raw,
    };
    requests.push(recorded);
    if (recorded.path.startsWith('/files/')) return serveFile(recorded.path, res);
    return route(recorded, res);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive connections and stalled answers would otherwise hold close() open.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The request's body (events rather than an async iterator: half the cost, per profile). */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Plays a common step: `fail` answers and returns true (done); `delay` waits, then lets the
 * normal answer follow (false), unless the client gave up meanwhile (true).
 */
export async function playCommonStep(step: CommonStep, res: ServerResponse): Promise<boolean> {
  if (step.kind === 'fail') {
    sendJson(res, step.status, step.body, step.headers);
    return true;
  }
  const gone = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), step.ms);
    res.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  return gone || res.destroyed;
}

async function serveFile(path: string, res: ServerResponse): Promise<void> {
  if (path === FAKE_IMAGE_PATH) {
    const png = await fakeImagePng();
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length });
    res.end(png);
  } else if (path === NOT_AN_IMAGE_PATH) {
    res.writeHead(200, { 'Content-Type': 'image/png' });
    res.end('<html><body>Sorry, this image has expired.</body></html>');
  } else if (path === OVER_PIXEL_LIMIT_PATH) {
    const png = await overPixelLimitPng();
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length });
    res.end(png);
  } else if (path === HUGE_PATH) {
    await streamHuge(res);
  } else if (path.startsWith(`${REDIRECT_PATH}?`)) {
    const query = new URL(path, 'http://fake').searchParams;
    res.writeHead(Number(query.get('status') ?? 302), { Location: query.get('to') ?? '/' });
    res.end();
  } else if (path.startsWith(STATUS_PATH)) {
    sendJson(res, Number(path.slice(STATUS_PATH.length)) || 500, 'as you asked');
  } else {
    sendJson(res, 404, 'no such file');
  }
}

/** Writes with back-pressure and stops as soon as the client hangs up, as a CDN would. */
async function streamHuge(res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'image/png' });
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  const chunk = Buffer.alloc(64 * 1024, 0x89);
  for (let sent = 0; sent < HUGE_BYTES && !res.destroyed; sent += chunk.length) {
    if (!res.write(chunk)) await Promise.race([once(res, 'drain'), closed]);
  }
  if (!res.destroyed) res.end();
}

function parseJson(text: string): unknown {
  if (text === '') return '';
  // Form and multipart bodies are kept as text without the cost of a failed parse.
  if (text[0] !== '{' && text[0] !== '[') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** "Answer lost after accepting": the work is done, then the socket dies without an answer. */
export function loseAnswer(res: ServerResponse): void {
  res.socket?.destroy();
}

/** Connections the fakes reuse to download images, as a platform's fetchers keep theirs open. */
const downloadAgent = new http.Agent({ keepAlive: true });

/**
 * Downloads what a platform was asked to fetch (Meta, TikTok pull the image from our URL):
 * ok only for a 200 whose bytes are a whole image. Through `node:http` with a keep-alive agent
 * and a check of the bytes rather than a decode: the publishing benchmark runs this a thousand
 * times in a burst on the app's own CPUs, where `fetch` and a sharp decode each cost about 1 ms.
 */
export function fetchImageLikeAPlatform(
  url: string,
): Promise<{ ok: true; bytes: Buffer } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: downloadAgent, timeout: 5000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => resolve({ ok: false, reason: error.message }));
      response.on('end', () => {
        if (response.statusCode !== 200) {
          resolve({ ok: false, reason: `HTTP ${response.statusCode}` });
          return;
        }
        const bytes = Buffer.concat(chunks);
        resolve(isWholeImage(bytes) ? { ok: true, bytes } : { ok: false, reason: 'not an image' });
      });
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => resolve({ ok: false, reason: error.message }));
  });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_END = Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/**
 * A JPEG from its start-of-image to its end-of-image marker, a PNG from its signature to its IEND
 * chunk, or a WebP whose RIFF size is the file's: what a platform's decoder needs, truncations
 * and HTML error pages refused.
 */
export function isWholeImage(bytes: Buffer): boolean {
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
  }
  if (bytes.length >= 20 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    return bytes.subarray(bytes.length - 8).equals(PNG_END);
  }
  if (
    bytes.length >= 16 &&
    bytes.toString('latin1', 0, 4) === 'RIFF' &&
    bytes.toString('latin1', 8, 12) === 'WEBP'
  ) {
    return bytes.readUInt32LE(4) + 8 === bytes.length;
  }
  return false;
}

/** Steps queued per endpoint name, played one per call; and calls counted per endpoint. */
export class EndpointScript<Step> {
  private readonly steps = new Map<string, Step[]>();
  readonly calls: Record<string, number> = {};

  push(endpoint: string, step: Step): void {
    const queue = this.steps.get(endpoint) ?? [];
    queue.push(step);
    this.steps.set(endpoint, queue);
  }

  /** Counts the call and returns the next step scripted for it, if any. */
  next(endpoint: string): Step | undefined {
    this.calls[endpoint] = (this.calls[endpoint] ?? 0) + 1;
    return this.steps.get(endpoint)?.shift();
  }

  reset(): void {
    this.steps.clear();
    for (const key of Object.keys(this.calls)) delete this.calls[key];
  }
}

/** Parses a multipart/form-data body the way a real server would. */
export async function parseMultipart(request: RecordedRequest): Promise<FormData | undefined> {
  const type = request.headers['content-type'];
  if (!type?.startsWith('multipart/form-data') || !request.raw) return undefined;
  try {
    return await new Response(request.raw, { headers: { 'Content-Type': type } }).formData();
  } catch {
    return undefined;
  }
}
