import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ProblemResponse } from './api-problems.decorator.js';
import { PUBLIC_OPERATION_EXTENSION } from './public.decorator.js';

/** The tags operations are grouped under, with what each covers (Swagger UI shows them in order). */
const TAGS: { name: string; description: string }[] = [
  {
    name: 'auth',
    description:
      'Accounts, sign-in and tokens: a short-lived access token (bearer) and a refresh token per session.',
  },
  {
    name: 'images',
    description: 'AI image generation, the owner’s validation, tags and the history of changes.',
  },
  {
    name: 'scheduler',
    description:
      'Connected social accounts, one-off posts, recurring schedules, publishing and analytics.',
  },
  {
    name: 'webhooks',
    description:
      'Your endpoints that receive every event as a signed POST (Standard Webhooks), their secrets, delivery log and redelivery.',
  },
  {
    name: 'exports',
    description:
      'A ZIP of all your data (JSON and CSV as the API answers them, and your image files if asked), built in the background, downloadable for 24 hours through a signed link.',
  },
  {
    name: 'mail',
    description:
      'Email notifications: the one-click unsubscribe link every notification carries (RFC 8058).',
  },
  { name: 'health', description: 'Whether the process can reach PostgreSQL and Redis.' },
];

/**
 * The OpenAPI document clients are generated from. Nest's explorer writes most of it from the
 * decorators; `normaliseDocument` then applies the rules that hold for every operation, so an
 * endpoint added later follows them without remembering to.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Image Automation API')
    .setDescription(
      'Generate images with AI, validate them, and publish them to social platforms on a schedule. ' +
        'Errors are RFC 9457 problem documents (`application/problem+json`) whose `code` is stable ' +
        'and whose `errors` name the fields at fault. Paths end with a slash, as the original ' +
        'clients call them; the same path without it is served too.',
    )
    .setVersion('1.0')
    // Relative: the API is where this document is served from (PUBLIC_BASE_URL in production).
    .addServer('/', 'The server this document is served from')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    // Every operation needs the bearer token unless it says otherwise (@Public() answers `[]`).
    .addSecurityRequirements('bearer');
  for (const tag of TAGS) builder.addTag(tag.name, tag.description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    extraModels: [ProblemResponse],
  });
  // Not open source (package.json says UNLICENSED): the document states it rather than omit it.
  document.info.license = { name: 'Proprietary: all rights reserved' };
  return normaliseDocument(document);
}

type Json = Record<string, unknown>;

/** Paths served with and without the slash, documented with it; health keeps the contract's form. */
function slashed(path: string): string {
  return path.endsWith('/') || path === '/api/health' ? path : `${path}/`;
}

/**
 * The rules every operation follows:
 * - paths in the slash form the contract uses;
 * - an operation marked @Public() has `security: []` (no token), every other one the bearer;
 * - request schemas carry no `default` (generators read it as "always present", and a PATCH
 *   never fills one in): the server's default moves into the description;
 * - each JSON request body has a media-type example, assembled from its properties' examples;
 * - every instant (`*_at`, `date_joined`, `scheduled_time`) is a `date-time` string.
 */
export function normaliseDocument(document: OpenAPIObject): OpenAPIObject {
  const paths: OpenAPIObject['paths'] = {};
  for (const [path, item] of Object.entries(document.paths)) paths[slashed(path)] = item;
  document.paths = paths;

  const schemas = (document.components?.schemas ?? {}) as Record<string, Json>;
  const requestSchemas = new Set<string>();
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Json[]) {
      if (operation?.[PUBLIC_OPERATION_EXTENSION]) {
        delete operation[PUBLIC_OPERATION_EXTENSION];
        operation.security = [];
      }
      const body = operation?.requestBody as { content?: Record<string, Json> } | undefined;
      for (const media of Object.values(body?.content ?? {})) {
        const name = refName(media.schema);
        if (name) requestSchemas.add(name);
        if (name && media.example === undefined && media.examples === undefined) {
          const example = exampleOf(schemas[name], schemas);
          if (example !== undefined) media.example = example;
        }
      }
    }
  }
  for (const name of requestSchemas) moveDefaults(schemas[name]);
  for (const schema of Object.values(schemas)) markInstants(schema);
  return document;
}

function refName(schema: unknown): string | undefined {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  return ref?.startsWith('#/components/schemas/') ? ref.slice(21) : undefined;
}

const INSTANT = /(_at|^date_joined|^scheduled_time)$/;

function markInstants(schema: Json): void {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  for (const [name, property] of Object.entries(properties)) {
    if (INSTANT.test(name) && property.type === 'string' && !property.format) {
      property.format = 'date-time';
    }
  }
}

function moveDefaults(schema: Json | undefined): void {
  const properties = (schema?.properties ?? {}) as Record<string, Json>;
  for (const property of Object.values(properties)) {
    if (!('default' in property)) continue;
    const note = `Default: \`${JSON.stringify(property.default)}\`.`;
    property.description = property.description ? `${property.description} ${note}` : note;
    delete property.default;
  }
}

/** An example object from the properties' own examples (nested schemas followed by reference). */
function exampleOf(schema: Json | undefined, schemas: Record<string, Json>, depth = 0): unknown {
  if (!schema || depth > 4) return undefined;
  if (schema.example !== undefined) return schema.example;
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const example: Json = {};
  for (const [name, property] of Object.entries(properties)) {
    if (property.readOnly) continue; // not sent: a request example must not carry it
    const value =
      property.example !== undefined
        ? property.example
        : exampleOf(schemas[refName(property) ?? ''] ?? undefined, schemas, depth + 1);
    if (value !== undefined) example[name] = value;
  }
  return Object.keys(example).length > 0 ? example : undefined;
}
