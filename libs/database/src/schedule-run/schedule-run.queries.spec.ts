import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import {
  farFuture,
  insertImage,
  insertSchedule,
} from '../../../../test/factories/schedule-rows.factory.js';
import { ScheduleRun } from './schedule-run.entity.js';
import { ScheduleRunQueries } from './schedule-run.queries.js';

describe('ScheduleRunQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let queries: ScheduleRunQueries;
  beforeAll(() => {
    queries = new ScheduleRunQueries(dataSource);
  });

  async function newSchedule(): Promise<number> {
    const userId = await newUser();
    return (await insertSchedule(dataSource, userId)).id;
  }

  const runsOf = (scheduleId: number) =>
    dataSource.getRepository(ScheduleRun).find({ where: { scheduleId }, order: { id: 'ASC' } });

  it('inserts the run of an occurrence once, however many times it is asked', async () => {
    const scheduleId = await newSchedule();
    const occurrence = farFuture(1);
    const first = await queries.insertOnce(scheduleId, occurrence, dataSource.manager);
    expect(first).toEqual({ id: expect.any(Number) });
    expect(await queries.insertOnce(scheduleId, occurrence, dataSource.manager)).toBeNull();
    // Side by side too: the unique key decides, not who asked first.
    const both = await Promise.all([
      queries.insertOnce(scheduleId, farFuture(2), dataSource.manager),
      queries.insertOnce(scheduleId, farFuture(2), dataSource.manager),
    ]);
    expect(both.filter((run) => run !== null)).toHaveLength(1);

    const runs = await runsOf(scheduleId);
    expect(runs.map((run) => [run.occurrenceAt, run.outcome])).toEqual([
      [occurrence, 'pending'],
      [farFuture(2), 'pending'],
    ]);
    expect(runs[0].id).toBe(first!.id);
  });

  it('locks the run of an occurrence, and fails when there is none', async () => {
    const scheduleId = await newSchedule();
    const occurrence = farFuture(1);
    const { id } = (await queries.insertOnce(scheduleId, occurrence, dataSource.manager))!;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = dataSource.transaction(async (manager) => {
      expect((await queries.lockOfOccurrence(scheduleId, occurrence, manager)).id).toBe(id);
      locked();
      await held;
    });
    await isLocked;
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query(`SET LOCAL lock_timeout = '200ms'`);
        await queries.lockOfOccurrence(scheduleId, occurrence, manager);
      }),
    ).rejects.toThrow(/lock timeout/);
    release();
    await holder;
    await expect(
      dataSource.transaction((manager) =>
        queries.lockOfOccurrence(scheduleId, farFuture(9), manager),
      ),
    ).rejects.toThrow(/Could not find any entity/);
  });

  it('records an image, a skip and a completion on the run', async () => {
    const scheduleId = await newSchedule();
    const userId = await newUser();
    const image = await insertImage(dataSource, userId);
    const ranAt = farFuture(1);
    const skipped = (await queries.insertOnce(scheduleId, farFuture(1), dataSource.manager))!;
    const completed = (await queries.insertOnce(scheduleId, farFuture(2), dataSource.manager))!;

    await queries.attachImage(skipped.id, image.id, dataSource.manager);
    await queries.markSkipped(skipped.id, 'The image was rejected.', ranAt, dataSource.manager);
    await queries.markCompleted(
      completed.id,
      { reason: 'No active tiktok account.', imageId: image.id, postIds: [7, 8], ranAt },
      dataSource.manager,
    );

    const [first, second] = await runsOf(scheduleId);
    expect(first).toMatchObject({
      outcome: 'skipped',
      reason: 'The image was rejected.',
      imageId: image.id,
      postIds: [],
      ranAt,
    });
    expect(second).toMatchObject({
      outcome: 'completed',
      reason: 'No active tiktok account.',
      imageId: image.id,
      postIds: [7, 8],
      ranAt,
    });
  });

  it('drops the pending runs but the one still to come, and keeps those that ran', async () => {
    const scheduleId = await newSchedule();
    const other = await newSchedule();
    for (const hours of [1, 2, 3])
      await queries.insertOnce(scheduleId, farFuture(hours), dataSource.manager);
    await queries.insertOnce(other, farFuture(1), dataSource.manager);
    const done = (await queries.insertOnce(scheduleId, farFuture(0), dataSource.manager))!;
    await queries.markSkipped(done.id, 'Missed.', farFuture(0), dataSource.manager);

    await queries.dropPending(scheduleId, farFuture(2), dataSource.manager);
    expect((await runsOf(scheduleId)).map((run) => [run.occurrenceAt, run.outcome])).toEqual([
      [farFuture(2), 'pending'],
      [farFuture(0), 'skipped'],
    ]);

    await queries.dropPending(scheduleId, null, dataSource.manager);
    expect((await runsOf(scheduleId)).map((run) => run.outcome)).toEqual(['skipped']);
    expect(await runsOf(other)).toHaveLength(1);
  });

  it('gives the latest runs of each schedule of a page, latest first, in one statement', async () => {
    const busy = await newSchedule();
    const quiet = await newSchedule();
    const idle = await newSchedule();
    // Inserted out of order: the order comes from the occurrence, not the insertion.
    for (const hours of [3, 1, 4, 2, 5, 6])
      await queries.insertOnce(busy, farFuture(hours), dataSource.manager);
    await queries.insertOnce(quiet, farFuture(1), dataSource.manager);

    let statements = 0;
    const latest = await dataSource.transaction(async (manager) => {
      const runner = manager.queryRunner!;
      const query = runner.query.bind(runner);
      runner.query = ((...args: Parameters<typeof query>) => {
        statements++;
        return query(...args);
      }) as typeof query;
      try {
        return await queries.latestOfSchedules([busy, quiet, idle], 3, manager);
      } finally {
        runner.query = query;
      }
    });

    expect(statements).toBe(1);
    expect(latest.get(busy)?.map((run) => run.occurrenceAt)).toEqual([
      farFuture(6),
      farFuture(5),
      farFuture(4),
    ]);
    expect(latest.get(quiet)?.map((run) => run.occurrenceAt)).toEqual([farFuture(1)]);
    expect(latest.has(idle)).toBe(false);
    expect((await queries.latestOfSchedules([], 3)).size).toBe(0);
  });

  it("pages a schedule's runs, latest occurrence first, with the count of all of them", async () => {
    const scheduleId = await newSchedule();
    for (const hours of [2, 1, 3])
      await queries.insertOnce(scheduleId, farFuture(hours), dataSource.manager);
    await queries.insertOnce(await newSchedule(), farFuture(9), dataSource.manager);

    const [page, count] = await queries.pageOfSchedule(scheduleId, { offset: 1, pageSize: 2 });
    expect(count).toBe(3);
    expect(page.map((run) => run.occurrenceAt)).toEqual([farFuture(2), farFuture(1)]);
  });
});
