import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/common';
import {
  type AccountChoice,
  chooseAccount,
  type GeneratedImage,
  GeneratedImageQueries,
  isPublishable,
  type PostingSchedule,
  PostingScheduleQueries,
  type PostTemplate,
  PostTemplateQueries,
  type ScheduledPost,
  type ScheduleRun,
  ScheduleRunQueries,
  ScheduledPostQueries,
  UserQueries,
  SocialAccountQueries,
  withTrySessionAdvisoryLock,
} from '@app/database';
import { ImageGenerationService } from '../images/image-generation.service.js';
import { GenerationQuotaError } from '../images/images.errors.js';
import { PostEvents } from './post-events.js';
import { PostsService } from './posts.service.js';
import { recurrenceOf } from './schedules.service.js';
import { nextOccurrence } from './recurrence.js';
import { TemplatesService } from './templates.service.js';

/** Session-level advisory lock key: one replica materialises occurrences at a time. */
const SCHEDULES_LOCK = 727_303;
const BATCH = 100;
/** Rounds per tick: a schedule that missed many occurrences catches up over several ticks. */
const ROUNDS = 20;

export interface TickResult {
  ran: boolean;
  prepared: number;
  runs: number;
  posts: number;
}

/**
 * The scheduler role's materialisation of recurring schedules. Every tick, under a PostgreSQL
 * advisory lock (several replicas are harmless):
 * 1. schedules with a prompt whose next occurrence is within the lead time get a run row
 *    (`pending`) and an image request;
 * 2. schedules whose occurrence has come get their run completed (one post per platform, handed
 *    to the publishing path) or skipped with a reason, and next_run_at moves on.
 * The unique (schedule, occurrence) key and the schedule row lock make each occurrence happen
 * once even if two ticks ever overlapped. `tick(now)` takes the clock, so tests can drive days.
 */
@Injectable()
export class ScheduleRunner {
  private readonly logger = new Logger(ScheduleRunner.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly posts: PostsService,
    private readonly generation: ImageGenerationService,
    private readonly images: GeneratedImageQueries,
    private readonly accounts: SocialAccountQueries,
    private readonly schedules: PostingScheduleQueries,
    private readonly runs: ScheduleRunQueries,
    private readonly postRows: ScheduledPostQueries,
    private readonly users: UserQueries,
    private readonly events: PostEvents,
    private readonly templates: TemplatesService,
    private readonly templateRows: PostTemplateQueries,
  ) {}

  @Interval('schedule-runs', 2000)
  async onInterval(): Promise<void> {
    await this.tick();
  }

  async tick(now = new Date()): Promise<TickResult> {
    // Session-level: each schedule is handled in a transaction of its own.
    const outcome = await withTrySessionAdvisoryLock(this.dataSource, SCHEDULES_LOCK, async () => {
      const prepared = await this.prepareAll(now);
      const { runs, posts } = await this.fireAll(now);
      return { prepared, runs, posts };
    });
    return outcome.ran
      ? { ran: true, ...outcome.result }
      : { ran: false, prepared: 0, runs: 0, posts: 0 };
  }

  private async prepareAll(now: Date): Promise<number> {
    const candidates = await this.schedules.idsToPrepare(
      now,
      this.config.schedules.imageLeadTimeMs,
      BATCH,
    );
    let prepared = 0;
    for (const id of candidates) {
      try {
        const image = await this.dataSource.transaction((manager) =>
          this.prepare(manager, id, now),
        );
        if (image) {
          await this.generation.enqueueAfterCommit(image);
          prepared++;
        }
      } catch (error) {
        // One broken schedule must not hold the others back; the next tick tries it again.
        this.logger.error(`Schedule ${id}: preparing its run failed: ${String(error)}`);
      }
    }
    return prepared;
  }

