import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requestImage } from './factories/image.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';

const TAG_KEYS = ['created_at', 'description', 'id', 'image_count', 'name'];
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

interface TagBody {
  id: number;
  name: string;
  description: string;
  created_at: string;
  image_count: number;
}

/** The user's tags as stored. */
async function storedTags(
  app: TestApp,
  userId: number,
): Promise<{ name: string; description: string }[]> {
  return app.dataSource.query(
    'SELECT name, description FROM image_tags WHERE user_id = $1 ORDER BY name',
    [userId],
  );
}

// Images only need to exist here, not to be drawn: no worker, so they stay pending.
describe('/api/images/tags/', () => {
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = await createTestApp({ APP_ROLES: 'api', IMAGE_MAX_ACTIVE_PER_USER: '50' });
    base = app.config.publicBaseUrl;
  });
  afterAll(() => app.close());

  const listTags = (user: RegisteredUser, query: Record<string, string | number> = {}) =>
    app.http().get('/api/images/tags/').query(query).set(bearer(user.access));
  const createTag = (user: RegisteredUser, body: object) =>
    app.http().post('/api/images/tags/').set(bearer(user.access)).send(body);
  /** name → image_count, from the whole list. */
  const counts = async (user: RegisteredUser): Promise<Record<string, number>> => {
    const response = await listTags(user, { page_size: 100 }).expect(200);
    return Object.fromEntries(
      response.body.results.map((tag: TagBody) => [tag.name, tag.image_count]),
    );
  };

  describe('POST', () => {
    it('creates a tag, trimmed and lower-cased, answering 201 with the tag', async () => {
      const user = await registerUser(app);
      const response = await createTag(user, {
        name: '  SeaScape ',
        description: 'Waves and cliffs',
      }).expect(201);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(response.body).sort()).toEqual(TAG_KEYS);
      expect(response.body).toEqual({
        id: expect.any(Number),
        name: 'seascape',
        description: 'Waves and cliffs',
        created_at: expect.stringMatching(ISO_WITH_OFFSET),
        image_count: 0,
      });
      expect(await storedTags(app, user.id)).toEqual([
        { name: 'seascape', description: 'Waves and cliffs' },
      ]);

      const plain = await createTag(user, { name: 'dawn' }).expect(201);
      expect(plain.body).toMatchObject({ name: 'dawn', description: '' });

      const listed = await listTags(user).expect(200);
      expect(listed.body).toEqual({
        count: 2,
        next: null,
        previous: null,
        results: [plain.body, response.body],
      });
    });

    it('accepts a name of 50 characters and a description of 500', async () => {
      const user = await registerUser(app);
      const response = await createTag(user, {
        name: 'N'.repeat(50),
        description: 'd'.repeat(500),
      }).expect(201);
      expect(response.body.name).toBe('n'.repeat(50));
      expect(response.body.description).toHaveLength(500);
    });

    it('refuses a name you already have, in any case, naming name', async () => {
      const user = await registerUser(app);
      await createTag(user, { name: 'sunset', description: 'First' }).expect(201);
      for (const name of ['sunset', 'SUNSET', ' Sunset ']) {
        const response = await createTag(user, { name, description: 'Second' });
        expectFieldError(response, 'name');
      }
      expect(await storedTags(app, user.id)).toEqual([{ name: 'sunset', description: 'First' }]);
    });

    it.each([
      ['name', 'missing', { name: undefined }],
      ['name', 'empty', { name: '' }],
      ['name', 'blank', { name: '   ' }],
      ['name', 'of 51 characters', { name: 'n'.repeat(51) }],
      ['name', 'null', { name: null }],
      ['name', 'a number', { name: 42 }],
      ['name', 'a list', { name: ['sea'] }],
      ['description', 'of 501 characters', { description: 'd'.repeat(501) }],
      ['description', 'null', { description: null }],
      ['description', 'a number', { description: 5 }],
      ['colour', 'an unknown field', { colour: 'blue' }],
    ])('answers 400 naming %s when it is %s, and stores nothing', async (field, _what, body) => {
      const user = await registerUser(app);
      const response = await createTag(user, { name: 'valid', description: 'ok', ...body });
      expectFieldError(response, field);
      expect(await storedTags(app, user.id)).toEqual([]);
    });

    it('answers 415 to a text/plain body and 401 without a token', async () => {
      const user = await registerUser(app);
      const plain = await app
        .http()
        .post('/api/images/tags/')
        .set(bearer(user.access))
        .set('Content-Type', 'text/plain')
        .send('name=sea');
      expectProblem(plain, 415);
      expectProblem(await app.http().post('/api/images/tags/').send({ name: 'sea' }), 401);
      expectProblem(await app.http().get('/api/images/tags/'), 401);
      expect(await storedTags(app, user.id)).toEqual([]);
    });
  });

  describe('GET', () => {
    it('counts the images carrying each tag, through generate, PATCH and DELETE', async () => {
      const user = await registerUser(app);
      await createTag(user, { name: 'empty' }).expect(201);
      const { image: first } = await requestImage(app, user, { tags: ['Sea', ' dawn'] });
      const { image: second } = await requestImage(app, user, { tags: ['sea'] });
      // Tags made by generate/ are in the list, beside the one made by POST.
      expect(await counts(user)).toEqual({ dawn: 1, empty: 0, sea: 2 });

      await app
        .http()
        .patch(`/api/images/${second.id}/`)
        .set(bearer(user.access))
        .send({ tags: ['DAWN', 'Night'] })
        .expect(200);
      expect(await counts(user)).toEqual({ dawn: 2, empty: 0, night: 1, sea: 1 });

      await app.http().delete(`/api/images/${first.id}/`).set(bearer(user.access)).expect(204);
      expect(await counts(user)).toEqual({ dawn: 1, empty: 0, night: 1, sea: 0 });

      // The images list agrees with image_count.
      const dawn = await app
        .http()
        .get('/api/images/?tags=dawn')
        .set(bearer(user.access))
        .expect(200);
      expect(dawn.body.count).toBe(1);
      expect(dawn.body.results[0]).toMatchObject({ id: second.id, tags: ['dawn', 'night'] });

      // Without the trailing slash too.
      const bare = await app.http().get('/api/images/tags').set(bearer(user.access)).expect(200);
      expect(bare.body.count).toBe(4);
    });

    it('keeps tags per user: the same name twice is fine, and each sees only theirs', async () => {
      const alice = await registerUser(app);
      const bob = await registerUser(app);
      const hers = await createTag(alice, { name: 'Forest', description: 'Alice' }).expect(201);
      const his = await createTag(bob, { name: 'forest', description: 'Bob' }).expect(201);
      expect(his.body.id).not.toBe(hers.body.id);
      await requestImage(app, bob, { tags: ['forest', 'bobs-only'] });

      const aliceList = await listTags(alice).expect(200);
      expect(aliceList.body.count).toBe(1);
      expect(aliceList.body.results).toEqual([{ ...hers.body, image_count: 0 }]);
      const bobList = await listTags(bob).expect(200);
      expect(bobList.body.count).toBe(2);
      expect(bobList.body.results.map((tag: TagBody) => [tag.name, tag.image_count])).toEqual([
        ['bobs-only', 1],
        ['forest', 1],
      ]);
      expect(bobList.body.results[1]).toMatchObject({ id: his.body.id, description: 'Bob' });
      // Bob's tag does not find Alice's images, nor the other way round.
      const aliceImages = await app
        .http()
        .get('/api/images/?tags=forest')
        .set(bearer(alice.access))
        .expect(200);
      expect(aliceImages.body).toMatchObject({ count: 0, results: [] });
    });

    it('paginates like the other lists, ordered by name, page_size clamped to 100', async () => {
      const user = await registerUser(app);
      await app.dataSource.query(
        `INSERT INTO image_tags (user_id, name)
         SELECT $1, 'tag-' || lpad(n::text, 3, '0') FROM generate_series(1, 105) AS n`,
        [user.id],
      );
      const first = await listTags(user).expect(200);
      expect(first.body).toMatchObject({
        count: 105,
        previous: null,
        next: `${base}/api/images/tags/?page=2`,
      });
      expect(first.body.results).toHaveLength(20);
      expect(first.body.results[0].name).toBe('tag-001');

      const clamped = await listTags(user, { page_size: 1000 }).expect(200);
      expect(clamped.body.results).toHaveLength(100);
      expect(clamped.body.next).toBe(`${base}/api/images/tags/?page_size=1000&page=2`);
      const rest = await listTags(user, { page_size: 1000, page: 2 }).expect(200);
      expect(rest.body.results.map((tag: TagBody) => tag.name)).toEqual([
        'tag-101',
        'tag-102',
        'tag-103',
        'tag-104',
        'tag-105',
      ]);
      expect(rest.body).toMatchObject({
        next: null,
        previous: `${base}/api/images/tags/?page_size=1000`,
      });

      expectProblem(await listTags(user, { page_size: 1000, page: 3 }), 404);
      expectFieldError(await listTags(user, { page: 0 }), 'page');
      expectFieldError(await listTags(user, { page: 'x' }), 'page');
      expectFieldError(await listTags(user, { page_size: -5 }), 'page_size');

      const none = await registerUser(app);
      expect((await listTags(none).expect(200)).body).toEqual({
        count: 0,
        next: null,
        previous: null,
        results: [],
      });
    });
  });
});
