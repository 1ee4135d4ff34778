import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { MediaPurgeSweep } from '../apps/server/src/auth/media-purge.sweep.js';
import { REDIS } from '../apps/server/src/redis/redis.module.js';
import { connectAccount, inSeconds, userWithValidatedImage } from './factories/post.factory.js';
import { insertSchedule } from './factories/schedule-rows.factory.js';
import { bearer, type RegisteredUser } from './factories/user.factory.js';
import * as graphFake from './fakes/graph.fake.js';
import { signedInAgent, staffUser } from './support/admin.js';
import { pngBytes } from './support/images.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

/** Every file under `root`, as paths relative to it. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

/**
 * Every value in every column of every table of the database that names the user: their id in a
 * column that holds user ids, their email or username anywhere in a text, JSON or array column,
 * or one of their media folders in a text. Answers `table.column` of each hit.
 */
async function rowsNaming(
  dataSource: DataSource,
  user: { id: number; email: string; username: string },
): Promise<string[]> {
  const columns: { table_name: string; column_name: string; data_type: string }[] =
    await dataSource.query(
      `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'`,
    );
  const hits: string[] = [];
  const needles = [
    user.email,
    user.username,
    `images/${user.id}/`,
    `avatars/${user.id}/`,
    `exports/${user.id}/`,
  ];
  for (const { table_name: table, column_name: column, data_type: type } of columns) {
    const ref = `"${table}"."${column}"`;
    let where: string | null = null;
    let values: unknown[] = [];
    if (['integer', 'bigint'].includes(type) && /(^|_)user_id$/.test(column)) {
      where = `${ref} = $1`;
      values = [user.id];
    } else if (table === 'users' && column === 'id') {
      where = `${ref} = $1`;
      values = [user.id];
    } else if (
      ['text', 'character varying', 'json', 'jsonb', 'ARRAY', 'USER-DEFINED'].includes(type)
    ) {
      where = needles
        .map((_, i) => `position(lower($${i + 1}) in lower(${ref}::text)) > 0`)
        .join(' OR ');
      values = needles;
    }
    if (!where) continue;
    const [{ n }] = await dataSource.query(
      `SELECT count(*)::int AS n FROM "${table}" WHERE ${where}`,
      values,
    );
    if (n > 0) hits.push(`${table}.${column}`);
  }
  return hits;
}

