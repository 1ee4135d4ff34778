import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DateTime } from 'luxon';
import { DataSource } from 'typeorm';
import {
  NotificationPreferenceQueries,
  SentMailQueries,
  WeeklyDigestQueries,
  withTryAdvisoryLock,
} from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { excerpt, localTime, platformName, webUrl } from './mail-format.js';
import { Mailer } from './mailer.service.js';

const DIGEST_TICK_LOCK = 727_501;
/** Local time on Monday from which the past week's digest is due. */
const SEND_FROM_HOUR = 8;
const PAGE = 1000;
const LISTED_POSTS = 10;

export const digestKey = (userId: number, week: string) => `weekly-digest:${userId}:${week}`;

/**
 * The Monday (local date) of the week whose digest is due for a reader in `zone` at `now`: the
 * week before, once it is Monday 08:00 there; null before (the last one was sent a week ago).
 */
export function dueDigestWeek(now: Date, zone: string): string | null {
  let local = DateTime.fromJSDate(now).setZone(zone);
  if (!local.isValid) local = DateTime.fromJSDate(now).setZone('UTC');
  const monday = local.startOf('week');
  if (local < monday.plus({ hours: SEND_FROM_HOUR })) return null;
  return monday.minus({ weeks: 1 }).toISODate();
}

/**
 * The weekly digest. Hourly, the scheduler role finds the opted-in users for whom it is past
 * Monday 08:00 in their time zone and whose digest of the past week is not in the sent-mail log,
 * and queues one job each (its id names the user and the week). The worker builds and queues the
 * mail, once-only under the same key, so a tick repeated, a replica's tick or a retried job never
 * mails a week twice. A tick missed (scheduler down) is caught up by the next one that week.
 */
@Injectable()
export class WeeklyDigest {
  private readonly logger = new Logger(WeeklyDigest.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly preferences: NotificationPreferenceQueries,
    private readonly sentMails: SentMailQueries,
    private readonly digests: WeeklyDigestQueries,
    private readonly queue: JobQueue,
    private readonly mailer: Mailer,
  ) {}

  @Cron(CronExpression.EVERY_HOUR, { name: 'weekly-digest' })
  async tick(now = new Date()): Promise<number> {
    const outcome = await withTryAdvisoryLock(this.dataSource, DIGEST_TICK_LOCK, async () => {
      let queued = 0;
      for (let afterId = 0; ;) {
        const subscribers = await this.preferences.digestSubscribers(afterId, PAGE);
        if (subscribers.length === 0) break;
        afterId = subscribers[subscribers.length - 1].userId;
        const due = subscribers
          .map(({ userId, timezone }) => ({ userId, week: dueDigestWeek(now, timezone) }))
          .filter((entry): entry is { userId: number; week: string } => entry.week !== null);
        const done = await this.sentMails.existingKeys(
          due.map(({ userId, week }) => digestKey(userId, week)),
        );
        for (const { userId, week } of due) {
          if (done.has(digestKey(userId, week))) continue;
          await this.queue.enqueuePending(
            JobName.WeeklyDigest,
            { userId, week },
            { jobId: digestKey(userId, week), attempts: 3, backoffMs: 60_000 },
          );
          queued++;
        }
      }
      return queued;
    });
    if (outcome.ran && outcome.result > 0)
      this.logger.log(`Weekly digest: ${outcome.result} queued`);
    return outcome.ran ? outcome.result : 0;
  }

  @OnJob(JobName.WeeklyDigest)
  async build(payload: JobPayloads[JobName.WeeklyDigest]): Promise<{ status: string }> {
    const recipient = await this.preferences.recipient(payload.userId);
    if (!recipient?.isActive || !recipient.notifications.weekly_digest)
      return { status: 'skipped' };
    const zone = DateTime.local().setZone(recipient.timezone).isValid ? recipient.timezone : 'UTC';
    const from = DateTime.fromISO(payload.week, { zone }).startOf('day');
    const to = from.plus({ weeks: 1 });
    const week = await this.digests.week(payload.userId, from.toJSDate(), to.toJSDate());
    const posts = week.published.slice(0, LISTED_POSTS).map((post) => ({
      platform_name: platformName(post.platform),
      posted_at: localTime(post.postedAt, zone),
      caption: excerpt(post.caption, 100),
      likes: post.likes,
      comments: post.comments,
      shares: post.shares,
      views: post.views,
      engagement_rate: post.engagementRate.toFixed(2),
      url: webUrl(post.url),
    }));
    const { queued } = await this.mailer.queueMail({
      userId: recipient.userId,
      to: recipient.email,
      kind: 'weekly_digest',
      template: 'weekly-digest',
      params: {
        name: recipient.firstName || recipient.username,
        week_start: from.toFormat('d LLLL yyyy'),
        week_end: to.minus({ days: 1 }).toFormat('d LLLL yyyy'),
        totals: week.totals,
        failed: week.failed,
        upcoming: week.upcoming,
        posts,
        more: Math.max(0, week.totals.posts - posts.length),
      },
      dedupeKey: digestKey(payload.userId, payload.week),
      unsubscribe: 'weekly_digest',
    });
    return { status: queued ? 'queued' : 'already sent' };
  }
}
