import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { farFuture, insertSchedule } from '../../../../test/factories/schedule-rows.factory.js';
import { ScheduleRun } from '../schedule-run/schedule-run.entity.js';
import { PostingSchedule } from './posting-schedule.entity.js';
import { PostingScheduleQueries } from './posting-schedule.queries.js';

const HOUR = 3_600_000;

describe('PostingScheduleQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let queries: PostingScheduleQueries;
  beforeAll(() => {
    queries = new PostingScheduleQueries(dataSource);
  });

  /** Only this test's rows: the database is shared with specs running beside it. */
  const mine = (ids: number[], schedules: PostingSchedule[]) =>
    ids.filter((id) => schedules.some((schedule) => schedule.id === id));

  it('finds the due schedules: active, next_run_at come, most overdue first, but the broken ones', async () => {
    const userId = await newUser();
    const now = farFuture(10);
    const late = await insertSchedule(dataSource, userId, { nextRunAt: farFuture(2) });
    const later = await insertSchedule(dataSource, userId, { nextRunAt: farFuture(1) });
    const exactlyNow = await insertSchedule(dataSource, userId, { nextRunAt: now });
    const paused = await insertSchedule(dataSource, userId, {
      isActive: false,
      nextRunAt: farFuture(1),
    });
    const ahead = await insertSchedule(dataSource, userId, { nextRunAt: farFuture(11) });
    const never = await insertSchedule(dataSource, userId, { nextRunAt: null });
    const all = [late, later, exactlyNow, paused, ahead, never];

    expect(mine(await queries.idsDue(now, 10_000, []), all)).toEqual([
      later.id,
      late.id,
      exactlyNow.id,
    ]);
    expect(mine(await queries.idsDue(now, 10_000, [later.id]), all)).toEqual([
      late.id,
      exactlyNow.id,
    ]);
    expect((await queries.idsDue(now, 2, [])).length).toBeLessThanOrEqual(2);
  });

  it('finds the schedules to prepare: a prompt, the occurrence within the lead time, no run yet', async () => {
    const userId = await newUser();
    const now = farFuture(0);
    const lead = 2 * HOUR;
    const soon = await insertSchedule(dataSource, userId, {
      prompt: 'A lighthouse',
      nextRunAt: farFuture(2),
    });
    const sooner = await insertSchedule(dataSource, userId, {
      prompt: 'A lighthouse',
      nextRunAt: farFuture(1),
    });
    const tagsOnly = await insertSchedule(dataSource, userId, { nextRunAt: farFuture(1) });
    const tooFar = await insertSchedule(dataSource, userId, {
      prompt: 'A lighthouse',
      nextRunAt: farFuture(3),
    });
    const alreadyDue = await insertSchedule(dataSource, userId, {
      prompt: 'A lighthouse',
      nextRunAt: now,
    });
    const paused = await insertSchedule(dataSource, userId, {
      prompt: 'A lighthouse',
      isActive: false,
      nextRunAt: farFuture(1),
    });
    const prepared = await insertSchedule(dataSource, userId, {
      prompt: 'A lighthouse',
      nextRunAt: farFuture(1),
    });
    await dataSource
      .getRepository(ScheduleRun)
      .save({ scheduleId: prepared.id, occurrenceAt: prepared.nextRunAt! });
    const all = [soon, sooner, tagsOnly, tooFar, alreadyDue, paused, prepared];

    expect(mine(await queries.idsToPrepare(now, lead, 10_000), all)).toEqual([sooner.id, soon.id]);
  });

  it('locks a schedule until the transaction that locked it ends', async () => {
    const userId = await newUser();
    const schedule = await insertSchedule(dataSource, userId);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = dataSource.transaction(async (manager) => {
      expect((await queries.lock(schedule.id, manager))?.id).toBe(schedule.id);
      locked();
      await held;
    });
    await isLocked;
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query(`SET LOCAL lock_timeout = '200ms'`);
        await queries.lock(schedule.id, manager);
      }),
    ).rejects.toThrow(/lock timeout/);
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query(`SET LOCAL lock_timeout = '200ms'`);
        await queries.lockOwned(userId, schedule.id, manager);
      }),
    ).rejects.toThrow(/lock timeout/);
    release();
    await holder;
    await dataSource.transaction(async (manager) => {
      expect((await queries.lockOwned(userId, schedule.id, manager))?.id).toBe(schedule.id);
    });
  });

  it("reads, locks and deletes only the owner's schedule", async () => {
    const owner = await newUser();
    const stranger = await newUser();
    const schedule = await insertSchedule(dataSource, owner);

    expect(await queries.findOwned(stranger, schedule.id)).toBeNull();
    expect((await queries.findOwned(owner, schedule.id))?.id).toBe(schedule.id);
    await dataSource.transaction(async (manager) => {
      expect(await queries.lockOwned(stranger, schedule.id, manager)).toBeNull();
      expect(await queries.lock(-1, manager)).toBeNull();
    });
    expect(await queries.deleteOwned(stranger, schedule.id)).toBe(false);
    expect(await queries.findOwned(owner, schedule.id)).not.toBeNull();
    expect(await queries.deleteOwned(owner, schedule.id)).toBe(true);
    expect(await queries.findOwned(owner, schedule.id)).toBeNull();
    expect(await queries.deleteOwned(owner, schedule.id)).toBe(false);
  });

  it("pages the user's schedules, newest first, with the count of all of them", async () => {
    const userId = await newUser();
    const created: PostingSchedule[] = [];
    for (let i = 0; i < 3; i++) created.push(await insertSchedule(dataSource, userId));
    await insertSchedule(dataSource, await newUser());

    const [firstPage, count] = await queries.pageOfUser(userId, { offset: 0, pageSize: 2 });
    expect(count).toBe(3);
    expect(firstPage.map((schedule) => schedule.id)).toEqual([created[2].id, created[1].id]);
    const [secondPage] = await queries.pageOfUser(userId, { offset: 2, pageSize: 2 });
    expect(secondPage.map((schedule) => schedule.id)).toEqual([created[0].id]);
  });

  it('inserts a schedule and updates its rules and next_run_at', async () => {
    const userId = await newUser();
    const fields = {
      name: 'Weekly harbour',
      frequency: 'weekly' as const,
      timeOfDay: '08:30:00',
      weekday: 2,
      dayOfMonth: null,
      timezone: 'Europe/Paris',
      platforms: ['twitter' as const],
      accountIds: [],
      isActive: true,
      prompt: '',
      style: null,
      tags: ['harbour'],
      caption: 'Morning',
      hashtags: '#sea',
      templateId: null,
    };
    const schedule = await queries.insert(userId, fields, farFuture(5), dataSource.manager);
    const stored = await queries.findOwned(userId, schedule.id);
    expect(stored).toMatchObject({ ...fields, userId, nextRunAt: farFuture(5) });

    await queries.updateRules(schedule.id, { isActive: false }, null, dataSource.manager);
    expect(await queries.findOwned(userId, schedule.id)).toMatchObject({
      ...fields,
      isActive: false,
      nextRunAt: null,
    });
    await queries.moveNextRun(schedule.id, farFuture(6), dataSource.manager);
    expect((await queries.findOwned(userId, schedule.id))?.nextRunAt).toEqual(farFuture(6));
  });
});
