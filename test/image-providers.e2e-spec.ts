import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { loadConfig } from '@app/common';
import type { Resolve } from '../apps/server/src/images/download-target.js';
import { assertImage, downloadImage } from '../apps/server/src/images/image-download.js';
import { renderImage } from '../apps/server/src/images/image-renditions.js';
import { Automatic1111Provider } from '../apps/server/src/images/providers/automatic1111.provider.js';
import {
  BlackboxProvider,
  firstHttpUrl,
} from '../apps/server/src/images/providers/blackbox.provider.js';
import { createImageProvider } from '../apps/server/src/images/providers/image-provider.factory.js';
import {
  type ImageRequest,
  ProviderError,
} from '../apps/server/src/images/providers/image-provider.js';
import { LocalProvider } from '../apps/server/src/images/providers/local.provider.js';
import { OpenAiProvider, openAiSize } from '../apps/server/src/images/providers/openai.provider.js';
import * as automatic1111Fake from './fakes/automatic1111.fake.js';
import * as blackboxFake from './fakes/blackbox.fake.js';
import {
  FAKE_IMAGE_PATH,
  type FakeServer,
  OVER_PIXEL_LIMIT_PATH,
  REDIRECT_PATH,
  startFakeServer,
  STATUS_PATH,
} from './fakes/fake-server.js';
import * as openaiFake from './fakes/openai.fake.js';
import { overPixelLimitPng } from './support/images.js';

/** What the worker would ask for; each test overrides what it is about. */
function imageRequest(overrides: Partial<ImageRequest> = {}): ImageRequest {
  return {
    prompt: 'a lighthouse at dawn, photorealistic, high quality, detailed, 8k resolution',
    negativePrompt: '',
    width: 1024,
    height: 1024,
    quality: 'standard',
    style: 'realistic',
    ...overrides,
  };
}

const patient = () => AbortSignal.timeout(10_000);
/** IMAGE_MAX_PIXELS's default. */
const MAX_PIXELS = 40_000_000;
/**
 * A download as the worker makes it, from a provider whose configured origin is the URL's own
 * (the fakes answer with URLs on themselves) unless the test says otherwise.
 */
const download = (url: string, maxBytes = 1_000_000, trustedOrigin = originOf(url)) =>
  downloadImage(url, { maxBytes, maxPixels: MAX_PIXELS, trustedOrigin, signal: patient() });
function originOf(url: string): string | undefined {
  return URL.canParse(url) ? new URL(url).origin : undefined;
}

/** The ProviderError a promise rejects with; fails the test when it resolves or throws another. */
async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  const outcome = await promise.then(
    () => new Error('expected a ProviderError, but it resolved'),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ProviderError);
  return outcome as ProviderError;
}

async function pixel(image: Buffer, left: number, top: number): Promise<number[]> {
  const raw = await sharp(image).extract({ left, top, width: 1, height: 1 }).raw().toBuffer();
  return [...raw];
}

