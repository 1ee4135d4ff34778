import { createHash, createHmac, hkdfSync, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { access, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { MEDIA_STORAGE, type MediaStorage } from '../apps/server/src/media/media-storage.js';
import { MediaUrlSigner } from '../apps/server/src/media/media-url.signer.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { jpegBytes, noisyPngBytes, overPixelLimitPng, pngBytes } from './support/images.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';

const PROFILE_KEYS = [
  'auto_validate_images',
  'avatar',
  'bio',
  'created_at',
  'default_image_style',
  'email',
  'email_notifications',
  'facebook_page_id',
  'first_name',
  'instagram_username',
  'last_name',
  'phone_number',
  'timezone',
  'twitter_username',
  'updated_at',
  'username',
];

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The user's row and its profile's, as stored. */
async function storedProfile(app: TestApp, userId: number): Promise<Record<string, unknown>> {
  const [row] = await app.dataSource.query(
    `SELECT u.username, u.email, u.first_name, u.last_name, p.bio, p.avatar, p.phone_number,
            p.instagram_username, p.facebook_page_id, p.twitter_username, p.default_image_style,
            p.auto_validate_images, p.timezone, p.updated_at
       FROM users u JOIN profiles p ON p.user_id = u.id WHERE u.id = $1`,
    [userId],
  );
  return row as Record<string, unknown>;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Every file under the user's avatar folder (temporary files included). */
async function avatarFiles(app: TestApp, userId: number): Promise<string[]> {
  return readdir(path.join(app.config.mediaRoot, 'avatars', String(userId))).catch(() => []);
}

/** `/media/...?expires=..&signature=..`: the signed URL without its origin, for supertest. */
function localPath(signedUrl: string): string {
  const url = new URL(signedUrl);
  return `${url.pathname}${url.search}`;
}

/** `/media/<key>?expires=..&signature=..` signed by whoever holds `secret`, valid ten minutes. */
function signedWith(secret: Buffer | string, key: string): string {
  const expires = Math.floor(Date.now() / 1000) + 600;
  const signature = createHmac('sha256', secret).update(`${key}\n${expires}`).digest('base64url');
  return `/media/${key}?expires=${expires}&signature=${signature}`;
}

/** The media key a signed URL points at (`avatars/1/….png`). */
function keyOf(signedUrl: string): string {
  return new URL(signedUrl).pathname.replace(/^\/media\//, '');
}

describe('/api/auth/profile/', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const getProfile = (user: RegisteredUser) =>
    app.http().get('/api/auth/profile/').set(bearer(user.access));
  const patchProfile = (user: RegisteredUser, body: object) =>
    app.http().patch('/api/auth/profile/').set(bearer(user.access)).send(body);
  const putProfile = (user: RegisteredUser, body: object) =>
    app.http().put('/api/auth/profile/').set(bearer(user.access)).send(body);
  const uploadAvatar = (user: RegisteredUser, bytes: Buffer, filename = 'me.png') =>
    app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(user.access))
      .attach('avatar', bytes, { filename, contentType: 'image/png' });

  describe('GET', () => {
    it('answers the flat profile with its defaults', async () => {
      const user = await registerUser(app, { first_name: 'Alice', last_name: 'Martin' });
      const response = await getProfile(user).expect(200);

      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(response.body).sort()).toEqual(PROFILE_KEYS);
      expect(response.body).toEqual({
        username: user.username,
        email: user.email,
        first_name: 'Alice',
        last_name: 'Martin',
        bio: '',
        avatar: null,
        phone_number: '',
        instagram_username: '',
        facebook_page_id: '',
        twitter_username: '',
        default_image_style: 'realistic',
        auto_validate_images: false,
        timezone: 'UTC',
        email_notifications: {
          post_failed: true,
          account_reconnect_required: true,
          schedule_run_skipped: true,
          webhook_disabled: true,
          weekly_digest: false,
        },
        created_at: expect.stringMatching(ISO_WITH_OFFSET),
        updated_at: expect.stringMatching(ISO_WITH_OFFSET),
      });
    });

    it('works without the trailing slash', async () => {
      const user = await registerUser(app);
      const response = await app
        .http()
        .get('/api/auth/profile')
        .set(bearer(user.access))
        .expect(200);
      expect(response.body.username).toBe(user.username);
    });

    it('answers 401 problem+json without a token or with a bad one', async () => {
      const none = await app.http().get('/api/auth/profile/');
      expectProblem(none, 401);
      const bad = await app.http().get('/api/auth/profile/').set(bearer('not.a.token'));
      expectProblem(bad, 401);
      expect(JSON.stringify(bad.body)).not.toMatch(/"bio"|"email"/);
    });
  });

  describe('PATCH and PUT with JSON', () => {
    it('PATCH changes only the fields sent, and the change persists', async () => {
      const user = await registerUser(app, { first_name: 'Alice' });
      const before = (await getProfile(user).expect(200)).body;
      const changes = {
        last_name: 'Durand',
        bio: 'b'.repeat(500),
        phone_number: '+33 6 12 34 56 78 9',
        instagram_username: 'i'.repeat(100),
        facebook_page_id: '1234567890',
        twitter_username: 'alice_tw',
        default_image_style: 'digital_art',
        auto_validate_images: true,
        timezone: 'Europe/Paris',
      };
      const response = await patchProfile(user, changes).expect(200);

      expect(response.body).toEqual({
        ...before,
        ...changes,
        updated_at: expect.stringMatching(ISO_WITH_OFFSET),
      });
      expect(response.body.first_name).toBe('Alice');
      expect(Date.parse(response.body.updated_at)).toBeGreaterThanOrEqual(
        Date.parse(before.updated_at),
      );

      const again = (await getProfile(user).expect(200)).body;
      expect(again).toEqual(response.body);
      const me = (await app.http().get('/api/auth/me/').set(bearer(user.access)).expect(200)).body;
      expect(me).toMatchObject({ first_name: 'Alice', last_name: 'Durand', email: user.email });
      expect(me.profile).toMatchObject({
        bio: changes.bio,
        phone_number: changes.phone_number,
        default_image_style: 'digital_art',
        auto_validate_images: true,
        timezone: 'Europe/Paris',
        avatar: null,
      });
      expect(await storedProfile(app, user.id)).toMatchObject({
        last_name: 'Durand',
        auto_validate_images: true,
        timezone: 'Europe/Paris',
        default_image_style: 'digital_art',
      });
    });

    it('PATCH with the unchanged username is accepted', async () => {
      const user = await registerUser(app);
      const response = await patchProfile(user, { username: user.username, bio: 'Hi' }).expect(200);
      expect(response.body).toMatchObject({ username: user.username, bio: 'Hi' });
    });

    it('PUT without email is refused naming email, and changes nothing', async () => {
      const user = await registerUser(app);
      const before = await storedProfile(app, user.id);
      const response = await putProfile(user, { bio: 'Replaced', timezone: 'Asia/Tokyo' });
      expectFieldError(response, 'email');
      expect(await storedProfile(app, user.id)).toEqual(before);
    });

    it('PUT with email replaces the profile', async () => {
      const user = await registerUser(app);
      const email = `new_${user.email}`;
      const response = await putProfile(user, {
        email,
        first_name: 'Bob',
        bio: 'Replaced',
        timezone: 'Asia/Tokyo',
        auto_validate_images: false,
      }).expect(200);
      expect(response.body).toMatchObject({
        username: user.username,
        email,
        first_name: 'Bob',
        bio: 'Replaced',
        timezone: 'Asia/Tokyo',
      });
      expect(await storedProfile(app, user.id)).toMatchObject({
        email,
        first_name: 'Bob',
        bio: 'Replaced',
        timezone: 'Asia/Tokyo',
      });
      // The new email signs in.
      await app
        .http()
        .post('/api/auth/login/')
        .send({ username: email, password: user.password })
        .expect(200);
    });
  });

  describe('bad input', () => {
    let user: RegisteredUser;
    beforeAll(async () => {
      user = await registerUser(app);
      // A profile that is not all defaults, so a partial write would show.
      await patchProfile(user, { bio: 'Kept', timezone: 'Europe/Paris' }).expect(200);
    });

    it.each([
      ['bio', { bio: 'x'.repeat(501) }],
      ['phone_number', { phone_number: '1'.repeat(21) }],
      ['instagram_username', { instagram_username: 'i'.repeat(101) }],
      ['facebook_page_id', { facebook_page_id: 'f'.repeat(101) }],
      ['twitter_username', { twitter_username: 't'.repeat(101) }],
      ['default_image_style', { default_image_style: 'photographic' }],
      ['timezone', { timezone: 'Mars/Olympus' }],
      ['timezone', { timezone: 42 }],
      ['auto_validate_images', { auto_validate_images: 'maybe' }],
      ['auto_validate_images', { auto_validate_images: null }],
      ['nickname', { nickname: 'unknown field' }],
      ['email', { email: 'not-an-email' }],
      ['email', { email: ['a@example.com'] }],
      ['first_name', { first_name: 'x'.repeat(151) }],
      ['bio', { bio: 12 }],
      ['bio', { bio: null }],
      ['email', { email: null }],
      ['timezone', { timezone: null }],
      ['default_image_style', { default_image_style: null }],
      ['username', { username: null }],
    ])('PATCH answers 400 naming %s for %j and changes nothing', async (field, body) => {
      const before = await storedProfile(app, user.id);
      const response = await patchProfile(user, { first_name: 'Changed', ...body });
      expectFieldError(response, field);
      expect(await storedProfile(app, user.id)).toEqual(before);
    });

    it('PUT refuses null for a field that cannot be empty, and changes nothing', async () => {
      const before = await storedProfile(app, user.id);
      const response = await putProfile(user, {
        email: user.email,
        bio: 'Changed',
        timezone: null,
      });
      expectFieldError(response, 'timezone');
      expect(await storedProfile(app, user.id)).toEqual(before);
    });

    it('refuses another value for the read-only username, and changes nothing', async () => {
      const before = await storedProfile(app, user.id);
      const response = await patchProfile(user, {
        username: `${user.username}_renamed`,
        bio: 'Changed',
      });
      expectFieldError(response, 'username');
      expect(await storedProfile(app, user.id)).toEqual(before);
    });

    it("refuses another user's email, whatever its case, and changes nothing", async () => {
      const other = await registerUser(app);
      const before = await storedProfile(app, user.id);
      for (const email of [other.email, other.email.toUpperCase()]) {
        const response = await patchProfile(user, { email, bio: 'Changed' });
        expectFieldError(response, 'email');
        expect(response.body.errors.email).toEqual(['A user with that email already exists.']);
      }
      const put = await putProfile(user, { email: other.email, bio: 'Changed' });
      expectFieldError(put, 'email');
      expect(await storedProfile(app, user.id)).toEqual(before);
      expect((await storedProfile(app, other.id)).email).toBe(other.email);
    });

    it('answers malformed JSON with a 400 problem and changes nothing', async () => {
      const before = await storedProfile(app, user.id);
      const response = await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .set('Content-Type', 'application/json')
        .send('{"bio": "half');
      expectProblem(response, 400);
      expect(await storedProfile(app, user.id)).toEqual(before);
    });

    it('answers a form-encoded body with 415', async () => {
      const response = await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .type('form')
        .send('bio=hello');
      expectProblem(response, 415);
    });

    it('answers 401 to a PATCH without a token, and changes nothing', async () => {
      const before = await storedProfile(app, user.id);
      expectProblem(await app.http().patch('/api/auth/profile/').send({ bio: 'Anonymous' }), 401);
      expect(await storedProfile(app, user.id)).toEqual(before);
    });
  });

  describe('avatar', () => {
    it('uploads an avatar with other fields as multipart, served by a signed URL', async () => {
      const user = await registerUser(app);
      const png = await pngBytes(48);
      const response = await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .field('bio', 'With a face')
        .field('auto_validate_images', 'true')
        .attach('avatar', png, { filename: 'me.png', contentType: 'image/png' })
        .expect(200);

      expect(response.body).toMatchObject({ bio: 'With a face', auto_validate_images: true });
      const avatar: string = response.body.avatar;
      expect(avatar).toMatch(
        new RegExp(
          `^${app.config.publicBaseUrl}/media/avatars/${user.id}/[^?]+\\.png\\?expires=\\d+&signature=[\\w-]+$`,
        ),
      );
      const expires = Number(new URL(avatar).searchParams.get('expires'));
      // MEDIA_URL_TTL (1 h) rounded up to its step (5 min): valid 3,600 to 3,900 s from now.
      const now = Date.now() / 1000;
      expect(expires).toBeGreaterThanOrEqual(Math.floor(now) + 3600 - 1);
      expect(expires).toBeLessThanOrEqual(now + 3600 + 300 + 5);
      expect(expires % 300).toBe(0);

      const key = keyOf(avatar);
      expect(await storedProfile(app, user.id)).toMatchObject({
        avatar: key,
        bio: 'With a face',
        auto_validate_images: true,
      });
      expect(await exists(path.join(app.config.mediaRoot, key))).toBe(true);
      expect(await avatarFiles(app, user.id)).toEqual([path.basename(key)]);

      const media = await app.http().get(localPath(avatar)).expect(200);
      expect(media.headers['content-type']).toBe('image/png');
      expect(media.headers['cache-control']).toMatch(/^private/);
      const decoded = await sharp(media.body as Buffer).metadata();
      expect(decoded).toMatchObject({ format: 'png', width: 48, height: 48 });

      // The profile and /me hand out a working URL for it too.
      const again = (await getProfile(user).expect(200)).body;
      expect(keyOf(again.avatar)).toBe(key);
      await app.http().get(localPath(again.avatar)).expect(200);
      const me = (await app.http().get('/api/auth/me/').set(bearer(user.access)).expect(200)).body;
      expect(keyOf(me.profile.avatar)).toBe(key);
    });

    it('accepts an avatar with PUT too (multipart, email among the fields)', async () => {
      const user = await registerUser(app);
      const response = await app
        .http()
        .put('/api/auth/profile/')
        .set(bearer(user.access))
        .field('email', user.email)
        .field('first_name', 'Carol')
        .attach('avatar', await jpegBytes(40), { filename: 'c.jpg', contentType: 'image/jpeg' })
        .expect(200);
      expect(response.body.first_name).toBe('Carol');
      expect(keyOf(response.body.avatar)).toMatch(new RegExp(`^avatars/${user.id}/.+\\.jpg$`));
      const media = await app.http().get(localPath(response.body.avatar)).expect(200);
      expect(media.headers['content-type']).toBe('image/jpeg');
      expect((await sharp(media.body as Buffer).metadata()).format).toBe('jpeg');
    });

    it('replacing the avatar deletes the old file; null removes it', async () => {
      const user = await registerUser(app);
      const first = (await uploadAvatar(user, await pngBytes(32)).expect(200)).body.avatar;
      const firstFile = path.join(app.config.mediaRoot, keyOf(first));
      expect(await exists(firstFile)).toBe(true);

      const second = (
        await app
          .http()
          .patch('/api/auth/profile/')
          .set(bearer(user.access))
          .attach('avatar', await jpegBytes(32), { filename: 'b.jpg', contentType: 'image/jpeg' })
          .expect(200)
      ).body.avatar;
      const secondFile = path.join(app.config.mediaRoot, keyOf(second));
      expect(keyOf(second)).not.toBe(keyOf(first));
      expect(await exists(firstFile)).toBe(false);
      expect(await exists(secondFile)).toBe(true);
      expect(await avatarFiles(app, user.id)).toEqual([path.basename(secondFile)]);
      // The old URL, though still signed, has nothing left to serve.
      expectProblem(await app.http().get(localPath(first)), 404);

      const removed = await patchProfile(user, { avatar: null }).expect(200);
      expect(removed.body.avatar).toBeNull();
      expect(await exists(secondFile)).toBe(false);
      expect(await avatarFiles(app, user.id)).toEqual([]);
      expect((await storedProfile(app, user.id)).avatar).toBeNull();
      expect((await getProfile(user).expect(200)).body.avatar).toBeNull();
    });

    it('refuses a text file as avatar naming avatar, and stores nothing', async () => {
      const user = await registerUser(app);
      const before = await storedProfile(app, user.id);
      const response = await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .field('bio', 'Changed')
        .attach('avatar', Buffer.from('just some text, not a picture\n'), {
          filename: 'me.png',
          contentType: 'image/png',
        });
      expectFieldError(response, 'avatar');
      expect(await storedProfile(app, user.id)).toEqual(before);
      expect(await avatarFiles(app, user.id)).toEqual([]);
    });

    it('keeps the current avatar when an upload is refused', async () => {
      const user = await registerUser(app);
      const current = (await uploadAvatar(user, await pngBytes(24)).expect(200)).body.avatar;
      const before = await storedProfile(app, user.id);

      const badField = await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .field('timezone', 'Mars/Olympus')
        .attach('avatar', await pngBytes(30), { filename: 'n.png', contentType: 'image/png' });
      expectFieldError(badField, 'timezone');

      const other = await registerUser(app);
      const takenEmail = await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .field('email', other.email)
        .attach('avatar', await pngBytes(30), { filename: 'n.png', contentType: 'image/png' });
      expectFieldError(takenEmail, 'email');

      expect(await storedProfile(app, user.id)).toEqual(before);
      expect(await avatarFiles(app, user.id)).toEqual([path.basename(keyOf(current))]);
      await app.http().get(localPath(current)).expect(200);
    });

    it('refuses an avatar over the pixel limit with 400 naming avatar, however small the file', async () => {
      const user = await registerUser(app);
      const before = await storedProfile(app, user.id);
      const bomb = await overPixelLimitPng();
      expect(bomb.length).toBeLessThan(app.config.auth.avatarMaxBytes);
      const response = await uploadAvatar(user, bomb);
      expectFieldError(response, 'avatar');
      expect(response.body.errors.avatar[0]).toMatch(/8000×6000.*40,000,000 pixels/);
      expect(await storedProfile(app, user.id)).toEqual(before);
      expect(await avatarFiles(app, user.id)).toEqual([]);
    });

    it('takes 20 avatar uploads per user per hour, then answers 429 with Retry-After', async () => {
      const [user, other] = await Promise.all([registerUser(app), registerUser(app)]);
      const png = await pngBytes(8);
      for (let i = 0; i < 19; i++) await uploadAvatar(user, png).expect(200);
      // A refused file counts too: decoding it is the cost being limited.
      expectFieldError(await uploadAvatar(user, Buffer.from('not a picture')), 'avatar');
      const limited = await uploadAvatar(user, png);
      expectProblem(limited, 429);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(3500);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      // Other edits still go through, and other users upload as before.
      await patchProfile(user, { bio: 'Still here' }).expect(200);
      await uploadAvatar(other, png).expect(200);
    });

    it('refuses an avatar sent as a JSON string, naming avatar', async () => {
      const user = await registerUser(app);
      const before = await storedProfile(app, user.id);
      const response = await patchProfile(user, { avatar: 'http://example.com/me.png' });
      expectFieldError(response, 'avatar');
      expect(await storedProfile(app, user.id)).toEqual(before);
    });

    it('refuses a multipart file under another field name with 400', async () => {
      const user = await registerUser(app);
      const before = await storedProfile(app, user.id);
      const response = await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .field('bio', 'Changed')
        .attach('picture', await pngBytes(), { filename: 'me.png', contentType: 'image/png' });
      expectProblem(response, 400);
      expect(await storedProfile(app, user.id)).toEqual(before);
      expect(await avatarFiles(app, user.id)).toEqual([]);
    });

    it('refuses an unknown text field in multipart, naming it', async () => {
      const user = await registerUser(app);
      const response = await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .field('nickname', 'Al')
        .attach('avatar', await pngBytes(), { filename: 'me.png', contentType: 'image/png' });
      expectFieldError(response, 'nickname');
      expect(await avatarFiles(app, user.id)).toEqual([]);
    });
  });

  describe('signed media URLs', () => {
    let user: RegisteredUser;
    let avatar: string;
    let signer: MediaUrlSigner;
    beforeAll(async () => {
      user = await registerUser(app);
      avatar = (await uploadAvatar(user, await pngBytes(16)).expect(200)).body.avatar;
      signer = app.app.get(MediaUrlSigner);
    });

    const withParams = (params: Record<string, string | null>) => {
      const url = new URL(avatar);
      for (const [name, value] of Object.entries(params)) {
        if (value === null) url.searchParams.delete(name);
        else url.searchParams.set(name, value);
      }
      return `${url.pathname}${url.search}`;
    };

    it('serves the file with its signature, and needs no bearer token', async () => {
      const response = await app.http().get(localPath(avatar)).expect(200);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    });

    it('refuses an altered signature, a missing one or a changed expiry with 403', async () => {
      const url = new URL(avatar);
      const signature = url.searchParams.get('signature')!;
      const expires = url.searchParams.get('expires')!;
      const altered = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
      for (const request of [
        withParams({ signature: altered }),
        withParams({ signature: signature.slice(0, -2) }),
        withParams({ signature: '' }),
        withParams({ signature: null }),
        withParams({ signature: null, expires: null }),
        withParams({ expires: String(Number(expires) + 3600) }),
        withParams({ expires: String(Number(expires) - 1) }),
        withParams({ expires: 'soon' }),
      ]) {
        const response = await app.http().get(request);
        expectProblem(response, 403);
        expect(response.headers['content-type']).not.toMatch(/^image\//);
      }
    });

    it('refuses the signature of one file used for another', async () => {
      const other = await registerUser(app);
      const otherAvatar = (await uploadAvatar(other, await pngBytes(20)).expect(200)).body.avatar;
      const mine = new URL(avatar);
      const forged = `${new URL(otherAvatar).pathname}${mine.search}`;
      expectProblem(await app.http().get(forged), 403);
    });

    it('refuses a URL whose expiry has passed with 403', async () => {
      const expired = signer.sign(keyOf(avatar), 1, Date.now() - 10_000);
      expect(Number(new URL(expired).searchParams.get('expires'))).toBeLessThan(Date.now() / 1000);
      expectProblem(await app.http().get(localPath(expired)), 403);
      // The same key freshly signed works: only the expiry was wrong.
      await app
        .http()
        .get(localPath(signer.sign(keyOf(avatar))))
        .expect(200);
    });

    it('refuses URLs signed with the JWT secret or a bare hash of it: media URLs have their own key', async () => {
      const key = keyOf(avatar);
      const jwtSecret = app.config.auth.jwtSecret;
      const bareHash = createHash('sha256').update(`media-url:${jwtSecret}`).digest('hex');
      for (const secret of [jwtSecret, bareHash]) {
        expectProblem(await app.http().get(signedWith(secret, key)), 403);
      }
      await app.http().get(signedWith(app.config.media.signingKey, key)).expect(200);
    });

    describe('with MEDIA_URL_SECRET set', () => {
      const mediaUrlSecret = `media-url-secret-${randomUUID()}`;
      let own: TestApp;
      beforeAll(async () => {
        own = await createTestApp({ MEDIA_URL_SECRET: mediaUrlSecret });
      });
      afterAll(() => own.close());

      it('signs under it: its URLs verify, those under the key derived from JWT_SECRET do not', async () => {
        const owner = await registerUser(own);
        const signed = (
          await own
            .http()
            .patch('/api/auth/profile/')
            .set(bearer(owner.access))
            .attach('avatar', await pngBytes(16), { filename: 'me.png', contentType: 'image/png' })
            .expect(200)
        ).body.avatar as string;
        await own.http().get(localPath(signed)).expect(200);
        const key = keyOf(signed);
        await own.http().get(signedWith(mediaUrlSecret, key)).expect(200);
        const derived = Buffer.from(
          hkdfSync('sha256', own.config.auth.jwtSecret, '', 'image-automation media-url v1', 32),
        );
        expectProblem(await own.http().get(signedWith(derived, key)), 403);
      });
    });

    it('never serves a file outside the media folder, signed or not', async () => {
      // A real file right next to MEDIA_ROOT: what a traversal would reach.
      const name = `ia-secret-${randomUUID()}.txt`;
      const secret = path.join(path.dirname(app.config.mediaRoot), name);
      await writeFile(secret, 'TOP-SECRET-CONTENT');
      try {
        const folder = path.basename(app.config.mediaRoot);
        const attempts = [
          `/media/../${name}`,
          `/media/..%2F${name}`,
          `/media/%2e%2e/${name}`,
          `/media/%2E%2E%2F${name}`,
          `/media/avatars/..%2F..%2F${name}`,
          `/media/avatars/%2e%2e/%2e%2e/${name}`,
          `/media/..%5C${name}`,
          `/media/%2Ftmp%2F${name}`,
          `/media/../${folder}/../${name}`,
          `/media/../../../../package.json`,
          `/media/..%2F..%2F..%2F..%2Fpackage.json`,
        ];
        for (const attempt of attempts) {
          for (const query of ['', '?expires=9999999999&signature=x']) {
            const response = await app.http().get(`${attempt}${query}`);
            expectProblem(response, 403);
            // The path reached the server as written (not normalised on the way).
            expect(response.body.instance).toBe(attempt);
            expect(response.text).not.toContain('TOP-SECRET-CONTENT');
            expect(response.text).not.toContain('"name": "image-automation"');
          }
        }
        // Even a correctly signed key cannot climb out of MEDIA_ROOT.
        for (const key of [`../${name}`, `avatars/../../${name}`, `./../${name}`]) {
          const signed = signer.sign(key);
          const response = await app.http().get(`/media/${key}${new URL(signed).search}`);
          expectProblem(response, 403);
          expect(response.text).not.toContain('TOP-SECRET-CONTENT');
        }
      } finally {
        await rm(secret, { force: true });
      }
    });

    it('answers a signed URL for a file that does not exist with 404', async () => {
      const missing = signer.sign(`avatars/${user.id}/${randomUUID()}.png`);
      expectProblem(await app.http().get(localPath(missing)), 404);
    });

    it('answers HEAD with the headers only, and a conditional GET with 304', async () => {
      const full = await app.http().get(localPath(avatar)).expect(200);
      const head = await app.http().head(localPath(avatar)).expect(200);
      expect(head.headers['content-type']).toBe('image/png');
      expect(head.headers['content-length']).toBe(String((full.body as Buffer).length));
      expect(head.headers.etag).toBe(full.headers.etag);
      const cached = await app
        .http()
        .get(localPath(avatar))
        .set('If-None-Match', full.headers.etag as string);
      expect(cached.status).toBe(304);
      expect(cached.text ?? '').toBe('');
      // Another validator: the whole file again.
      const changed = await app.http().get(localPath(avatar)).set('If-None-Match', 'W/"other"');
      expect(changed.status).toBe(200);
      expect(Buffer.compare(changed.body as Buffer, full.body as Buffer)).toBe(0);
    });

    it('streams a file too large to keep in memory, whole', async () => {
      const storage = app.app.get<MediaStorage>(MEDIA_STORAGE);
      const key = `avatars/${user.id}/${randomUUID()}.png`;
      const large = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < large.length; i += 1) large[i] = (i * 31) % 251;
      await storage.put(key, large);
      const served = await app
        .http()
        .get(localPath(signer.sign(key)))
        .expect(200);
      expect(served.headers['content-length']).toBe(String(large.length));
      expect(Buffer.compare(served.body as Buffer, large)).toBe(0);
      await storage.delete(key);
    });

    it('serves the file as it is on disk, even after serving it from memory', async () => {
      const storage = app.app.get<MediaStorage>(MEDIA_STORAGE);
      const key = `avatars/${user.id}/${randomUUID()}.png`;
      const first = await pngBytes(12);
      const second = await pngBytes(24);
      await storage.put(key, first);
      const signed = localPath(signer.sign(key));
      for (let i = 0; i < 2; i++) {
        const served = await app.http().get(signed).expect(200);
        expect(Buffer.compare(served.body as Buffer, first)).toBe(0);
      }
      // Replaced through the storage (as a new upload would be): the new bytes at once.
      await storage.put(key, second);
      const replaced = await app.http().get(signed).expect(200);
      expect(Buffer.compare(replaced.body as Buffer, second)).toBe(0);
      // Removed behind this process's back (another process, a person): gone within a second,
      // when the cache looks at the file again.
      await rm(path.join(app.config.mediaRoot, key));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expectProblem(await app.http().get(signed), 404);
    });
  });
});

describe('/api/auth/profile/ avatar size limit', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ AVATAR_MAX_BYTES: '2048' });
  });
  afterAll(() => app.close());

  it('answers 413 problem+json to an avatar over AVATAR_MAX_BYTES, and stores nothing', async () => {
    const user = await registerUser(app);
    const big = await noisyPngBytes(48);
    expect(big.length).toBeGreaterThan(2048);
    const before = await storedProfile(app, user.id);
    const response = await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(user.access))
      .field('bio', 'Changed')
      .attach('avatar', big, { filename: 'big.png', contentType: 'image/png' });
    expectProblem(response, 413);
    expect(await storedProfile(app, user.id)).toEqual(before);
    expect(await avatarFiles(app, user.id)).toEqual([]);
  });

  it('still accepts an avatar under the limit', async () => {
    const user = await registerUser(app);
    const small = await pngBytes(16);
    expect(small.length).toBeLessThan(2048);
    const response = await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(user.access))
      .attach('avatar', small, { filename: 'small.png', contentType: 'image/png' })
      .expect(200);
    expect(response.body.avatar).toEqual(expect.any(String));
  });
});

describe('media under a MEDIA_ROOT inside a hidden folder', () => {
  // Like ~/.local/share/image-automation/media: the folder's own path has a dot segment.
  const hidden = mkdtempSync(path.join(os.tmpdir(), '.ia-hidden-'));
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ MEDIA_ROOT: path.join(hidden, 'media') });
  });
  afterAll(async () => {
    await app.close();
    await rm(hidden, { recursive: true, force: true });
  });

  it('still serves the avatar', async () => {
    const user = await registerUser(app);
    const response = await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(user.access))
      .attach('avatar', await pngBytes(20), { filename: 'me.png', contentType: 'image/png' })
      .expect(200);
    expect(await exists(path.join(hidden, 'media', keyOf(response.body.avatar)))).toBe(true);
    const media = await app.http().get(localPath(response.body.avatar)).expect(200);
    expect(media.headers['content-type']).toBe('image/png');
    expect((await sharp(media.body as Buffer).metadata()).width).toBe(20);
  });
});
