import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './support/test-app.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { bearer, newUserFields, registerUser } from './factories/user.factory.js';

describe('HTTP surface', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  describe('GET /api/health', () => {
    it('answers 200 when PostgreSQL and Redis answer', async () => {
      const response = await app.http().get('/api/health').expect(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toMatchObject({
        status: 'ok',
        details: { database: { status: 'up' }, redis: { status: 'up' } },
      });
    });

    it('needs no token', async () => {
      await app.http().get('/api/health/').set('Authorization', 'Bearer nonsense').expect(200);
    });
  });

  describe('routing errors', () => {
    it('answers an unknown route with a 404 problem', async () => {
      const response = await app.http().get('/api/nothing-here/');
      expectProblem(response, 404);
      expect(response.body.detail).toContain('/api/nothing-here/');
    });

    it('answers an unknown route under /api/auth/ with a 404 problem, not a 401', async () => {
      expectProblem(await app.http().get('/api/auth/unknown/'), 404);
      expectProblem(await app.http().post('/api/auth/unknown/').send({ username: 'x' }), 404);
    });

    it.each([
      ['delete', '/api/auth/profile/'],
      ['get', '/api/auth/login/'],
      ['put', '/api/auth/register/'],
      ['post', '/api/health'],
    ] as const)(
      'answers %s %s (a wrong method) with a 404 or 405 problem',
      async (method, path) => {
        const agent = app.http();
        const response = await agent[method](path);
        expect([404, 405]).toContain(response.status);
        expectProblem(response, response.status);
      },
    );
  });

  describe('NUL characters, which PostgreSQL cannot store', () => {
    it('are a 400 naming the field, in a body, in a list and in a query string', async () => {
      const user = await registerUser(app);
      const register = await app
        .http()
        .post('/api/auth/register/')
        .send(newUserFields({ first_name: 'Ann\u0000e' }));
      expectFieldError(register, 'first_name');
      const generate = await app
        .http()
        .post('/api/images/generate/')
        .set(bearer(user.access))
        .send({ prompt: 'A harbour', tags: ['sea', 'da\u0000wn'] });
      expectFieldError(generate, 'tags');
      const search = await app
        .http()
        .get('/api/images/')
        .query({ search: 'har\u0000bour' })
        .set(bearer(user.access));
      expectFieldError(search, 'search');
      // The same requests without the NUL are fine.
      await app
        .http()
        .get('/api/images/')
        .query({ search: 'harbour' })
        .set(bearer(user.access))
        .expect(200);
    });
  });

  describe('OpenAPI', () => {
    type Operation = {
      responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
      security?: Record<string, string[]>[];
    };
    let document: {
      openapi: string;
      paths: Record<string, Record<string, Operation>>;
      components: {
        schemas: Record<string, { properties?: Record<string, unknown> }>;
        securitySchemes: Record<string, { type: string; scheme?: string }>;
      };
    };

    beforeAll(async () => {
      const response = await app.http().get('/api/docs-json').expect(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      document = response.body;
    });

    function operation(method: string, path: string): Operation {
      const withoutSlash = path.replace(/\/$/, '');
      const item = document.paths[withoutSlash] ?? document.paths[`${withoutSlash}/`];
      expect(item).toBeDefined();
      expect(item[method]).toBeDefined();
      return item[method];
    }

    it('is an OpenAPI 3 document', () => {
      expect(document.openapi).toMatch(/^3\./);
    });

    it.each([
      ['post', '/api/auth/register/', [400, 429]],
      ['post', '/api/auth/login/', [400, 401, 429]],
      ['post', '/api/auth/token/refresh/', [400, 401]],
      ['post', '/api/auth/logout/', [400, 401]],
      ['get', '/api/auth/me/', [401]],
      ['get', '/api/auth/profile/', [401]],
      ['put', '/api/auth/profile/', [400, 401, 413]],
      ['patch', '/api/auth/profile/', [400, 401, 413]],
      ['post', '/api/auth/change-password/', [400, 401]],
      ['post', '/api/auth/password-reset/', [400, 415, 429]],
      ['post', '/api/auth/password-reset/confirm/', [400, 415]],
      ['get', '/api/mail/unsubscribe/', [400]],
      ['post', '/api/mail/unsubscribe/', [400, 415]],
    ])('documents %s %s with its problem responses %j', (method, path, statuses) => {
      const op = operation(method, path);
      for (const status of statuses) {
        const response = op.responses[String(status)];
        expect(response).toBeDefined();
        expect(response.content?.['application/problem+json']?.schema?.$ref).toBe(
          '#/components/schemas/ProblemResponse',
        );
      }
    });

    it('documents the email switches of the profile, and the one-click unsubscribe form', () => {
      const fields = document.components.schemas.ProfileResponse as unknown as {
        properties: Record<string, { $ref?: string; allOf?: { $ref: string }[] }>;
      };
      const ref =
        fields.properties.email_notifications.$ref ??
        fields.properties.email_notifications.allOf?.[0].$ref;
      const switches = document.components.schemas[ref!.split('/').pop()!] as unknown as {
        properties: Record<string, { type: string; example: boolean }>;
      };
      expect(Object.keys(switches.properties).sort()).toEqual([
        'account_reconnect_required',
        'post_failed',
        'schedule_run_skipped',
        'webhook_disabled',
        'weekly_digest',
      ]);
      expect(switches.properties.weekly_digest).toMatchObject({ type: 'boolean', example: false });
      const unsubscribe = operation('post', '/api/mail/unsubscribe/') as unknown as {
        summary: string;
        requestBody: { content: Record<string, unknown> };
        responses: Record<string, { content: Record<string, { example?: string }> }>;
      };
      expect(unsubscribe.summary).toMatch(/RFC 8058/);
      expect(Object.keys(unsubscribe.requestBody.content)).toContain(
        'application/x-www-form-urlencoded',
      );
      expect(unsubscribe.responses['200'].content['text/html'].example).toContain('unsubscribed');
    });

    it('documents /api/health with its 200 and 503 answers', () => {
      const op = operation('get', '/api/health');
      expect(op.responses['200']).toBeDefined();
      expect(op.responses['503'].content?.['application/problem+json']).toBeDefined();
    });

    it('documents that PUT profile/ requires email and PATCH does not', () => {
      const schemaOf = (method: string) => {
        const body = (
          operation(method, '/api/auth/profile/') as unknown as {
            requestBody: { content: Record<string, { schema: { $ref: string } }> };
          }
        ).requestBody;
        expect(Object.keys(body.content).sort()).toEqual([
          'application/json',
          'multipart/form-data',
        ]);
        const name = body.content['application/json'].schema.$ref.split('/').pop()!;
        return document.components.schemas[name] as { required?: string[] };
      };
      expect(schemaOf('put').required).toEqual(['email']);
      expect(schemaOf('patch').required ?? []).toEqual([]);
    });

    it('has a bearer security scheme, required by the endpoints that need a token only', () => {
      const schemes = Object.entries(document.components.securitySchemes);
      const bearer = schemes.find(
        ([, scheme]) => scheme.type === 'http' && scheme.scheme === 'bearer',
      );
      expect(bearer).toBeDefined();
      const name = bearer![0];
      for (const [method, path] of [
        ['get', '/api/auth/me/'],
        ['get', '/api/auth/profile/'],
        ['put', '/api/auth/profile/'],
        ['patch', '/api/auth/profile/'],
        ['post', '/api/auth/logout/'],
        ['post', '/api/auth/change-password/'],
      ]) {
        expect(operation(method, path).security).toEqual(
          expect.arrayContaining([expect.objectContaining({ [name]: [] })]),
        );
      }
      for (const [method, path] of [
        ['post', '/api/auth/register/'],
        ['post', '/api/auth/login/'],
        ['post', '/api/auth/token/refresh/'],
        ['post', '/api/auth/password-reset/'],
        ['post', '/api/auth/password-reset/confirm/'],
        ['get', '/api/mail/unsubscribe/'],
        ['post', '/api/mail/unsubscribe/'],
      ]) {
        expect(operation(method, path).security ?? []).toEqual([]);
      }
    });

    it('defines the ProblemResponse schema', () => {
      const schema = document.components.schemas.ProblemResponse;
      expect(schema).toBeDefined();
      expect(Object.keys(schema.properties ?? {})).toEqual(
        expect.arrayContaining(['type', 'title', 'status', 'detail', 'errors']),
      );
    });

    it('serves the Swagger UI at /api/docs', async () => {
      const response = await app.http().get('/api/docs').redirects(1).expect(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.text).toContain('swagger-ui');
    });
  });
});

describe('GET /api/health with Redis down', () => {
  let app: TestApp | undefined;
  beforeAll(async () => {
    // Nothing listens on this port: Redis is unreachable for this app (its queues' too).
    app = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:6390' });
  });
  afterAll(() => app?.close());

  it('answers 503 problem+json with redis down and the database up', async () => {
    const response = await app!.http().get('/api/health');
    expectProblem(response, 503);
    expect(response.body).toMatchObject({
      title: 'Service Unavailable',
      details: { database: { status: 'up' }, redis: { status: 'down' } },
      error: { redis: { status: 'down' } },
    });
    expect(response.body.detail).toContain('redis');
    expect(response.body.error.database).toBeUndefined();
  });

  it('still closes, promptly, although Redis never answered', async () => {
    const started = Date.now();
    await app!.close();
    app = undefined;
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
