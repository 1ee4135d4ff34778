import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { type FieldErrors, FieldValidationError, NotFoundError } from '@app/common';
import {
  type PostingSchedule,
  PostingScheduleQueries,
  type Profile,
  type ScheduleFields,
  type ScheduleRun,
  ScheduleRunQueries,
  SocialAccountQueries,
} from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import type { CreateScheduleDto, PatchScheduleDto } from './dto/schedule.dto.js';
import { checkText } from './platforms/platform.registry.js';
import { isValidTimezone, nextOccurrence, type Recurrence } from './recurrence.js';
import { TemplatesService } from './templates.service.js';

/** How many runs a schedule shows with itself; the rest are under `runs/`. */
export const RECENT_RUNS = 5;

export interface ScheduleWithRuns {
  schedule: PostingSchedule;
  recentRuns: ScheduleRun[];
}

type Owner = { id: number; profile: Pick<Profile, 'timezone'> };

/** One user's recurring schedules: their rules, next_run_at, and their run history. */
@Injectable()
export class SchedulesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly schedules: PostingScheduleQueries,
    private readonly scheduleRuns: ScheduleRunQueries,
    private readonly accounts: SocialAccountQueries,
    private readonly templates: TemplatesService,
  ) {}

  async list(
    userId: number,
    window: PageWindow,
  ): Promise<{ count: number; rows: ScheduleWithRuns[] }> {
    const [schedules, count] = await this.schedules.pageOfUser(userId, window);
    const runs = await this.scheduleRuns.latestOfSchedules(
      schedules.map((schedule) => schedule.id),
      RECENT_RUNS,
    );
    return {
      count,
      rows: schedules.map((schedule) => ({
        schedule,
        recentRuns: runs.get(schedule.id) ?? [],
      })),
    };
  }

  async get(
    userId: number,
    scheduleId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ScheduleWithRuns> {
    const schedule = await this.schedules.findOwned(userId, scheduleId, manager);
    if (!schedule) throw new NotFoundError('schedule');
    const runs = await this.scheduleRuns.latestOfSchedules([schedule.id], RECENT_RUNS, manager);
    return { schedule, recentRuns: runs.get(schedule.id) ?? [] };
  }

  async create(owner: Owner, dto: CreateScheduleDto, now = new Date()): Promise<ScheduleWithRuns> {
    return this.dataSource.transaction(async (manager) => {
      const fields = await this.resolve(manager, owner, dto, null);
      const nextRunAt = fields.isActive ? nextOccurrence(recurrenceOf(fields), now) : null;
      const schedule = await this.schedules.insert(owner.id, fields, nextRunAt, manager);
      // A new schedule has no runs yet.
      return { schedule, recentRuns: [] };
    });
  }

  /**
   * PUT (`replace`: the create rules, left-out optional fields back to their defaults) or PATCH.
   * A change of timing, a pause or a resume recomputes next_run_at from now, and drops the
   * runs prepared for an occurrence that will no longer happen (their images stay yours).
   */
  async update(
    owner: Owner,
    scheduleId: number,
    dto: PatchScheduleDto,
    replace: boolean,
    now = new Date(),
  ): Promise<ScheduleWithRuns> {
    return this.dataSource.transaction(async (manager) => {
      const current = await this.schedules.lockOwned(owner.id, scheduleId, manager);
      if (!current) throw new NotFoundError('schedule');
      const fields = await this.resolve(manager, owner, dto, replace ? null : current);
      const next = { ...current, ...fields };
      const timingChanged =
        next.frequency !== current.frequency ||
        normalTime(next.timeOfDay) !== normalTime(current.timeOfDay) ||
        next.weekday !== current.weekday ||
        next.dayOfMonth !== current.dayOfMonth ||
        next.timezone !== current.timezone;
      let nextRunAt = current.nextRunAt;
      if (!next.isActive) nextRunAt = null;
      else if (timingChanged || !current.isActive || current.nextRunAt === null)
        nextRunAt = nextOccurrence(recurrenceOf(next), now);
      await this.schedules.updateRules(current.id, fields, nextRunAt, manager);
      if (nextRunAt?.getTime() !== current.nextRunAt?.getTime()) {
        await this.scheduleRuns.dropPending(current.id, nextRunAt, manager);
      }
      return this.get(owner.id, current.id, manager);
    });
  }

  /** Its future runs go with it; the posts it made stay, without the link. */
  async delete(userId: number, scheduleId: number): Promise<void> {
    if (!(await this.schedules.deleteOwned(userId, scheduleId)))
      throw new NotFoundError('schedule');
  }

  async runs(
    userId: number,
    scheduleId: number,
    window: PageWindow,
  ): Promise<{ count: number; rows: ScheduleRun[] }> {
    await this.get(userId, scheduleId);
    const [rows, count] = await this.scheduleRuns.pageOfSchedule(scheduleId, window);
    return { count, rows };
  }

  /** The stored fields from a request: defaults for a new (or replaced) schedule, checked as a whole. */
  private async resolve(
    manager: EntityManager,
    owner: Owner,
    dto: PatchScheduleDto,
    current: PostingSchedule | null,
  ): Promise<ScheduleFields> {
    const pick = <T>(given: T | undefined, existing: T | undefined, fallback: T): T =>
      given !== undefined ? given : existing !== undefined ? existing : fallback;
    const frequency = pick(dto.frequency, current?.frequency, 'daily');
    const fields: ScheduleFields = {
      name: pick(dto.name, current?.name, ''),
      frequency,
      timeOfDay: pick(dto.time_of_day, current?.timeOfDay, '09:00'),
      weekday: frequency === 'weekly' ? pick(dto.weekday, current?.weekday, null) : null,
      dayOfMonth:
        frequency === 'monthly' ? pick(dto.day_of_month, current?.dayOfMonth, null) : null,
      timezone: pick(dto.timezone, current?.timezone, owner.profile.timezone || 'UTC'),
      platforms: pick(dto.platforms, current?.platforms, []),
      accountIds: pick(dto.accounts, current?.accountIds, []),
      isActive: pick(dto.is_active, current?.isActive, true),
      prompt: pick(dto.prompt, current?.prompt, '').trim(),
      style: pick(dto.style, current?.style, null),
      tags: [...new Set(pick(dto.tags, current?.tags, []))],
      ...scheduleText(dto, current),
    };
    const errors: FieldErrors = {};
    const fail = (field: string, message: string) => (errors[field] ??= []).push(message);
    if (dto.template !== undefined) {
      // Share-locked until the schedule is saved: a deletion of the template waits, then sees it.
      try {
        await this.templates.useOwned(manager, owner.id, dto.template);
      } catch (error) {
        if (!(error instanceof FieldValidationError)) throw error;
        for (const [field, messages] of Object.entries(error.errors ?? {}))
          for (const message of messages) fail(field, message);
      }
    }
    if (!isValidTimezone(fields.timezone))
      fail(
        'timezone',
        `Unknown time zone "${fields.timezone}": use an IANA name such as Europe/Paris.`,
      );
    if (frequency === 'weekly' && fields.weekday === null)
      fail('weekday', 'A weekly schedule needs a weekday (0 = Monday … 6 = Sunday).');
    if (frequency === 'monthly' && fields.dayOfMonth === null)
      fail('day_of_month', 'A monthly schedule needs a day_of_month (1–31).');
    if (!fields.prompt && fields.tags.length === 0)
      fail('tags', 'Give a prompt to generate each image, or tags to pick existing ones.');
    for (const platform of fields.platforms) {
      for (const problem of checkText(platform, fields.caption, fields.hashtags))
        fail('caption', problem);
    }
    if (fields.accountIds.length > 0) {
      const accounts = await this.accounts.ownedAmong(owner.id, fields.accountIds, manager);
      const found = new Map(accounts.map((account) => [account.id, account.platform]));
      const seen = new Set<string>();
      for (const id of fields.accountIds) {
        const platform = found.get(id);
        if (!platform) fail('accounts', `Invalid pk "${id}" - object does not exist.`);
        else if (!fields.platforms.includes(platform))
          fail(
            'accounts',
            `Account ${id} is on ${platform}, which this schedule does not post to.`,
          );
        else if (seen.has(platform))
          fail('accounts', `Give at most one account per platform (two on ${platform}).`);
        else seen.add(platform);
      }
    }
    if (Object.keys(errors).length > 0) throw new FieldValidationError(errors);
    return fields;
  }
}

