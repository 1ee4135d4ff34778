import { access } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import {
  countRows,
  generatedImage,
  type ImageBody,
  insertImages,
  insertManyImages,
  requestImage,
  SMALL,
  waitForStatus,
} from './factories/image.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';

/** api.md's Image fields, every one of them and nothing else. */
const IMAGE_KEYS = [
  'created_at',
  'error_message',
  'generation_time',
  'height',
  'id',
  'image_file',
  'image_url',
  'image_url_display',
  'is_ready_for_scheduling',
  'is_validated',
  'metadata',
  'negative_prompt',
  'progress',
  'prompt',
  'provider',
  'quality',
  'status',
  'style',
  'tags',
  'thumbnail',
  'updated_at',
  'user',
  'validated_at',
  'validation_notes',
  'version',
  'width',
];

const STATISTICS_KEYS = [
  'average_generation_time',
  'failed_images',
  'generated_images',
  'generating_images',
  'pending_images',
  'rejected_images',
  'total_generation_time',
  'total_images',
  'validated_images',
];

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

interface StoredImage {
  status: string;
  prompt: string;
  negative_prompt: string;
  validation_notes: string;
  validated_at: Date | null;
  original_key: string | null;
  master_key: string | null;
  rendition_key: string | null;
  thumbnail_key: string | null;
  generation: number;
  updated_at: Date;
}

async function storedImage(app: TestApp, id: number): Promise<StoredImage | undefined> {
  const [row] = await app.dataSource.query(
    `SELECT status, prompt, negative_prompt, validation_notes, validated_at, original_key,
            master_key, rendition_key, thumbnail_key, generation, updated_at
       FROM generated_images WHERE id = $1`,
    [id],
  );
  return row as StoredImage | undefined;
}

function fileKeys(row: StoredImage): string[] {
  return [row.original_key, row.master_key, row.rendition_key, row.thumbnail_key].filter(
    (key): key is string => key !== null,
  );
}

async function exists(app: TestApp, key: string): Promise<boolean> {
  return access(path.join(app.config.mediaRoot, key)).then(
    () => true,
    () => false,
  );
}

/** The user's history as stored: the truth behind GET history/. */
async function storedActions(app: TestApp, userId: number, imageId: number): Promise<string[]> {
  const rows: { action: string }[] = await app.dataSource.query(
    `SELECT action FROM image_generation_history WHERE user_id = $1 AND image_id = $2
     ORDER BY created_at DESC, id DESC`,
    [userId, imageId],
  );
  return rows.map((row) => row.action);
}

/** `/media/...?expires=..&signature=..`: a signed URL without its origin, for supertest. */
function localPath(signedUrl: string): string {
  const url = new URL(signedUrl);
  return `${url.pathname}${url.search}`;
}

const ids = (body: { results: { id: number }[] }) => body.results.map((image) => image.id);

/** Rows for it.each: [field, short label of the body, body]; long strings shown as `x×2001`. */
function cases(rows: [string, object][]): [string, string, object][] {
  return rows.map(([field, body]) => [
    field,
    JSON.stringify(body, (_key, value: unknown) =>
      typeof value === 'string' && value.length > 20 ? `${value[0]}×${value.length}` : value,
    ) ?? '{}',
    body,
  ]);
}

