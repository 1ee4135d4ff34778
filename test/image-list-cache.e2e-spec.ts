import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthenticatedUser } from '@app/database';
import { type EtagOf, ImageListCache } from '../apps/server/src/images/image-list.cache.js';
import { MediaUrlSigner } from '../apps/server/src/media/media-url.signer.js';
import { insertImages } from './factories/image.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { createTestApp, type TestApp } from './support/test-app.js';

/**
 * The image list answered from memory (ImageListCache) while the user's list version is
 * unchanged: what a client sees must be what the database holds after every kind of change,
 * whoever made it (this process, another one, SQL by hand), and never another user's answer.
 */
describe('GET /api/images/ answered again from memory', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ APP_ROLES: 'api' });
  });
  afterAll(() => app.close());

  const list = (user: RegisteredUser, query = '') =>
    app.http().get(`/api/images/${query}`).set(bearer(user.access));
  const version = async (user: RegisteredUser): Promise<number> => {
    const [row] = (await app.dataSource.query(
      'SELECT images FROM user_list_versions WHERE user_id = $1',
      [user.id],
    )) as { images: string }[];
    return Number(row?.images ?? 0);
  };

  /** Lists twice (the second is the kept answer when nothing changed) and checks they agree. */
  async function listTwice(user: RegisteredUser, query = '') {
    const first = await list(user, query).expect(200);
    const second = await list(user, query).expect(200);
    expect(second.text).toBe(first.text);
    expect(second.headers.etag).toBe(first.headers.etag);
    return first;
  }

  it('answers the same bytes and ETag again, and 304 to If-None-Match', async () => {
    const owner = await registerUser(app);
    await insertImages(app, owner.id, [{ prompt: 'A quiet harbour', tags: ['sea'] }]);
    const first = await listTwice(owner);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.headers.etag).toMatch(/^W\/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$/);
    expect(first.body).toMatchObject({ count: 1, results: [{ prompt: 'A quiet harbour' }] });

    const cached = await list(owner).set('If-None-Match', first.headers.etag as string);
    expect(cached.status).toBe(304);
    expect(cached.text).toBe('');
  });

  it('answers 304 on the other lists too, as their OpenAPI documents (Express’s ETag)', async () => {
    const owner = await registerUser(app);
    await insertImages(app, owner.id, [{ prompt: 'Tagged', tags: ['sea'] }]);
    for (const path of ['/api/images/tags/', '/api/images/history/', '/api/scheduler/posts/']) {
      const first = await app.http().get(path).set(bearer(owner.access)).expect(200);
      expect(first.headers.etag).toMatch(/^W\/"/);
      const again = await app
        .http()
        .get(path)
        .set(bearer(owner.access))
        .set('If-None-Match', first.headers.etag as string);
      expect(again.status).toBe(304);
    }
  });

  it('shows every change to the images, their tags and the tags’ names at once', async () => {
    const owner = await registerUser(app);
    const [lighthouse, lake] = await insertImages(app, owner.id, [
      { prompt: 'Lighthouse', tags: ['sea'] },
      { prompt: 'Lake', status: 'validated' },
    ]);
    const image = async (id: number) =>
      ((await listTwice(owner)).body.results as { id: number }[]).find((i) => i.id === id);
    expect(await image(lighthouse)).toMatchObject({ tags: ['sea'], validation_notes: '' });

    // Through the API: notes and tags of an image.
    let before = await version(owner);
    await app
      .http()
      .patch(`/api/images/${lighthouse}/`)
      .set(bearer(owner.access))
      .send({ validation_notes: 'Crop the sky', tags: ['sea', 'night'] })
      .expect(200);
    expect(await version(owner)).toBeGreaterThan(before);
    expect(await image(lighthouse)).toMatchObject({
      tags: ['night', 'sea'],
      validation_notes: 'Crop the sky',
    });

    // By another process (a worker, another API node, SQL by hand): nothing told this one.
    await app.dataSource.query(
      `UPDATE generated_images SET progress = 40, status = 'generating' WHERE id = $1`,
      [lake],
    );
    expect(await image(lake)).toMatchObject({ status: 'generating', progress: 40 });

    // A tag renamed (the admin panel can), then deleted: its name leaves the images.
    before = await version(owner);
    await app.dataSource.query(
      `UPDATE image_tags SET name = 'ocean' WHERE user_id = $1 AND name = 'sea'`,
      [owner.id],
    );
    expect(await version(owner)).toBeGreaterThan(before);
    expect(await image(lighthouse)).toMatchObject({ tags: ['night', 'ocean'] });
    await app.dataSource.query(`DELETE FROM image_tags WHERE user_id = $1 AND name = 'night'`, [
      owner.id,
    ]);
    expect(await image(lighthouse)).toMatchObject({ tags: ['ocean'] });

    // A link removed alone, then the image deleted through the API.
    await app.dataSource.query('DELETE FROM generated_image_tags WHERE image_id = $1', [
      lighthouse,
    ]);
    expect(await image(lighthouse)).toMatchObject({ tags: [] });
    await app.http().delete(`/api/images/${lighthouse}/`).set(bearer(owner.access)).expect(204);
    const after = await listTwice(owner);
    expect(after.body).toMatchObject({ count: 1, results: [{ id: lake }] });
  });

  it('keeps each filter and page apart, and answers each user only their own list', async () => {
    const one = await registerUser(app);
    const two = await registerUser(app);
    await insertImages(app, one.id, [
      { prompt: 'One validated', status: 'validated', tags: ['sea'] },
      { prompt: 'One generated', status: 'generated' },
    ]);
    await insertImages(app, two.id, [{ prompt: 'Two validated', status: 'validated' }]);

    const all = await listTwice(one);
    const validated = await listTwice(one, '?status=validated');
    const tagged = await listTwice(one, '?tags=sea');
    const secondPage = await listTwice(one, '?page_size=1&page=2');
    expect(all.body.count).toBe(2);
    expect(validated.body).toMatchObject({ count: 1, results: [{ prompt: 'One validated' }] });
    expect(tagged.body).toMatchObject({ count: 1, results: [{ prompt: 'One validated' }] });
    expect(secondPage.body).toMatchObject({ count: 2, results: [{ prompt: 'One validated' }] });

    // The same URLs for the other user: their own images, whatever this process kept for one.
    const theirs = await listTwice(two);
    expect(theirs.body).toMatchObject({ count: 1, results: [{ prompt: 'Two validated' }] });
    expect((await listTwice(two, '?status=validated')).body.count).toBe(1);
    expect((await listTwice(two, '?tags=sea')).body.count).toBe(0);
    await list(two, '?page_size=1&page=2').expect(404);
  });

  it('bumps a user’s version once per statement, and only the users it touched', async () => {
    const one = await registerUser(app);
    const two = await registerUser(app);
    const bystander = await registerUser(app);
    await insertImages(app, one.id, [{ prompt: 'a' }, { prompt: 'b' }, { prompt: 'c' }]);
    await insertImages(app, two.id, [{ prompt: 'd' }]);
    await insertImages(app, bystander.id, [{ prompt: 'e' }]);
    const [oneBefore, twoBefore, bystanderBefore] = [
      await version(one),
      await version(two),
      await version(bystander),
    ];
    await app.dataSource.query(
      `UPDATE generated_images SET validation_notes = 'bulk' WHERE user_id = ANY($1)`,
      [[one.id, two.id]],
    );
    expect(await version(one)).toBe(oneBefore + 1);
    expect(await version(two)).toBe(twoBefore + 1);
    expect(await version(bystander)).toBe(bystanderBefore);
  });

  it('deletes a user with images and their version row (the cascade recreates nothing)', async () => {
    const owner = await registerUser(app);
    await insertImages(app, owner.id, [{ prompt: 'x', tags: ['t'] }]);
    expect(await version(owner)).toBeGreaterThan(0);
    await app.dataSource.query('DELETE FROM users WHERE id = $1', [owner.id]);
    expect(
      await app.dataSource.query('SELECT 1 FROM user_list_versions WHERE user_id = $1', [owner.id]),
    ).toEqual([]);
  });

  describe('ImageListCache', () => {
    const user = (imagesVersion: string) =>
      ({ id: 1, username: 'someone', imagesVersion }) as AuthenticatedUser;

    it('builds again when the version or the media URLs’ expiry step changes', async () => {
      const cache = app.app.get(ImageListCache);
      const etagOf = app.app.getHttpAdapter().getInstance().get('etag fn') as EtagOf;
      const signer = app.app.get(MediaUrlSigner);
      const builds: string[] = [];
      const build = async (sign: (key: string | null) => string | null) => {
        builds.push(sign('images/1/x.png')!);
        return { n: builds.length };
      };
      // t0: the first second of an expiry step (the expiry changes between t0 - 1 s and t0).
      let t0 = Date.UTC(2030, 0, 1);
      while (signer.pageExpiry(t0 - 1000) === signer.pageExpiry(t0)) t0 += 1000;
      const first = await cache.answer(user('7'), '/api/images/', build, etagOf, t0);
      const same = await cache.answer(user('7'), '/api/images/', build, etagOf, t0 + 999);
      expect(same).toEqual(first);
      expect(builds).toHaveLength(1);
      await cache.answer(user('8'), '/api/images/', build, etagOf, t0 + 999);
      expect(builds).toHaveLength(2);
      await cache.answer(user('8'), '/api/images/?page=2', build, etagOf, t0 + 999);
      expect(builds).toHaveLength(3);
      // The next step's URLs carry the next expiry: built again, with it.
      let t1 = t0 + 1000;
      while (signer.pageExpiry(t1) === signer.pageExpiry(t0)) t1 += 1000;
      await cache.answer(user('8'), '/api/images/', build, etagOf, t1);
      expect(builds).toHaveLength(4);
      expect(builds[3]).not.toBe(builds[1]);
    });
  });
});

describe('MediaUrlSigner.pageExpiry', () => {
  let app: TestApp;
  afterAll(() => app?.close());

  it('gives MEDIA_URL_TTL rounded up to a twelfth of it (at most five minutes)', async () => {
    app = await createTestApp({ APP_ROLES: 'api', MEDIA_URL_TTL: '1h' });
    const signer = app.app.get(MediaUrlSigner);
    const at = (iso: string) => signer.pageExpiry(Date.parse(iso)) - Date.parse(iso) / 1000;
    // 1 h: steps of 300 s; an URL lives 3,600 to 3,899 s.
    expect(at('2030-01-01T00:00:00.000Z')).toBe(3600);
    expect(at('2030-01-01T00:00:00.900Z')).toBeCloseTo(3599.1, 5);
    expect(at('2030-01-01T00:00:01.000Z')).toBe(3899);
    expect(at('2030-01-01T00:04:59.000Z')).toBe(3601);
    expect(signer.pageExpiry(Date.parse('2030-01-01T00:04:59Z')) % 300).toBe(0);
  });
});