describe('DELETE /api/auth/me/', () => {
  let fake: graphFake.GraphFake;
  let app: TestApp;

  beforeAll(async () => {
    fake = await graphFake.start();
    app = await createTestApp(
      {
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
        FACEBOOK_GRAPH_URL: fake.graphUrl,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      },
      { listen: true },
    );
  }, 60_000);
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  const remove = (user: RegisteredUser, body: unknown) =>
    app
      .http()
      .delete('/api/auth/me/')
      .set(bearer(user.access))
      .send(body as object);

  /** A user with some of everything: image with tags, avatar, account, posts, schedule, webhook, export. */
  async function userWithEverything(): Promise<{ user: RegisteredUser; postId: number }> {
    const { user, imageId } = await userWithValidatedImage(app);
    const auth = bearer(user.access);
    await app
      .http()
      .patch(`/api/images/${imageId}/`)
      .set(auth)
      .send({ tags: ['sea'] })
      .expect(200);
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(auth)
      .attach('avatar', await pngBytes(48), { filename: 'me.png', contentType: 'image/png' })
      .expect(200);
    const accountId = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
    const scheduled = await app
      .http()
      .post('/api/scheduler/schedule/')
      .set(auth)
      .set('Idempotency-Key', `post-${user.id}`)
      .send({
        image: imageId,
        account: accountId,
        platform: 'instagram',
        scheduled_time: inSeconds(4),
        caption: `Never published ${user.username}`,
      })
      .expect(201);
    await insertSchedule(app.dataSource, user.id, {
      name: 'Mornings',
      nextRunAt: new Date(Date.now() + 2000),
    });
    await app
      .http()
      .post('/api/webhooks/')
      .set(auth)
      .send({ url: 'http://127.0.0.1:9/hooks' })
      .expect(201);
    const exported = await app
      .http()
      .post('/api/exports/')
      .set(auth)
      .set('Idempotency-Key', `export-${user.id}`)
      .send({ include_media: true })
      .expect(202);
    await waitFor(
      async () => {
        const { body } = await app.http().get(`/api/exports/${exported.body.id}/`).set(auth);
        return body.status === 'ready' ? body : undefined;
      },
      30_000,
      'the export to be ready',
    );
    return { user, postId: scheduled.body.post.id };
  }

  it('refuses a wrong or missing password and leaves everything as it was', async () => {
    const { user } = await userWithEverything();
    const before = await rowsNaming(app.dataSource, user);
    const files = await filesUnder(app.config.mediaRoot);
    expect(before).toEqual(expect.arrayContaining(['users.id', 'generated_images.user_id']));
    expectFieldError(await remove(user, { password: 'not-the-password' }), 'password');
    expectFieldError(await remove(user, {}), 'password');
    expectFieldError(await remove(user, { password: 12 }), 'password');
    expectFieldError(await remove(user, { password: '' }), 'password');
    expectFieldError(await remove(user, { password: ['a'] }), 'password');
    expectFieldError(await remove(user, { password: { __proto__: { x: 1 } } }), 'password');
    expectFieldError(await remove(user, { password: 'x'.repeat(100_000) }), 'password');
    expect(await rowsNaming(app.dataSource, user)).toEqual(before);
    expect(await filesUnder(app.config.mediaRoot)).toEqual(files);
    await app.http().get('/api/auth/me/').set(bearer(user.access)).expect(200);
    expectProblem(await app.http().delete('/api/auth/me/').send({ password: user.password }), 401);
  }, 60_000);

  it('deletes every row and file that names the user; the token stops; the scheduled post is never published', async () => {
    const other = await userWithEverything();
    const { user, postId } = await userWithEverything();
    // Still waiting for its time when the account goes: its publish job is queued, delayed.
    const pending = await app
      .http()
      .get(`/api/scheduler/posts/${postId}/`)
      .set(bearer(user.access))
      .expect(200);
    expect(pending.body.status).toBe('scheduled');
    const mediaBefore = await filesUnder(app.config.mediaRoot);
    for (const folder of ['images', 'avatars', 'exports'])
      expect(mediaBefore.some((file) => file.startsWith(`${folder}/${user.id}/`))).toBe(true);
    const redis = app.app.get(REDIS);
    expect(await redis.keys(`${redis.options.keyPrefix}idempotency:${user.id}:*`)).toHaveLength(2);

    await remove(user, { password: user.password }).expect(204);

    expect(await rowsNaming(app.dataSource, user)).toEqual([]);
    const mediaAfter = await filesUnder(app.config.mediaRoot);
    expect(mediaAfter.filter((file) => new RegExp(`^[a-z]+/${user.id}/`).test(file))).toEqual([]);
    // The other user's files are untouched.
    expect(mediaAfter.filter((file) => file.includes(`/${other.user.id}/`))).toEqual(
      mediaBefore.filter((file) => file.includes(`/${other.user.id}/`)),
    );
    const [{ n: purges }] = await app.dataSource.query(
      'SELECT count(*)::int AS n FROM media_purges',
    );
    expect(purges).toBe(0);
    expect(await redis.keys(`${redis.options.keyPrefix}idempotency:${user.id}:*`)).toEqual([]);

    // The access and refresh tokens no longer work.
    expectProblem(await app.http().get('/api/auth/me/').set(bearer(user.access)), 401);
    expectProblem(
      await app.http().post('/api/auth/token/refresh/').send({ refresh: user.refresh }),
      401,
    );
    // Past the post's time, its queued publish job has run and published nothing.
    // (The other user's post, due at the same time, is published: the fake is live.)
    await waitFor(
      async () =>
        fake.media.some((media) => media.caption.includes(other.user.username)) ? true : undefined,
      20_000,
      "the other user's post to be published",
    );
    expect(fake.media.some((media) => media.caption.includes(user.username))).toBe(false);
    expect(JSON.stringify(fake.requests)).not.toContain(`Never published ${user.username}`);
    const [{ n: postRows }] = await app.dataSource.query(
      'SELECT count(*)::int AS n FROM scheduled_posts WHERE id = $1',
      [postId],
    );
    expect(postRows).toBe(0);
    expect(await rowsNaming(app.dataSource, user)).toEqual([]);
    // The other user is untouched and still works.
    await app.http().get('/api/auth/me/').set(bearer(other.user.access)).expect(200);
    expect(await rowsNaming(app.dataSource, other.user)).toEqual(
      expect.arrayContaining(['users.id', 'scheduled_posts.user_id', 'data_exports.user_id']),
    );
  }, 90_000);

  it('retries a media purge that failed until its files are gone', async () => {
    const folder = path.join(app.config.mediaRoot, 'images', '2000000001', '5');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'left.png'), Buffer.alloc(10));
    await app.dataSource.query(
      `INSERT INTO media_purges (prefix, attempts, last_error) VALUES ('images/2000000001/', 1, 'store unreachable')`,
    );
    expect(await app.app.get(MediaPurgeSweep).tick()).toBeGreaterThanOrEqual(1);
    expect(await filesUnder(path.join(app.config.mediaRoot, 'images', '2000000001'))).toEqual([]);
    const [{ n }] = await app.dataSource.query('SELECT count(*)::int AS n FROM media_purges');
    expect(n).toBe(0);
  });

  it("ends a staff member's admin sessions with the account", async () => {
    const staff = await staffUser(app);
    await signedInAgent(app, staff);
    expect(await rowsNaming(app.dataSource, staff)).toContain('admin_sessions.sess');
    await remove(staff, { password: staff.password }).expect(204);
    expect(await rowsNaming(app.dataSource, staff)).toEqual([]);
  });
});
