import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, registerUser } from './factories/user.factory.js';
import { craftJwt, decodeJwtPayload } from './support/jwt.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { TEST_JWT_SECRET } from './support/test-env.js';

describe('sign-in and tokens', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const login = (username: string, password: string) =>
    app.http().post('/api/auth/login/').send({ username, password });
  const me = (token: string) => app.http().get('/api/auth/me/').set(bearer(token));
  const refresh = (token: string) =>
    app.http().post('/api/auth/token/refresh/').send({ refresh: token });

  describe('POST login/', () => {
    it('signs in by username or by email, whatever the case', async () => {
      const user = await registerUser(app);
      for (const identifier of [
        user.username,
        user.email.toUpperCase(),
        user.username.toUpperCase(),
      ]) {
        const response = await login(identifier, user.password).expect(200);
        expect(Object.keys(response.body).sort()).toEqual(['access', 'refresh']);
        const body = (await me(response.body.access).expect(200)).body;
        expect(body).toMatchObject({ id: user.id, username: user.username, email: user.email });
        expect(Object.keys(body).sort()).toEqual([
          'date_joined',
          'email',
          'first_name',
          'id',
          'last_name',
          'profile',
          'username',
        ]);
        expect(JSON.stringify(body)).not.toMatch(/password|argon2/);
      }
    });

    it('refuses a wrong password and an unknown user alike, with 401', async () => {
      const user = await registerUser(app);
      const wrong = await login(user.username, 'Not-The-Password-1').expect(401);
      const unknown = await login('nobody_at_all_here', 'Not-The-Password-1').expect(401);
      expect(wrong.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(wrong.body.detail).toBe(unknown.body.detail);
      expect(wrong.body).not.toHaveProperty('access');
    });

    it('answers 400 naming the field for missing or mistyped fields', async () => {
      const missing = await app
        .http()
        .post('/api/auth/login/')
        .send({ username: 'someone' })
        .expect(400);
      expect(Object.keys(missing.body.errors)).toEqual(['password']);
      const typed = await app
        .http()
        .post('/api/auth/login/')
        .send({ username: ['a'], password: 'x' })
        .expect(400);
      expect(Object.keys(typed.body.errors)).toEqual(['username']);
    });
  });

  describe('bearer access tokens', () => {
    it('needs a token and says so', async () => {
      const response = await app.http().get('/api/auth/me/').expect(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.body.status).toBe(401);
    });

    it('refuses a tampered signature, alg none, another secret, an expired token and garbage', async () => {
      const user = await registerUser(app);
      const claims = decodeJwtPayload(user.access);
      const [header, payload, signature] = user.access.split('.');
      const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
      const otherUser = Buffer.from(
        JSON.stringify({ ...claims, sub: String(user.id + 1) }),
      ).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const forged = [
        `${header}.${payload}.${flipped}`,
        `${header}.${otherUser}.${signature}`,
        craftJwt({ alg: 'none', typ: 'JWT' }, claims),
        craftJwt({ alg: 'HS256', typ: 'JWT' }, claims, 'a-different-secret-of-enough-length-123'),
        craftJwt({ alg: 'HS512', typ: 'JWT' }, claims, TEST_JWT_SECRET),
        craftJwt(
          { alg: 'HS256', typ: 'JWT' },
          { ...claims, iat: now - 3600, exp: now - 60 },
          TEST_JWT_SECRET,
        ),
        'not.a.jwt',
      ];
      for (const token of forged) {
        const response = await me(token).expect(401);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      // The same claims, properly signed and unexpired, are accepted: the refusals above are about the forgery.
      const genuine = craftJwt(
        { alg: 'HS256', typ: 'JWT' },
        { ...claims, iat: now, exp: now + 60 },
        TEST_JWT_SECRET,
      );
      await me(genuine).expect(200);
    });

    it('refuses a token it accepted before from the second it expires', async () => {
      // The app keeps tokens it verified (TokenService): expiry must still hold at each use.
      const user = await registerUser(app);
      const exp = Math.floor(Date.now() / 1000) + 1;
      const token = craftJwt(
        { alg: 'HS256', typ: 'JWT' },
        { ...decodeJwtPayload(user.access), iat: exp - 1, exp },
        TEST_JWT_SECRET,
      );
      await me(token).expect(200);
      await me(token).expect(200);
      await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 5));
      const expired = await me(token).expect(401);
      expect(expired.body.detail).toBe('The token has expired.');
    });

    it('does not take a refresh token as an access token, nor the reverse', async () => {
      const user = await registerUser(app);
      await me(user.refresh).expect(401);
      await refresh(user.access).expect(401);
    });
  });

  describe('POST token/refresh/', () => {
    it('rotates: a new pair, and the old refresh token is spent', async () => {
      const user = await registerUser(app);
      const rotated = await refresh(user.refresh).expect(200);
      expect(rotated.body.refresh).not.toBe(user.refresh);
      await me(rotated.body.access).expect(200);
      await refresh(rotated.body.refresh).expect(200);
    });

    it('revokes the whole session when a spent refresh token comes back, and only that session', async () => {
      const user = await registerUser(app);
      const other = (await login(user.username, user.password).expect(200)).body;
      const first = (await refresh(user.refresh).expect(200)).body;

      const reuse = await refresh(user.refresh).expect(401);
      expect(reuse.body.code).toBe('token_reused');
      // The legitimate successor and every access token of that family are dead too...
      await refresh(first.refresh).expect(401);
      await me(first.access).expect(401);
      await me(user.access).expect(401);
      // ...while the user's other session lives on.
      await me(other.access).expect(200);
      await refresh(other.refresh).expect(200);
    });

    it('answers 400 without a token and 401 for garbage', async () => {
      const missing = await app.http().post('/api/auth/token/refresh/').send({}).expect(400);
      expect(Object.keys(missing.body.errors)).toEqual(['refresh']);
      await refresh('garbage').expect(401);
    });

    it('lets only one of two concurrent rotations of the same token win', async () => {
      const user = await registerUser(app);
      const results = await Promise.all([refresh(user.refresh), refresh(user.refresh)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    });
  });

  describe('POST logout/', () => {
    it('kills the refresh token and the access tokens of that session only', async () => {
      const user = await registerUser(app);
      const other = (await login(user.username, user.password).expect(200)).body;
      const response = await app
        .http()
        .post('/api/auth/logout/')
        .set(bearer(user.access))
        .send({ refresh_token: user.refresh })
        .expect(200);
      expect(response.body.message).toEqual(expect.any(String));
      await refresh(user.refresh).expect(401);
      await me(user.access).expect(401);
      await me(other.access).expect(200);
    });

    it('accepts `refresh` in place of `refresh_token`', async () => {
      const user = await registerUser(app);
      await app
        .http()
        .post('/api/auth/logout')
        .set(bearer(user.access))
        .send({ refresh: user.refresh })
        .expect(200);
      await refresh(user.refresh).expect(401);
    });

    it("refuses another user's refresh token, a revoked one and a missing one, with 400", async () => {
      const user = await registerUser(app);
      const stranger = await registerUser(app);
      const foreign = await app
        .http()
        .post('/api/auth/logout/')
        .set(bearer(user.access))
        .send({ refresh_token: stranger.refresh })
        .expect(400);
      expect(Object.keys(foreign.body.errors)).toEqual(['refresh_token']);
      await refresh(stranger.refresh).expect(200);
      await app.http().post('/api/auth/logout/').set(bearer(user.access)).send({}).expect(400);
      await app.http().post('/api/auth/logout/').send({ refresh_token: user.refresh }).expect(401);
    });
  });

  describe('POST change-password/', () => {
    const change = (token: string, body: object) =>
      app.http().post('/api/auth/change-password/').set(bearer(token)).send(body);

    it('revokes every token issued before the change', async () => {
      const user = await registerUser(app);
      const second = (await login(user.username, user.password).expect(200)).body;
      const newPassword = 'Green-Orchard-Compass-77';
      const response = await change(user.access, {
        old_password: user.password,
        new_password: newPassword,
        new_password2: newPassword,
      }).expect(200);
      expect(response.body.message).toEqual(expect.any(String));

      for (const token of [user.access, second.access]) await me(token).expect(401);
      for (const token of [user.refresh, second.refresh]) await refresh(token).expect(401);
      await login(user.username, user.password).expect(401);
      const fresh = (await login(user.username, newPassword).expect(200)).body;
      await me(fresh.access).expect(200);
    });

    it('refuses a wrong old password, a weak new one and a mismatch, changing nothing', async () => {
      const user = await registerUser(app);
      const wrongOld = await change(user.access, {
        old_password: 'Nope-Nope-Nope-1',
        new_password: 'Green-Orchard-Compass-77',
        new_password2: 'Green-Orchard-Compass-77',
      }).expect(400);
      expect(Object.keys(wrongOld.body.errors)).toEqual(['old_password']);
      const weak = await change(user.access, {
        old_password: user.password,
        new_password: '12345678',
        new_password2: '12345678',
      }).expect(400);
      expect(weak.body.errors.new_password).toEqual(
        expect.arrayContaining(['This password is entirely numeric.']),
      );
      const mismatch = await change(user.access, {
        old_password: user.password,
        new_password: 'Green-Orchard-Compass-77',
        new_password2: 'Green-Orchard-Compass-78',
      }).expect(400);
      expect(Object.keys(mismatch.body.errors)).toEqual(['new_password2']);
      await me(user.access).expect(200);
      await login(user.username, user.password).expect(200);
    });
  });
});
