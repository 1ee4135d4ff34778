import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

describe('image generation with the local provider, through the queue', () => {
  let app: TestApp;
  let user: RegisteredUser;
  beforeAll(async () => {
    app = await createTestApp({ APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local' });
    user = await registerUser(app);
  });
  afterAll(() => app.close());

  const getImage = (id: number) =>
    app.http().get(`/api/images/${id}/`).set(bearer(user.access)).expect(200);
  const settled = (id: number) =>
    waitFor(
      async () => {
        const { body } = await getImage(id);
        return ['generated', 'validated', 'failed'].includes(body.status) ? body : undefined;
      },
      20_000,
      `image ${id}`,
    );
  const fetchMedia = (url: string) => {
    const { pathname, search } = new URL(url);
    return app
      .http()
      .get(`${pathname}${search}`)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
  };

  it('answers 201 pending at once, then the worker renders the master, rendition and thumbnail', async () => {
    const response = await app
      .http()
      .post('/api/images/generate/')
      .set(bearer(user.access))
      .send({
        prompt: 'A lighthouse at dawn',
        width: 640,
        height: '480',
        style: 'vintage',
        tags: ['Sea', 'dawn', 'sea'],
      })
      .expect(201);
    expect(response.body.message).toEqual(expect.any(String));
    expect(response.body.task_id).toBe(`generate-image:${response.body.image.id}:1`);
    expect(response.body.image).toMatchObject({
      status: 'pending',
      user: user.username,
      width: 640,
      height: 480,
      style: 'vintage',
      quality: 'standard',
      tags: ['dawn', 'sea'],
      image_file: null,
      is_validated: false,
    });

    const image = await settled(response.body.image.id);
    expect(image).toMatchObject({
      status: 'generated',
      progress: 100,
      provider: 'local',
      error_message: '',
      image_url: null,
    });
    expect(image.generation_time).toBeGreaterThan(0);
    expect(image.metadata.prompt_sent).toBe(
      'A lighthouse at dawn, vintage style, retro, classic, nostalgic',
    );

    const master = await sharp((await fetchMedia(image.image_file).expect(200)).body).metadata();
    expect([master.format, master.width, master.height]).toEqual(['png', 640, 480]);
    const display = await sharp(
      (await fetchMedia(image.image_url_display).expect(200)).body,
    ).metadata();
    expect([display.format, display.width, display.height]).toEqual(['jpeg', 640, 480]);
    const thumbnail = await sharp((await fetchMedia(image.thumbnail).expect(200)).body).metadata();
    expect([thumbnail.format, thumbnail.width, thumbnail.height]).toEqual(['jpeg', 300, 300]);

    const history = await app
      .http()
      .get('/api/images/history/')
      .set(bearer(user.access))
      .expect(200);
    const actions = history.body.results
      .filter((row: { image_id: number }) => row.image_id === image.id)
      .map((row: { action: string }) => row.action);
    expect(actions).toEqual(['generated', 'requested']);
  });

  it('validates a fresh image on its own when the profile says so', async () => {
    const owner = await registerUser(app);
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(owner.access))
      .send({ auto_validate_images: true })
      .expect(200);
    const response = await app
      .http()
      .post('/api/images/generate/')
      .set(bearer(owner.access))
      .send({ prompt: 'A red bicycle', width: 256, height: 256 })
      .expect(201);
    const image = await waitFor(async () => {
      const { body } = await app
        .http()
        .get(`/api/images/${response.body.image.id}/`)
        .set(bearer(owner.access))
        .expect(200);
      return body.status === 'validated' ? body : undefined;
    });
    expect(image.is_validated).toBe(true);
    expect(image.is_ready_for_scheduling).toBe(true);
    expect(image.validated_at).toEqual(expect.any(String));
  });

  it('lets a user with images and history be deleted (the counters follow the cascade)', async () => {
    const owner = await registerUser(app);
    const created = await app
      .http()
      .post('/api/images/generate/')
      .set(bearer(owner.access))
      .send({ prompt: 'Doomed', width: 256, height: 256, tags: ['gone'] })
      .expect(201);
    await waitFor(async () => {
      const { body } = await app
        .http()
        .get(`/api/images/${created.body.image.id}/`)
        .set(bearer(owner.access))
        .expect(200);
      return body.status === 'generated' ? true : undefined;
    });
    await app.dataSource.query('DELETE FROM users WHERE id = $1', [owner.id]);
    const left = await app.dataSource.query(
      `SELECT (SELECT count(*) FROM generated_images WHERE user_id = $1)::int AS images,
              (SELECT count(*) FROM user_image_stats WHERE user_id = $1)::int AS stats`,
      [owner.id],
    );
    expect(left[0]).toEqual({ images: 0, stats: 0 });
  });
});