describe('/api/images/ with the api and worker roles and the local provider', () => {
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = await createTestApp({ APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local' });
    base = app.config.publicBaseUrl;
  });
  afterAll(() => app.close());

  const get = (user: RegisteredUser, url: string) => app.http().get(url).set(bearer(user.access));
  const list = (user: RegisteredUser, query: Record<string, string | number> = {}) =>
    app.http().get('/api/images/').query(query).set(bearer(user.access));
  const patch = (user: RegisteredUser, id: number | string, body: object) =>
    app.http().patch(`/api/images/${id}/`).set(bearer(user.access)).send(body);
  const validate = (user: RegisteredUser, id: number | string, body: object) =>
    app.http().patch(`/api/images/${id}/validate/`).set(bearer(user.access)).send(body);
  const regenerate = (user: RegisteredUser, id: number | string) =>
    app.http().post(`/api/images/${id}/regenerate/`).set(bearer(user.access));
  const statistics = async (user: RegisteredUser) =>
    (await get(user, '/api/images/statistics/').expect(200)).body;

  describe('POST generate/', () => {
    let refused: RegisteredUser;
    beforeAll(async () => {
      refused = await registerUser(app);
    });

    it('accepts numeric strings for width and height, and the worker renders that size', async () => {
      const user = await registerUser(app);
      const { image } = await requestImage(app, user, { width: '320', height: '256' });
      expect([image.width, image.height]).toEqual([320, 256]);
      const done = await waitForStatus(app, user, image.id);
      expect(done.status).toBe('generated');
      const master = await app.http().get(localPath(done.image_file!)).expect(200);
      const decoded = await sharp(master.body as Buffer).metadata();
      expect([decoded.format, decoded.width, decoded.height]).toEqual(['png', 320, 256]);
    });

    it.each(
      cases([
        ['prompt', { prompt: undefined }],
        ['prompt', { prompt: '' }],
        ['prompt', { prompt: '   ' }],
        ['prompt', { prompt: null }],
        ['prompt', { prompt: 42 }],
        ['prompt', { prompt: 'p'.repeat(2001) }],
        ['negative_prompt', { negative_prompt: 'n'.repeat(2001) }],
        ['negative_prompt', { negative_prompt: null }],
        ['style', { style: 'photographic' }],
        ['width', { width: 255 }],
        ['width', { width: 2049 }],
        ['width', { width: 1.5 }],
        ['width', { width: 'abc' }],
        ['width', { width: true }],
        ['height', { height: '2049' }],
        ['height', { height: null }],
        ['quality', { quality: 'ultra' }],
        ['tags', { tags: 'sea' }],
        ['tags', { tags: ['sea', 't'.repeat(51)] }],
        ['tags', { tags: ['sea', 7] }],
        ['colour', { colour: 'red' }],
      ]),
    )('answers 400 naming %s for %s, and stores nothing', async (field, _label, body) => {
      const response = await app
        .http()
        .post('/api/images/generate/')
        .set(bearer(refused.access))
        .send({ prompt: 'A valid prompt', ...SMALL, ...body });
      expectFieldError(response, field);
      expect(await countRows(app, refused.id)).toBe(0);
    });

    it('answers 400 problem+json to malformed JSON', async () => {
      const response = await app
        .http()
        .post('/api/images/generate/')
        .set(bearer(refused.access))
        .set('Content-Type', 'application/json')
        .send('{"prompt": "half');
      expectProblem(response, 400);
      expect(await countRows(app, refused.id)).toBe(0);
    });

    it('answers 415 to a text/plain body, and stores nothing', async () => {
      const response = await app
        .http()
        .post('/api/images/generate/')
        .set(bearer(refused.access))
        .set('Content-Type', 'text/plain')
        .send('prompt=A lighthouse');
      expectProblem(response, 415);
      expect(await countRows(app, refused.id)).toBe(0);
    });

    it('answers 401 without a token', async () => {
      const response = await app.http().post('/api/images/generate/').send({ prompt: 'A fox' });
      expectProblem(response, 401);
    });
  });

  describe('GET / (list)', () => {
    let owner: RegisteredUser;
    let other: RegisteredUser;
    /** r[0] oldest … r[6] newest. */
    let r: number[];
    beforeAll(async () => {
      owner = await registerUser(app);
      other = await registerUser(app);
      r = await insertImages(app, owner.id, [
        {
          prompt: 'A lighthouse on a cliff',
          status: 'generated',
          createdAt: new Date('2024-03-01T10:00:00Z'),
          updatedAt: new Date('2024-04-06T00:00:00Z'),
          tags: ['sea'],
        },
        {
          prompt: 'Mountain lake',
          validationNotes: 'The LIGHTHOUSE is missing',
          status: 'rejected',
          createdAt: new Date('2024-03-02T23:30:00Z'),
          updatedAt: new Date('2024-04-05T00:00:00Z'),
          tags: ['lake'],
        },
        {
          prompt: 'Sale 100% off poster',
          status: 'validated',
          createdAt: new Date('2024-03-03T00:00:00Z'),
          updatedAt: new Date('2024-04-04T00:00:00Z'),
          tags: ['dawn', 'sea'],
        },
        {
          prompt: 'Gallery 100 paintings',
          status: 'generated',
          createdAt: new Date('2024-03-04T12:00:00Z'),
          updatedAt: new Date('2024-04-03T00:00:00Z'),
        },
        {
          prompt: 'snake_case banner',
          status: 'failed',
          createdAt: new Date('2024-03-05T08:00:00Z'),
          updatedAt: new Date('2024-04-02T00:00:00Z'),
        },
        {
          prompt: 'snakeXcase banner',
          status: 'validated',
          createdAt: new Date('2024-03-06T08:00:00Z'),
          updatedAt: new Date('2024-04-01T00:00:00Z'),
        },
        { prompt: 'Forest at night', status: 'pending', createdAt: new Date() },
      ]);
      // Another user's images match every filter below: none may show.
      await insertImages(app, other.id, [
        { prompt: 'A lighthouse by another', status: 'validated', tags: ['sea', 'lake'] },
        {
          prompt: 'Another 100% snake_case',
          status: 'generated',
          createdAt: new Date('2024-03-03T12:00:00Z'),
        },
      ]);
    });

    it('lists only your own images, newest first, with their exact count', async () => {
      const response = await list(owner).expect(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toMatchObject({ count: 7, next: null, previous: null });
      expect(ids(response.body)).toEqual([...r].reverse());
      for (const image of response.body.results) {
        expect(Object.keys(image).sort()).toEqual(IMAGE_KEYS);
        expect(image.user).toBe(owner.username);
      }
      expect(response.body.results[4]).toMatchObject({ id: r[2], tags: ['dawn', 'sea'] });

      const theirs = await list(other).expect(200);
      expect(theirs.body.count).toBe(2);
      expect(ids(theirs.body).filter((id) => r.includes(id))).toEqual([]);
    });

    it('paginates like DRF, with absolute next and previous links', async () => {
      const first = await list(owner, { page_size: 3 }).expect(200);
      expect(first.body).toMatchObject({
        count: 7,
        previous: null,
        next: `${base}/api/images/?page_size=3&page=2`,
      });
      expect(ids(first.body)).toEqual([r[6], r[5], r[4]]);

      const second = await get(owner, '/api/images/?page_size=3&page=2').expect(200);
      expect(second.body).toMatchObject({
        count: 7,
        previous: `${base}/api/images/?page_size=3`,
        next: `${base}/api/images/?page_size=3&page=3`,
      });
      expect(ids(second.body)).toEqual([r[3], r[2], r[1]]);

      const last = await get(owner, '/api/images/?page_size=3&page=3').expect(200);
      expect(last.body).toMatchObject({
        count: 7,
        previous: `${base}/api/images/?page_size=3&page=2`,
        next: null,
      });
      expect(ids(last.body)).toEqual([r[0]]);

      // The filters travel in the links.
      const filtered = await get(owner, '/api/images/?status=validated&page_size=1').expect(200);
      expect(filtered.body.next).toBe(`${base}/api/images/?status=validated&page_size=1&page=2`);
    });

    it('answers a page past the end with 404, and a bad page or page_size with 400', async () => {
      expectProblem(await list(owner, { page_size: 3, page: 4 }), 404);
      expectProblem(await list(other, { status: 'rejected', page: 2 }), 404);
      expectFieldError(await list(owner, { page: 0 }), 'page');
      expectFieldError(await list(owner, { page: 'x' }), 'page');
      expectFieldError(await list(owner, { page_size: 0 }), 'page_size');
      expectFieldError(await list(owner, { page_size: 'ten' }), 'page_size');
      // Page 1 exists even when there is nothing on it.
      const empty = await registerUser(app);
      const nothing = await list(empty).expect(200);
      expect(nothing.body).toEqual({ count: 0, next: null, previous: null, results: [] });
    });

    it('ignores query parameters it does not know, as DRF does, and reads repeated tags', async () => {
      const response = await get(
        owner,
        '/api/images/?format=json&_=1712345678&status=validated',
      ).expect(200);
      expect(ids(response.body)).toContain(r[2]);
      expect(response.body.results.every((image: ImageBody) => image.status === 'validated')).toBe(
        true,
      );
      const repeated = await get(owner, '/api/images/?tags=DAWN&tags=Lake').expect(200);
      expect(ids(repeated.body).sort()).toEqual([r[1], r[2]].sort());
    });

    it('clamps page_size to 100', async () => {
      const many = await registerUser(app);
      await insertManyImages(app, many.id, 105);
      const first = await list(many, { page_size: 1000 }).expect(200);
      expect(first.body.count).toBe(105);
      expect(first.body.results).toHaveLength(100);
      expect(first.body.next).toBe(`${base}/api/images/?page_size=1000&page=2`);
      expect(first.body.results[0].prompt).toBe('Bulk picture 105');
      const second = await list(many, { page_size: 1000, page: 2 }).expect(200);
      expect(second.body.results.map((image: ImageBody) => image.prompt)).toEqual([
        'Bulk picture 5',
        'Bulk picture 4',
        'Bulk picture 3',
        'Bulk picture 2',
        'Bulk picture 1',
      ]);
      expectProblem(await list(many, { page_size: 1000, page: 3 }), 404);
      const defaults = await list(many).expect(200);
      expect(defaults.body.results).toHaveLength(20);
      expect(defaults.body.next).toBe(`${base}/api/images/?page=2`);
    });

    it.each([
      ['status=validated', { status: 'validated' }, [5, 2]],
      ['status=pending', { status: 'pending' }, [6]],
      ['status=generating', { status: 'generating' }, []],
      ['tags any of, case-insensitive', { tags: 'sea,DAWN' }, [2, 0]],
      ['tags lake,dawn', { tags: 'lake, dawn' }, [2, 1]],
      ['a tag nobody of yours has', { tags: 'nope' }, []],
      ['search in prompt and notes, any case', { search: 'lighthouse' }, [1, 0]],
      ['search in capitals', { search: 'LIGHT' }, [1, 0]],
      ['search with a literal %', { search: '100%' }, [2]],
      ['search for % alone', { search: '%' }, [2]],
      ['search with a literal _', { search: 'snake_case' }, [4]],
      ['search for _ alone', { search: '_' }, [4]],
      ['created_after', { created_after: '2024-03-02T00:00:00Z' }, [6, 5, 4, 3, 2, 1]],
      [
        'created_after with an offset',
        { created_after: '2024-03-03T01:00:00+01:00' },
        [6, 5, 4, 3, 2],
      ],
      ['created_before a bare date: that whole day', { created_before: '2024-03-02' }, [1, 0]],
      [
        'created_before an instant: inclusive',
        { created_before: '2024-03-03T00:00:00Z' },
        [2, 1, 0],
      ],
      [
        'created_after and created_before',
        { created_after: '2024-03-02', created_before: '2024-03-04' },
        [3, 2, 1],
      ],
      ['status and search together', { status: 'generated', search: '100' }, [3]],
      ['tags and status together', { tags: 'sea', status: 'generated' }, [0]],
    ])('filters: %s, with the matching count', async (_name, query, expected) => {
      const response = await list(owner, query).expect(200);
      expect(ids(response.body)).toEqual(expected.map((index) => r[index]));
      expect(response.body.count).toBe(expected.length);
    });

    it.each([
      ['created_at', [0, 1, 2, 3, 4, 5, 6]],
      ['-created_at', [6, 5, 4, 3, 2, 1, 0]],
      ['updated_at', [5, 4, 3, 2, 1, 0, 6]],
      ['-updated_at', [6, 0, 1, 2, 3, 4, 5]],
      // Alphabetical, as DRF orders a CharField; ties by id in the same direction.
      ['status', [4, 0, 3, 6, 1, 2, 5]],
      ['-status', [5, 2, 1, 6, 3, 0, 4]],
    ])('orders by %s', async (ordering, expected) => {
      const response = await list(owner, { ordering }).expect(200);
      expect(ids(response.body)).toEqual(expected.map((index) => r[index]));
      expect(response.body.count).toBe(7);
    });

    it.each([
      ['ordering', { ordering: 'prompt' }],
      ['ordering', { ordering: '--created_at' }],
      ['status', { status: 'done' }],
      ['created_after', { created_after: 'yesterday' }],
      ['created_before', { created_before: '2024-13-01' }],
    ])('answers 400 naming %s for %j', async (field, query) => {
      expectFieldError(await list(owner, query), field);
    });

    it('keeps count exact through deletes, validations and status changes', async () => {
      const user = await registerUser(app);
      const [a, b, c, d, e] = await insertImages(app, user.id, [
        { prompt: 'one', status: 'generated' },
        { prompt: 'two', status: 'generated' },
        { prompt: 'three', status: 'rejected' },
        { prompt: 'four', status: 'pending' },
        { prompt: 'five', status: 'failed' },
      ]);
      const check = async () => {
        const total = await list(user).expect(200);
        expect(total.body.count).toBe(await countRows(app, user.id));
        for (const status of [
          'pending',
          'generating',
          'generated',
          'validated',
          'rejected',
          'failed',
        ]) {
          const response = await list(user, { status }).expect(200);
          expect([status, response.body.count]).toEqual([
            status,
            await countRows(app, user.id, status),
          ]);
          expect([status, response.body.results.length]).toEqual([status, response.body.count]);
        }
        return total.body.count as number;
      };
      expect(await check()).toBe(5);

      await app.http().delete(`/api/images/${a}/`).set(bearer(user.access)).expect(204);
      expect(await check()).toBe(4);
      await validate(user, b, { action: 'validate' }).expect(200);
      await validate(user, c, { action: 'validate' }).expect(200);
      await validate(user, b, { action: 'reject' }).expect(200);
      expect(await check()).toBe(4);
      // What the worker does to a row, straight in the database.
      await app.dataSource.query(
        `UPDATE generated_images SET status = 'generating' WHERE id = $1`,
        [d],
      );
      expect(await check()).toBe(4);
      await app.dataSource.query(
        `UPDATE generated_images SET status = 'generated', generation_time = 2 WHERE id = $1`,
        [d],
      );
      await app.http().delete(`/api/images/${e}/`).set(bearer(user.access)).expect(204);
      expect(await check()).toBe(3);
      const search = await list(user, { search: 'o' }).expect(200);
      expect(search.body.count).toBe(2);
      expect(ids(search.body)).toEqual([d, b]);
    });
  });

  describe('GET, PATCH, PUT, DELETE {id}/', () => {
    let owner: RegisteredUser;
    let image: ImageBody;
    beforeAll(async () => {
      owner = await registerUser(app);
      image = await generatedImage(app, owner, {
        prompt: 'A red kite over the dunes',
        negative_prompt: 'text, watermark',
        style: 'cartoon',
        quality: 'hd',
        tags: ['Kite', 'beach'],
      });
    });

    it('answers every field of an image, with absolute signed media URLs', async () => {
      const response = await get(owner, `/api/images/${image.id}/`).expect(200);
      const body = response.body;
      expect(Object.keys(body).sort()).toEqual(IMAGE_KEYS);
      expect(body).toMatchObject({
        id: image.id,
        user: owner.username,
        prompt: 'A red kite over the dunes',
        negative_prompt: 'text, watermark',
        image_url: null,
        status: 'generated',
        error_message: '',
        style: 'cartoon',
        width: 256,
        height: 256,
        quality: 'hd',
        provider: 'local',
        progress: 100,
        validated_at: null,
        validation_notes: '',
        tags: ['beach', 'kite'],
        is_validated: false,
        is_ready_for_scheduling: false,
      });
      expect(body.metadata).toMatchObject({
        provider: 'local',
        prompt_sent: 'A red kite over the dunes, cartoon style, animated, colorful, vibrant',
      });
      expect(body.generation_time).toBeGreaterThan(0);
      expect(body.created_at).toMatch(ISO_WITH_OFFSET);
      expect(body.updated_at).toMatch(ISO_WITH_OFFSET);
      const signed = new RegExp(
        `^${base}/media/images/${owner.id}/${image.id}/[^?]+\\?expires=\\d+&signature=[\\w-]+$`,
      );
      for (const [field, type] of [
        ['image_file', 'image/png'],
        ['image_url_display', 'image/jpeg'],
        ['thumbnail', 'image/jpeg'],
      ]) {
        expect(body[field]).toMatch(signed);
        const media = await app.http().get(localPath(body[field])).expect(200);
        expect([field, media.headers['content-type']]).toEqual([field, type]);
      }
      // Without the trailing slash too.
      await get(owner, `/api/images/${image.id}`).expect(200);
    });

    it('PATCH changes prompt, negative_prompt, validation_notes and tags, and records it', async () => {
      const [id] = await insertImages(app, owner.id, [
        { prompt: 'Before', negativePrompt: 'old', status: 'generated', tags: ['old'] },
      ]);
      const before = (await get(owner, `/api/images/${id}/`).expect(200)).body;
      const response = await patch(owner, id, {
        prompt: 'After',
        negative_prompt: 'blur',
        validation_notes: 'Crop the left side',
        tags: ['Sea', ' DAWN ', 'sea'],
      }).expect(200);
      expect(response.body).toEqual({
        ...before,
        prompt: 'After',
        negative_prompt: 'blur',
        validation_notes: 'Crop the left side',
        tags: ['dawn', 'sea'],
        updated_at: expect.stringMatching(ISO_WITH_OFFSET),
      });
      expect(Date.parse(response.body.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
      expect((await get(owner, `/api/images/${id}/`).expect(200)).body).toEqual(response.body);
      expect(await storedImage(app, id)).toMatchObject({
        prompt: 'After',
        negative_prompt: 'blur',
        validation_notes: 'Crop the left side',
        status: 'generated',
      });

      // Tags are replaced, not added to; other fields stay.
      const replaced = await patch(owner, id, { tags: ['Sunset'] }).expect(200);
      expect(replaced.body).toMatchObject({ tags: ['sunset'], prompt: 'After' });
      const prompted = await patch(owner, id, { prompt: 'Again' }).expect(200);
      expect(prompted.body).toMatchObject({ tags: ['sunset'], prompt: 'Again' });
      const cleared = await patch(owner, id, { tags: [] }).expect(200);
      expect(cleared.body.tags).toEqual([]);

      expect(await storedActions(app, owner.id, id)).toEqual([
        'updated',
        'updated',
        'updated',
        'updated',
      ]);
      const history = await get(owner, '/api/images/history/?page_size=4').expect(200);
      expect(history.body.results[3]).toMatchObject({ image_id: id, action: 'updated' });
      expect(history.body.results[3].details.fields.sort()).toEqual([
        'negative_prompt',
        'prompt',
        'tags',
        'validation_notes',
      ]);
    });

    it.each(
      cases([
        ['prompt', { prompt: '' }],
        ['prompt', { prompt: '   ' }],
        ['prompt', { prompt: null }],
        ['prompt', { prompt: 'p'.repeat(2001) }],
        ['negative_prompt', { negative_prompt: 'n'.repeat(2001) }],
        ['validation_notes', { validation_notes: 'v'.repeat(1001) }],
        ['validation_notes', { validation_notes: 5 }],
        ['tags', { tags: 'sea' }],
        ['tags', { tags: ['t'.repeat(51)] }],
        ['status', { status: 'validated' }],
        ['width', { width: 512 }],
      ]),
    )('PATCH answers 400 naming %s for %s, and changes nothing', async (field, _label, body) => {
      const before = await storedImage(app, image.id);
      const response = await patch(owner, image.id, { validation_notes: 'Changed', ...body });
      expectFieldError(response, field);
      expect(await storedImage(app, image.id)).toEqual(before);
      expect((await get(owner, `/api/images/${image.id}/`).expect(200)).body.tags).toEqual([
        'beach',
        'kite',
      ]);
    });

    it('PUT needs the prompt (the create rules apply), and with it updates', async () => {
      const [id] = await insertImages(app, owner.id, [{ prompt: 'Kept', tags: ['keep'] }]);
      const before = await storedImage(app, id);
      const missing = await app
        .http()
        .put(`/api/images/${id}/`)
        .set(bearer(owner.access))
        .send({ negative_prompt: 'x', tags: ['new'] });
      expectFieldError(missing, 'prompt');
      expect(await storedImage(app, id)).toEqual(before);

      const response = await app
        .http()
        .put(`/api/images/${id}/`)
        .set(bearer(owner.access))
        .send({ prompt: 'Replaced', negative_prompt: 'x', tags: ['New'] })
        .expect(200);
      expect(response.body).toMatchObject({
        prompt: 'Replaced',
        negative_prompt: 'x',
        tags: ['new'],
      });
    });

    it('DELETE answers 204, removes the row and the files, and keeps the history', async () => {
      const doomed = await generatedImage(app, owner, { prompt: 'Soon gone' });
      const row = (await storedImage(app, doomed.id))!;
      const keys = fileKeys(row);
      expect(keys).toHaveLength(4);
      for (const key of keys) expect([key, await exists(app, key)]).toEqual([key, true]);

      const response = await app
        .http()
        .delete(`/api/images/${doomed.id}/`)
        .set(bearer(owner.access))
        .expect(204);
      expect(response.text).toBe('');
      expect(await storedImage(app, doomed.id)).toBeUndefined();
      for (const key of keys) expect([key, await exists(app, key)]).toEqual([key, false]);
      expectProblem(await get(owner, `/api/images/${doomed.id}/`), 404);
      expectProblem(await app.http().get(localPath(doomed.image_file!)), 404);
      expect(await storedActions(app, owner.id, doomed.id)).toEqual([
        'deleted',
        'generated',
        'requested',
      ]);
      const history = await get(owner, '/api/images/history/?page_size=1').expect(200);
      expect(history.body.results[0]).toMatchObject({
        image_id: doomed.id,
        action: 'deleted',
        details: { prompt: 'Soon gone', status: 'generated' },
      });
      // Deleting again: there is nothing left.
      expectProblem(
        await app.http().delete(`/api/images/${doomed.id}/`).set(bearer(owner.access)),
        404,
      );
    });

    it("answers 404 to every verb on another user's image, and changes nothing", async () => {
      const stranger = await registerUser(app);
      const row = (await storedImage(app, image.id))!;
      const url = `/api/images/${image.id}/`;
      const attempts = [
        app.http().get(url),
        app.http().patch(url).send({ prompt: 'Mine now' }),
        app.http().put(url).send({ prompt: 'Mine now' }),
        app.http().delete(url),
        app.http().patch(`${url}validate/`).send({ action: 'validate' }),
        app.http().post(`${url}regenerate/`),
      ];
      for (const attempt of attempts) {
        const response = await attempt.set(bearer(stranger.access));
        expectProblem(response, 404);
        expect(JSON.stringify(response.body)).not.toContain('red kite');
      }
      expect(await storedImage(app, image.id)).toEqual(row);
      for (const key of fileKeys(row)) expect(await exists(app, key)).toBe(true);
      expect(await storedActions(app, owner.id, image.id)).toEqual(['generated', 'requested']);
    });

    it.each(['abc', '0', '-1', '1.5', '99999999999'])('answers 404 to the id %s', async (id) => {
      expectProblem(await get(owner, `/api/images/${id}/`), 404);
      expectProblem(await patch(owner, id, { prompt: 'x' }), 404);
      expectProblem(await app.http().delete(`/api/images/${id}/`).set(bearer(owner.access)), 404);
    });
  });

  describe('PATCH {id}/validate/', () => {
    let owner: RegisteredUser;
    beforeAll(async () => {
      owner = await registerUser(app);
    });

    it('goes generated → validated → rejected → validated, with history', async () => {
      const image = await generatedImage(app, owner, { prompt: 'A lantern' });

      const started = Date.now();
      const validated = await validate(owner, image.id, {
        action: 'validate',
        validation_notes: 'Looks good',
      }).expect(200);
      expect(validated.body.message).toEqual(expect.any(String));
      expect(validated.body.image).toMatchObject({
        id: image.id,
        status: 'validated',
        is_validated: true,
        is_ready_for_scheduling: true,
        validation_notes: 'Looks good',
      });
      expect(validated.body.image.validated_at).toMatch(ISO_WITH_OFFSET);
      expect(Date.parse(validated.body.image.validated_at)).toBeGreaterThanOrEqual(started - 1000);
      expect(Date.parse(validated.body.image.validated_at)).toBeLessThanOrEqual(Date.now() + 1000);

      const rejected = await validate(owner, image.id, {
        action: 'reject',
        validation_notes: 'Too dark',
      }).expect(200);
      expect(rejected.body.image).toMatchObject({
        status: 'rejected',
        validated_at: null,
        is_validated: false,
        is_ready_for_scheduling: false,
        validation_notes: 'Too dark',
      });

      const again = await validate(owner, image.id, { action: 'validate' }).expect(200);
      expect(again.body.image).toMatchObject({
        status: 'validated',
        is_validated: true,
        is_ready_for_scheduling: true,
        validation_notes: 'Too dark',
      });
      expect((await get(owner, `/api/images/${image.id}/`).expect(200)).body).toEqual(
        again.body.image,
      );

      expect(await storedActions(app, owner.id, image.id)).toEqual([
        'validate',
        'reject',
        'validate',
        'generated',
        'requested',
      ]);
      const history = await get(owner, '/api/images/history/?page_size=3').expect(200);
      expect(history.body.results.map((row: { action: string }) => row.action)).toEqual([
        'validate',
        'reject',
        'validate',
      ]);
      expect(history.body.results[1].details).toMatchObject({
        from: 'validated',
        notes: 'Too dark',
      });
    });

    it('answers 409 for a pending or failed image, and changes nothing', async () => {
      const [pending, failed] = await insertImages(app, owner.id, [
        { status: 'pending' },
        { status: 'failed' },
      ]);
      for (const id of [pending, failed]) {
        const before = await storedImage(app, id);
        for (const action of ['validate', 'reject']) {
          const response = await validate(owner, id, { action });
          expectProblem(response, 409);
          expect(response.body.detail).toContain(before!.status);
        }
        expect(await storedImage(app, id)).toEqual(before);
        expect(await storedActions(app, owner.id, id)).toEqual([]);
      }
    });

    it.each(
      cases([
        ['action', { action: 'approve' }],
        ['action', {}],
        ['action', { action: null }],
        ['validation_notes', { action: 'validate', validation_notes: 'v'.repeat(1001) }],
        ['status', { action: 'validate', status: 'validated' }],
      ]),
    )('answers 400 naming %s for %s, and changes nothing', async (field, _label, body) => {
      const [id] = await insertImages(app, owner.id, [{ status: 'generated' }]);
      const before = await storedImage(app, id);
      expectFieldError(await validate(owner, id, body), field);
      expect(await storedImage(app, id)).toEqual(before);
    });

    it('answers 415 to a text/plain body', async () => {
      const [id] = await insertImages(app, owner.id, [{ status: 'generated' }]);
      const response = await app
        .http()
        .patch(`/api/images/${id}/validate/`)
        .set(bearer(owner.access))
        .set('Content-Type', 'text/plain')
        .send('validate');
      expectProblem(response, 415);
      expect((await storedImage(app, id))!.status).toBe('generated');
    });
  });

  describe('POST {id}/regenerate/', () => {
    let owner: RegisteredUser;
    beforeAll(async () => {
      owner = await registerUser(app);
    });

    it('generates a rejected image again: 202, old files gone, new files made', async () => {
      const image = await generatedImage(app, owner, { prompt: 'A windmill', tags: ['mill'] });
      const oldKeys = fileKeys((await storedImage(app, image.id))!);
      expect(oldKeys).toHaveLength(4);
      await validate(owner, image.id, { action: 'reject', validation_notes: 'Blurry' }).expect(200);

      const response = await regenerate(owner, image.id).expect(202);
      expect(response.body.message).toEqual(expect.any(String));
      expect(response.body.task_id).toBe(`generate-image:${image.id}:2`);
      expect(response.body.image).toMatchObject({
        id: image.id,
        status: 'pending',
        prompt: 'A windmill',
        tags: ['mill'],
        image_file: null,
        thumbnail: null,
        image_url_display: null,
        generation_time: null,
        validated_at: null,
        is_validated: false,
      });
      for (const key of oldKeys) expect([key, await exists(app, key)]).toEqual([key, false]);

      const again = await waitForStatus(app, owner, image.id);
      expect(again).toMatchObject({ status: 'generated', progress: 100, tags: ['mill'] });
      expect(again.generation_time).toBeGreaterThan(0);
      const newKeys = fileKeys((await storedImage(app, image.id))!);
      expect(newKeys).toHaveLength(4);
      for (const key of newKeys) {
        expect(oldKeys).not.toContain(key);
        expect([key, await exists(app, key)]).toEqual([key, true]);
      }
      await app.http().get(localPath(again.image_file!)).expect(200);
      expect(await storedActions(app, owner.id, image.id)).toEqual([
        'generated',
        'requested',
        'reject',
        'generated',
        'requested',
      ]);

      // Generated, then validated: neither can be regenerated.
      expectProblem(await regenerate(owner, image.id), 409);
      await validate(owner, image.id, { action: 'validate' }).expect(200);
      const refused = await regenerate(owner, image.id);
      expectProblem(refused, 409);
      const row = (await storedImage(app, image.id))!;
      expect([row.status, row.generation]).toEqual(['validated', 2]);
    });

    it('generates a failed image again', async () => {
      const [id] = await insertImages(app, owner.id, [
        { prompt: 'A failed attempt', status: 'failed' },
      ]);
      const response = await regenerate(owner, id).expect(202);
      expect(response.body.task_id).toBe(`generate-image:${id}:2`);
      const done = await waitForStatus(app, owner, id);
      expect(done).toMatchObject({ status: 'generated', error_message: '' });
    });

    it('answers 409 for a pending image, and changes nothing', async () => {
      const [id] = await insertImages(app, owner.id, [{ status: 'pending' }]);
      const before = await storedImage(app, id);
      expectProblem(await regenerate(owner, id), 409);
      expect(await storedImage(app, id)).toEqual(before);
    });
  });

  describe('GET statistics/', () => {
    it('answers zeros for a new user', async () => {
      const user = await registerUser(app);
      const body = await statistics(user);
      expect(Object.keys(body).sort()).toEqual(STATISTICS_KEYS);
      expect(body).toEqual(Object.fromEntries(STATISTICS_KEYS.map((key) => [key, 0])));
    });

    it('counts exactly after generations, validations, rejections and deletes', async () => {
      const user = await registerUser(app);
      const images = await Promise.all(
        ['One', 'Two', 'Three', 'Four'].map((prompt) => generatedImage(app, user, { prompt })),
      );
      // Beside them, a failed and a pending image (test data, no worker involved).
      await insertImages(app, user.id, [{ status: 'failed' }, { status: 'pending' }]);
      const [kept, validatedOne, rejectedOne, deleted] = images;
      await validate(user, validatedOne.id, { action: 'validate' }).expect(200);
      await validate(user, rejectedOne.id, { action: 'reject' }).expect(200);
      await app.http().delete(`/api/images/${deleted.id}/`).set(bearer(user.access)).expect(204);

      const body = await statistics(user);
      expect(Object.keys(body).sort()).toEqual(STATISTICS_KEYS);
      const timed = [kept, validatedOne, rejectedOne].map((image) => image.generation_time!);
      const total = timed.reduce((sum, seconds) => sum + seconds, 0);
      expect(body).toMatchObject({
        total_images: 5,
        pending_images: 1,
        generating_images: 0,
        generated_images: 1,
        validated_images: 1,
        rejected_images: 1,
        failed_images: 1,
      });
      expect(body.total_generation_time).toBeCloseTo(total, 3);
      expect(body.average_generation_time).toBeCloseTo(total / 3, 3);
      expect(body.average_generation_time).toBeGreaterThan(0);
      // The statistics and the list agree.
      expect((await list(user).expect(200)).body.count).toBe(5);
    });
  });

  describe('GET history/', () => {
    it('pages your own history, newest first', async () => {
      const user = await registerUser(app);
      const stranger = await registerUser(app);
      const image = await generatedImage(app, user, { prompt: 'A clock tower' });
      await validate(user, image.id, { action: 'validate' }).expect(200);
      await patch(user, image.id, { validation_notes: 'For Monday' }).expect(200);
      await app.http().delete(`/api/images/${image.id}/`).set(bearer(user.access)).expect(204);
      const [theirs] = await insertImages(app, stranger.id, [{ status: 'generated' }]);
      await validate(stranger, theirs, { action: 'reject' }).expect(200);

      const all = await get(user, '/api/images/history/').expect(200);
      expect(all.body).toMatchObject({ count: 5, next: null, previous: null });
      expect(all.body.results.map((row: { action: string }) => row.action)).toEqual([
        'deleted',
        'updated',
        'validate',
        'generated',
        'requested',
      ]);
      for (const row of all.body.results) {
        expect(Object.keys(row).sort()).toEqual([
          'action',
          'created_at',
          'details',
          'id',
          'image_id',
          'user',
        ]);
        expect(row).toMatchObject({ user: user.username, image_id: image.id });
        expect(row.created_at).toMatch(ISO_WITH_OFFSET);
      }
      const times = all.body.results.map((row: { created_at: string }) =>
        Date.parse(row.created_at),
      );
      expect([...times].sort((a, b) => b - a)).toEqual(times);

      const first = await get(user, '/api/images/history/?page_size=2').expect(200);
      expect(first.body).toMatchObject({
        count: 5,
        previous: null,
        next: `${base}/api/images/history/?page_size=2&page=2`,
      });
      expect(ids(first.body)).toEqual(ids(all.body).slice(0, 2));
      const last = await get(user, '/api/images/history/?page_size=2&page=3').expect(200);
      expect(last.body.previous).toBe(`${base}/api/images/history/?page_size=2&page=2`);
      expect(ids(last.body)).toEqual(ids(all.body).slice(4));
      expectProblem(await get(user, '/api/images/history/?page_size=2&page=4'), 404);
      expectFieldError(await get(user, '/api/images/history/?page=0'), 'page');

      const theirHistory = await get(stranger, '/api/images/history/').expect(200);
      expect(theirHistory.body.count).toBe(1);
      expect(theirHistory.body.results[0]).toMatchObject({
        user: stranger.username,
        image_id: theirs,
        action: 'reject',
      });
    });
  });
});

describe('/api/images/ per-user limit of images in flight (no worker: they stay pending)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ APP_ROLES: 'api', IMAGE_MAX_ACTIVE_PER_USER: '2' });
  });
  afterAll(() => app.close());

  const generate = (user: RegisteredUser, body: object = {}) =>
    app
      .http()
      .post('/api/images/generate/')
      .set(bearer(user.access))
      .send({ prompt: 'A pending picture', ...SMALL, ...body });
  const requested = async (userId: number) => {
    const [{ count }] = await app.dataSource.query(
      `SELECT count(*)::int AS count FROM image_generation_history
       WHERE user_id = $1 AND action = 'requested'`,
      [userId],
    );
    return count as number;
  };

  it('answers 201 pending at once, with the defaults and the profile style', async () => {
    const user = await registerUser(app);
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(user.access))
      .send({ default_image_style: 'anime' })
      .expect(200);
    const response = await app
      .http()
      .post('/api/images/generate/')
      .set(bearer(user.access))
      .send({ prompt: 'A fox in the snow' })
      .expect(201);
    expect(Object.keys(response.body).sort()).toEqual(['image', 'message', 'task_id']);
    expect(response.body.message).toEqual(expect.any(String));
    const image = response.body.image;
    expect(response.body.task_id).toBe(`generate-image:${image.id}:1`);
    expect(Object.keys(image).sort()).toEqual(IMAGE_KEYS);
    expect(image).toMatchObject({
      user: user.username,
      prompt: 'A fox in the snow',
      negative_prompt: '',
      status: 'pending',
      style: 'anime',
      width: 1024,
      height: 1024,
      quality: 'standard',
      image_url: null,
      image_file: null,
      thumbnail: null,
      image_url_display: null,
      generation_time: null,
      validated_at: null,
      tags: [],
      is_validated: false,
      is_ready_for_scheduling: false,
    });
    expect(
      (await app.http().get(`/api/images/${image.id}/`).set(bearer(user.access)).expect(200)).body,
    ).toEqual(image);
    expect(await requested(user.id)).toBe(1);
  });

  it('accepts the longest prompt, tag and the extreme sizes', async () => {
    const user = await registerUser(app);
    const response = await generate(user, {
      prompt: 'p'.repeat(2000),
      negative_prompt: 'n'.repeat(2000),
      width: 256,
      height: 2048,
      quality: 'hd',
      style: 'digital_art',
      tags: ['t'.repeat(50)],
    }).expect(201);
    expect(response.body.image).toMatchObject({
      width: 256,
      height: 2048,
      quality: 'hd',
      style: 'digital_art',
      tags: ['t'.repeat(50)],
    });
  });

  it('answers 429 with Retry-After past the limit, stores nothing, and leaves others alone', async () => {
    const user = await registerUser(app);
    const neighbour = await registerUser(app);
    const [first] = await Promise.all([generate(user).expect(201), generate(user).expect(201)]);

    const refused = await generate(user, { tags: ['never'] });
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await countRows(app, user.id)).toBe(2);
    expect(await requested(user.id)).toBe(2);
    const tags = await app.http().get('/api/images/tags/').set(bearer(user.access)).expect(200);
    expect(tags.body.count).toBe(0);

    await generate(neighbour).expect(201);

    // A pending image can be neither validated nor regenerated.
    const pendingId = first.body.image.id;
    expectProblem(
      await app
        .http()
        .patch(`/api/images/${pendingId}/validate/`)
        .set(bearer(user.access))
        .send({ action: 'validate' }),
      409,
    );
    expectProblem(
      await app.http().post(`/api/images/${pendingId}/regenerate/`).set(bearer(user.access)),
      409,
    );

    // Deleting one frees its place.
    await app.http().delete(`/api/images/${pendingId}/`).set(bearer(user.access)).expect(204);
    await generate(user).expect(201);
    expectProblem(await generate(user), 429);
    expect(await countRows(app, user.id)).toBe(2);
  });
});

