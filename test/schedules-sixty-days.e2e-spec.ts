import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import { ScheduleRunner } from '../apps/server/src/scheduler/schedule-runner.js';
import { SchedulesService } from '../apps/server/src/scheduler/schedules.service.js';
import type { CreateScheduleDto } from '../apps/server/src/scheduler/dto/schedule.dto.js';
import * as graphFake from './fakes/graph.fake.js';
import { requestImage, waitForStatus } from './factories/image.factory.js';
import { connectAccount } from './factories/post.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

const START = new Date('2027-02-20T00:00:00Z');
const DAYS = 60;
const END = new Date(START.getTime() + DAYS * 86_400_000);
const LEAD_MS = 3_600_000;
const WEEKLY_IMAGES = 6;

/** Independently of the code under test: the local wall time on each matching local date. */
function expectedOccurrences(
  zone: string,
  hour: number,
  minute: number,
  matches: (local: DateTime) => boolean,
): string[] {
  const out: string[] = [];
  let day = DateTime.fromJSDate(START, { zone }).startOf('day');
  for (; day.toJSDate() < END; day = day.plus({ days: 1 })) {
    if (!matches(day)) continue;
    const at = DateTime.fromObject(
      { year: day.year, month: day.month, day: day.day, hour, minute },
      { zone },
    ).toJSDate();
    if (at > START && at < END) out.push(at.toISOString());
  }
  return out;
}

interface RunRow {
  schedule_id: number;
  occurrence_at: Date;
  outcome: string;
  reason: string;
  image_id: number | null;
  post_ids: number[];
}

/**
 * Sixty simulated days, from 20 February to 21 April 2027: the spring changes of New York
 * (14 March), Paris (28 March) and Sydney (4 April) and a 28-day February inside. Two app
 * instances (each its own connection pool and Bull clients, as two scheduler replicas) tick on
 * an injected clock; one of them is also the worker that generates and publishes for real,
 * against the Graph fake.
 */
