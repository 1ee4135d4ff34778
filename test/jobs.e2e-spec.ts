import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TokenPurgeJob } from '../apps/server/src/auth/token-purge.job.js';
import { JobQueue } from '../apps/server/src/jobs/job-queue.service.js';
import { JobName } from '../apps/server/src/jobs/job.types.js';
import { registerUser } from './factories/user.factory.js';
import { createTestApp, type TestApp } from './support/test-app.js';

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('jobs through Bull on Redis', () => {
  let worker: TestApp;
  beforeAll(async () => {
    worker = await createTestApp({ APP_ROLES: 'api,worker' });
  });
  afterAll(() => worker.close());

  it('purges expired sign-ins: the tick enqueues, a worker runs it, live sessions stay', async () => {
    const user = await registerUser(worker);
    const expiredFamily = randomUUID();
    await worker.dataSource.query(
      `INSERT INTO token_families (id, user_id, expires_at) VALUES ($1, $2, now() - interval '1 day')`,
      [expiredFamily, user.id],
    );

    // Each test app has a Redis prefix of its own, so today's job id is this test's alone.
    await worker.app.get(TokenPurgeJob).tick(new Date());
    await waitFor(async () => {
      const rows = await worker.dataSource.query('SELECT 1 FROM token_families WHERE id = $1', [
        expiredFamily,
      ]);
      return rows.length === 0 ? true : undefined;
    });
    await worker
      .http()
      .get('/api/auth/me/')
      .set('Authorization', `Bearer ${user.access}`)
      .expect(200);
  });

  it('enqueues one job per day however many ticks or replicas fire', async () => {
    const queue = worker.app.get(JobQueue).queueFor(JobName.PurgeExpiredTokens);
    const day = new Date(Date.UTC(1999, 5, 1, 3));
    const jobId = `purge-expired-tokens:${day.toISOString().slice(0, 10)}`;
    const other = await createTestApp({ REDIS_PREFIX: worker.config.redis.prefix });
    try {
      await Promise.all([
        worker.app.get(TokenPurgeJob).tick(day),
        other.app.get(TokenPurgeJob).tick(day),
        worker.app.get(TokenPurgeJob).tick(day),
      ]);
      const job = await waitFor(async () => (await queue.getJob(jobId)) ?? undefined);
      expect(job.name).toBe(JobName.PurgeExpiredTokens);
      const counts = await queue.getJobCounts();
      const all = await queue.getJobs(['waiting', 'active', 'completed', 'delayed', 'failed']);
      expect(all.filter((j) => j.id === jobId)).toHaveLength(1);
      expect(counts.failed).toBe(0);
    } finally {
      await other.close();
    }
  });
});