describe('/api/images/ daily limit per user (worker on)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      APP_ROLES: 'api,worker',
      IMAGE_PROVIDER: 'local',
      IMAGE_DAILY_LIMIT_PER_USER: '3',
    });
  });
  afterAll(() => app.close());

  it('answers the fourth request of the day with 429, even when nothing is in flight', async () => {
    const user = await registerUser(app);
    const images = await Promise.all(
      ['One', 'Two', 'Three'].map((prompt) => generatedImage(app, user, { prompt })),
    );
    const refused = await app
      .http()
      .post('/api/images/generate/')
      .set(bearer(user.access))
      .send({ prompt: 'Four', ...SMALL });
    expectProblem(refused, 429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(await countRows(app, user.id)).toBe(3);

    // A regeneration is a request too: refused, and the image stays as it was.
    await app
      .http()
      .patch(`/api/images/${images[0].id}/validate/`)
      .set(bearer(user.access))
      .send({ action: 'reject' })
      .expect(200);
    const again = await app
      .http()
      .post(`/api/images/${images[0].id}/regenerate/`)
      .set(bearer(user.access));
    expectProblem(again, 429);
    const stats = await app.http().get('/api/images/statistics/').set(bearer(user.access));
    expect(stats.body).toMatchObject({ total_images: 3, rejected_images: 1, generated_images: 2 });

    const neighbour = await registerUser(app);
    await generatedImage(app, neighbour);
  });
});