describe('blackbox provider', () => {
  let fake: blackboxFake.BlackboxFake;
  let provider: BlackboxProvider;
  const model = 'blackboxai/black-forest-labs/flux-pro';
  beforeAll(async () => {
    fake = await blackboxFake.start();
    provider = new BlackboxProvider({ url: fake.url, apiKey: fake.apiKey, model });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('sends the documented chat request and answers the image URL, which downloads', async () => {
    const request = imageRequest({ negativePrompt: ' people, text ' });
    const result = await provider.generate(request, patient());

    expect(result).toEqual({
      kind: 'url',
      url: `${fake.url}${FAKE_IMAGE_PATH}`,
      model,
      parameters: { prompt: `${request.prompt}, avoid: people, text` },
    });
    expect(fake.requests).toHaveLength(1);
    const [sent] = fake.requests;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.body).toEqual({
      model,
      messages: [{ role: 'user', content: `${request.prompt}, avoid: people, text` }],
    });

    const bytes = await download(result.kind === 'url' ? result.url : '');
    expect(await sharp(bytes).metadata()).toMatchObject({ format: 'png', width: 64, height: 48 });
  });

  it('sends the prompt alone when there is no negative prompt', async () => {
    const request = imageRequest({ negativePrompt: '   ' });
    await provider.generate(request, patient());
    expect(fake.requests[0].body).toMatchObject({
      messages: [{ role: 'user', content: request.prompt }],
    });
  });

  it('finds the URL inside prose or markdown', async () => {
    fake.answer(`Here is your image:\n\n![a lighthouse](${fake.url}${FAKE_IMAGE_PATH}).`);
    const result = await provider.generate(imageRequest(), patient());
    expect(result).toMatchObject({ kind: 'url', url: `${fake.url}${FAKE_IMAGE_PATH}` });
  });

  it('fails for good when the reply has no URL (a refusal), quoting its start', async () => {
    fake.refuse();
    const error = await providerError(provider.generate(imageRequest(), patient()));
    expect(error.transient).toBe(false);
    expect(error.message).toContain(blackboxFake.REFUSAL.slice(0, 40));
  });

  it('retries a 500', async () => {
    fake.fail(500);
    const error = await providerError(provider.generate(imageRequest(), patient()));
    expect(error).toMatchObject({ transient: true, retryAfterMs: undefined });
    expect(error.message).toContain('500');
  });

  it('retries a 429 after its Retry-After, in seconds or as a date', async () => {
    fake.fail(429, { error: { message: 'Rate limit exceeded' } }, { 'Retry-After': '7' });
    const seconds = await providerError(provider.generate(imageRequest(), patient()));
    expect(seconds).toMatchObject({ transient: true, retryAfterMs: 7000 });

    const at = new Date(Date.now() + 5000).toUTCString();
    fake.fail(429, { error: { message: 'Rate limit exceeded' } }, { 'Retry-After': at });
    const date = await providerError(provider.generate(imageRequest(), patient()));
    expect(date.transient).toBe(true);
    expect(date.retryAfterMs).toBeGreaterThan(2000);
    expect(date.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it("fails a 400 for good with the provider's message", async () => {
    fake.fail(400, { error: { message: 'Prompt is too long for this model.', type: 'invalid' } });
    const error = await providerError(provider.generate(imageRequest(), patient()));
    expect(error.transient).toBe(false);
    expect(error.message).toContain('Prompt is too long for this model.');
  });

  it('fails for good with a wrong key, which the fake refuses as Blackbox does', async () => {
    const wrong = new BlackboxProvider({ url: fake.url, apiKey: 'nope', model });
    const error = await providerError(wrong.generate(imageRequest(), patient()));
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/401.*Authentication Error/);
  });

  it('gives up on a provider too slow for the signal, and retries', async () => {
    fake.delay(1000);
    const started = Date.now();
    const error = await providerError(provider.generate(imageRequest(), AbortSignal.timeout(200)));
    expect(Date.now() - started).toBeLessThan(900);
    expect(error.transient).toBe(true);
    expect(error.message).toMatch(/time limit/);
  });

  it('fails for good on a 2xx answer that is not JSON or lacks the content', async () => {
    fake.fail(200, '<html>maintenance</html>');
    const html = await providerError(provider.generate(imageRequest(), patient()));
    expect(html.transient).toBe(false);
    expect(html.message).toContain('not a JSON object');

    fake.fail(200, { choices: [] });
    const empty = await providerError(provider.generate(imageRequest(), patient()));
    expect(empty.transient).toBe(false);
    expect(empty.message).toContain('choices[0].message.content');
  });

  it('downloads: refuses an answer that is not an image, or too large', async () => {
    fake.notAnImage();
    const notImage = await provider.generate(imageRequest(), patient());
    const error = await providerError(download(notImage.kind === 'url' ? notImage.url : ''));
    expect(error.transient).toBe(false);
    expect(error.message).toContain('not an image');

    fake.hugeImage();
    const huge = await provider.generate(imageRequest(), patient());
    const tooLarge = await providerError(download(huge.kind === 'url' ? huge.url : '', 100_000));
    expect(tooLarge).toMatchObject({
      transient: false,
      message: 'image larger than 100000 bytes',
    });
  });

  it('retries when the provider cannot be reached', async () => {
    const gone = await startFakeServer(async () => undefined);
    await gone.close();
    const offline = new BlackboxProvider({ url: gone.url, apiKey: 'k', model });
    const error = await providerError(offline.generate(imageRequest(), patient()));
    expect(error.transient).toBe(true);
    expect(error.message).toContain('could not be reached');
  });
});

describe('firstHttpUrl', () => {
  it.each([
    ['https://cdn.example.com/a.webp', 'https://cdn.example.com/a.webp'],
    ['![img](https://cdn.example.com/a.png)', 'https://cdn.example.com/a.png'],
    ['Your image: <https://x.example/y.jpg?sig=1&e=2>.', 'https://x.example/y.jpg?sig=1&e=2'],
    ['See https://x.example/y.png. Enjoy!', 'https://x.example/y.png'],
    ['ftp://x.example/y.png and no other', undefined],
    ['I cannot do that.', undefined],
  ])('%j → %j', (text, url) => {
    expect(firstHttpUrl(text)).toBe(url);
  });
});

describe('openai provider', () => {
  let fake: openaiFake.OpenAiFake;
  const provider = (model: string, apiKey = fake.apiKey) =>
    new OpenAiProvider({ url: fake.url, apiKey, model });
  beforeAll(async () => {
    fake = await openaiFake.start();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('dall-e-3: sends size and quality it accepts and answers a URL that downloads', async () => {
    const request = imageRequest({ width: 1024, height: 768, quality: 'hd' });
    const result = await provider('dall-e-3').generate(request, patient());

    const [sent] = fake.requests;
    expect(sent).toMatchObject({ method: 'POST', path: '/images/generations' });
    expect(sent.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sent.body).toEqual({
      prompt: request.prompt,
      model: 'dall-e-3',
      size: '1792x1024',
      quality: 'hd',
      n: 1,
    });
    expect(result).toMatchObject({
      kind: 'url',
      url: `${fake.url}${FAKE_IMAGE_PATH}`,
      model: 'dall-e-3',
      parameters: { size: '1792x1024', quality: 'hd', revised_prompt: expect.any(String) },
    });
    const bytes = await download(result.kind === 'url' ? result.url : '');
    expect((await assertImage(bytes, MAX_PIXELS)).format).toBe('png');
  });

  it('gpt-image-1: maps quality, picks its own sizes and answers base64 bytes', async () => {
    const request = imageRequest({ width: 1024, height: 768, negativePrompt: 'blur' });
    const result = await provider('gpt-image-1').generate(request, patient());

    expect(fake.requests[0].body).toEqual({
      prompt: `${request.prompt}, avoid: blur`,
      model: 'gpt-image-1',
      size: '1536x1024',
      quality: 'medium',
      n: 1,
    });
    expect(result.kind).toBe('bytes');
    const info = await assertImage(
      result.kind === 'bytes' ? result.bytes : Buffer.alloc(0),
      MAX_PIXELS,
    );
    expect(info).toEqual({ format: 'png', width: 1536, height: 1024 });

    await provider('gpt-image-1').generate(imageRequest({ quality: 'hd' }), patient());
    expect(fake.requests[1].body).toMatchObject({ size: '1024x1024', quality: 'high' });
  });

  it('dall-e-2: sends no quality, which it does not take', async () => {
    await provider('dall-e-2').generate(imageRequest({ width: 300, height: 300 }), patient());
    expect(fake.requests[0].body).toEqual({
      prompt: imageRequest().prompt,
      model: 'dall-e-2',
      size: '256x256',
      n: 1,
    });
  });

  it.each([
    ['dall-e-3', 1024, 768, '1792x1024'],
    ['dall-e-3', 768, 1024, '1024x1792'],
    ['dall-e-3', 2048, 2048, '1024x1024'],
    ['dall-e-3', 1100, 1000, '1024x1024'],
    ['dall-e-2', 1024, 768, '1024x1024'],
    ['dall-e-2', 600, 400, '512x512'],
    ['gpt-image-1', 1024, 768, '1536x1024'],
    ['gpt-image-1', 512, 2048, '1024x1536'],
    ['gpt-image-1', 256, 256, '1024x1024'],
  ])('%s at %i×%i asks for %s', (model, width, height, size) => {
    expect(openAiSize(model, width, height)).toBe(size);
  });

  it('retries a 500 and a 429 (with its Retry-After)', async () => {
    fake.fail(500, { error: { message: 'The server had an error', type: 'server_error' } });
    expect(
      await providerError(provider('dall-e-3').generate(imageRequest(), patient())),
    ).toMatchObject({ transient: true });

    fake.fail(429, { error: { message: 'Rate limit reached' } }, { 'Retry-After': '7' });
    expect(
      await providerError(provider('dall-e-3').generate(imageRequest(), patient())),
    ).toMatchObject({ transient: true, retryAfterMs: 7000 });
  });

  it("fails a 400 and a wrong key for good, with OpenAI's message", async () => {
    fake.fail(400, {
      error: { message: 'Billing hard limit has been reached', type: 'invalid_request_error' },
    });
    const billing = await providerError(provider('dall-e-3').generate(imageRequest(), patient()));
    expect(billing.transient).toBe(false);
    expect(billing.message).toContain('Billing hard limit has been reached');

    const wrong = await providerError(
      provider('dall-e-3', 'sk-wrong').generate(imageRequest(), patient()),
    );
    expect(wrong.transient).toBe(false);
    expect(wrong.message).toContain('Incorrect API key provided');
  });

  it('fails for good on a request the fake finds invalid (unknown model)', async () => {
    const error = await providerError(provider('dall-e-9').generate(imageRequest(), patient()));
    expect(error.transient).toBe(false);
    expect(error.message).toContain('Invalid model: dall-e-9');
  });

  it('fails for good when the content policy refuses, for both model families', async () => {
    fake.refuse();
    const dalle = await providerError(provider('dall-e-3').generate(imageRequest(), patient()));
    expect(dalle.transient).toBe(false);
    expect(dalle.message).toMatch(/refused the prompt: .*safety system/);

    fake.refuse();
    const gpt = await providerError(provider('gpt-image-1').generate(imageRequest(), patient()));
    expect(gpt.transient).toBe(false);
    expect(gpt.message).toMatch(/refused the prompt: .*safety system/);
  });

  it('gives up on a provider too slow for the signal, and retries', async () => {
    fake.delay(1000);
    const error = await providerError(
      provider('dall-e-3').generate(imageRequest(), AbortSignal.timeout(200)),
    );
    expect(error.transient).toBe(true);
  });

  it('refuses an answer that is not an image (URL and base64) or too large', async () => {
    fake.notAnImage();
    const url = await provider('dall-e-3').generate(imageRequest(), patient());
    const notImage = await providerError(download(url.kind === 'url' ? url.url : ''));
    expect(notImage).toMatchObject({
      transient: false,
      message: expect.stringContaining('not an image'),
    });

    fake.notAnImage();
    const bytes = await provider('gpt-image-1').generate(imageRequest(), patient());
    const notBytes = await providerError(
      assertImage(bytes.kind === 'bytes' ? bytes.bytes : Buffer.alloc(0), MAX_PIXELS),
    );
    expect(notBytes).toMatchObject({
      transient: false,
      message: expect.stringContaining('not an image'),
    });

    fake.hugeImage();
    const huge = await provider('dall-e-3').generate(imageRequest(), patient());
    const tooLarge = await providerError(download(huge.kind === 'url' ? huge.url : '', 200_000));
    expect(tooLarge).toMatchObject({ transient: false, message: 'image larger than 200000 bytes' });
  });
});

describe('automatic1111 provider', () => {
  let fake: automatic1111Fake.Automatic1111Fake;
  let provider: Automatic1111Provider;
  beforeAll(async () => {
    fake = await automatic1111Fake.start();
    provider = new Automatic1111Provider({ url: fake.url });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('sends the documented txt2img request (sizes rounded to 8) and answers PNG bytes', async () => {
    const request = imageRequest({
      width: 1000,
      height: 750,
      quality: 'hd',
      negativePrompt: 'blurry',
    });
    const result = await provider.generate(request, patient());

    const [sent] = fake.requests;
    expect(sent).toMatchObject({ method: 'POST', path: '/sdapi/v1/txt2img' });
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({
      prompt: request.prompt,
      negative_prompt: 'blurry',
      width: 1000,
      height: 752,
      steps: 40,
      cfg_scale: 7,
    });
    expect(result).toMatchObject({
      kind: 'bytes',
      model: automatic1111Fake.FAKE_MODEL,
      parameters: { seed: automatic1111Fake.FAKE_SEED, steps: 40, width: 1000, height: 752 },
    });
    const info = await assertImage(
      result.kind === 'bytes' ? result.bytes : Buffer.alloc(0),
      MAX_PIXELS,
    );
    expect(info).toEqual({ format: 'png', width: 1000, height: 752 });

    await provider.generate(imageRequest({ quality: 'standard' }), patient());
    expect(fake.requests[1].body).toMatchObject({ steps: 20, negative_prompt: '' });
  });

  it('retries a 500 (out of GPU memory) and a 429 (with its Retry-After)', async () => {
    fake.fail(500);
    const crash = await providerError(provider.generate(imageRequest(), patient()));
    expect(crash.transient).toBe(true);
    expect(crash.message).toContain('OutOfMemoryError: CUDA out of memory.');

    fake.fail(429, { detail: 'Too many requests' }, { 'Retry-After': '7' });
    expect(await providerError(provider.generate(imageRequest(), patient()))).toMatchObject({
      transient: true,
      retryAfterMs: 7000,
    });
  });

  it("fails a 400 for good with the WebUI's message", async () => {
    fake.fail(400, { detail: 'Sampler not found: Euler z' });
    const error = await providerError(provider.generate(imageRequest(), patient()));
    expect(error.transient).toBe(false);
    expect(error.message).toContain('Sampler not found: Euler z');
  });

  it("answers a malformed request with FastAPI's 422, which maps to a permanent error", async () => {
    const response = await fetch(`${fake.url}/sdapi/v1/txt2img`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'x', width: 'wide', height: 500 }),
    });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { detail: { loc: string[] }[] };
    expect(body.detail.map((d) => d.loc.join('.'))).toEqual(['body.width', 'body.height']);
  });

  it('gives up on a WebUI too slow for the signal, and retries', async () => {
    fake.delay(1000);
    const error = await providerError(provider.generate(imageRequest(), AbortSignal.timeout(200)));
    expect(error.transient).toBe(true);
  });

  it('refuses base64 that is not an image', async () => {
    fake.notAnImage();
    const result = await provider.generate(imageRequest(), patient());
    const error = await providerError(
      assertImage(result.kind === 'bytes' ? result.bytes : Buffer.alloc(0), MAX_PIXELS),
    );
    expect(error).toMatchObject({
      transient: false,
      message: expect.stringContaining('not an image'),
    });
  });
});

describe('downloadImage', () => {
  let files: Awaited<ReturnType<typeof startFakeServer>>;
  beforeAll(async () => {
    files = await startFakeServer(async () => undefined);
  });
  afterAll(() => files.close());

  it.each([
    [404, false],
    [403, false],
    [429, true],
    [503, true],
  ])('maps an answer %i to transient=%s', async (status, transient) => {
    const error = await providerError(download(`${files.url}${STATUS_PATH}${status}`));
    expect(error.transient).toBe(transient);
    expect(error.message).toContain(String(status));
  });

  it('refuses other schemes and non-URLs', async () => {
    expect(await providerError(download('file:///etc/passwd'))).toMatchObject({ transient: false });
    expect(await providerError(download('not a url'))).toMatchObject({ transient: false });
  });

  it('refuses at once a declared Content-Length past the limit', async () => {
    const error = await providerError(download(`${files.url}${FAKE_IMAGE_PATH}`, 100));
    expect(error).toMatchObject({ transient: false, message: 'image larger than 100 bytes' });
  });

  it('accepts the formats we keep and refuses SVG', async () => {
    const base = sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } });
    expect((await assertImage(await base.clone().avif().toBuffer(), MAX_PIXELS)).format).toBe(
      'avif',
    );
    expect((await assertImage(await base.clone().webp().toBuffer(), MAX_PIXELS)).format).toBe(
      'webp',
    );
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');
    expect((await providerError(assertImage(svg, MAX_PIXELS))).message).toContain('not an image');
  });
});

describe('downloadImage: where it may connect', () => {
  /** The provider's configured origin, on loopback like a self-hosted WebUI. */
  let origin: FakeServer;
  /** Another loopback server, which no provider answer may reach. */
  let elsewhere: FakeServer;
  /** host:port of every connection attempted while these tests run. */
  const attempts: string[] = [];
  const realConnect = net.Socket.prototype.connect;

  beforeAll(async () => {
    origin = await startFakeServer(async () => undefined);
    elsewhere = await startFakeServer(async () => undefined);
    // Records every connection, and destroys any that would leave loopback: whatever the code
    // under test does, no test traffic reaches another address.
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      const first = (Array.isArray(args[0]) ? args[0][0] : args[0]) as
        { host?: string; port?: number; path?: string } | number;
      const { host, port, path } =
        typeof first === 'object' ? first : { host: args[1] as string, port: first, path: '' };
      if (path) return realConnect.apply(this, args as never);
      attempts.push(`${host}:${port}`);
      if (!['127.0.0.1', 'localhost', '::1'].includes(host ?? 'localhost')) {
        process.nextTick(() => this.destroy(new Error(`test guard: no connection to ${host}`)));
        return this;
      }
      return realConnect.apply(this, args as never);
    } as typeof realConnect;
  });
  afterAll(async () => {
    net.Socket.prototype.connect = realConnect;
    await Promise.all([origin.close(), elsewhere.close()]);
  });
  beforeEach(() => {
    attempts.length = 0;
    origin.requests.length = 0;
    elsewhere.requests.length = 0;
  });

  const port = (server: FakeServer) => new URL(server.url).port;
  const fromProvider = (url: string, resolve?: Resolve, signal = patient()) =>
    downloadImage(url, {
      maxBytes: 1_000_000,
      maxPixels: MAX_PIXELS,
      trustedOrigin: origin.url,
      signal,
      resolve,
    });
  const redirectTo = (to: string, status = 302) =>
    `${origin.url}${REDIRECT_PATH}?to=${encodeURIComponent(to)}&status=${status}`;

  it("downloads from the provider's own origin, loopback as it is", async () => {
    const bytes = await fromProvider(`${origin.url}${FAKE_IMAGE_PATH}`);
    expect((await assertImage(bytes, MAX_PIXELS)).format).toBe('png');
    expect(attempts).toEqual([`127.0.0.1:${port(origin)}`]);
  });

  it('refuses another loopback port than the provider’s, without connecting', async () => {
    const error = await providerError(fromProvider(`${elsewhere.url}${FAKE_IMAGE_PATH}`));
    expect(error).toMatchObject({ transient: false });
    expect(error.message).toContain('127.0.0.1, which is not a public address');
    expect(attempts).toEqual([]);
    expect(elsewhere.requests).toEqual([]);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://10.0.0.1/a.png',
    'http://172.16.5.4/a.png',
    'http://172.31.255.255/a.png',
    'http://192.168.1.1/a.png',
    'http://100.64.0.1/a.png',
    'http://0.0.0.0:{elsewhere}/a.png',
    'http://2130706433:{elsewhere}/a.png',
    'http://[::1]:{elsewhere}/a.png',
    'http://[::]/a.png',
    'http://[fe80::1]/a.png',
    'http://[fd12:3456::1]/a.png',
    'http://[::ffff:127.0.0.1]:{elsewhere}/a.png',
    'http://[::ffff:a9fe:a9fe]/a.png',
  ])('refuses %s before connecting', async (template) => {
    const url = template.replace('{elsewhere}', port(elsewhere));
    const error = await providerError(fromProvider(url));
    expect(error).toMatchObject({ transient: false });
    expect(error.message).toMatch(/not a public address/);
    expect(attempts).toEqual([]);
  });

  it('refuses a redirect from the origin to the metadata service, a private address or another loopback port', async () => {
    for (const target of [
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/image.png',
      `${elsewhere.url}${FAKE_IMAGE_PATH}`,
      `http://localhost:${port(elsewhere)}${FAKE_IMAGE_PATH}`,
    ]) {
      const error = await providerError(fromProvider(redirectTo(target, 307)));
      expect(error).toMatchObject({ transient: false });
      expect(error.message).toMatch(/not a public address/);
    }
    // Only the origin's redirects were fetched.
    expect(attempts.every((attempt) => attempt === `127.0.0.1:${port(origin)}`)).toBe(true);
    expect(elsewhere.requests).toEqual([]);
  });

  it('follows up to three redirects within the origin, relative ones too, and no more', async () => {
    const once = redirectTo(FAKE_IMAGE_PATH, 301);
    const thrice = redirectTo(redirectTo(once, 308), 303);
    expect((await assertImage(await fromProvider(thrice), MAX_PIXELS)).format).toBe('png');
    const error = await providerError(fromProvider(redirectTo(thrice)));
    expect(error).toMatchObject({ transient: false });
    expect(error.message).toContain('redirected more than 3 times');
  });

  it('checks every address a host name resolves to', async () => {
    const resolved = (...addresses: string[]) =>
      (async () =>
        addresses.map((address) => ({
          address,
          family: address.includes(':') ? 6 : 4,
        }))) as Resolve;
    const error = await providerError(
      fromProvider('http://images.example/a.png', resolved('203.0.113.7', '10.9.8.7')),
    );
    expect(error.message).toContain('images.example resolves to 10.9.8.7');
    const mapped = await providerError(
      fromProvider('https://cdn.example/a.png', resolved('::ffff:169.254.169.254')),
    );
    expect(mapped.message).toContain('not a public address');
    expect(attempts).toEqual([]);

    const gone = await providerError(
      fromProvider('http://gone.example/a.png', async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND gone.example'), { code: 'ENOTFOUND' });
      }),
    );
    expect(gone).toMatchObject({ transient: true });
  });

  it('gives up on a download slower than the time limit', async () => {
    // The origin's route never answers anything outside /files/.
    const error = await providerError(
      fromProvider(`${origin.url}/stalls.png`, undefined, AbortSignal.timeout(300)),
    );
    expect(error).toMatchObject({ transient: true });
    expect(error.message).toContain('time limit');
  });

  it('refuses an image over the pixel limit from its header, however small the file', async () => {
    const error = await providerError(fromProvider(`${origin.url}${OVER_PIXEL_LIMIT_PATH}`));
    expect(error).toMatchObject({ transient: false });
    expect(error.message).toMatch(/8000×6000.*over the pixel limit of 40,000,000/);
    // The renditions refuse it too, for a caller that skipped the check.
    const bomb = await overPixelLimitPng();
    expect((await providerError(renderImage(bomb, 64, 64, MAX_PIXELS))).message).toMatch(
      /pixel limit/,
    );
  });
});