describe('recurring schedules over 60 simulated days with two schedulers', () => {
  let databaseUrl: string;
  let fake: graphFake.GraphFake;
  let worker: TestApp;
  let replica: TestApp;
  let user: RegisteredUser;
  const ids: Record<'daily' | 'weekly' | 'monthly', number> = { daily: 0, weekly: 0, monthly: 0 };
  let runs: RunRow[];
  let ticks = 0;
  /** Runs each replica reports having materialised. */
  const materialised = [0, 0];

  beforeAll(async () => {
    databaseUrl = await migratedScratchDatabase();
    fake = await graphFake.start();
    const env = {
      DATABASE_URL: databaseUrl,
      IMAGE_PROVIDER: 'local',
      INSTAGRAM_GRAPH_URL: fake.graphUrl,
      FACEBOOK_GRAPH_URL: fake.graphUrl,
      SCHEDULE_IMAGE_LEAD_TIME: '1h',
    };
    worker = await createTestApp({ ...env, APP_ROLES: 'api,worker' }, { listen: true });
    replica = await createTestApp({ ...env, REDIS_PREFIX: worker.config.redis.prefix });
    user = await registerUser(worker);
    await worker
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(user.access))
      .send({ auto_validate_images: true })
      .expect(200);
    const instagram = await connectAccount(worker, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
    await connectAccount(worker, user, {
      platform: 'facebook',
      account_id: fake.pageId,
      access_token: fake.token,
    });
    // The weekly schedule posts existing images: fewer than its Mondays, so the last ones skip.
    for (let index = 0; index < WEEKLY_IMAGES; index++) {
      const { image } = await requestImage(worker, user, { tags: ['weekly'], prompt: `W${index}` });
      await waitForStatus(worker, user, image.id, ['validated']);
    }

    const owner = { id: user.id, profile: { timezone: 'UTC' } };
    const service = worker.app.get(SchedulesService);
    const create = async (dto: Partial<CreateScheduleDto>) =>
      (
        await service.create(
          owner,
          { caption: 'From a schedule', hashtags: '#auto', ...dto } as CreateScheduleDto,
          START,
        )
      ).schedule.id;
    ids.daily = await create({
      name: 'Paris mornings',
      frequency: 'daily',
      time_of_day: '09:00',
      timezone: 'Europe/Paris',
      platforms: ['instagram'],
      accounts: [instagram],
      prompt: 'A morning view',
    });
    ids.weekly = await create({
      name: 'New York Mondays',
      frequency: 'weekly',
      weekday: 0,
      time_of_day: '18:30',
      timezone: 'America/New_York',
      platforms: ['instagram', 'facebook'],
      tags: ['weekly'],
    });
    ids.monthly = await create({
      name: 'Sydney month ends',
      frequency: 'monthly',
      day_of_month: 31,
      time_of_day: '12:00',
      timezone: 'Australia/Sydney',
      platforms: ['facebook'],
      prompt: 'The end of the month',
      style: 'minimalist',
    });

    const runners = [worker.app.get(ScheduleRunner), replica.app.get(ScheduleRunner)];
    let clock = START;
    for (let step = 0; step < 1000; step++) {
      // The next moment something is due (an image to prepare, an occurrence), a few seconds late.
      const [{ next }] = (await worker.dataSource.query(
        `SELECT min(t) AS next FROM (
           SELECT next_run_at - $2 * interval '1 millisecond' AS t FROM posting_schedules WHERE is_active AND prompt <> ''
           UNION ALL SELECT next_run_at FROM posting_schedules WHERE is_active
         ) events WHERE t > $1`,
        [clock, LEAD_MS],
      )) as [{ next: Date | null }];
      if (!next || next >= END) break;
      clock = new Date(next.getTime() + ((step * 7919) % 20_000));
      // The replicas take turns going first, or race for the same instant.
      const results =
        step % 3 === 2
          ? await Promise.all(runners.map((runner) => runner.tick(clock)))
          : step % 3 === 0
            ? [await runners[0].tick(clock), await runners[1].tick(clock)]
            : [await runners[1].tick(clock), await runners[0].tick(clock)].reverse();
      results.forEach((result, index) => (materialised[index] += result.runs));
      ticks++;
      // Images asked for ahead are generated (for real, by the worker) before the clock moves on.
      await waitFor(
        async () => {
          const [{ n }] = (await worker.dataSource.query(
            `SELECT count(*)::int AS n FROM generated_images WHERE user_id = $1 AND status IN ('pending', 'generating')`,
            [user.id],
          )) as [{ n: number }];
          return n === 0 ? true : undefined;
        },
        30_000,
        'the prepared images',
      );
    }
    await waitFor(
      async () => {
        const [{ n }] = (await worker.dataSource.query(
          `SELECT count(*)::int AS n FROM scheduled_posts WHERE status IN ('scheduled', 'processing')`,
        )) as [{ n: number }];
        return n === 0 ? true : undefined;
      },
      120_000,
      'every post to be published',
    );
    runs = await worker.dataSource.query(
      'SELECT schedule_id, occurrence_at, outcome, reason, image_id, post_ids FROM schedule_runs ORDER BY occurrence_at',
    );
  }, 600_000);

  afterAll(async () => {
    await replica?.close();
    await worker?.close();
    await fake?.close();
    if (databaseUrl) await dropScratchDatabase(databaseUrl);
  });

  const runsOf = (key: keyof typeof ids) => runs.filter((run) => run.schedule_id === ids[key]);
  const occurrencesOf = (key: keyof typeof ids) =>
    runsOf(key).map((run) => new Date(run.occurrence_at).toISOString());

  it('daily 09:00 Paris: one run per day at 09:00 local, across the March change', () => {
    const expected = expectedOccurrences('Europe/Paris', 9, 0, () => true);
    expect(expected).toHaveLength(DAYS);
    expect(expected).toContain('2027-03-27T08:00:00.000Z');
    expect(expected).toContain('2027-03-28T07:00:00.000Z');
    expect(occurrencesOf('daily')).toEqual(expected);
    expect(runsOf('daily').every((run) => run.outcome === 'completed')).toBe(true);
    expect(runsOf('daily').every((run) => run.post_ids.length === 1)).toBe(true);
  });

  it('weekly Monday 18:30 New York: every Monday, posts until the tagged images run out', () => {
    const expected = expectedOccurrences('America/New_York', 18, 30, (day) => day.weekday === 1);
    expect(expected.length).toBeGreaterThan(WEEKLY_IMAGES);
    expect(occurrencesOf('weekly')).toEqual(expected);
    const weekly = runsOf('weekly');
    const completed = weekly.slice(0, WEEKLY_IMAGES);
    expect(completed.every((run) => run.outcome === 'completed')).toBe(true);
    expect(completed.every((run) => run.post_ids.length === 2)).toBe(true);
    // Each image is posted by one run only: the oldest never-posted one each time.
    expect(new Set(completed.map((run) => run.image_id)).size).toBe(WEEKLY_IMAGES);
    for (const run of weekly.slice(WEEKLY_IMAGES)) {
      expect(run.outcome).toBe('skipped');
      expect(run.reason).toContain(
        'No validated, never-posted image carries one of the tags: weekly',
      );
      expect(run.post_ids).toEqual([]);
    }
  });

  it('monthly on the 31st, Sydney noon: 28 February, then 31 March', () => {
    expect(occurrencesOf('monthly')).toEqual([
      '2027-02-28T01:00:00.000Z', // 12:00 AEDT (+11) on the last day of February
      '2027-03-31T01:00:00.000Z',
    ]);
    expect(runsOf('monthly').every((run) => run.outcome === 'completed')).toBe(true);
  });

  it('both replicas materialised runs, and no occurrence twice', () => {
    expect(ticks).toBeGreaterThan(DAYS);
    expect(materialised[0]).toBeGreaterThan(0);
    expect(materialised[1]).toBeGreaterThan(0);
    expect(materialised[0] + materialised[1]).toBe(runs.length);
  });

  it('every post was published once, at the fake, with the schedule link', async () => {
    const posts: {
      id: number;
      status: string;
      platform: string;
      platform_post_id: string;
      schedule_id: number;
    }[] = await worker.dataSource.query(
      'SELECT id, status, platform, platform_post_id, schedule_id FROM scheduled_posts ORDER BY id',
    );
    const fromRuns = runs.flatMap((run) => run.post_ids).sort((a, b) => a - b);
    expect(posts.map((post) => post.id)).toEqual(fromRuns);
    expect(posts.every((post) => post.status === 'posted')).toBe(true);
    const instagram = posts.filter((post) => post.platform === 'instagram');
    const facebook = posts.filter((post) => post.platform === 'facebook');
    expect(instagram).toHaveLength(DAYS + WEEKLY_IMAGES);
    expect(facebook).toHaveLength(WEEKLY_IMAGES + 2);
    expect(fake.media).toHaveLength(instagram.length);
    expect(fake.pagePosts).toHaveLength(facebook.length);
    expect(new Set(fake.media.map((media) => media.id))).toEqual(
      new Set(instagram.map((post) => post.platform_post_id)),
    );
    expect(fake.media.every((media) => media.caption === 'From a schedule\n\n#auto')).toBe(true);
  });

  it('the API shows each schedule with its next run and its latest runs', async () => {
    const { body } = await worker
      .http()
      .get(`/api/scheduler/schedules/${ids.daily}/`)
      .set(bearer(user.access))
      .expect(200);
    // The first occurrence after the simulated window: 21 April 2027, 09:00 in Paris.
    expect(body.next_run_at).toBe('2027-04-21T07:00:00.000Z');
    expect(body.recent_runs).toHaveLength(5);
    expect(body.recent_runs[0]).toMatchObject({
      occurrence_at: '2027-04-20T07:00:00.000Z',
      outcome: 'completed',
      posts_created: 1,
    });
    const history = await worker
      .http()
      .get(`/api/scheduler/schedules/${ids.weekly}/runs/`)
      .set(bearer(user.access))
      .expect(200);
    expect(history.body.count).toBe(runsOf('weekly').length);
    expect(history.body.results[0].outcome).toBe('skipped');
  });
});
