import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './support/test-app.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import {
  bearer,
  newUserFields,
  registerUser,
  type RegisteredUser,
} from './factories/user.factory.js';
import { insertImage } from './factories/schedule-rows.factory.js';

/**
 * Bad input is a 4xx problem naming the field, never a 500: bodies nested without end, text
 * PostgreSQL cannot store, ids beyond the columns' range, prototype keys.
 */
describe('malformed input', () => {
  let app: TestApp;
  let user: RegisteredUser;
  /** A real image of the user's: the requests below fail on their input, not on a missing row. */
  let imageId: number;

  beforeAll(async () => {
    app = await createTestApp();
    user = await registerUser(app);
    imageId = (await insertImage(app.dataSource, user.id)).id;
  });
  afterAll(() => app.close());

  /** Each endpoint with a body that would otherwise be accepted, so only the bad part can fail. */
  const endpoints = () =>
    [
      ['post', '/api/auth/register/', newUserFields(), false],
      ['post', '/api/auth/login/', { username: user.username, password: user.password }, false],
      ['post', '/api/auth/logout/', { refresh_token: user.refresh }, true],
      ['post', '/api/auth/password-reset/', { email: 'nobody@example.com' }, false],
      [
        'post',
        '/api/auth/password-reset/confirm/',
        {
          token: 'x',
          new_password: 'Green-Harbour-Lantern-43',
          new_password2: 'Green-Harbour-Lantern-43',
        },
        false,
      ],
      ['post', '/api/images/generate/', { prompt: 'A harbour', width: 256, height: 256 }, true],
      ['patch', `/api/images/${imageId}/validate/`, { action: 'validate' }, true],
      [
        'post',
        '/api/scheduler/schedule/',
        {
          image: imageId,
          scheduled_time: '2090-01-01T09:00:00Z',
          platform: 'twitter',
          caption: 'Dawn',
        },
        true,
      ],
      [
        'post',
        '/api/scheduler/schedules/',
        { name: 'Morning', frequency: 'daily', time_of_day: '09:00', platforms: ['twitter'] },
        true,
      ],
      ['post', '/api/scheduler/templates/', { name: 'Daily', caption: '{prompt}' }, true],
      [
        'post',
        '/api/scheduler/accounts/',
        { platform: 'twitter', account_id: '42', access_token: 'token' },
        true,
      ],
      ['post', '/api/webhooks/', { url: 'https://93.184.215.14/hooks' }, true],
      ['post', '/api/exports/', { include_media: false }, true],
      ['delete', '/api/auth/me/', { password: 'not-the-password' }, true],
    ] as const;

  /** Sends a raw JSON text, as a client that builds its own would. */
  function sendRaw(
    method: 'post' | 'patch' | 'delete',
    path: string,
    json: string,
    withToken: boolean,
  ) {
    const request = app.http()[method](path).set('Content-Type', 'application/json');
    return (withToken ? request.set(bearer(user.access)) : request).send(json);
  }

  /** `{…fields, "<key>": <value>}` as JSON text, the value given as raw JSON. */
  function withRaw(fields: object, key: string, rawValue: string): string {
    return `${JSON.stringify(fields).slice(0, -1)},${JSON.stringify(key)}:${rawValue}}`;
  }

  describe('a body nested too deep', () => {
    const arrays = '['.repeat(10_000) + ']'.repeat(10_000);
    const objects = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);

    it('is a 400 naming the field on every endpoint, even in a field nobody reads', async () => {
      for (const [method, path, fields, withToken] of endpoints()) {
        const deepArrays = await sendRaw(method, path, withRaw(fields, 'extra', arrays), withToken);
        expect({ path, status: deepArrays.status }).toEqual({ path, status: 400 });
        expectFieldError(deepArrays, 'extra');
        expect(deepArrays.body.errors.extra[0]).toMatch(/deep/i);
        const deepObjects = await sendRaw(
          method,
          path,
          withRaw(fields, 'extra', objects),
          withToken,
        );
        expect({ path, status: deepObjects.status }).toEqual({ path, status: 400 });
        expectFieldError(deepObjects, 'extra');
        expect(deepObjects.body.errors.extra[0]).toMatch(/deep/i);
      }
    });

    it('is a 400 when the body itself is the deep value', async () => {
      const response = await sendRaw('post', '/api/auth/login/', arrays, false);
      expectFieldError(response, 'non_field_errors');
      expect(response.body.errors.non_field_errors[0]).toMatch(/deep/i);
    });

    it('is refused for its depth alone: 32 levels pass, 33 do not', async () => {
      // The body is level 1; `tags` holds 31 more levels, which is 32, and fails as a bad tag list.
      const fields = { prompt: 'A harbour' };
      const at = (levels: number) =>
        withRaw(fields, 'tags', '['.repeat(levels) + '"sea"' + ']'.repeat(levels));
      const within = await sendRaw('post', '/api/images/generate/', at(31), true);
      expectFieldError(within, 'tags');
      expect(within.body.errors.tags[0]).not.toMatch(/deep/i);
      const beyond = await sendRaw('post', '/api/images/generate/', at(32), true);
      expectFieldError(beyond, 'tags');
      expect(beyond.body.errors.tags[0]).toMatch(/deep/i);
    });
  });

  describe('a lone UTF-16 surrogate, which is not text', () => {
    it('is a 400 naming the field, on every text field, at any depth', async () => {
      const cases: [string, string, Record<string, unknown>, string][] = [
        ['post', '/api/auth/register/', newUserFields({ email: 'a\ud800b@example.com' }), 'email'],
        ['post', '/api/auth/register/', newUserFields({ first_name: 'An\udc00n' }), 'first_name'],
        ['post', '/api/auth/login/', { username: 'a\ud800b', password: 'x' }, 'username'],
        ['post', '/api/images/generate/', { prompt: 'A harbour', tags: ['se\ud800a'] }, 'tags'],
        [
          'patch',
          `/api/images/${imageId}/validate/`,
          { action: 'reject', validation_notes: 'too\ud800dark' },
          'validation_notes',
        ],
        [
          'post',
          '/api/scheduler/schedule/',
          {
            image: imageId,
            scheduled_time: '2090-01-01T09:00:00Z',
            platform: 'twitter',
            caption: 'Da\ud800wn',
          },
          'caption',
        ],
        [
          'post',
          '/api/scheduler/schedules/',
          {
            name: 'Mor\udfffning',
            frequency: 'daily',
            time_of_day: '09:00',
            platforms: ['twitter'],
          },
          'name',
        ],
        [
          'post',
          '/api/scheduler/accounts/',
          { platform: 'twitter', account_id: '42', access_token: 'tok\ud800en' },
          'access_token',
        ],
        [
          'post',
          '/api/webhooks/',
          { url: 'https://93.184.215.14/hooks', description: 'Or\udc00ders' },
          'description',
        ],
        ['delete', '/api/auth/me/', { password: 'pa\ud800ss' }, 'password'],
      ];
      for (const [method, path, body, field] of cases) {
        // JSON.stringify writes a lone surrogate as its `\ud800` escape, as such clients send it.
        const json = JSON.stringify(body);
        expect(json).toMatch(/\\ud[89a-f]/);
        const response = await sendRaw(method as 'post' | 'patch' | 'delete', path, json, true);
        expect({ path, status: response.status }).toEqual({ path, status: 400 });
        expectFieldError(response, field);
      }
    });

    it('lets a well-formed pair (an emoji) through', async () => {
      const response = await app
        .http()
        .patch(`/api/images/${imageId}/`)
        .set(bearer(user.access))
        .send({ validation_notes: 'Nice \ud83c\udf05' });
      expect(response.status).toBe(200);
      expect(response.body.validation_notes).toBe('Nice 🌅');
    });
  });

  describe('ids beyond the integer columns', () => {
    const schedule = {
      scheduled_time: '2090-01-01T09:00:00Z',
      platform: 'twitter',
      caption: 'Dawn',
    };

    // The values as JSON text: a 20-digit number is not a JavaScript literal one can write.
    it.each([
      ['image', '2147483648'],
      ['image', '"2147483648"'],
      ['image', '12345678901234567890'],
      ['image', '"12345678901234567890"'],
      ['account', '2147483648'],
      ['account', '12345678901234567890'],
    ])('%s: %s in a body is a 400 naming the field', async (field, raw) => {
      const others = field === 'image' ? schedule : { ...schedule, image: imageId };
      const response = await sendRaw(
        'post',
        '/api/scheduler/schedule/',
        withRaw(others, field, raw),
        true,
      );
      expectFieldError(response, field);
    });

    it('is a 400 in a list of ids', async () => {
      const body = {
        name: 'Morning',
        frequency: 'daily',
        time_of_day: '09:00',
        platforms: ['twitter'],
      };
      const response = await sendRaw(
        'post',
        '/api/scheduler/schedules/',
        withRaw(body, 'accounts', '[12345678901234567890]'),
        true,
      );
      expectFieldError(response, 'accounts');
    });

    it.each([
      '/api/images/2147483648/',
      '/api/images/99999999999999999999/',
      '/api/scheduler/schedules/2147483648/',
      '/api/scheduler/posts/2147483648/',
      '/api/scheduler/accounts/12345678901234567890/',
      '/api/webhooks/2147483648/',
      '/api/webhooks/2147483648/deliveries/',
    ])('GET %s (beyond the id column) is a 404', async (path) => {
      expectProblem(await app.http().get(path).set(bearer(user.access)), 404);
    });

    it('reads a path id as plain decimal only: hex, signs, spaces, zeros and exponents match nothing', async () => {
      await app.http().get(`/api/images/${imageId}/`).set(bearer(user.access)).expect(200);
      const spellings = [
        `0x${imageId.toString(16)}`,
        `0o${imageId.toString(8)}`,
        `0b${imageId.toString(2)}`,
        `+${imageId}`,
        `%20${imageId}`,
        `${imageId}%20`,
        `0${imageId}`,
        `${imageId}.0`,
        `${imageId}e0`,
      ];
      for (const id of spellings) {
        const response = await app.http().get(`/api/images/${id}/`).set(bearer(user.access));
        expect({ id, status: response.status }).toEqual({ id, status: 404 });
        expectProblem(response, 404);
      }
    });
  });

  describe('prototype keys', () => {
    it.each([
      ['{"__proto__":{"is_staff":true}}', '__proto__'],
      ['{"constructor":{"prototype":{"is_staff":true}}}', 'constructor.prototype'],
      ['{"tags":[{"__proto__":{"x":1}}]}', 'tags'],
      ['{"profile":{"deeper":{"__proto__":{}}}}', 'profile.deeper.__proto__'],
    ])('%s is a 400 naming %s on every endpoint', async (raw, field) => {
      const extra = raw.slice(1, -1);
      for (const [method, path, fields, withToken] of endpoints()) {
        const json = `${JSON.stringify(fields).slice(0, -1)},${extra}}`;
        const response = await sendRaw(method, path, json, withToken);
        expect({ path, status: response.status }).toEqual({ path, status: 400 });
        expectFieldError(response, field);
        expect(response.body.errors[field][0]).toMatch(/prototype/i);
      }
    });
  });

  describe('the OpenAPI document', () => {
    type Schema = {
      $ref?: string;
      example?: unknown;
      properties?: Record<string, Schema>;
      allOf?: Schema[];
    };
    type Media = { schema?: Schema; example?: unknown; examples?: unknown };

    it('shows an example of every request body', async () => {
      const { body: document } = await app.http().get('/api/docs-json').expect(200);
      const resolve = (schema: Schema | undefined): Schema | undefined =>
        schema?.$ref ? document.components.schemas[schema.$ref.split('/').pop()!] : schema;
      // A body's example is its schema's, its media type's, or its fields' (as the DTOs give them).
      const hasExample = (media: Media) => {
        const schema = resolve(media.schema);
        return (
          media.example !== undefined ||
          media.examples !== undefined ||
          schema?.example !== undefined ||
          Object.values(schema?.properties ?? {}).some(
            (property) => property.example !== undefined,
          ) ||
          (schema?.allOf ?? []).some((part) => resolve(part)?.example !== undefined)
        );
      };
      const missing: string[] = [];
      let bodies = 0;
      for (const [path, item] of Object.entries(
        document.paths as Record<
          string,
          Record<string, { requestBody?: { content: Record<string, Media> } }>
        >,
      )) {
        for (const [method, operation] of Object.entries(item)) {
          for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
            bodies += 1;
            if (!hasExample(media)) missing.push(`${method.toUpperCase()} ${path} ${type}`);
          }
        }
      }
      expect(bodies).toBeGreaterThan(10);
      expect(missing).toEqual([]);
    });
  });
});