describe('local provider', () => {
  const provider = new LocalProvider(MAX_PIXELS);
  const bytesOf = async (request: ImageRequest) => {
    const result = await provider.generate(request, patient());
    if (result.kind !== 'bytes') throw new Error('the local provider answers bytes');
    return result.bytes;
  };

  it('draws byte-identical PNGs for the same request, different ones otherwise', async () => {
    const first = await bytesOf(imageRequest());
    const again = await bytesOf(imageRequest());
    expect(first.equals(again)).toBe(true);
    expect(first.equals(await bytesOf(imageRequest({ prompt: 'a cat on a red sofa' })))).toBe(
      false,
    );
    expect(first.equals(await bytesOf(imageRequest({ style: 'anime' })))).toBe(false);
  });

  it('honours the requested size, quickly', async () => {
    expect(
      await sharp(await bytesOf(imageRequest({ width: 640, height: 480 }))).metadata(),
    ).toMatchObject({ format: 'png', width: 640, height: 480 });
    const started = performance.now();
    const big = await bytesOf(imageRequest({ width: 1024, height: 1024 }));
    // Generous against a busy CI machine; it takes a few tens of ms on an idle one.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await sharp(big).metadata()).toMatchObject({ width: 1024, height: 1024 });
  });

  it('retries when the time limit has already passed', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await providerError(provider.generate(imageRequest(), controller.signal));
    expect(error.transient).toBe(true);
  });
});

