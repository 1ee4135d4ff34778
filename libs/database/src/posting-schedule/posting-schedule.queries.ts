import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { userListCount } from '../list-counts.js';
import type { PageSlice } from '../page-slice.js';
import { PostingSchedule } from './posting-schedule.entity.js';

/** What its owner sets on a schedule (everything but its identity and next_run_at). */
export type ScheduleFields = Pick<
  PostingSchedule,
  | 'name'
  | 'frequency'
  | 'timeOfDay'
  | 'weekday'
  | 'dayOfMonth'
  | 'timezone'
  | 'platforms'
  | 'accountIds'
  | 'isActive'
  | 'prompt'
  | 'style'
  | 'tags'
  | 'caption'
  | 'hashtags'
  | 'templateId'
>;

/**
 * Every statement on `posting_schedules`: the owner's CRUD, and the scheduler's lookups and locks
 * (an occurrence's posts are written by `ScheduledPostQueries.insert()`).
 */
@Injectable()
export class PostingScheduleQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Active schedules with a prompt whose next occurrence is ahead of `now` by at most
   * `leadTimeMs` and has no run yet: their image must be requested now. Soonest first.
   */
  async idsToPrepare(now: Date, leadTimeMs: number, limit: number): Promise<number[]> {
    const rows: { id: number }[] = await this.dataSource.query(
      `SELECT s.id FROM posting_schedules s
       WHERE s.is_active AND s.prompt <> '' AND s.next_run_at > $1
         AND s.next_run_at <= $1::timestamptz + $2 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM schedule_runs r WHERE r.schedule_id = s.id AND r.occurrence_at = s.next_run_at)
       ORDER BY s.next_run_at LIMIT $3`,
      [now, leadTimeMs, limit],
    );
    return rows.map((row) => row.id);
  }

  /** Active schedules whose next occurrence has come (but those in `except`), most overdue first. */
  async idsDue(now: Date, limit: number, except: number[]): Promise<number[]> {
    const rows: { id: number }[] = await this.dataSource.query(
      `SELECT id FROM posting_schedules WHERE is_active AND next_run_at <= $1 AND id <> ALL($3)
       ORDER BY next_run_at LIMIT $2`,
      [now, limit, except],
    );
    return rows.map((row) => row.id);
  }

  /** The schedule, locked for update until the caller's transaction ends; null if deleted. */
  lock(scheduleId: number, manager: EntityManager): Promise<PostingSchedule | null> {
    return manager
      .getRepository(PostingSchedule)
      .createQueryBuilder('schedule')
      .setLock('pessimistic_write')
      .where('schedule.id = :scheduleId', { scheduleId })
      .getOne();
  }

  /** The user's schedule, locked for update until the caller's transaction ends; null if none. */
  lockOwned(
    userId: number,
    scheduleId: number,
    manager: EntityManager,
  ): Promise<PostingSchedule | null> {
    return manager
      .getRepository(PostingSchedule)
      .createQueryBuilder('schedule')
      .setLock('pessimistic_write')
      .where('schedule.id = :scheduleId AND schedule.user_id = :userId', { scheduleId, userId })
      .getOne();
  }

  /** The user's schedule, or null if it is not theirs or does not exist. */
  findOwned(
    userId: number,
    scheduleId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<PostingSchedule | null> {
    return manager.getRepository(PostingSchedule).findOneBy({ id: scheduleId, userId });
  }

  /** A page of the user's schedules, newest first, and how many they have (counters row). */
  pageOfUser(userId: number, page: PageSlice): Promise<[PostingSchedule[], number]> {
    return Promise.all([
      this.dataSource.getRepository(PostingSchedule).find({
        where: { userId },
        order: { id: 'DESC' },
        skip: page.offset,
        take: page.pageSize,
      }),
      userListCount(this.dataSource, userId, 'schedules'),
    ]);
  }

  /** A new schedule of `userId`, as stored. */
  insert(
    userId: number,
    fields: ScheduleFields,
    nextRunAt: Date | null,
    manager: EntityManager,
  ): Promise<PostingSchedule> {
    return manager.save(manager.create(PostingSchedule, { ...fields, userId, nextRunAt }));
  }

  /** New rules (all or some) and next_run_at for a schedule. */
  async updateRules(
    scheduleId: number,
    fields: Partial<ScheduleFields>,
    nextRunAt: Date | null,
    manager: EntityManager,
  ): Promise<void> {
    await manager.update(
      PostingSchedule,
      { id: scheduleId },
      { ...fields, nextRunAt, updatedAt: new Date() },
    );
  }

  /** Moves a schedule on to its next occurrence (after materialising the current one). */
  async moveNextRun(scheduleId: number, nextRunAt: Date, manager: EntityManager): Promise<void> {
    await manager.update(PostingSchedule, { id: scheduleId }, { nextRunAt });
  }

  /** Deletes the user's schedule (its runs cascade); false when there was none. */
  async deleteOwned(userId: number, scheduleId: number): Promise<boolean> {
    const result = await this.dataSource
      .getRepository(PostingSchedule)
      .delete({ id: scheduleId, userId });
    return !!result.affected;
  }
}
