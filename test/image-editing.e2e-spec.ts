import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import * as graphFake from './fakes/graph.fake.js';
import { MEDIA_STORAGE, type MediaStorage } from '../apps/server/src/media/media-storage.js';
import { connectAccount, inSeconds, waitForPostStatus } from './factories/post.factory.js';
import { waitForStatus } from './factories/image.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';

type Rgb = [number, number, number];

/** A PNG drawn pixel by pixel. */
function drawPng(width: number, height: number, colour: (x: number, y: number) => Rgb) {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * 3);
  return sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

interface Decoded {
  width: number;
  height: number;
  at(x: number, y: number): Rgb;
}

async function decode(bytes: Buffer): Promise<Decoded> {
  const { data, info } = await sharp(bytes)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    at: (x, y) => {
      const i = (y * info.width + x) * info.channels;
      return [data[i], data[i + 1], data[i + 2]];
    },
  };
}

const RED: Rgb = [220, 30, 30];
const BLUE: Rgb = [30, 30, 220];
const GREEN: Rgb = [30, 200, 30];
const near = (actual: Rgb, expected: Rgb, tolerance = 12) =>
  actual.every((value, i) => Math.abs(value - expected[i]) <= tolerance);

/**
 * 40×20: red on the left, blue on the right, a green 8×8 square in the top-left corner. Every
 * transform moves that square somewhere else, which a corner pixel tells.
 */
const asymmetric = () => drawPng(40, 20, (x, y) => (x < 8 && y < 8 ? GREEN : x < 20 ? RED : BLUE));

