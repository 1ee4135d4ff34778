import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { userWithValidatedImage } from './factories/post.factory.js';
import { bearer, type RegisteredUser } from './factories/user.factory.js';
import { startS3Server, type TestS3Server } from './fakes/s3-server.js';
import { ENTRY, freePort, killAll, run } from './support/spawn.js';
import { waitFor } from './support/wait.js';
import { unzip } from './support/zip.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { testEnv } from './support/test-env.js';

/** Every file under `dir`, relative, sorted (an empty MEDIA_ROOT answers []). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

async function objectBytes(s3: TestS3Server, key: string): Promise<Buffer> {
  const answer = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

/** The key a signed media URL names (`/media/{key}?expires=…&signature=…`). */
function keyOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice('/media/'.length));
}

describe('MEDIA_STORAGE=s3 (against a real S3-protocol server)', () => {
  let s3: TestS3Server;
  let app: TestApp;
  let user: RegisteredUser;
  let imageId: number;

  beforeAll(async () => {
    s3 = await startS3Server();
    app = await createTestApp(
      { ...s3.env, APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local' },
      { listen: true },
    );
    ({ user, imageId } = await userWithValidatedImage(app));
  }, 60_000);

  afterAll(async () => {
    await killAll();
    await app?.close();
    await s3?.close();
  });

  it('keeps a generated image’s files in the bucket, none under MEDIA_ROOT, and serves them signed', async () => {
    const { body: image } = await app
      .http()
      .get(`/api/images/${imageId}/`)
      .set(bearer(user.access))
      .expect(200);
    const keys = await s3.keys();
    for (const url of [image.image_file, image.thumbnail, image.image_url_display])
      expect(keys).toContain(keyOf(url));
    expect(filesUnder(app.config.mediaRoot)).toEqual([]);

    // The signed URL, fetched as a platform would: the bytes of the object in the store.
    const served = await fetch(image.image_url_display);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await served.arrayBuffer());
    expect(bytes.equals(await objectBytes(s3, keyOf(image.image_url_display)))).toBe(true);
    expect((await sharp(bytes).metadata()).width).toBe(256);
    // A conditional GET with the ETag the store gave: 304, no body.
    const again = await fetch(image.image_url_display, {
      headers: { 'If-None-Match': served.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
    // Altered signatures are refused before the store is asked.
    const altered = new URL(image.thumbnail);
    altered.searchParams.set('signature', 'x'.repeat(43));
    expect((await fetch(altered)).status).toBe(403);
  });

  it('removes an image’s objects from the bucket when the image is deleted', async () => {
    const { user: owner, imageId: doomed } = await userWithValidatedImage(app);
    const { body: image } = await app
      .http()
      .get(`/api/images/${doomed}/`)
      .set(bearer(owner.access))
      .expect(200);
    const own = [image.image_file, image.thumbnail, image.image_url_display].map(keyOf);
    expect(await s3.keys()).toEqual(expect.arrayContaining(own));
    await app.http().delete(`/api/images/${doomed}/`).set(bearer(owner.access)).expect(204);
    const left = await s3.keys();
    for (const key of own) expect(left).not.toContain(key);
    expect((await fetch(image.image_url_display)).status).toBe(404);
  });

  it('streams an export’s ZIP into the bucket, serves it, and deletion empties the user’s prefixes', async () => {
    const { user: owner, imageId: own } = await userWithValidatedImage(app);
    const created = await app
      .http()
      .post('/api/exports/')
      .set(bearer(owner.access))
      .send({ include_media: true })
      .expect(202);
    const ready = await waitFor(
      async () => {
        const { body } = await app
          .http()
          .get(`/api/exports/${created.body.id}/`)
          .set(bearer(owner.access))
          .expect(200);
        return ['ready', 'failed'].includes(body.status) ? body : undefined;
      },
      30_000,
      'the export',
    );
    expect(ready).toMatchObject({ status: 'ready', error: '' });
    const archiveKey = keyOf(ready.download_url);
    expect(await s3.keys()).toContain(archiveKey);
    const response = await fetch(ready.download_url);
    expect(response.status).toBe(200);
    const archive = Buffer.from(await response.arrayBuffer());
    expect(archive.length).toBe(ready.size);
    expect(archive.equals(await objectBytes(s3, archiveKey))).toBe(true);
    const files = await unzip(archive);
    const { body: image } = await app
      .http()
      .get(`/api/images/${own}/`)
      .set(bearer(owner.access))
      .expect(200);
    // The media in the archive are the bucket's bytes.
    const rendition = keyOf(image.image_url_display);
    expect(files.get(`media/${rendition}`)?.equals(await objectBytes(s3, rendition))).toBe(true);
    expect(filesUnder(app.config.mediaRoot)).toEqual([]);

    await app
      .http()
      .delete('/api/auth/me/')
      .set(bearer(owner.access))
      .send({ password: owner.password })
      .expect(204);
    const left = await waitFor(
      async () => {
        const keys = (await s3.keys()).filter(
          (key) =>
            key.startsWith(`images/${owner.id}/`) ||
            key.startsWith(`exports/${owner.id}/`) ||
            key.startsWith(`avatars/${owner.id}/`),
        );
        return keys.length === 0 ? keys : undefined;
      },
      10_000,
      'the user’s objects to be deleted',
    );
    expect(left).toEqual([]);
    // Other users' objects stay.
    expect((await s3.keys()).some((key) => key.startsWith(`images/${user.id}/`))).toBe(true);
  }, 60_000);

  it('reports the store in /api/health beside the database and Redis', async () => {
    const { body } = await app.http().get('/api/health').expect(200);
    expect(body.details).toMatchObject({
      database: { status: 'up' },
      redis: { status: 'up' },
      storage: { status: 'up', kind: 's3', bucket: 'media' },
    });
  });

  it('answers 503 naming the store when its bucket is gone', async () => {
    const other = await startS3Server('gone-soon');
    const broken = await createTestApp({ ...other.env });
    try {
      await broken.http().get('/api/health').expect(200);
      await other.close(); // the server stops: the bucket is unreachable
      const { body } = await broken.http().get('/api/health').expect(503);
      expect(body.detail).toContain('storage');
      expect(body.error.storage).toMatchObject({ status: 'down', kind: 's3', bucket: 'gone-soon' });
      expect(body.error.storage.message).toContain('S3_ENDPOINT');
    } finally {
      await broken.close();
    }
  });

  it('refuses to boot naming what is wrong with the store: no bucket, refused credentials', async () => {
    // The three at once: each is a process boot of its own.
    const [missing, refused, unnamed] = await Promise.all([
      run(
        ENTRY.server,
        [],
        testEnv({ ...s3.env, S3_BUCKET: 'no-such-bucket', PORT: String(await freePort()) }),
      ),
      run(
        ENTRY.server,
        [],
        testEnv({
          ...s3.env,
          S3_ACCESS_KEY_ID: 'NOT-A-KEY-OF-THE-STORE',
          PORT: String(await freePort()),
        }),
      ),
      run(ENTRY.server, [], testEnv({ MEDIA_STORAGE: 's3' })),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the bucket does not exist');
    expect(missing.stderr).toContain('S3_BUCKET');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the store refused these credentials');
    expect(refused.stderr).toContain('S3_ACCESS_KEY_ID');

    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toContain('S3_BUCKET is required when MEDIA_STORAGE=s3');
  }, 60_000);
});

describe('npm run cli -- media:migrate --to s3', () => {
  let s3: TestS3Server;

  beforeAll(async () => {
    s3 = await startS3Server('migrated');
  });
  afterAll(async () => {
    await killAll();
    await s3?.close();
  });

  it('copies what a local-storage app wrote; a second run copies nothing; an s3 app then serves it', async () => {
    // Images made under MEDIA_STORAGE=local; the folder outlives the app (its close removes its
    // MEDIA_ROOT), as the disk outlives a stopped server.
    const local = await createTestApp({ APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local' });
    const root = mkdtempSync(path.join(os.tmpdir(), 'ia-media-'));
    let made: { user: RegisteredUser; imageId: number };
    let before: { image_url_display: string; thumbnail: string };
    try {
      made = await userWithValidatedImage(local);
      ({ body: before } = await local
        .http()
        .get(`/api/images/${made.imageId}/`)
        .set(bearer(made.user.access))
        .expect(200));
      cpSync(local.config.mediaRoot, root, { recursive: true });
    } finally {
      await local.close();
    }
    const localFiles = filesUnder(root);
    expect(localFiles.length).toBeGreaterThanOrEqual(3);
    // A write cut off halfway leaves a temporary file: not media, left alone.
    mkdirSync(path.join(root, 'images'), { recursive: true });
    writeFileSync(path.join(root, 'images', 'x.png.1234.tmp'), 'partial');

    const env = testEnv({ ...s3.env, MEDIA_STORAGE: 'local', MEDIA_ROOT: root });
    const first = await run(ENTRY.cli, ['media:migrate', '--to', 's3'], env, 60_000);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Copied ${localFiles.length} file(s); 0 were already`);
    expect(await s3.keys()).toEqual(localFiles);
    for (const key of localFiles)
      expect((await objectBytes(s3, key)).equals(readFileSync(path.join(root, key)))).toBe(true);

    const second = await run(ENTRY.cli, ['media:migrate', '--to', 's3'], env, 60_000);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`Copied 0 file(s); ${localFiles.length} were already`);

    // Restarted with MEDIA_STORAGE=s3 and an empty MEDIA_ROOT: the same image is served.
    const emptyRoot = mkdtempSync(path.join(os.tmpdir(), 'ia-media-'));
    const moved = await createTestApp({ ...s3.env, MEDIA_ROOT: emptyRoot }, { listen: true });
    try {
      const { body: after } = await moved
        .http()
        .get(`/api/images/${made.imageId}/`)
        .set(bearer(made.user.access))
        .expect(200);
      expect(keyOf(after.image_url_display)).toBe(keyOf(before.image_url_display));
      const served = await fetch(after.image_url_display);
      expect(served.status).toBe(200);
      expect(
        Buffer.from(await served.arrayBuffer()).equals(
          await objectBytes(s3, keyOf(before.image_url_display)),
        ),
      ).toBe(true);
      expect(filesUnder(emptyRoot)).toEqual([]);
    } finally {
      await moved.close();
    }
  }, 90_000);

  it('exits 1 naming the option on a destination other than s3, and naming S3_BUCKET when the store is not set', async () => {
    const wrong = await run(ENTRY.cli, ['media:migrate', '--to', 'ftp'], testEnv(), 30_000);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('to: --to s3 is the one destination.');
    const unset = await run(ENTRY.cli, ['media:migrate', '--to', 's3'], testEnv(), 30_000);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain('S3_BUCKET');
  }, 60_000);
});