describe('createImageProvider', () => {
  it.each([
    [{ IMAGE_PROVIDER: 'blackbox', BLACKBOX_API_KEY: 'bb' }, 'blackbox'],
    [{ IMAGE_PROVIDER: 'openai', OPENAI_API_KEY: 'sk' }, 'openai'],
    [{ IMAGE_PROVIDER: 'automatic1111' }, 'automatic1111'],
    [{}, 'local'],
  ])('%j → %s', (env, name) => {
    const provider = createImageProvider(loadConfig({ NODE_ENV: 'test', ...env }));
    expect(provider.name).toBe(name);
  });

  it('builds a provider that talks to the configured URL with the configured key', async () => {
    const fake = await blackboxFake.start();
    try {
      const config = loadConfig({
        NODE_ENV: 'test',
        IMAGE_PROVIDER: 'blackbox',
        BLACKBOX_API_URL: `${fake.url}/`,
        BLACKBOX_API_KEY: fake.apiKey,
        BLACKBOX_IMAGE_MODEL: 'flux-test',
      });
      const result = await createImageProvider(config).generate(imageRequest(), patient());
      expect(result).toMatchObject({ kind: 'url', model: 'flux-test' });
      expect(fake.requests[0].body).toMatchObject({ model: 'flux-test' });
    } finally {
      await fake.close();
    }
  });
});

