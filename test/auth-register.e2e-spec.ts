import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newUserFields, registerUser, STRONG_PASSWORD } from './factories/user.factory.js';
import { createTestApp, type TestApp } from './support/test-app.js';

describe('POST /api/auth/register/', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('creates the user with a profile and signs them in', async () => {
    const fields = newUserFields({ first_name: 'Alice', last_name: 'Martin' });
    const response = await app.http().post('/api/auth/register/').send(fields).expect(201);

    expect(response.body.message).toEqual(expect.any(String));
    expect(response.body.user).toMatchObject({
      username: fields.username,
      email: fields.email,
      first_name: 'Alice',
      last_name: 'Martin',
      profile: {
        bio: '',
        avatar: null,
        auto_validate_images: false,
        timezone: 'UTC',
        default_image_style: 'realistic',
      },
    });
    expect(JSON.stringify(response.body)).not.toMatch(/argon2|password/);
    const me = await app
      .http()
      .get('/api/auth/me/')
      .set('Authorization', `Bearer ${response.body.tokens.access}`)
      .expect(200);
    expect(me.body.id).toBe(response.body.user.id);

    const [row] = await app.dataSource.query(
      'SELECT u.password, p.id AS profile_id FROM users u JOIN profiles p ON p.user_id = u.id WHERE u.id = $1',
      [response.body.user.id],
    );
    expect(row.password).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(row.profile_id).toEqual(expect.any(Number));
  });

  it('works without the trailing slash too', async () => {
    await app.http().post('/api/auth/register').send(newUserFields()).expect(201);
  });

  it('refuses a username or an email already taken, whatever the case', async () => {
    const existing = await registerUser(app);
    const sameUsername = await app
      .http()
      .post('/api/auth/register/')
      .send(newUserFields({ username: existing.username.toUpperCase() }))
      .expect(400);
    expect(sameUsername.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(sameUsername.body.errors.username).toEqual([
      'A user with that username already exists.',
    ]);

    const sameEmail = await app
      .http()
      .post('/api/auth/register/')
      .send(newUserFields({ email: existing.email.toUpperCase() }))
      .expect(400);
    expect(sameEmail.body.errors.email).toEqual(['A user with that email already exists.']);
    expect(sameEmail.body.errors.username).toBeUndefined();
  });

  it.each([
    ['too short', 'Ab1-xyz', 'This password is too short. It must contain at least 8 characters.'],
    ['entirely numeric', '84920175366', 'This password is entirely numeric.'],
    ['common', 'password1', 'This password is too common.'],
  ])('refuses a weak password (%s)', async (_, password, message) => {
    const response = await app
      .http()
      .post('/api/auth/register/')
      .send(newUserFields({ password, password2: password }))
      .expect(400);
    expect(response.body.errors.password).toContain(message);
  });

  it('refuses a password too similar to the username', async () => {
    const fields = newUserFields();
    const password = `${fields.username}9`;
    const response = await app
      .http()
      .post('/api/auth/register/')
      .send({ ...fields, password, password2: password })
      .expect(400);
    expect(response.body.errors.password).toEqual(['The password is too similar to the username.']);
  });

  it('refuses two passwords that differ', async () => {
    const response = await app
      .http()
      .post('/api/auth/register/')
      .send(newUserFields({ password2: `${STRONG_PASSWORD}x` }))
      .expect(400);
    expect(response.body.errors).toEqual({ password2: ["The two password fields didn't match."] });
  });

  it.each([
    ['username', { username: 'has space' }],
    ['username', { username: 'a'.repeat(151) }],
    ['username', { username: 42 }],
    ['email', { email: 'not-an-email' }],
    ['email', { email: ['a@example.com'] }],
    ['first_name', { first_name: 'x'.repeat(151) }],
    ['password', { password: null }],
    ['nickname', { nickname: 'unknown field' }],
  ])('answers 400 naming %s for %j', async (field, override) => {
    const response = await app
      .http()
      .post('/api/auth/register/')
      .send(newUserFields(override))
      .expect(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status: 400,
      title: 'Bad Request',
      type: expect.any(String),
    });
    expect(Object.keys(response.body.errors)).toContain(field);
  });

  it('answers malformed JSON with a 400 problem', async () => {
    const response = await app
      .http()
      .post('/api/auth/register/')
      .set('Content-Type', 'application/json')
      .send('{"username": "bob",')
      .expect(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe('malformed_json');
  });

  it('answers a body that is not JSON with 415 and an oversized one with 413', async () => {
    const form = await app
      .http()
      .post('/api/auth/register/')
      .type('form')
      .send('username=bob')
      .expect(415);
    expect(form.body.code).toBe('unsupported_media_type');
    const huge = await app
      .http()
      .post('/api/auth/register/')
      .send({ ...newUserFields(), first_name: 'x'.repeat(2 * 1024 * 1024) })
      .expect(413);
    expect(huge.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('POST /api/auth/register/ per client address', () => {
  const LIMIT = 3;
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ RATE_LIMIT_REGISTER_PER_HOUR: String(LIMIT), TRUST_PROXY: '1' });
  });
  afterAll(() => app.close());

  /** A documentation-range address of its own. */
  const freshIp = () =>
    `2001:db8::${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}`;
  const register = (forwardedFor: string) =>
    app
      .http()
      .post('/api/auth/register/')
      .set('X-Forwarded-For', forwardedFor)
      .send(newUserFields());

  it('refuses an address past RATE_LIMIT_REGISTER_PER_HOUR with 429 and Retry-After', async () => {
    const ip = freshIp();
    for (let attempt = 0; attempt < LIMIT; attempt++) await register(ip).expect(201);

    const refused = await register(ip).expect(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(59 * 60);
    expect(retryAfter).toBeLessThanOrEqual(60 * 60);
    // The hop the client wrote itself does not matter: the proxy's (the last) does.
    await register(`${freshIp()}, ${ip}`).expect(429);
    // Another address is not affected.
    await register(freshIp()).expect(201);
  });

  it('counts in Redis, so a second process sees the same count', async () => {
    const replica = await createTestApp({
      RATE_LIMIT_REGISTER_PER_HOUR: String(LIMIT),
      TRUST_PROXY: '1',
      REDIS_PREFIX: app.config.redis.prefix,
    });
    try {
      const ip = freshIp();
      for (let attempt = 0; attempt < LIMIT; attempt++) await register(ip).expect(201);
      await replica
        .http()
        .post('/api/auth/register/')
        .set('X-Forwarded-For', ip)
        .send(newUserFields())
        .expect(429);
    } finally {
      await replica.close();
    }
  });

  it('is off with 0, as test setups that register many users need', async () => {
    const unlimited = await createTestApp({ RATE_LIMIT_REGISTER_PER_HOUR: '0', TRUST_PROXY: '1' });
    try {
      const ip = freshIp();
      for (let attempt = 0; attempt < LIMIT + 2; attempt++) {
        await unlimited
          .http()
          .post('/api/auth/register/')
          .set('X-Forwarded-For', ip)
          .send(newUserFields())
          .expect(201);
      }
    } finally {
      await unlimited.close();
    }
  });
});
