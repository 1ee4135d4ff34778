import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { registerUser } from './factories/user.factory.js';
import { createTestApp, type TestApp } from './support/test-app.js';

/** Each attempt comes from an address of its own (documentation range; the app trusts one proxy hop here). */
const freshIp = () => `2001:db8::${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}`;

describe('login throttling', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Listening: 200 requests at once need one server, not one supertest listener each.
    app = await createTestApp({ TRUST_PROXY: '1' }, { listen: true });
  });
  afterAll(() => app.close());

  const login = (ip: string, username: string, password: string) =>
    app.http().post('/api/auth/login/').set('X-Forwarded-For', ip).send({ username, password });

  it('refuses an account after 10 failures, even with the right password, with Retry-After', async () => {
    const user = await registerUser(app);
    for (let attempt = 0; attempt < 10; attempt++)
      await login(freshIp(), user.username, 'Wrong-Password-000').expect(401);

    const blocked = await login(freshIp(), user.username, user.password).expect(429);
    expect(blocked.headers['content-type']).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // By email too: the count belongs to the account, not to the spelling used.
    await login(freshIp(), user.email, user.password).expect(429);
    // Other accounts are unaffected.
    const other = await registerUser(app);
    await login(freshIp(), other.username, other.password).expect(200);
  });

  it('refuses an address after 10 failures across accounts', async () => {
    const ip = freshIp();
    const victim = await registerUser(app);
    for (let attempt = 0; attempt < 10; attempt++) {
      await login(ip, `nobody_${attempt}_${randomInt(1e9)}`, 'Wrong-Password-000').expect(401);
    }
    await login(ip, victim.username, victim.password).expect(429);
    await login(freshIp(), victim.username, victim.password).expect(200);
  });

  it('counts only failures: successful sign-ins never throttle', async () => {
    const user = await registerUser(app);
    const ip = freshIp();
    for (let attempt = 0; attempt < 12; attempt++)
      await login(ip, user.username, user.password).expect(200);
  });

  it('keeps its counters in Redis, shared by every replica', async () => {
    const replica = await createTestApp({
      TRUST_PROXY: '1',
      REDIS_PREFIX: app.config.redis.prefix,
    });
    try {
      const user = await registerUser(app);
      for (let attempt = 0; attempt < 5; attempt++)
        await login(freshIp(), user.username, 'Wrong-Password-000').expect(401);
      for (let attempt = 0; attempt < 5; attempt++) {
        await replica
          .http()
          .post('/api/auth/login/')
          .set('X-Forwarded-For', freshIp())
          .send({ username: user.username, password: 'Wrong-Password-000' })
          .expect(401);
      }
      await replica
        .http()
        .post('/api/auth/login/')
        .set('X-Forwarded-For', freshIp())
        .send({ username: user.username, password: user.password })
        .expect(429);
      await login(freshIp(), user.username, user.password).expect(429);
    } finally {
      await replica.close();
    }
  });

  it('checks at most LOGIN_MAX_FAILURES passwords of 200 wrong guesses fired at once', async () => {
    const user = await registerUser(app);
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => login(freshIp(), user.username, 'Wrong-Password-000')),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    // Each 401 is a password checked; the counter is taken before the check, so no more than the limit.
    expect(statuses.filter((status) => status === 401)).toHaveLength(
      app.config.auth.loginMaxFailures,
    );
    await login(freshIp(), user.username, user.password).expect(429);
  });

  it('counts the address the trusted proxy saw: the last X-Forwarded-For hop', async () => {
    const proxySaw = freshIp();
    // The client writes whatever it likes before the hop our proxy appends: rotating it changes nothing.
    for (let attempt = 0; attempt < 10; attempt++) {
      await login(
        `${freshIp()}, ${proxySaw}`,
        `nobody_${randomInt(1e9)}`,
        'Wrong-Password-000',
      ).expect(401);
    }
    const victim = await registerUser(app);
    await login(`${freshIp()}, ${proxySaw}`, victim.username, victim.password).expect(429);
    await login(`${proxySaw}, ${freshIp()}`, victim.username, victim.password).expect(200);
  });
});