describe('renderImage', () => {
  it('makes a PNG master, an sRGB JPEG rendition and a 300×300 thumbnail', async () => {
    const original = await sharp({
      create: { width: 800, height: 600, channels: 3, background: { r: 10, g: 120, b: 220 } },
    })
      .jpeg()
      .toBuffer();
    const result = await renderImage(original, 1024, 768, MAX_PIXELS);

    expect(result).toMatchObject({
      originalFormat: 'jpeg',
      originalWidth: 800,
      originalHeight: 600,
    });
    expect(await sharp(result.master).metadata()).toMatchObject({
      format: 'png',
      width: 1024,
      height: 768,
    });
    expect(await sharp(result.rendition).metadata()).toMatchObject({
      format: 'jpeg',
      width: 1024,
      height: 768,
      space: 'srgb',
      channels: 3,
      hasAlpha: false,
    });
    expect(await sharp(result.thumbnail).metadata()).toMatchObject({
      format: 'jpeg',
      width: 300,
      height: 300,
    });
  });

  it('flattens transparency on white in the JPEGs and keeps it in the master', async () => {
    const transparent = await sharp({
      create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const result = await renderImage(transparent, 128, 96, MAX_PIXELS);
    expect((await sharp(result.master).metadata()).hasAlpha).toBe(true);
    const [r, g, b] = await pixel(result.rendition, 5, 5);
    expect(Math.min(r, g, b)).toBeGreaterThan(245);
    expect((await pixel(result.thumbnail, 150, 150)).every((c) => c > 245)).toBe(true);
  });

  it('turns a JPEG upright by its EXIF orientation (6: rotate 90° clockwise)', async () => {
    // Stored landscape, left half red and right half blue; displayed portrait, red on top.
    const halves = Buffer.alloc(200 * 100 * 3);
    for (let i = 0; i < 200 * 100; i++) {
      const red = i % 200 < 100;
      halves.set(red ? [220, 20, 20] : [20, 20, 220], i * 3);
    }
    const original = await sharp(halves, { raw: { width: 200, height: 100, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const result = await renderImage(original, 100, 200, MAX_PIXELS);

    expect(result).toMatchObject({ originalWidth: 100, originalHeight: 200 });
    const [topR, , topB] = await pixel(result.master, 50, 20);
    const [bottomR, , bottomB] = await pixel(result.master, 50, 180);
    expect(topR).toBeGreaterThan(180);
    expect(topB).toBeLessThan(80);
    expect(bottomB).toBeGreaterThan(180);
    expect(bottomR).toBeLessThan(80);
  });

  it('fails for good on an image whose header reads but whose body is cut short', async () => {
    const whole = await sharp({
      create: { width: 256, height: 256, channels: 3, background: { r: 1, g: 2, b: 3 } },
    })
      .jpeg()
      .toBuffer();
    const truncated = whole.subarray(0, Math.floor(whole.length / 2));
    await assertImage(truncated, MAX_PIXELS);
    const error = await providerError(renderImage(truncated, 64, 64, MAX_PIXELS));
    expect(error.transient).toBe(false);
    expect(error.message).toContain('not a readable image');
  });

  it('names AVIF originals as such', async () => {
    const avif = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#abc' } })
      .avif()
      .toBuffer();
    expect(await renderImage(avif, 64, 64, MAX_PIXELS)).toMatchObject({
      originalFormat: 'avif',
      originalWidth: 40,
      originalHeight: 30,
    });
  });
});