/**
 * The schedule's text: a `template` (caption and hashtags then empty), or a caption and hashtags
 * (no template). PATCH switches to whichever it names, and keeps the current one otherwise.
 */
function scheduleText(
  dto: PatchScheduleDto,
  current: PostingSchedule | null,
): Pick<ScheduleFields, 'caption' | 'hashtags' | 'templateId'> {
  if (dto.template !== undefined) return { caption: '', hashtags: '', templateId: dto.template };
  const templated =
    current?.templateId != null && dto.caption === undefined && dto.hashtags === undefined;
  if (templated) return { caption: '', hashtags: '', templateId: current.templateId };
  const keep = current?.templateId == null;
  return {
    caption: dto.caption ?? (keep ? current?.caption : undefined) ?? '',
    hashtags: dto.hashtags ?? (keep ? current?.hashtags : undefined) ?? '',
    templateId: null,
  };
}

export function recurrenceOf(
  schedule: Pick<
    PostingSchedule,
    'frequency' | 'timeOfDay' | 'weekday' | 'dayOfMonth' | 'timezone'
  >,
): Recurrence {
  return {
    frequency: schedule.frequency,
    timeOfDay: normalTime(schedule.timeOfDay),
    weekday: schedule.weekday,
    dayOfMonth: schedule.dayOfMonth,
    timezone: schedule.timezone,
  };
}

/** `HH:MM` and `HH:MM:SS` alike, as PostgreSQL returns a `time`. */
export function normalTime(value: string): string {
  return value.length === 5 ? `${value}:00` : value;
}
