import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAccount, inSeconds, userWithValidatedImage } from './factories/post.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

/**
 * `Idempotency-Key` on the creating POSTs: a client that retries after a lost answer gets the
 * first answer again, never a second row; the same key with another body is 422, the same key
 * while the first request still runs is 409; keys are per user.
 */
describe('Idempotency-Key on the creating POSTs', () => {
  let app: TestApp;
  let user: RegisteredUser;
  let imageId: number;
  let account: number;
  let serial = 0;

  beforeAll(async () => {
    app = await createTestApp({ APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local' });
    ({ user, imageId } = await userWithValidatedImage(app));
    account = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: '17840000000000001',
      access_token: 'instagram-token',
    });
  });
  afterAll(() => app.close());

  const key = () => `key-${Date.now()}-${++serial}`;
  const post = (owner: RegisteredUser, path: string, body: object, idempotencyKey?: string) => {
    const request = app.http().post(path).set(bearer(owner.access));
    if (idempotencyKey !== undefined) request.set('Idempotency-Key', idempotencyKey);
    return request.send(body);
  };
  const count = async (table: string, userId: number): Promise<number> => {
    const [{ n }] = (await app.dataSource.query(
      `SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`,
      [userId],
    )) as [{ n: number }];
    return n;
  };

  const endpoints: [string, string, string, () => object][] = [
    [
      'images/generate/',
      '/api/images/generate/',
      'generated_images',
      () => ({
        prompt: `A harbour ${++serial}`,
        width: 256,
        height: 256,
      }),
    ],
    [
      'scheduler/schedule/',
      '/api/scheduler/schedule/',
      'scheduled_posts',
      () => ({
        image: imageId,
        platform: 'instagram',
        account,
        scheduled_time: inSeconds(3600),
        caption: `Caption ${++serial}`,
      }),
    ],
    [
      'scheduler/schedules/',
      '/api/scheduler/schedules/',
      'posting_schedules',
      () => ({
        name: `Mornings ${++serial}`,
        frequency: 'daily',
        time_of_day: '09:00',
        timezone: 'Europe/Paris',
        platforms: ['instagram'],
        tags: ['sea'],
        caption: 'Good morning',
      }),
    ],
    [
      'scheduler/accounts/',
      '/api/scheduler/accounts/',
      'social_accounts',
      () => ({
        platform: 'twitter',
        account_id: `15000${++serial}`,
        access_token: 'x-token',
      }),
    ],
    [
      'webhooks/',
      '/api/webhooks/',
      'webhook_endpoints',
      () => ({ url: `https://93.184.215.14/hooks/${++serial}` }),
    ],
  ];

  describe.each(endpoints)('POST %s', (_name, path, table, body) => {
    it('answers the same key and body with the first answer, and makes one row', async () => {
      const idempotencyKey = key();
      const sent = body();
      const before = await count(table, user.id);
      const first = await post(user, path, sent, idempotencyKey).expect(201);
      const again = await post(user, path, sent, idempotencyKey).expect(201);
      expect(again.body).toEqual(first.body);
      expect(await count(table, user.id)).toBe(before + 1);
    });

    it('refuses the same key with another body: 422', async () => {
      const idempotencyKey = key();
      await post(user, path, body(), idempotencyKey).expect(201);
      const before = await count(table, user.id);
      const other = await post(user, path, body(), idempotencyKey);
      expectProblem(other, 422);
      expect(await count(table, user.id)).toBe(before);
    });
  });

  it('keys are per user: the same key from another user is a request of its own', async () => {
    const idempotencyKey = key();
    const stranger = await registerUser(app);
    const sent = { platform: 'twitter', account_id: `15000${++serial}`, access_token: 't' };
    const mine = await post(user, '/api/scheduler/accounts/', sent, idempotencyKey).expect(201);
    const theirs = await post(stranger, '/api/scheduler/accounts/', sent, idempotencyKey).expect(
      201,
    );
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('a request while the first with that key still runs is 409; the first then completes', async () => {
    const idempotencyKey = key();
    const sent = { platform: 'twitter', account_id: `15000${++serial}`, access_token: 't' };
    // Hold the first request inside its insert, behind a lock of the test's own.
    const runner = app.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    let first: Promise<{ status: number; body: { id?: number } }> | undefined;
    try {
      await runner.query('LOCK TABLE social_accounts IN EXCLUSIVE MODE');
      first = post(user, '/api/scheduler/accounts/', sent, idempotencyKey).then((r) => r);
      await waitFor(
        async () => {
          const [{ n }] = (await app.dataSource.query(
            `SELECT count(*)::int AS n FROM pg_locks
             WHERE NOT granted AND relation = 'social_accounts'::regclass`,
          )) as [{ n: number }];
          return n > 0 ? true : undefined;
        },
        10_000,
        'the first request to wait for the lock',
      );
      expectProblem(await post(user, '/api/scheduler/accounts/', sent, idempotencyKey), 409);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
    const answered = await first;
    expect(answered.status).toBe(201);
    const again = await post(user, '/api/scheduler/accounts/', sent, idempotencyKey).expect(201);
    expect(again.body.id).toBe(answered.body.id);
  });

  it('refuses a key over 255 characters with 400 naming the header', async () => {
    const response = await post(
      user,
      '/api/scheduler/accounts/',
      { platform: 'twitter', account_id: `15000${++serial}`, access_token: 't' },
      'k'.repeat(256),
    );
    expectFieldError(response, 'Idempotency-Key');
  });

  it('a failed first request keeps no answer: the key may be used again once corrected', async () => {
    const idempotencyKey = key();
    const invalid = await post(
      user,
      '/api/scheduler/accounts/',
      { platform: 'nowhere' },
      idempotencyKey,
    );
    expect(invalid.status).toBe(400);
    await post(
      user,
      '/api/scheduler/accounts/',
      { platform: 'twitter', account_id: `15000${++serial}`, access_token: 't' },
      idempotencyKey,
    ).expect(201);
  });

  it('without the header, each request is its own', async () => {
    const sent = { prompt: 'Twice the same', width: 256, height: 256 };
    const before = await count('generated_images', user.id);
    await post(user, '/api/images/generate/', sent).expect(201);
    await post(user, '/api/images/generate/', sent).expect(201);
    expect(await count('generated_images', user.id)).toBe(before + 2);
  });

  it.each([
    '/api/images/generate/',
    '/api/scheduler/schedule/',
    '/api/scheduler/schedules/',
    '/api/scheduler/accounts/',
    '/api/webhooks/',
    // Its behaviour (202, one running export per user) is tested in exports.e2e-spec.ts.
    '/api/exports/',
  ])('documents the header, 409 and 422 in OpenAPI on POST %s', async (path) => {
    const { body } = await app.http().get('/api/docs-json').expect(200);
    const paths = body.paths as Record<string, Record<string, Record<string, unknown>>>;
    const operation = (paths[path] ?? paths[path.replace(/\/$/, '')]).post as {
      parameters: {
        in: string;
        name: string;
        description?: string;
        example?: string;
        schema?: { example?: string };
      }[];
      responses: Record<string, unknown>;
    };
    const header = operation.parameters.find(
      (parameter) => parameter.in === 'header' && parameter.name === 'Idempotency-Key',
    );
    expect(header?.description).toContain('24 hours');
    expect(header?.example ?? header?.schema?.example).toEqual(expect.any(String));
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['409', '422']));
  });
});
