import type { TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { bearer, type RegisteredUser } from './user.factory.js';

/** An image as the API answers it (the fields the tests read most; the rest stay loose). */
export interface ImageBody {
  id: number;
  user: string;
  prompt: string;
  status: string;
  tags: string[];
  image_file: string | null;
  thumbnail: string | null;
  image_url_display: string | null;
  generation_time: number | null;
  [field: string]: unknown;
}

/** Small pictures keep the worker quick. */
export const SMALL = { width: 256, height: 256 } as const;

/** POST generate/ as a client would; answers the pending image and its task id. */
export async function requestImage(
  app: TestApp,
  user: RegisteredUser,
  body: Record<string, unknown> = {},
): Promise<{ image: ImageBody; task_id: string }> {
  const response = await app
    .http()
    .post('/api/images/generate/')
    .set(bearer(user.access))
    .send({ prompt: 'A quiet harbour at dusk', ...SMALL, ...body })
    .expect(201);
  return response.body;
}

/** Polls the image's detail until its status is one of `statuses`. */
export function waitForStatus(
  app: TestApp,
  user: RegisteredUser,
  id: number,
  statuses: string[] = ['generated', 'validated', 'failed'],
  timeoutMs = 20_000,
): Promise<ImageBody> {
  return waitFor(
    async () => {
      const { body } = await app
        .http()
        .get(`/api/images/${id}/`)
        .set(bearer(user.access))
        .expect(200);
      return statuses.includes(body.status) ? (body as ImageBody) : undefined;
    },
    timeoutMs,
    `image ${id} to be ${statuses.join(' or ')}`,
  );
}

/**
 * An image generated for real through the API and the worker (an app with the `worker` role
 * and the `local` provider), once it is `generated`.
 */
export async function generatedImage(
  app: TestApp,
  user: RegisteredUser,
  body: Record<string, unknown> = {},
): Promise<ImageBody> {
  const { image } = await requestImage(app, user, body);
  const settled = await waitForStatus(app, user, image.id);
  if (settled.status !== 'generated') {
    throw new Error(`image ${image.id} ended ${settled.status}: ${String(settled.error_message)}`);
  }
  return settled;
}

/** A row for insertImages: only what a test cares about; the rest gets plain defaults. */
export interface ImageRow {
  prompt?: string;
  negativePrompt?: string;
  status?: string;
  style?: string;
  validationNotes?: string;
  createdAt?: Date;
  updatedAt?: Date;
  generationTime?: number | null;
  tags?: string[];
}

/**
 * Test data set-up without the worker: rows written straight into generated_images (the
 * counter triggers run as for any insert), with their tags. Answers the ids, in `rows` order.
 *
 * A pending or generating row gets `updated_at` now at the earliest, so no sweep ever takes it
 * for a lost job while the test runs.
 */
export async function insertImages(
  app: Pick<TestApp, 'dataSource'>,
  userId: number,
  rows: ImageRow[],
): Promise<number[]> {
  const ids: number[] = [];
  const now = Date.now();
  for (const row of rows) {
    const status = row.status ?? 'generated';
    const createdAt = row.createdAt ?? new Date();
    const inFlight = status === 'pending' || status === 'generating';
    const updatedAt =
      row.updatedAt ?? (inFlight ? new Date(Math.max(now, createdAt.getTime())) : createdAt);
    const generationTime =
      row.generationTime !== undefined
        ? row.generationTime
        : ['generated', 'validated', 'rejected'].includes(status)
          ? 1.5
          : null;
    const [{ id }] = (await app.dataSource.query(
      `INSERT INTO generated_images (user_id, prompt, negative_prompt, status, style, width, height,
         validation_notes, created_at, updated_at, generation_time, validated_at, provider, progress)
       VALUES ($1, $2, $3, $4, $5, 256, 256, $6, $7, $8, $9, $10, 'local', $11) RETURNING id`,
      [
        userId,
        row.prompt ?? 'An inserted picture',
        row.negativePrompt ?? '',
        status,
        row.style ?? 'realistic',
        row.validationNotes ?? '',
        createdAt,
        updatedAt,
        generationTime,
        status === 'validated' ? updatedAt : null,
        ['generated', 'validated', 'rejected'].includes(status) ? 100 : 0,
      ],
    )) as [{ id: number }];
    ids.push(id);
    if (row.tags?.length) await tagImage(app, userId, id, row.tags);
  }
  return ids;
}

/** Many plain rows in one statement, `created_at` one second apart (oldest first). */
export async function insertManyImages(
  app: TestApp,
  userId: number,
  count: number,
  status = 'generated',
): Promise<void> {
  await app.dataSource.query(
    `INSERT INTO generated_images (user_id, prompt, status, style, width, height, created_at, updated_at)
     SELECT $1, 'Bulk picture ' || n, $2, 'realistic', 256, 256,
            now() - make_interval(secs => $3 - n), now() - make_interval(secs => $3 - n)
       FROM generate_series(1, $3::int) AS n`,
    [userId, status, count],
  );
}

/** Links the image to the user's tags of these names, creating the missing ones. */
async function tagImage(
  app: Pick<TestApp, 'dataSource'>,
  userId: number,
  imageId: number,
  names: string[],
) {
  await app.dataSource.query(
    `INSERT INTO image_tags (user_id, name) SELECT $1, unnest($2::varchar[])
     ON CONFLICT (user_id, name) DO NOTHING`,
    [userId, names],
  );
  await app.dataSource.query(
    `INSERT INTO generated_image_tags (image_id, tag_id)
     SELECT $1, id FROM image_tags WHERE user_id = $2 AND name = ANY($3::varchar[])`,
    [imageId, userId, names],
  );
}

/** The truth the counters must match: the user's rows, counted. */
export async function countRows(app: TestApp, userId: number, status?: string): Promise<number> {
  const [{ count }] = (await app.dataSource.query(
    `SELECT count(*)::int AS count FROM generated_images
     WHERE user_id = $1 AND ($2::varchar IS NULL OR status = $2)`,
    [userId, status ?? null],
  )) as [{ count: number }];
  return count;
}
