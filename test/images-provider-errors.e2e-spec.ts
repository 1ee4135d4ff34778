import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as blackboxFake from './fakes/blackbox.fake.js';
import * as openaiFake from './fakes/openai.fake.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { overPixelLimitPng } from './support/images.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

/**
 * The worker's handling of a provider's answers, through the real queue and the real provider
 * client talking to a loopback fake of its API.
 */
describe('generation against the OpenAI fake', () => {
  let fake: openaiFake.OpenAiFake;
  let app: TestApp;
  let user: RegisteredUser;

  beforeAll(async () => {
    fake = await openaiFake.start();
    app = await createTestApp({
      APP_ROLES: 'api,worker',
      IMAGE_PROVIDER: 'openai',
      OPENAI_API_URL: fake.url,
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_IMAGE_MODEL: 'dall-e-3',
      IMAGE_GENERATION_ATTEMPTS: '3',
      IMAGE_RETRY_BACKOFF_MS: '50',
      IMAGE_REQUEST_TIMEOUT: '1s',
    });
    user = await registerUser(app);
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  async function generate(prompt: string) {
    const response = await app
      .http()
      .post('/api/images/generate/')
      .set(bearer(user.access))
      .send({ prompt, width: 512, height: 512 })
      .expect(201);
    return response.body.image.id as number;
  }
  const settled = (id: number, timeoutMs = 15_000) =>
    waitFor(async () => {
      const { body } = await app
        .http()
        .get(`/api/images/${id}/`)
        .set(bearer(user.access))
        .expect(200);
      return ['generated', 'failed'].includes(body.status) ? body : undefined;
    }, timeoutMs);
  const callsFor = (prompt: string) =>
    fake.requests.filter((request) =>
      (request.body as { prompt?: string }).prompt?.startsWith(prompt),
    ).length;

  it('sends the documented request and stores the downloaded answer', async () => {
    const id = await generate('A quiet harbour');
    const image = await settled(id);
    expect(image).toMatchObject({
      status: 'generated',
      provider: 'openai',
      width: 512,
      height: 512,
    });
    expect(image.image_url).toMatch(new RegExp(`^${fake.url}/`));
    expect(image.metadata).toMatchObject({ provider: 'openai', model: 'dall-e-3', attempts: 1 });
    const call = fake.requests.find((request) => request.path === '/images/generations');
    expect(call?.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(call?.body).toMatchObject({
      model: 'dall-e-3',
      size: '1024x1024',
      quality: 'standard',
      n: 1,
      prompt: 'A quiet harbour, photorealistic, high quality, detailed, 8k resolution',
    });
  });

  it('retries a 500 and succeeds on the next try', async () => {
    fake.fail(500, {
      error: { message: 'The server had an error', type: 'server_error', code: null },
    });
    const image = await settled(await generate('Retry after five hundred'));
    expect(image.status).toBe('generated');
    expect(image.metadata.attempts).toBe(2);
    expect(callsFor('Retry after five hundred')).toBe(2);
  });

  it('fails at once on a 400, with the provider’s reason', async () => {
    fake.fail(400, {
      error: { message: 'Invalid size requested', type: 'invalid_request_error', code: null },
    });
    const image = await settled(await generate('Bad request prompt'));
    expect(image.status).toBe('failed');
    expect(image.error_message).toMatch(/Invalid size requested/);
    expect(callsFor('Bad request prompt')).toBe(1);
    const history = await app
      .http()
      .get('/api/images/history/')
      .set(bearer(user.access))
      .expect(200);
    expect(
      history.body.results.find((row: { image_id: number }) => row.image_id === image.id).action,
    ).toBe('failed');
  });

  it('fails at once when the content is refused', async () => {
    fake.refuse();
    const image = await settled(await generate('Refused prompt'));
    expect(image.status).toBe('failed');
    expect(image.error_message.length).toBeGreaterThan(0);
    expect(callsFor('Refused prompt')).toBe(1);
  });

  it('times out a provider that is too slow, and retries', async () => {
    fake.delay(3000);
    const image = await settled(await generate('Too slow prompt'));
    expect(image.status).toBe('generated');
    expect(image.metadata.attempts).toBe(2);
  });

  it('fails an answer that is not an image', async () => {
    fake.notAnImage();
    const image = await settled(await generate('Not an image prompt'));
    expect(image.status).toBe('failed');
    expect(image.error_message).toMatch(/not an image/i);
  });

  it('fails an image over the pixel limit for good, naming the limit', async () => {
    // Made ahead: the fake would otherwise take longer to draw it than the 1 s time limit.
    await overPixelLimitPng();
    fake.overPixelLimit();
    const image = await settled(await generate('Decompression bomb prompt'));
    expect(image.status).toBe('failed');
    expect(image.error_message).toMatch(/8000×6000.*pixel limit.*40,000,000.*IMAGE_MAX_PIXELS/);
    expect(callsFor('Decompression bomb prompt')).toBe(1);
  });

  it('waits as long as Retry-After says on a 429', async () => {
    fake.fail(
      429,
      { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
      { 'Retry-After': '2' },
    );
    const started = Date.now();
    const image = await settled(await generate('Rate limited prompt'));
    expect(image.status).toBe('generated');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it('fails with the last reason once every try failed', async () => {
    for (let i = 0; i < 3; i++)
      fake.fail(503, {
        error: { message: 'Service overloaded', type: 'server_error', code: null },
      });
    const image = await settled(await generate('Always failing prompt'));
    expect(image.status).toBe('failed');
    expect(image.error_message).toMatch(/overloaded|503/i);
    expect(callsFor('Always failing prompt')).toBe(3);
  });
});

describe('generation against the Blackbox fake', () => {
  let fake: blackboxFake.BlackboxFake;
  let app: TestApp;

  beforeAll(async () => {
    fake = await blackboxFake.start();
    app = await createTestApp({
      APP_ROLES: 'api,worker',
      IMAGE_PROVIDER: 'blackbox',
      BLACKBOX_API_URL: fake.url,
      BLACKBOX_API_KEY: fake.apiKey,
    });
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  it('downloads the image from the URL in the chat answer', async () => {
    const user = await registerUser(app);
    const created = await app
      .http()
      .post('/api/images/generate/')
      .set(bearer(user.access))
      .send({ prompt: 'A fox', width: 300, height: 300, style: 'anime' })
      .expect(201);
    const image = await waitFor(async () => {
      const { body } = await app
        .http()
        .get(`/api/images/${created.body.image.id}/`)
        .set(bearer(user.access))
        .expect(200);
      return body.status === 'generated' ? body : undefined;
    });
    expect(image.provider).toBe('blackbox');
    expect(image.image_url).toMatch(new RegExp(`^${fake.url}/`));
    const call = fake.requests.find((request) => request.path === '/chat/completions');
    expect(call?.body).toMatchObject({
      messages: [{ role: 'user', content: 'A fox, anime style, manga, japanese animation' }],
    });
  });
});
