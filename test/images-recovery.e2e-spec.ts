import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ImageGenerationSweep } from '../apps/server/src/images/image-generation.sweep.js';
import { JobQueue } from '../apps/server/src/jobs/job-queue.service.js';
import { JobName } from '../apps/server/src/jobs/job.types.js';
import { bearer, registerUser } from './factories/user.factory.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

const TEN_MINUTES = 10 * 60 * 1000;

describe('generation survives losing its queue', () => {
  let api: TestApp;
  let databaseUrl: string;
  beforeAll(async () => {
    // A database of its own: the sweep looks at every row, and other test files leave pending ones.
    databaseUrl = await migratedScratchDatabase('image_automation_recovery');
    // No worker here: jobs wait in Redis until the test decides.
    api = await createTestApp({
      APP_ROLES: 'api',
      IMAGE_PROVIDER: 'local',
      DATABASE_URL: databaseUrl,
    });
  });
  afterAll(async () => {
    await api.close();
    await dropScratchDatabase(databaseUrl);
  });

  it('rebuilds the jobs from the rows after Redis lost them, and each image is generated once', async () => {
    const user = await registerUser(api);
    const ids: number[] = [];
    for (const prompt of ['A kite', 'A boat']) {
      const response = await api
        .http()
        .post('/api/images/generate/')
        .set(bearer(user.access))
        .send({ prompt, width: 256, height: 256 })
        .expect(201);
      ids.push(response.body.image.id);
    }
    const queue = api.app.get(JobQueue).queueFor(JobName.GenerateImage);
    await queue.obliterate({ force: true });
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0 });

    const worker = await createTestApp({
      APP_ROLES: 'api,worker',
      IMAGE_PROVIDER: 'local',
      REDIS_PREFIX: api.config.redis.prefix,
      DATABASE_URL: databaseUrl,
    });
    try {
      const sweep = worker.app.get(ImageGenerationSweep);
      // Right after the loss nothing is touched: rows that young may be between commit and enqueue.
      expect(await sweep.tick(new Date())).toEqual({ requeued: 0, failed: 0 });
      expect(await sweep.tick(new Date(Date.now() + TEN_MINUTES))).toEqual({
        requeued: 2,
        failed: 0,
      });
      for (const id of ids) {
        await waitFor(async () => {
          const { body } = await worker
            .http()
            .get(`/api/images/${id}/`)
            .set(bearer(user.access))
            .expect(200);
          return body.status === 'generated' ? body : undefined;
        });
      }
      // A second sweep finds nothing to do, and each image was generated exactly once.
      expect(await sweep.tick(new Date(Date.now() + TEN_MINUTES))).toEqual({
        requeued: 0,
        failed: 0,
      });
      const rows = await worker.dataSource.query(
        `SELECT image_id, count(*)::int AS n FROM image_generation_history WHERE action = 'generated' AND image_id = ANY($1) GROUP BY image_id`,
        [ids],
      );
      expect(rows.map((row: { n: number }) => row.n)).toEqual([1, 1]);
    } finally {
      await worker.close();
    }
  });

  it('fails an image whose job ended without settling it, with the reason', async () => {
    const user = await registerUser(api);
    const response = await api
      .http()
      .post('/api/images/generate/')
      .set(bearer(user.access))
      .send({ prompt: 'A lamp', width: 256, height: 256 })
      .expect(201);
    const id = response.body.image.id;
    // A worker takes the job, then dies on it once too often: Bull fails the job by itself.
    const queue = api.app.get(JobQueue).queueFor(JobName.GenerateImage);
    const job = await queue.getNextJob();
    expect(job?.id).toBe(response.body.task_id);
    await job!.discard();
    await job!.moveToFailed({ message: 'job stalled more than allowable limit' }, true);
    await api.dataSource.query(`UPDATE generated_images SET status = 'generating' WHERE id = $1`, [
      id,
    ]);

    expect(
      await api.app.get(ImageGenerationSweep).tick(new Date(Date.now() + TEN_MINUTES)),
    ).toEqual({ requeued: 0, failed: 1 });
    const { body } = await api
      .http()
      .get(`/api/images/${id}/`)
      .set(bearer(user.access))
      .expect(200);
    expect(body.status).toBe('failed');
    expect(body.error_message).toMatch(/stalled/);
    // The user can try again.
    await api.http().post(`/api/images/${id}/regenerate/`).set(bearer(user.access)).expect(202);
  });
});