  /** The run row and its image request, in one transaction; null when there is nothing to do. */
  private async prepare(
    manager: EntityManager,
    scheduleId: number,
    now: Date,
  ): Promise<GeneratedImage | null> {
    const schedule = await this.schedules.lock(scheduleId, manager);
    if (!schedule?.isActive || !schedule.prompt || !schedule.nextRunAt) return null;
    // Ahead of the occurrence only: one already due would be skipped before its image exists.
    const ahead = schedule.nextRunAt.getTime() - now.getTime();
    if (ahead <= 0 || ahead > this.config.schedules.imageLeadTimeMs) return null;
    const run = await this.runs.insertOnce(schedule.id, schedule.nextRunAt, manager);
    if (!run) return null;
    const profile = await this.users.profileOf(schedule.userId, manager);
    try {
      const image = await this.generation.request(
        manager,
        { id: schedule.userId, profile },
        {
          prompt: schedule.prompt,
          style: schedule.style ?? undefined,
          tags: schedule.tags.length ? schedule.tags : undefined,
        },
      );
      await this.runs.attachImage(run.id, image.id, manager);
      return image;
    } catch (error) {
      if (!(error instanceof GenerationQuotaError)) throw error;
      await this.runs.markSkipped(
        run.id,
        `The image could not be requested: ${error.message}`,
        now,
        manager,
      );
      await this.recordSkip(manager, schedule.id, schedule.userId, schedule.nextRunAt);
      return null;
    }
  }

  private async fireAll(now: Date): Promise<{ runs: number; posts: number }> {
    let runs = 0;
    let posts = 0;
    const broken: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const due = await this.schedules.idsDue(now, BATCH, broken);
      if (due.length === 0) break;
      for (const id of due) {
        let created: ScheduledPost[] | null;
        try {
          created = await this.dataSource.transaction((manager) => this.fire(manager, id, now));
        } catch (error) {
          // Rolled back: the occurrence is still due and is tried again at the next tick.
          this.logger.error(`Schedule ${id}: its occurrence failed: ${String(error)}`);
          broken.push(id);
          continue;
        }
        if (created === null) continue;
        runs++;
        posts += created.length;
        // After the commit; a lost enqueue is rebuilt by the publishing sweep from the rows.
        for (const post of created) await this.posts.enqueueAfterCommit(post, now);
      }
    }
    return { runs, posts };
  }

  /**
   * The schedule's due occurrence: its run completed or skipped (unless a replica already did),
   * and next_run_at moved past it. Returns the posts created, or null when nothing was due.
   */
  private async fire(
    manager: EntityManager,
    scheduleId: number,
    now: Date,
  ): Promise<ScheduledPost[] | null> {
    const schedule = await this.schedules.lock(scheduleId, manager);
    if (!schedule?.isActive || !schedule.nextRunAt || schedule.nextRunAt > now) return null;
    const occurrence = schedule.nextRunAt;
    await this.runs.insertOnce(schedule.id, occurrence, manager);
    const run = await this.runs.lockOfOccurrence(schedule.id, occurrence, manager);
    let created: ScheduledPost[] = [];
    if (run.outcome === 'pending') {
      const lateness = now.getTime() - occurrence.getTime();
      const outcome =
        lateness > this.config.schedules.missedAfterMs
          ? {
              skip: `Missed: the scheduler reached this occurrence ${Math.round(lateness / 60_000)} minutes late.`,
            }
          : await this.materialise(manager, schedule, run, occurrence);
      if ('skip' in outcome) {
        await this.runs.markSkipped(run.id, outcome.skip, now, manager);
        await this.recordSkip(manager, schedule.id, schedule.userId, occurrence);
      } else {
        created = outcome.posts;
        await this.runs.markCompleted(
          run.id,
          {
            reason: outcome.notes.join(' '),
            imageId: outcome.imageId,
            postIds: created.map((post) => post.id),
            ranAt: now,
          },
          manager,
        );
      }
    }
    await this.schedules.moveNextRun(
      schedule.id,
      nextOccurrence(recurrenceOf(schedule), occurrence),
      manager,
    );
    return created;
  }

  /** `schedule.run_skipped`, with the run as written (re-read: the update set its outcome). */
  private async recordSkip(
    manager: EntityManager,
    scheduleId: number,
    userId: number,
    occurrence: Date,
  ): Promise<void> {
    const run = await this.runs.lockOfOccurrence(scheduleId, occurrence, manager);
    await this.events.runSkipped(manager, userId, run);
  }

  private async materialise(
    manager: EntityManager,
    schedule: PostingSchedule,
    run: ScheduleRun,
    occurrence: Date,
  ): Promise<{ skip: string } | { posts: ScheduledPost[]; notes: string[]; imageId: number }> {
    const picked = schedule.prompt
      ? await generatedImage(this.images, manager, run)
      : await this.oldestUnpostedImage(manager, schedule);
    if ('skip' in picked) return picked;
    let template: PostTemplate | null = null;
    if (schedule.templateId !== null) {
      template = await this.templateRows.find(schedule.templateId, manager);
      if (!template) return { skip: 'The post template of this schedule no longer exists.' };
    }
    const notes: string[] = [];
    const posts: ScheduledPost[] = [];
    for (const platform of schedule.platforms) {
      const account = chooseAccount(
        await this.accounts.onPlatform(schedule.userId, platform, manager),
        schedule.accountIds,
      );
      if ('problem' in account) {
        notes.push(noAccount(platform, account));
        continue;
      }
      let text = { caption: schedule.caption, hashtags: schedule.hashtags };
      if (template) {
        // Rendered at each run: this run's image and account, the occurrence in the user's zone.
        const rendered = await this.templates.renderForPost(manager, template, {
          userId: schedule.userId,
          platform,
          imageId: picked.id,
          accountId: account.id,
          at: occurrence,
        });
        if (rendered.problems.length > 0) {
          notes.push(
            `The template's text for ${platform} does not fit (${rendered.problems.join('; ')}): nothing posted there.`,
          );
          continue;
        }
        text = { caption: rendered.caption, hashtags: rendered.hashtags };
      }
      posts.push(
        await this.postRows.insert(
          {
            userId: schedule.userId,
            imageId: picked.id,
            accountId: account.id,
            scheduleId: schedule.id,
            templateId: schedule.templateId,
            platform,
            ...text,
            scheduledTime: occurrence,
            metadata: { schedule_run: run.id },
          },
          manager,
        ),
      );
    }
    if (posts.length === 0) return { skip: notes.join(' ') };
    return { posts, notes, imageId: picked.id };
  }

  /** The oldest publishable image with one of the tags that no post has used or is about to use. */
  private async oldestUnpostedImage(
    manager: EntityManager,
    schedule: PostingSchedule,
  ): Promise<{ skip: string } | { id: number }> {
    const id = await this.images.oldestUnpostedWithTags(schedule.userId, schedule.tags, manager);
    if (id === null)
      return {
        skip: `No validated, never-posted image carries one of the tags: ${schedule.tags.join(', ')}.`,
      };
    return { id };
  }
}

