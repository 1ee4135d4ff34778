import { Injectable } from '@nestjs/common';
import { ScheduleRunQueries, UserDataQueries } from '@app/database';
import { presentSchedule } from '../../scheduler/schedules.controller.js';
import { RECENT_RUNS } from '../../scheduler/schedules.service.js';
import { jsonArrayStream, pagesOf } from '../archive-files.js';
import {
  type ArchiveEntry,
  EXPORT_PAGE_SIZE,
  type ExportContext,
  type ExportSection,
} from '../export-section.js';

/** `schedules.json`: the recurring schedules as `GET scheduler/schedules/` answers them. */
@Injectable()
export class SchedulesSection implements ExportSection {
  constructor(
    private readonly data: UserDataQueries,
    private readonly runs: ScheduleRunQueries,
  ) {}

  weight(context: ExportContext): number {
    return context.counts.schedules;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    const { user } = context;
    const pages = pagesOf(0, async (after: number) => {
      const schedules = await this.data.schedules(user.id, after, EXPORT_PAGE_SIZE);
      const runs = await this.runs.latestOfSchedules(
        schedules.map((schedule) => schedule.id),
        RECENT_RUNS,
      );
      return {
        rows: schedules.map((schedule) =>
          presentSchedule({ schedule, recentRuns: runs.get(schedule.id) ?? [] }, user.username),
        ),
        next: schedules.at(-1)?.id ?? after,
      };
    });
    yield {
      path: 'schedules.json',
      open: async () => jsonArrayStream(pages, (n) => context.advance(n)),
    };
  }
}
