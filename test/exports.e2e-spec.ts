import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { ExportsService } from '../apps/server/src/exports/exports.service.js';
import { ExportsSweep } from '../apps/server/src/exports/exports.sweep.js';
import { generatedImage } from './factories/image.factory.js';
import { insertPost, insertSchedule } from './factories/schedule-rows.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { startFakeSmtpServer, type FakeSmtpServer } from './fakes/smtp-server.js';
import { eventsOf } from './support/events.js';
import { pngBytes } from './support/images.js';
import { createMailApp, linkIn } from './support/mail.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';
import { parseCsv, unzip } from './support/zip.js';

const EXPORT_KEYS = [
  'created_at',
  'download_url',
  'error',
  'expires_at',
  'finished_at',
  'id',
  'include_media',
  'progress',
  'size',
  'status',
];

const FILES = [
  'profile.json',
  'images.json',
  'images.csv',
  'tags.json',
  'posts.json',
  'posts.csv',
  'analytics.csv',
  'schedules.json',
  'templates.json',
  'webhooks.json',
];

describe('/api/exports/', () => {
  let app: TestApp;
  let smtp: FakeSmtpServer;
  let user: RegisteredUser;
  let stranger: RegisteredUser;
  let webhookSecret: string;
  const accountTokens = {
    access: 'EAAG-export-very-secret-access',
    refresh: 'export-secret-refresh',
  };

  beforeAll(async () => {
    smtp = await startFakeSmtpServer();
    app = await createMailApp(smtp, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    user = await registerUser(app, { first_name: 'Ada' });
    stranger = await registerUser(app);
    const auth = bearer(user.access);
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(auth)
      .field('bio', 'Harbour photographer, "quoted", with, commas')
      .attach('avatar', await pngBytes(64), { filename: 'me.png', contentType: 'image/png' })
      .expect(200);
    const first = await generatedImage(app, user, { prompt: 'A quiet harbour at dusk' });
    await generatedImage(app, user, { prompt: 'Boats, "in" the fog\nsecond line' });
    await app
      .http()
      .patch(`/api/images/${first.id}/`)
      .set(auth)
      .send({ tags: ['harbour', 'dusk'] })
      .expect(200);
    const account = await app
      .http()
      .post('/api/scheduler/accounts/')
      .set(auth)
      .send({
        platform: 'instagram',
        account_id: `1784${Date.now()}`,
        display_name: 'My shop',
        access_token: accountTokens.access,
        refresh_token: accountTokens.refresh,
        expires_at: '2090-01-28T00:00:00Z',
      })
      .expect(201);
    const post = await insertPost(app.dataSource, user.id, {
      imageId: first.id,
      accountId: account.body.id,
      caption: '=HYPERLINK("x") a caption, with a comma',
      hashtags: '#harbour #dusk',
      status: 'posted',
      postedAt: new Date('2026-11-30T09:00:00Z'),
      platformPostId: 'tw-123',
    });
    await insertPost(app.dataSource, user.id, { caption: 'Second post' });
    await app.dataSource.query(
      `INSERT INTO post_analytics (scheduled_post_id, platform, likes, comments, shares, views, reach, impressions, engagement_rate)
       VALUES ($1, 'twitter', 10, 2, 1, 300, 250, 400, 3.25)`,
      [post.id],
    );
    await insertSchedule(app.dataSource, user.id, { name: 'Mornings' });
    const webhook = await app
      .http()
      .post('/api/webhooks/')
      .set(auth)
      .send({ url: 'http://127.0.0.1:9/hooks', events: ['export.ready'] })
      .expect(201);
    webhookSecret = webhook.body.secret;
    for (const name of ['Mornings', 'Evenings'])
      await app
        .http()
        .post('/api/scheduler/templates/')
        .set(auth)
        .send({
          name,
          caption: `{prompt}, ${name.toLowerCase()} on {weekday}`,
          hashtags: '#harbour {tags}',
          variants: { twitter: { caption: '{prompt} on X' } },
        })
        .expect(201);
    // The stranger's data must not leak into the user's archive.
    await insertPost(app.dataSource, stranger.id, { caption: 'Not yours' });
  }, 60_000);
  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  const create = (owner: RegisteredUser, body: object, key?: string) => {
    const request = app.http().post('/api/exports/').set(bearer(owner.access));
    if (key) request.set('Idempotency-Key', key);
    return request.send(body);
  };
  const get = (owner: RegisteredUser, id: number) =>
    app.http().get(`/api/exports/${id}/`).set(bearer(owner.access));
  const waitForExport = (owner: RegisteredUser, id: number, statuses = ['ready', 'failed']) =>
    waitFor(
      async () => {
        const { body } = await get(owner, id).expect(200);
        return statuses.includes(body.status) ? body : undefined;
      },
      30_000,
      `export ${id} to be ${statuses.join(' or ')}`,
    );
  const download = (url: string) => {
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
  /** Every page of a list endpoint, as the API answers it. */
  const all = async (owner: RegisteredUser, url: string) => {
    const results: Record<string, unknown>[] = [];
    let next: string | null = `${url}${url.includes('?') ? '&' : '?'}page_size=100`;
    while (next) {
      const page: URL = new URL(next, 'http://x');
      const response = await app
        .http()
        .get(`${page.pathname}${page.search}`)
        .set(bearer(owner.access))
        .expect(200);
      const body = response.body as { results: Record<string, unknown>[]; next: string | null };
      results.push(...body.results);
      next = body.next;
    }
    return results;
  };
  /** The API's signed media URLs, as the archive names them: the file's path in it. */
  const asArchived = (value: unknown): unknown => {
    const prefix = `${app.config.publicBaseUrl}/media/`;
    if (typeof value === 'string' && value.startsWith(prefix))
      return `media/${value.slice(prefix.length).split('?')[0]}`;
    if (Array.isArray(value)) return value.map(asArchived);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asArchived(v)]));
    return value;
  };
  const byId = (rows: Record<string, unknown>[]) =>
    [...rows].sort((a, b) => Number(a.id) - Number(b.id));

  let readyExport: Record<string, unknown>;
  let files: Map<string, Buffer>;

  it('answers 202 pending, builds the ZIP with progress, then ready with a signed URL valid 24 hours', async () => {
    const response = await create(user, { include_media: true }).expect(202);
    expect(Object.keys(response.body).sort()).toEqual(EXPORT_KEYS);
    expect(response.body).toMatchObject({
      status: 'pending',
      include_media: true,
      progress: 0,
      size: null,
      download_url: null,
      expires_at: null,
    });
    readyExport = await waitForExport(user, response.body.id);
    expect(readyExport).toMatchObject({ status: 'ready', progress: 100, error: '' });
    const expiresAt = Date.parse(readyExport.expires_at as string);
    expect(Math.abs(expiresAt - Date.now() - 24 * 3600_000)).toBeLessThan(60_000);
    const url = new URL(readyExport.download_url as string);
    expect(Number(url.searchParams.get('expires'))).toBe(Math.floor(expiresAt / 1000));
    const archive = await download(readyExport.download_url as string).expect(200);
    expect(archive.headers['content-type']).toBe('application/zip');
    expect(archive.body.length).toBe(readyExport.size);
    files = await unzip(archive.body);
    for (const name of FILES) expect(files.has(name)).toBe(true);
    const list = await app.http().get('/api/exports/').set(bearer(user.access)).expect(200);
    expect(list.body).toMatchObject({ count: 1, next: null, previous: null });
    expect(list.body.results[0]).toEqual(readyExport);
  }, 60_000);

  it('holds what the API answers: profile, images, tags, posts, analytics, schedules, templates, webhooks', async () => {
    const json = (name: string) => JSON.parse(files.get(name)!.toString('utf8'));
    const me = await app.http().get('/api/auth/me/').set(bearer(user.access)).expect(200);
    expect(json('profile.json')).toEqual(asArchived(me.body));
    expect(json('profile.json').profile.bio).toBe('Harbour photographer, "quoted", with, commas');

    const images = byId(await all(user, '/api/images/'));
    expect(images).toHaveLength(2);
    expect(byId(json('images.json'))).toEqual(asArchived(images));
    const tags = await all(user, '/api/images/tags/');
    expect(json('tags.json')).toEqual(tags);
    expect(tags.map((tag) => tag.name)).toEqual(['dusk', 'harbour']);
    const posts = byId(await all(user, '/api/scheduler/posts/'));
    expect(posts).toHaveLength(2);
    expect(byId(json('posts.json'))).toEqual(asArchived(posts));
    const schedules = await all(user, '/api/scheduler/schedules/');
    expect(byId(json('schedules.json'))).toEqual(byId(schedules));
    const webhooks = await all(user, '/api/webhooks/');
    expect(json('webhooks.json')).toEqual(webhooks);
    const templates = await all(user, '/api/scheduler/templates/');
    expect(templates.map((template) => template.name).sort()).toEqual(['Evenings', 'Mornings']);
    expect(byId(json('templates.json'))).toEqual(byId(templates));

    // The CSV files: one record per object, the same values (arrays space-separated), and a
    // text that a spreadsheet would run as a formula written with a leading quote.
    const imageRows = parseCsv(files.get('images.csv')!.toString('utf8'));
    expect(imageRows.map((row) => Number(row.id)).sort()).toEqual(images.map((i) => i.id));
    for (const image of asArchived(images) as Record<string, unknown>[]) {
      const row = imageRows.find((r) => Number(r.id) === image.id)!;
      expect(row.prompt).toBe(image.prompt);
      expect(row.tags).toBe((image.tags as string[]).join(' '));
      expect(row.image_file).toBe(image.image_file);
      expect(row.created_at).toBe(image.created_at);
    }
    const postRows = parseCsv(files.get('posts.csv')!.toString('utf8'));
    expect(postRows).toHaveLength(2);
    const first = postRows.find((row) => Number(row.id) === posts[0].id)!;
    expect(first.caption).toBe(`'${String(posts[0].caption)}`);
    expect(first.hashtags).toBe(posts[0].hashtags);
    const analytics = await app
      .http()
      .get(`/api/scheduler/posts/${posts[0].id}/analytics/`)
      .set(bearer(user.access))
      .expect(200);
    const analyticsRows = parseCsv(files.get('analytics.csv')!.toString('utf8'));
    expect(analyticsRows).toEqual([
      Object.fromEntries(
        Object.entries(analytics.body).map(([key, value]) => [
          key,
          value === null ? '' : String(value),
        ]),
      ),
    ]);
  });

  it('includes every media file the JSON names, byte for byte, and the avatar', async () => {
    const images = byId(await all(user, '/api/images/'));
    const named = images.flatMap((image) =>
      ['image_file', 'thumbnail', 'image_url_display'].map((field) => image[field] as string),
    );
    const me = await app.http().get('/api/auth/me/').set(bearer(user.access)).expect(200);
    named.push(me.body.profile.avatar);
    for (const url of named) {
      const archived = files.get(asArchived(url) as string);
      expect(archived).toBeDefined();
      const served = await download(url).expect(200);
      expect(archived!.equals(served.body)).toBe(true);
    }
    const thumb = await sharp(files.get(asArchived(images[0].thumbnail) as string)!).metadata();
    expect(thumb).toMatchObject({ width: 300, height: 300, format: 'jpeg' });
    const media = [...files.keys()].filter((name) => name.startsWith('media/'));
    // Each image's original, master, rendition and thumbnail, and the avatar; nothing else.
    expect(media.length).toBe(images.length * 4 + 1);
    expect(media.every((name) => name.includes(`/${user.id}/`))).toBe(true);
  });

  it('holds no secret: no webhook secret, account token, password hash, JWT or refresh token', async () => {
    const [{ password }] = await app.dataSource.query('SELECT password FROM users WHERE id = $1', [
      user.id,
    ]);
    const sealed = await app.dataSource.query(
      `SELECT access_token_encrypted AS a, refresh_token_encrypted AS r FROM social_accounts WHERE user_id = $1
       UNION ALL SELECT secret_encrypted, coalesce(previous_secret_encrypted, '') FROM webhook_endpoints WHERE user_id = $1`,
      [user.id],
    );
    const familyIds = await app.dataSource.query(
      `SELECT f.id AS family, t.id AS token FROM token_families f LEFT JOIN refresh_tokens t ON t.family_id = f.id WHERE f.user_id = $1`,
      [user.id],
    );
    const secrets = [
      webhookSecret,
      webhookSecret.slice(6),
      accountTokens.access,
      accountTokens.refresh,
      password,
      user.access,
      user.refresh,
      ...user.access.split('.'),
      ...user.refresh.split('.'),
      ...sealed.flatMap((row: { a: string; r: string }) => [row.a, row.r]).filter(Boolean),
      ...familyIds.flatMap((row: { family: string; token: string | null }) =>
        [row.family, row.token].filter((value): value is string => !!value),
      ),
    ];
    expect(secrets.length).toBeGreaterThan(10);
    for (const [name, bytes] of files) {
      const text = bytes.toString('latin1');
      for (const secret of secrets) {
        if (text.includes(secret))
          throw new Error(`${name} contains a stored secret: ${secret.slice(0, 12)}…`);
      }
      expect(text).not.toMatch(/"(secret|password|access_token|refresh_token)[a-z_]*"\s*:/i);
    }
  });

  it('records export.ready in the transaction that made it ready, and emails the owner the link', async () => {
    const events = await eventsOf(app, user.id, 'export.ready');
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({
      id: readyExport.id,
      status: 'ready',
      size: readyExport.size,
      download_url: readyExport.download_url,
    });
    const [mail] = await smtp.waitFor(user.email, 1);
    expect(mail.subject).toBe(`Your data export #${String(readyExport.id)} is ready`);
    expect(linkIn(mail.text, `${app.config.publicBaseUrl}/media/`)).toBe(readyExport.download_url);
    expect(mail.text).toContain('Hello Ada');
    const [logged] = await app.dataSource.query(
      `SELECT kind, status FROM sent_mails WHERE user_id = $1 AND kind = 'export_ready'`,
      [user.id],
    );
    expect(logged).toEqual({ kind: 'export_ready', status: 'sent' });
  });

  it('keeps one running export per user (409), and honours Idempotency-Key', async () => {
    const other = await registerUser(app);
    const first = await create(other, {}, 'export-key-1').expect(202);
    const again = await create(other, {}, 'export-key-1').expect(202);
    expect(again.body.id).toBe(first.body.id);
    expectProblem(await create(other, { include_media: true }, 'export-key-1'), 422);
    const conflict = await create(other, {});
    if (conflict.status === 409) {
      expect(conflict.body.code ?? conflict.body.type).toBeDefined();
    } else {
      // The first finished in between: only then may a second start.
      const { body } = await get(other, first.body.id).expect(200);
      expect(['ready', 'failed']).toContain(body.status);
    }
    // Deterministic: a pending row blocks a second one.
    await app.dataSource.query(
      `INSERT INTO data_exports (user_id, status) VALUES ($1, 'running')`,
      [stranger.id],
    );
    expectProblem(await create(stranger, {}), 409);
    const [{ count }] = await app.dataSource.query(
      'SELECT count(*)::int AS count FROM data_exports WHERE user_id = $1',
      [stranger.id],
    );
    expect(count).toBe(1);
    await waitForExport(other, first.body.id);
    const rows = await app.dataSource.query('SELECT id FROM data_exports WHERE user_id = $1', [
      other.id,
    ]);
    expect(rows).toHaveLength(1);
  }, 60_000);

  it("answers 404 for another user's export, and for ids that do not exist", async () => {
    expectProblem(await get(stranger, readyExport.id as number), 404);
    expectProblem(await get(user, 2_147_483_647), 404);
    const list = await app.http().get('/api/exports/').set(bearer(stranger.access)).expect(200);
    expect(list.body.results.map((row: { id: number }) => row.id)).not.toContain(readyExport.id);
  });

  it('refuses malformed input naming the field', async () => {
    const other = await registerUser(app);
    expectFieldError(await create(other, { include_media: 'maybe' }), 'include_media');
    expectFieldError(await create(other, { include_media: null }), 'include_media');
    expectFieldError(
      await create(other, { include_media: { __proto__: { a: 1 } } }),
      'include_media',
    );
    const deep = JSON.parse(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`);
    const nested = await create(other, { include_media: deep });
    expect(nested.status).toBe(400);
    // Ids that are no id match nothing, as everywhere in the API.
    expectProblem(await get(other, 0), 404);
    expectProblem(
      await app.http().get('/api/exports/99999999999999999999/').set(bearer(other.access)),
      404,
    );
  });

  it('after 24 hours the sweep deletes the file: expired, no URL, the old URL finds nothing', async () => {
    const id = readyExport.id as number;
    const [{ storage_key: key }] = await app.dataSource.query(
      'SELECT storage_key FROM data_exports WHERE id = $1',
      [id],
    );
    // Each export has a folder of its own: `exports/<user>/<export>/<uuid>.zip`.
    expect(path.dirname(key)).toBe(`exports/${user.id}/${id}`);
    const folder = path.join(app.config.mediaRoot, 'exports', String(user.id));
    expect(await readdir(path.join(folder, String(id)))).toEqual([path.basename(key)]);
    await app.dataSource.query(
      `UPDATE data_exports SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    const outcome = await app.app.get(ExportsSweep).tick();
    expect(outcome.expired).toBeGreaterThanOrEqual(1);
    expect(await readdir(folder)).not.toContain(String(id));
    const { body } = await get(user, id).expect(200);
    expect(body).toMatchObject({ status: 'expired', download_url: null });
    // The URL handed out before is refused (its file is gone; its signature expires with it).
    const refused = await download(readyExport.download_url as string);
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body.toString('utf8'))).toMatchObject({ status: 404 });
  });

  it('a build run again after its worker died starts over and clears what the first left', async () => {
    const other = await registerUser(app);
    const [row] = await app.dataSource.query(
      `INSERT INTO data_exports (user_id, status, attempts, started_at) VALUES ($1, 'running', 1, now())
       RETURNING id`,
      [other.id],
    );
    const folder = path.join(app.config.mediaRoot, 'exports', String(other.id), String(row.id));
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'half-written.zip.0000.tmp'), Buffer.alloc(1000));
    // What Bull does with a stalled job: the same job runs again.
    await app.app.get(ExportsService).enqueue(row.id);
    const ready = await waitForExport(other, row.id);
    expect(ready).toMatchObject({ status: 'ready', progress: 100 });
    const files = await readdir(folder);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f-]{36}\.zip$/);
    const [{ attempts }] = await app.dataSource.query(
      'SELECT attempts FROM data_exports WHERE id = $1',
      [row.id],
    );
    expect(attempts).toBe(2);
  }, 60_000);

  it('the sweep queues a pending export whose job was lost, and it is built', async () => {
    const other = await registerUser(app);
    // Committed, but its enqueue never happened (Redis was down): a minute later, still pending.
    const [row] = await app.dataSource.query(
      `INSERT INTO data_exports (user_id, status, updated_at) VALUES ($1, 'pending', now() - interval '2 minutes')
       RETURNING id`,
      [other.id],
    );
    const outcome = await app.app.get(ExportsSweep).tick();
    expect(outcome.requeued).toBeGreaterThanOrEqual(1);
    expect(await waitForExport(other, row.id)).toMatchObject({ status: 'ready' });
  }, 60_000);

  it('a failed build is failed with a reason and leaves no file', async () => {
    const other = await registerUser(app);
    // A media file named by an image row but unreadable: a directory where the file should be.
    const [image] = await app.dataSource.query(
      `INSERT INTO generated_images (user_id, prompt, style, width, height, status, master_key)
       VALUES ($1, 'broken', 'realistic', 256, 256, 'generated', $2) RETURNING id`,
      [other.id, `images/${other.id}/broken/master.png`],
    );
    expect(image.id).toBeGreaterThan(0);
    await mkdir(path.join(app.config.mediaRoot, `images/${other.id}/broken/master.png`), {
      recursive: true,
    });
    const created = await create(other, { include_media: true }).expect(202);
    const failed = await waitForExport(other, created.body.id);
    expect(failed).toMatchObject({ status: 'failed', download_url: null, size: null });
    expect(failed.error).toMatch(/archive could not be written/);
    const left = await readdir(path.join(app.config.mediaRoot, 'exports', String(other.id))).catch(
      () => [],
    );
    expect(left).toEqual([]);
  }, 60_000);
});