describe('image editing', () => {
  let app: TestApp;
  let fake: graphFake.GraphFake;
  let storage: MediaStorage;
  let user: RegisteredUser;
  let other: RegisteredUser;

  beforeAll(async () => {
    fake = await graphFake.start();
    app = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
        FACEBOOK_GRAPH_URL: fake.graphUrl,
      },
      { listen: true },
    );
    storage = app.app.get<MediaStorage>(MEDIA_STORAGE);
    [user, other] = await Promise.all([registerUser(app), registerUser(app)]);
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  let made = 0;
  /** An image of `user` whose picture is `png`, as a finished generation leaves it. */
  async function imageOf(png: Buffer, status = 'validated', owner = user): Promise<number> {
    const { width, height } = await sharp(png).metadata();
    const base = `images/${owner.id}/test-${++made}`;
    const keys = {
      master: `${base}-master.png`,
      display: `${base}-display.jpg`,
      thumb: `${base}-thumb.jpg`,
    };
    await storage.put(keys.master, png);
    await storage.put(keys.display, await sharp(png).jpeg({ quality: 95 }).toBuffer());
    await storage.put(keys.thumb, await sharp(png).resize(30, 30).jpeg().toBuffer());
    const [{ id }] = (await app.dataSource.query(
      `INSERT INTO generated_images (user_id, prompt, status, style, width, height, provider,
         progress, master_key, rendition_key, thumbnail_key, validated_at)
       VALUES ($1, 'A test picture', $2::varchar, 'realistic', $3, $4, 'local', 100, $5, $6, $7,
         CASE WHEN $2::varchar = 'validated' THEN now() END) RETURNING id`,
      [owner.id, status, width, height, keys.master, keys.display, keys.thumb],
    )) as [{ id: number }];
    return id;
  }

  const edit = (id: number, operations: unknown, who = user) =>
    app.http().post(`/api/images/${id}/edit/`).set(bearer(who.access)).send({ operations });

  /** The file behind a signed URL, fetched as a client would. */
  async function fetchSigned(url: string): Promise<Buffer> {
    const { pathname, search } = new URL(url);
    const response = await app
      .http()
      .get(pathname + search)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    return response.body as Buffer;
  }

  /** Edits and answers the new master's pixels (lossless), checking the answer on the way. */
  async function edited(id: number, operations: unknown[]): Promise<Decoded> {
    const response = await edit(id, operations);
    expect(response.status).toBe(200);
    return decode(await fetchSigned(response.body.image_file));
  }

  async function mediaFiles(): Promise<string[]> {
    const entries = await readdir(app.config.mediaRoot, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => path.join(entry.parentPath, entry.name));
  }

  it('lists the platform presets', async () => {
    const response = await app
      .http()
      .get('/api/images/presets/')
      .set(bearer(user.access))
      .expect(200);
    expect(response.body).toEqual(
      expect.arrayContaining([
        { name: 'instagram_square', width: 1080, height: 1080 },
        { name: 'instagram_portrait', width: 1080, height: 1350 },
        { name: 'instagram_story', width: 1080, height: 1920 },
        { name: 'facebook', width: 1200, height: 630 },
        { name: 'x', width: 1600, height: 900 },
        { name: 'linkedin', width: 1200, height: 627 },
        { name: 'tiktok', width: 1080, height: 1920 },
      ]),
    );
    expect(response.body).toHaveLength(7);
  });

  it('rotates clockwise as a new version, keeps the status, the original and emits image.edited', async () => {
    const id = await imageOf(await asymmetric());
    const response = await edit(id, [{ op: 'rotate', degrees: 90 }]).expect(200);
    expect(response.body).toMatchObject({
      id,
      version: 2,
      status: 'validated',
      width: 20,
      height: 40,
    });
    const pixels = await decode(await fetchSigned(response.body.image_file));
    expect([pixels.width, pixels.height]).toEqual([20, 40]);
    // Clockwise: the top-left corner goes to the top-right; the red left half to the top.
    expect(near(pixels.at(17, 2), GREEN)).toBe(true);
    expect(near(pixels.at(2, 2), RED)).toBe(true);
    expect(near(pixels.at(10, 35), BLUE)).toBe(true);
    const display = await decode(await fetchSigned(response.body.image_url_display));
    expect([display.width, display.height]).toEqual([20, 40]);
    const thumb = await decode(await fetchSigned(response.body.thumbnail));
    expect([thumb.width, thumb.height]).toEqual([300, 300]);

    const versions = await app
      .http()
      .get(`/api/images/${id}/versions/`)
      .set(bearer(user.access))
      .expect(200);
    expect(versions.body.count).toBe(2);
    expect(versions.body.results.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.body.results[0]).toMatchObject({
      operations: [{ op: 'rotate', degrees: 90 }],
      is_current: true,
      width: 20,
      height: 40,
    });
    expect(versions.body.results[1]).toMatchObject({ operations: [], is_current: false });
    // The original is still there, untouched.
    const original = await decode(await fetchSigned(versions.body.results[1].image_file));
    expect([original.width, original.height]).toEqual([40, 20]);
    expect(near(original.at(2, 2), GREEN)).toBe(true);

    const [event] = (await app.dataSource.query(
      `SELECT data FROM events WHERE type = 'image.edited' AND user_id = $1 AND (data->>'id')::int = $2`,
      [user.id, id],
    )) as [{ data: { version: number; status: string } }];
    expect(event.data).toMatchObject({ version: 2, status: 'validated' });
  });

  it('flips top to bottom, flops left to right, and crops a box', async () => {
    const id = await imageOf(await asymmetric(), 'generated');
    const flipped = await edited(id, [{ op: 'flip' }]);
    expect(near(flipped.at(2, 17), GREEN)).toBe(true);
    expect(near(flipped.at(2, 2), RED)).toBe(true);
    // Each version applies its whole list to the original: flip then flop.
    const both = await edited(id, [{ op: 'flop' }]);
    expect(near(both.at(37, 17), GREEN)).toBe(true);
    expect(near(both.at(37, 2), RED)).toBe(true);
    // flip, flop, flip: the square is now top right, at x 32-39, y 0-7.
    const cropped = await edited(id, [
      { op: 'flip' },
      { op: 'crop', x: 32, y: 0, width: 8, height: 8 },
    ]);
    expect([cropped.width, cropped.height]).toEqual([8, 8]);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) expect(near(cropped.at(x, y), GREEN)).toBe(true);
  });

  it('turns grey with r = g = b, and sepia to warm browns', async () => {
    const id = await imageOf(await asymmetric());
    const grey = await edited(id, [{ op: 'grayscale' }]);
    for (const [x, y] of [
      [2, 2],
      [12, 15],
      [35, 10],
    ]) {
      const [r, g, b] = grey.at(x, y);
      expect(r).toBe(g);
      expect(g).toBe(b);
    }
    // Red and blue of the same strength are different greys (luma weights).
    expect(grey.at(12, 15)[0]).toBeGreaterThan(grey.at(35, 10)[0]);
    const sepia = await edited(id, [{ op: 'sepia' }]);
    const [r, g, b] = sepia.at(12, 15);
    expect(r).toBeGreaterThan(g);
    expect(g).toBeGreaterThan(b);
  });

  it('blurs an edge, sharpens, and modulates brightness and hue', async () => {
    const halves = await drawPng(40, 20, (x) => (x < 20 ? [0, 0, 0] : [255, 255, 255]));
    const id = await imageOf(halves);
    const blurred = await edited(id, [{ op: 'blur', sigma: 3 }]);
    const edge = blurred.at(20, 10)[0];
    expect(edge).toBeGreaterThan(40);
    expect(edge).toBeLessThan(215);
    // Sharpening an edge between two greys overshoots: darker than the dark side next to it,
    // lighter than the light side.
    const greys = await imageOf(
      await drawPng(40, 20, (x) => (x < 20 ? [100, 100, 100] : [160, 160, 160])),
    );
    const sharpened = await edited(greys, [{ op: 'sharpen', sigma: 2 }]);
    expect([sharpened.width, sharpened.height]).toEqual([40, 20]);
    expect(Math.min(...[17, 18, 19].map((x) => sharpened.at(x, 10)[0]))).toBeLessThan(97);
    expect(Math.max(...[20, 21, 22].map((x) => sharpened.at(x, 10)[0]))).toBeGreaterThan(163);
    expect(near(sharpened.at(2, 10), [100, 100, 100], 3)).toBe(true);

    const colour = await imageOf(await drawPng(16, 16, () => [200, 100, 50]));
    const darker = await edited(colour, [{ op: 'modulate', brightness: 0.5 }]);
    expect(darker.at(8, 8)[0]).toBeLessThan(150);
    const turned = await edited(colour, [{ op: 'modulate', hue: 180 }]);
    // Orange turned half way round the wheel is a blue.
    const [r, , b] = turned.at(8, 8);
    expect(b).toBeGreaterThan(r);
  });

  it('resizes with cover, contain and inside, and to a preset', async () => {
    const id = await imageOf(await asymmetric());
    const cover = await edited(id, [{ op: 'resize', width: 20, height: 20, fit: 'cover' }]);
    expect([cover.width, cover.height]).toEqual([20, 20]);
    const restoreFirst = () =>
      app.http().post(`/api/images/${id}/versions/1/restore/`).set(bearer(user.access)).expect(200);
    await restoreFirst();
    const contain = await edited(id, [{ op: 'resize', width: 20, height: 20, fit: 'contain' }]);
    expect([contain.width, contain.height]).toEqual([20, 20]);
    // Padded with white above and below the 20×10 picture.
    expect(near(contain.at(10, 0), [255, 255, 255], 3)).toBe(true);
    await restoreFirst();
    const inside = await edited(id, [{ op: 'resize', width: 20, height: 20, fit: 'inside' }]);
    expect([inside.width, inside.height]).toEqual([20, 10]);
    await restoreFirst();
    const preset = await edited(id, [{ op: 'preset', name: 'instagram_portrait' }]);
    expect([preset.width, preset.height]).toEqual([1080, 1350]);
  });

  it('crops to an aspect around the subject with attention, in the middle with center', async () => {
    // A dark 300×100 field with a bright, saturated subject near the right edge.
    const scene = await drawPng(300, 100, (x, y) =>
      x >= 240 && x < 280 && y >= 30 && y < 70 ? [255, 40, 200] : [20, 20, 24],
    );
    const id = await imageOf(scene);
    const subjectIn = (pixels: Decoded) => {
      for (let x = 0; x < pixels.width; x += 2)
        if (near(pixels.at(x, 50), [255, 40, 200], 30)) return true;
      return false;
    };
    const attention = await edited(id, [{ op: 'crop', aspect: '1:1', focus: 'attention' }]);
    expect([attention.width, attention.height]).toEqual([100, 100]);
    expect(subjectIn(attention)).toBe(true);
    // From the same original (a second edit would crop the first's result).
    const center = await edited(await imageOf(scene), [
      { op: 'crop', aspect: '1:1', focus: 'center' },
    ]);
    expect([center.width, center.height]).toEqual([100, 100]);
    expect(subjectIn(center)).toBe(false);
  });

  it('writes a watermark in the corner asked for and nowhere else', async () => {
    const plain = await drawPng(200, 100, () => [90, 90, 90]);
    const id = await imageOf(plain);
    const marked = await edited(id, [
      { op: 'watermark', text: 'Harbour', position: 'southeast', opacity: 1 },
    ]);
    let changedInCorner = 0;
    for (let y = 0; y < 100; y++)
      for (let x = 0; x < 200; x++) {
        const changed = !near(marked.at(x, y), [90, 90, 90], 2);
        if (x >= 100 && y >= 50) changedInCorner += changed ? 1 : 0;
        else expect({ x, y, changed }).toEqual({ x, y, changed: false });
      }
    expect(changedInCorner).toBeGreaterThan(50);
  });

  it('restores a version as a new one with its list and files', async () => {
    const id = await imageOf(await asymmetric());
    const v1 = await app.http().get(`/api/images/${id}/`).set(bearer(user.access)).expect(200);
    await edit(id, [{ op: 'grayscale' }]).expect(200);
    await edit(id, [{ op: 'rotate', degrees: 180 }]).expect(200);
    const restored = await app
      .http()
      .post(`/api/images/${id}/versions/1/restore/`)
      .set(bearer(user.access))
      .expect(200);
    expect(restored.body).toMatchObject({ version: 4, width: 40, height: 20, status: 'validated' });
    expect(new URL(restored.body.image_file).pathname).toBe(new URL(v1.body.image_file).pathname);
    const versions = await app
      .http()
      .get(`/api/images/${id}/versions/?page_size=2`)
      .set(bearer(user.access))
      .expect(200);
    expect(versions.body.count).toBe(4);
    expect(versions.body.next).toMatch(/page=2/);
    expect(versions.body.results[0]).toMatchObject({
      version: 4,
      operations: [],
      restored_from: 1,
    });
    expect(versions.body.results[1].operations).toEqual([
      { op: 'grayscale' },
      { op: 'rotate', degrees: 180 },
    ]);
    // Editing on from the restored version starts from its (empty) list.
    const next = await edit(id, [{ op: 'flop' }]).expect(200);
    expect(next.body.version).toBe(5);
    const pixels = await decode(await fetchSigned(next.body.image_file));
    expect(near(pixels.at(37, 2), GREEN)).toBe(true);
    await app
      .http()
      .post(`/api/images/${id}/versions/9/restore/`)
      .set(bearer(user.access))
      .expect(404);
  });

  it('keeps both of two edits sent at once, one after the other', async () => {
    const id = await imageOf(await asymmetric());
    const answers = await Promise.all([edit(id, [{ op: 'flip' }]), edit(id, [{ op: 'flop' }])]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(answers.map((answer) => answer.body.version).sort()).toEqual([2, 3]);
    const versions = await app
      .http()
      .get(`/api/images/${id}/versions/`)
      .set(bearer(user.access))
      .expect(200);
    const ops = versions.body.results[0].operations.map((o: { op: string }) => o.op).sort();
    expect(ops).toEqual(['flip', 'flop']);
    const pixels = await decode(
      await fetchSigned(
        answers[0].body.version === 3 ? answers[0].body.image_file : answers[1].body.image_file,
      ),
    );
    expect(near(pixels.at(37, 17), GREEN)).toBe(true);
  });

  it('is 409 on an image that is neither generated nor validated, 404 on another user’s', async () => {
    const rejected = await imageOf(await asymmetric(), 'rejected');
    expectProblem(await edit(rejected, [{ op: 'flip' }]), 409);
    expectProblem(
      await app.http().post(`/api/images/${rejected}/versions/1/restore/`).set(bearer(user.access)),
      409,
    );
    const mine = await imageOf(await asymmetric());
    expectProblem(await edit(mine, [{ op: 'flip' }], other), 404);
    expectProblem(
      await app.http().get(`/api/images/${mine}/versions/`).set(bearer(other.access)),
      404,
    );
    expectProblem(
      await app.http().post(`/api/images/${mine}/versions/1/restore/`).set(bearer(other.access)),
      404,
    );
    expectProblem(await edit(99_999_999_999, [{ op: 'flip' }]), 404);
    expectProblem(
      await app
        .http()
        .post(`/api/images/${mine}/versions/99999999999/restore/`)
        .set(bearer(user.access)),
      404,
    );
  });

  describe('bad operations', () => {
    let id: number;
    let filesBefore: string[];
    beforeAll(async () => {
      id = await imageOf(await asymmetric());
      filesBefore = await mediaFiles();
    });

    const cases: [string, unknown, string, RegExp][] = [
      ['an unknown operation', [{ op: 'flip' }, { op: 'sparkle' }], 'operations[1]', /sparkle/],
      [
        'a crop box outside the picture',
        [
          { op: 'rotate', degrees: 90 },
          { op: 'crop', x: 10, y: 0, width: 20, height: 20 },
        ],
        'operations[1]',
        /^crop: .*outside the 20×40/,
      ],
      [
        'a 20,000-pixel resize',
        [{ op: 'resize', width: 20_000, fit: 'inside' }],
        'operations[0]',
        /^resize: width/,
      ],
      [
        'a resize over IMAGE_MAX_PIXELS',
        [{ op: 'resize', width: 10_000, height: 9_000, fit: 'cover' }],
        'operations[0]',
        /^resize: .*limit/,
      ],
      ['a blur too small', [{ op: 'blur', sigma: 0.1 }], 'operations[0]', /^blur: sigma/],
      ['a rotation of 45°', [{ op: 'rotate', degrees: 45 }], 'operations[0]', /^rotate: degrees/],
      ['a number as a string', [{ op: 'rotate', degrees: '90' }], 'operations[0]', /^rotate/],
      ['an unknown field', [{ op: 'flip', angle: 3 }], 'operations[0]', /^flip: unknown field/],
      ['an unknown preset', [{ op: 'preset', name: 'myspace' }], 'operations[0]', /^preset: name/],
      [
        'a watermark too long',
        [{ op: 'watermark', text: 'x'.repeat(101), position: 'north', opacity: 1 }],
        'operations[0]',
        /^watermark: text/,
      ],
      [
        'an opacity over 1',
        [{ op: 'watermark', text: 'Hi', position: 'north', opacity: 2 }],
        'operations[0]',
        /^watermark: opacity/,
      ],
      [
        'a position off the compass',
        [{ op: 'watermark', text: 'Hi', position: 'up', opacity: 1 }],
        'operations[0]',
        /^watermark: position/,
      ],
      ['an operation that is not an object', ['flip'], 'operations[0]', /object/],
      ['no operation', [], 'operations', /at least one/],
      ['not a list', { op: 'flip' }, 'operations', /./],
    ];

    it.each(cases)(
      '%s is a 400 naming it, and nothing is written',
      async (_, operations, field, message) => {
        const response = await edit(id, operations);
        expectFieldError(response, field);
        expect(response.body.errors[field][0]).toMatch(message);
        const image = await app
          .http()
          .get(`/api/images/${id}/`)
          .set(bearer(user.access))
          .expect(200);
        expect(image.body.version).toBe(1);
        expect(await mediaFiles()).toEqual(filesBefore);
      },
    );

    it('refuses a __proto__ key, a lone surrogate and deep nesting with a 4xx', async () => {
      const raw = (json: string) =>
        app
          .http()
          .post(`/api/images/${id}/edit/`)
          .set(bearer(user.access))
          .set('Content-Type', 'application/json')
          .send(json);
      const proto = await raw('{"operations":[{"op":"flip","__proto__":{"polluted":true}}]}');
      expectProblem(proto, 400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const surrogate = await raw(
        JSON.stringify({ operations: [{ op: 'watermark', text: 'a\ud800b', position: 'north' }] }),
      );
      expectProblem(surrogate, 400);
      expect(Object.keys(surrogate.body.errors)[0]).toMatch(/^operations/);
      const deep = await raw(
        `{"operations":[{"op":"flip","x":${'['.repeat(5000)}${']'.repeat(5000)}}]}`,
      );
      expectProblem(deep, 400);
      const image = await app.http().get(`/api/images/${id}/`).set(bearer(user.access)).expect(200);
      expect(image.body.version).toBe(1);
      expect(await mediaFiles()).toEqual(filesBefore);
    });
  });

  it('refuses an image over IMAGE_MAX_PIXELS before decoding it', async () => {
    // A PNG whose header says 8000×6000 (48 MP, over the 40 MP default) and whose pixels were
    // never written: only a decoder that reads past the header would notice.
    const header = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const huge = Buffer.from(header);
    huge.writeUInt32BE(8000, 16);
    huge.writeUInt32BE(6000, 20);
    const id = await imageOf(header);
    const [{ master_key: key }] = (await app.dataSource.query(
      'SELECT master_key FROM generated_images WHERE id = $1',
      [id],
    )) as [{ master_key: string }];
    await storage.put(key, huge);
    const before = await mediaFiles();
    const response = await edit(id, [{ op: 'flip' }]);
    expectFieldError(response, 'operations[0]');
    expect(response.body.errors['operations[0]'][0]).toMatch(/8000×6000.*IMAGE_MAX_PIXELS/);
    expect(await mediaFiles()).toEqual(before);
  });

  it('starts again at version 1, at the size first asked for, when a rejected image is regenerated', async () => {
    const id = await imageOf(await drawPng(256, 128, (x) => (x < 128 ? RED : BLUE)));
    const rotated = await edit(id, [{ op: 'rotate', degrees: 90 }]).expect(200);
    expect(rotated.body).toMatchObject({ version: 2, width: 128, height: 256 });
    const editedKey = new URL(rotated.body.image_file).pathname.replace(/^\/media\//, '');
    await app
      .http()
      .patch(`/api/images/${id}/validate/`)
      .set(bearer(user.access))
      .send({ action: 'reject' })
      .expect(200);
    const again = await app
      .http()
      .post(`/api/images/${id}/regenerate/`)
      .set(bearer(user.access))
      .expect(202);
    expect(again.body.image).toMatchObject({ version: 1, width: 256, height: 128 });
    expect(await storage.read(editedKey)).toBeNull();
    const settled = await waitForStatus(app, user, id);
    expect(settled).toMatchObject({ status: 'generated', version: 1 });
    const versions = await app
      .http()
      .get(`/api/images/${id}/versions/`)
      .set(bearer(user.access))
      .expect(200);
    expect(versions.body.count).toBe(1);
    expect(versions.body.results[0]).toMatchObject({ version: 1, width: 256, height: 128 });
  });

  it('removes every version’s files when the image is deleted', async () => {
    const id = await imageOf(await asymmetric());
    const edits = [
      (await edit(id, [{ op: 'flip' }]).expect(200)).body,
      (await edit(id, [{ op: 'grayscale' }]).expect(200)).body,
    ];
    const versions = await app
      .http()
      .get(`/api/images/${id}/versions/`)
      .set(bearer(user.access))
      .expect(200);
    const keys = versions.body.results.flatMap((v: Record<string, string>) =>
      [v.image_file, v.image_url_display, v.thumbnail].map((url) =>
        new URL(url).pathname.replace(/^\/media\//, ''),
      ),
    );
    expect(keys).toHaveLength(9);
    expect(edits[1].version).toBe(3);
    await app.http().delete(`/api/images/${id}/`).set(bearer(user.access)).expect(204);
    for (const key of keys) expect(await storage.read(key)).toBeNull();
  });

  describe('publishing', () => {
    let accountId: number;
    beforeAll(async () => {
      accountId = await connectAccount(app, user, {
        platform: 'instagram',
        account_id: fake.igUserId,
        access_token: fake.token,
      });
      expect(accountId).toBeGreaterThan(0);
    });

    const schedule = (image: number) =>
      app
        .http()
        .post('/api/scheduler/schedule/')
        .set(bearer(user.access))
        .send({ image, platform: 'instagram', scheduled_time: inSeconds(2), caption: 'Dawn' })
        .expect(201);

    const publishedImage = async (postId: number) => {
      const post = await waitForPostStatus(app, user, postId, ['posted', 'failed']);
      expect({ status: post.status, error: post.error_message }).toEqual({
        status: 'posted',
        error: '',
      });
      const media = fake.media.find((item) => item.id === post.platform_post_id)!;
      return decode(fake.containers.get(media.containerId)!.image);
    };

    it('publishes the version current when the post was scheduled, in a shape Instagram takes', async () => {
      const colourful = await imageOf(await drawPng(32, 32, () => RED));
      const tall = await imageOf(await drawPng(90, 160, (x, y) => (y < 80 ? RED : BLUE)));
      const wide = await imageOf(await drawPng(300, 100, (x) => (x < 150 ? RED : BLUE)));
      const [first, second, third] = await Promise.all([
        schedule(colourful),
        schedule(tall),
        schedule(wide),
      ]);
      expect(first.body.post.image_version).toBe(1);
      // Edited after scheduling: the post still publishes the version it was scheduled with.
      const edited = await edit(colourful, [{ op: 'grayscale' }]).expect(200);
      expect(edited.body.version).toBe(2);
      const [sent, sentTall, sentWide] = await Promise.all([
        publishedImage(first.body.post.id),
        publishedImage(second.body.post.id),
        publishedImage(third.body.post.id),
      ]);
      expect(near(sent.at(16, 16), RED)).toBe(true);
      const { body: post } = await app
        .http()
        .get(`/api/scheduler/posts/${first.body.post.id}/`)
        .set(bearer(user.access))
        .expect(200);
      expect(post.image_version).toBe(1);
      // 9:16 is cropped to 4:5, 3:1 to 1.91:1: the fake, like Instagram, refuses anything else.
      expect([sentTall.width, sentTall.height]).toEqual([90, 112]);
      expect([sentWide.width, sentWide.height]).toEqual([191, 100]);
      expect(fake.media.length).toBe(3);
    });

    it('the Graph fake refuses a shape Instagram refuses', async () => {
      const tall = await drawPng(90, 160, () => RED);
      const key = `images/${user.id}/refused-tall.png`;
      await storage.put(key, tall);
      const signer = app.app.get(
        (await import('../apps/server/src/media/media-url.signer.js')).MediaUrlSigner,
      );
      const response = await fetch(`${fake.graphUrl}/${fake.igUserId}/media`, {
        method: 'POST',
        body: new URLSearchParams({
          image_url: signer.sign(key),
          caption: 'Too tall',
          access_token: fake.token,
        }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        error: {
          message: 'The aspect ratio is not supported.',
          type: 'OAuthException',
          code: 36003,
          error_subcode: 2207009,
        },
      });
    });
  });
});
