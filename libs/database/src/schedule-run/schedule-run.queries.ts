import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { PageSlice } from '../page-slice.js';
import { ScheduleRun } from './schedule-run.entity.js';

/** What a completed run records: the posts it created and what could not be posted. */
export interface RunCompletion {
  reason: string;
  imageId: number;
  postIds: number[];
  ranAt: Date;
}

/** Every statement on `schedule_runs`: one row per occurrence of a schedule. */
@Injectable()
export class ScheduleRunQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The (pending) run of this occurrence, unless it exists already (then null): the unique
   * (schedule, occurrence) key makes it once per occurrence, whoever else tries.
   */
  async insertOnce(
    scheduleId: number,
    occurrence: Date,
    manager: EntityManager,
  ): Promise<{ id: number } | null> {
    const rows: { id: number }[] = await manager.query(
      `INSERT INTO schedule_runs (schedule_id, occurrence_at) VALUES ($1, $2)
       ON CONFLICT (schedule_id, occurrence_at) DO NOTHING RETURNING id`,
      [scheduleId, occurrence],
    );
    return rows[0] ?? null;
  }

  /** The run of this occurrence, locked for update until the caller's transaction ends; throws if none. */
  lockOfOccurrence(
    scheduleId: number,
    occurrence: Date,
    manager: EntityManager,
  ): Promise<ScheduleRun> {
    return manager
      .getRepository(ScheduleRun)
      .createQueryBuilder('run')
      .setLock('pessimistic_write')
      .where('run.schedule_id = :id AND run.occurrence_at = :occurrence', {
        id: scheduleId,
        occurrence,
      })
      .getOneOrFail();
  }

  /** The image requested for the run's occurrence. */
  async attachImage(runId: number, imageId: number, manager: EntityManager): Promise<void> {
    await manager.update(ScheduleRun, { id: runId }, { imageId });
  }

  async markSkipped(
    runId: number,
    reason: string,
    ranAt: Date,
    manager: EntityManager,
  ): Promise<void> {
    await manager.update(ScheduleRun, { id: runId }, { outcome: 'skipped', reason, ranAt });
  }

  async markCompleted(
    runId: number,
    completion: RunCompletion,
    manager: EntityManager,
  ): Promise<void> {
    await manager.update(ScheduleRun, { id: runId }, { outcome: 'completed', ...completion });
  }

  /**
   * Drops the schedule's pending runs (prepared ahead, whose occurrence will no longer happen)
   * but the one of `keep`, the occurrence still to come (none when null). Their images stay.
   */
  async dropPending(scheduleId: number, keep: Date | null, manager: EntityManager): Promise<void> {
    await manager.query(
      `DELETE FROM schedule_runs WHERE schedule_id = $1 AND outcome = 'pending'
         AND ($2::timestamptz IS NULL OR occurrence_at <> $2::timestamptz)`,
      [scheduleId, keep],
    );
  }

  /**
   * A page of the schedule's runs, latest occurrence first, and how many it has (from its
   * counters row, migration ListCounters).
   */
  async pageOfSchedule(scheduleId: number, page: PageSlice): Promise<[ScheduleRun[], number]> {
    const [rows, counted] = await Promise.all([
      this.dataSource.getRepository(ScheduleRun).find({
        where: { scheduleId },
        order: { occurrenceAt: 'DESC', id: 'DESC' },
        skip: page.offset,
        take: page.pageSize,
      }),
      this.dataSource.query(
        'SELECT coalesce((SELECT runs FROM schedule_run_counts WHERE schedule_id = $1), 0) AS n',
        [scheduleId],
      ) as Promise<{ n: number }[]>,
    ]);
    return [rows, counted[0]?.n ?? 0];
  }

  /**
   * The latest `perSchedule` runs of each of the schedules (latest first), in one statement:
   * a page of schedules shows them without a query per schedule. A schedule with no runs is absent.
   */
  async latestOfSchedules(
    scheduleIds: number[],
    perSchedule: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<number, ScheduleRun[]>> {
    if (scheduleIds.length === 0) return new Map();
    // Each schedule's latest runs from its end of schedule_runs_schedule_occurrence_id_idx (a
    // LIMIT per schedule), not a window over all of its runs: a schedule may have 100,000.
    const runs = await manager
      .getRepository(ScheduleRun)
      .createQueryBuilder('run')
      .where(
        `run.id IN (SELECT latest.id FROM unnest(CAST(:scheduleIds AS int[])) AS s(id)
           CROSS JOIN LATERAL (SELECT r.id FROM schedule_runs r WHERE r.schedule_id = s.id
             ORDER BY r.occurrence_at DESC, r.id DESC LIMIT :recent) latest)`,
        { scheduleIds, recent: perSchedule },
      )
      .orderBy('run.occurrence_at', 'DESC')
      .addOrderBy('run.id', 'DESC')
      .getMany();
    const out = new Map<number, ScheduleRun[]>();
    for (const run of runs) out.set(run.scheduleId, [...(out.get(run.scheduleId) ?? []), run]);
    return out;
  }
}