const NOT_READY: Record<string, string> = {
  pending: 'The image was still waiting to be generated at the time of the occurrence.',
  generating: 'The image was still being generated at the time of the occurrence.',
  generated: 'The image was not validated in time: validate it, or turn on auto-validation.',
  rejected: 'The image was rejected.',
};

/** The image requested for this run, if it can be posted; else why not. */
async function generatedImage(
  images: GeneratedImageQueries,
  manager: EntityManager,
  run: ScheduleRun,
): Promise<{ skip: string } | { id: number }> {
  if (!run.imageId) return { skip: 'No image was requested for this occurrence.' };
  const image = await images.findForPosting(run.imageId, null, manager);
  if (!image) return { skip: 'The image was deleted.' };
  if (isPublishable(image)) return { id: image.id };
  if (image.status === 'failed')
    return { skip: `The image could not be generated: ${image.errorMessage || 'failed'}.` };
  return { skip: NOT_READY[image.status] ?? `The image is ${image.status}.` };
}

/** Why a schedule's occurrence posts nothing on a platform, from `chooseAccount()`. */
function noAccount(platform: string, choice: Exclude<AccountChoice, { id: number }>): string {
  switch (choice.problem) {
    case 'none':
      return `No active ${platform} account: nothing posted there.`;
    case 'several':
      return `Several ${platform} accounts and none chosen: nothing posted there.`;
    case 'inactive':
      return `The ${platform} account is ${choice.status.replace('_', ' ')}: nothing posted there.`;
  }
}
