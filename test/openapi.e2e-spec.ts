import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { publishOnce } from '../clients/typescript/example.js';
import { renderSchemaTypes, SCHEMA_TYPES_PATH } from '../scripts/openapi-client.mjs';
import * as graphFake from './fakes/graph.fake.js';
import { ROOT } from './support/spawn.js';
import { createTestApp, type TestApp } from './support/test-app.js';

interface Operation {
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { description?: string }>;
  requestBody?: { content: Record<string, { example?: unknown; schema: unknown }> };
}
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }> };
};

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

function operations(document: Document): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([route, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]): [string, Operation] => [
        `${method.toUpperCase()} ${route}`,
        operation,
      ]),
  );
}

describe('the OpenAPI document, as a client generator reads it', () => {
  let fake: graphFake.GraphFake;
  let app: TestApp;
  let document: Document;

  beforeAll(async () => {
    fake = await graphFake.start();
    app = await createTestApp(
      { APP_ROLES: 'api,worker', IMAGE_PROVIDER: 'local', INSTAGRAM_GRAPH_URL: fake.graphUrl },
      { listen: true },
    );
    document = (await app.http().get('/api/docs-json').expect(200)).body as Document;
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'openapi-'));
    try {
      const file = path.join(folder, 'openapi.json');
      await writeFile(file, JSON.stringify(document));
      const { stdout } = await promisify(execFile)(
        path.join(ROOT, 'node_modules/.bin/redocly'),
        ['lint', file, '--config', path.join(ROOT, 'redocly.yaml'), '--format', 'json'],
        {
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
      const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; message: string }[];
      };
      expect(report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`)).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }, 60_000);

  it('matches the committed TypeScript client (run `npm run client:generate` when it does not)', async () => {
    const committed = await readFile(path.join(ROOT, SCHEMA_TYPES_PATH), 'utf8');
    expect(await renderSchemaTypes(document)).toBe(committed);
  });

  it('gives every operation a summary, a description and described answers, 4xx included', () => {
    for (const [name, operation] of operations(document)) {
      expect({ name, summary: Boolean(operation.summary?.trim()) }).toEqual({
        name,
        summary: true,
      });
      expect({ name, description: Boolean(operation.description?.trim()) }).toEqual({
        name,
        description: true,
      });
      for (const [status, response] of Object.entries(operation.responses)) {
        expect({ name, status, described: Boolean(response.description?.trim()) }).toEqual({
          name,
          status,
          described: true,
        });
      }
      // Health answers 200 or 503 only (redocly.yaml turns the rule off for it alone).
      if (name !== 'GET /api/health') {
        expect({
          name,
          has4xx: Object.keys(operation.responses).some((s) => s.startsWith('4')),
        }).toEqual({
          name,
          has4xx: true,
        });
      }
    }
  });

  it('describes every tag an operation is listed under', () => {
    const defined = (document as unknown as { tags: { name: string; description?: string }[] })
      .tags;
    for (const [name, operation] of operations(document)) {
      for (const tag of (operation as { tags?: string[] }).tags ?? []) {
        const found = defined.find((entry) => entry.name === tag);
        expect({ name, tag, described: Boolean(found?.description) }).toEqual({
          name,
          tag,
          described: true,
        });
      }
    }
  });

  it('says which operations need no token, and that every other one needs the bearer', () => {
    const open = operations(document)
      .filter(([, operation]) => operation.security?.length === 0)
      .map(([name]) => name);
    expect(open.sort()).toEqual([
      'GET /api/health',
      'GET /api/mail/unsubscribe/',
      'POST /api/auth/login/',
      'POST /api/auth/password-reset/',
      'POST /api/auth/password-reset/confirm/',
      'POST /api/auth/register/',
      'POST /api/auth/token/refresh/',
      'POST /api/mail/unsubscribe/',
    ]);
    for (const [name, operation] of operations(document)) {
      if (open.includes(name)) continue;
      expect({ name, security: operation.security }).toEqual({ name, security: [{ bearer: [] }] });
    }
  });

  it('documents the paths with their slash, and serves both forms', async () => {
    const paths = Object.keys(document.paths).filter((route) => route !== '/api/health');
    expect(paths.filter((route) => !route.endsWith('/'))).toEqual([]);
    await app.http().post('/api/auth/login/').send({}).expect(400);
    await app.http().post('/api/auth/login').send({}).expect(400);
  });

  it('types request fields the way the server reads them: no defaults, instants, integers', () => {
    const { schemas } = document.components;
    const generate = schemas.GenerateImageDto.properties!;
    expect(generate.width).toMatchObject({ type: 'integer', description: 'Default: `1024`.' });
    expect(generate.width).not.toHaveProperty('default');
    expect(schemas.PatchScheduleDto.properties!.is_active).not.toHaveProperty('default');
    expect(schemas.CreateScheduleDto.properties!.weekday).toMatchObject({ type: 'integer' });
    expect(schemas.CreateScheduleDto.properties!.day_of_month).toMatchObject({ type: 'integer' });
    expect(schemas.RegisterDto.properties!.password).toMatchObject({ maxLength: 256 });
    for (const [name, schema] of Object.entries(schemas)) {
      for (const [field, property] of Object.entries(schema.properties ?? {})) {
        if (/_at$|^date_joined$|^scheduled_time$/.test(field)) {
          expect({ name, field, format: property.format }).toEqual({
            name,
            field,
            format: 'date-time',
          });
        }
      }
    }
    for (const [name, operation] of operations(document)) {
      for (const media of Object.values(operation.requestBody?.content ?? {})) {
        expect({ name, example: media.example !== undefined }).toEqual({ name, example: true });
      }
    }
  });

  it('runs the typed client example: register → … → schedule → published', async () => {
    const { image, post } = await publishOnce({
      baseUrl: `http://127.0.0.1:${new URL(app.config.publicBaseUrl).port}`,
      username: 'typed_client',
      password: 'Blue-Harbour-Lantern-42',
      instagram: { account_id: fake.igUserId, access_token: fake.token },
    });
    expect(image.status).toBe('validated');
    expect(post).toMatchObject({ status: 'posted', image: image.id, platform: 'instagram' });
    expect(fake.media.map((media) => media.id)).toContain(post.platform_post_id);
  }, 60_000);
});
