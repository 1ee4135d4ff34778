import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import { ScheduleRunner } from '../apps/server/src/scheduler/schedule-runner.js';
import * as graphFake from './fakes/graph.fake.js';
import { waitForStatus } from './factories/image.factory.js';
import { connectAccount, waitForPostStatus } from './factories/post.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

const SCHEDULE_KEYS = [
  'accounts',
  'caption',
  'created_at',
  'day_of_month',
  'frequency',
  'hashtags',
  'id',
  'is_active',
  'name',
  'next_run_at',
  'platforms',
  'prompt',
  'recent_runs',
  'style',
  'tags',
  'template',
  'time_of_day',
  'timezone',
  'updated_at',
  'user',
  'weekday',
];

/** The next `hour:minute` in `zone` strictly after now (no DST edge in the test's hours). */
function nextLocal(zone: string, hour: number, minute: number, weekday?: number): string {
  const now = DateTime.now().setZone(zone);
  let at = now.set({ hour, minute, second: 0, millisecond: 0 });
  while (at <= now || (weekday !== undefined && at.weekday !== weekday))
    at = at.plus({ days: 1 }).set({ hour, minute });
  return at.toUTC().toISO()!;
}

/**
 * The schedules API, and what a run does at its occurrence. The app runs on a database of its
 * own (the runner looks at every schedule), as api and worker against the Graph fake; the
 * runner is ticked with the occurrence's instant instead of waiting for it.
 */
describe('/api/scheduler/schedules/', () => {
  let databaseUrl: string;
  let fake: graphFake.GraphFake;
  let app: TestApp;
  let runner: ScheduleRunner;
  let owner: RegisteredUser;
  let other: RegisteredUser;
  let instagram: number;
  let facebook: number;
  let othersAccount: number;

  const api = (user: RegisteredUser = owner) => ({
    get: (path: string) =>
      app.http().get(`/api/scheduler/schedules/${path}`).set(bearer(user.access)),
    post: (body: unknown) =>
      app
        .http()
        .post('/api/scheduler/schedules/')
        .set(bearer(user.access))
        .send(body as object),
    patch: (id: number, body: unknown) =>
      app
        .http()
        .patch(`/api/scheduler/schedules/${id}/`)
        .set(bearer(user.access))
        .send(body as object),
    put: (id: number, body: unknown) =>
      app
        .http()
        .put(`/api/scheduler/schedules/${id}/`)
        .set(bearer(user.access))
        .send(body as object),
    delete: (id: number) =>
      app.http().delete(`/api/scheduler/schedules/${id}/`).set(bearer(user.access)),
  });

  const daily = (overrides: Record<string, unknown> = {}) => ({
    name: 'Mornings',
    frequency: 'daily',
    time_of_day: '09:00',
    timezone: 'Europe/Paris',
    platforms: ['instagram'],
    tags: ['sea'],
    caption: 'Good morning',
    hashtags: ['#sea', '#dawn'],
    ...overrides,
  });

  beforeAll(async () => {
    databaseUrl = await migratedScratchDatabase();
    fake = await graphFake.start();
    app = await createTestApp(
      {
        DATABASE_URL: databaseUrl,
        APP_ROLES: 'api,worker',
        IMAGE_PROVIDER: 'local',
        INSTAGRAM_GRAPH_URL: fake.graphUrl,
        FACEBOOK_GRAPH_URL: fake.graphUrl,
      },
      { listen: true },
    );
    runner = app.app.get(ScheduleRunner);
    owner = await registerUser(app);
    other = await registerUser(app);
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(owner.access))
      .send({ timezone: 'America/New_York' })
      .expect(200);
    instagram = await connectAccount(app, owner, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
    facebook = await connectAccount(app, owner, {
      platform: 'facebook',
      account_id: fake.pageId,
      access_token: fake.token,
    });
    othersAccount = await connectAccount(app, other, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await fake?.close();
    if (databaseUrl) await dropScratchDatabase(databaseUrl);
  });

  describe('create', () => {
    it('answers 201 with the schedule, its next run in its own time zone and no runs yet', async () => {
      const response = await api().post(daily()).expect(201);
      expect(Object.keys(response.body).sort()).toEqual(SCHEDULE_KEYS);
      expect(response.body).toMatchObject({
        user: owner.username,
        name: 'Mornings',
        frequency: 'daily',
        time_of_day: '09:00:00',
        weekday: null,
        day_of_month: null,
        timezone: 'Europe/Paris',
        platforms: ['instagram'],
        accounts: [],
        is_active: true,
        prompt: '',
        style: null,
        tags: ['sea'],
        caption: 'Good morning',
        hashtags: '#sea #dawn',
        next_run_at: nextLocal('Europe/Paris', 9, 0),
        recent_runs: [],
      });
    });

    it("weekly (0 = Monday) and monthly; the time zone defaults to the profile's", async () => {
      const weekly = await api()
        .post(daily({ frequency: 'weekly', weekday: 0, timezone: undefined, time_of_day: '18:30' }))
        .expect(201);
      expect(weekly.body.timezone).toBe('America/New_York');
      expect(weekly.body.weekday).toBe(0);
      expect(weekly.body.next_run_at).toBe(nextLocal('America/New_York', 18, 30, 1));
      const monthly = await api()
        .post(daily({ frequency: 'monthly', day_of_month: '31', weekday: 3, timezone: 'UTC' }))
        .expect(201);
      expect(monthly.body).toMatchObject({ day_of_month: 31, weekday: null });
      const now = DateTime.utc();
      const lastDay = (month: DateTime) =>
        month.set({ day: month.daysInMonth!, hour: 9, minute: 0, second: 0, millisecond: 0 });
      const thisMonth = lastDay(now);
      const expected =
        thisMonth > now ? thisMonth : lastDay(now.plus({ months: 1 }).startOf('month'));
      expect(monthly.body.next_run_at).toBe(expected.toISO());
    });

    it('names the field at fault for bad input', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ name: '' }, 'name'],
        [{ name: 'x'.repeat(101) }, 'name'],
        [{ name: undefined }, 'name'],
        [{ frequency: 'hourly' }, 'frequency'],
        [{ time_of_day: '24:00' }, 'time_of_day'],
        [{ time_of_day: '9am' }, 'time_of_day'],
        [{ frequency: 'weekly' }, 'weekday'],
        [{ frequency: 'weekly', weekday: 7 }, 'weekday'],
        [{ frequency: 'weekly', weekday: 'monday' }, 'weekday'],
        [{ frequency: 'monthly' }, 'day_of_month'],
        [{ frequency: 'monthly', day_of_month: 0 }, 'day_of_month'],
        [{ frequency: 'monthly', day_of_month: 32 }, 'day_of_month'],
        [{ timezone: 'Mars/Olympus_Mons' }, 'timezone'],
        [{ timezone: null }, 'timezone'],
        [{ platforms: [] }, 'platforms'],
        [{ platforms: ['myspace'] }, 'platforms'],
        [{ platforms: ['instagram', 'instagram'] }, 'platforms'],
        [{ platforms: 'instagram' }, 'platforms'],
        [{ accounts: [999_999] }, 'accounts'],
        [{ accounts: ['x'] }, 'accounts'],
        [{ accounts: [3_000_000_000] }, 'accounts'],
        [{ is_active: 'maybe' }, 'is_active'],
        [{ prompt: 'p'.repeat(2001) }, 'prompt'],
        [{ style: 'baroque' }, 'style'],
        [{ tags: ['t'.repeat(51)] }, 'tags'],
        [{ tags: [], prompt: '' }, 'tags'],
        [{ caption: 'c'.repeat(2201) }, 'caption'],
        [{ platforms: ['twitter'], caption: 'c'.repeat(281) }, 'caption'],
        [{ hashtags: 5 }, 'hashtags'],
        [{ colour: 'blue' }, 'colour'],
      ];
      for (const [change, field] of cases) {
        const response = await api().post(daily(change));
        try {
          expectFieldError(response, field);
        } catch (error) {
          throw new Error(`${JSON.stringify(change)}: ${JSON.stringify(response.body)}`, {
            cause: error,
          });
        }
      }
    });

    it("accepts only the owner's accounts, on the schedule's platforms, one per platform", async () => {
      expectFieldError(await api().post(daily({ accounts: [othersAccount] })), 'accounts');
      expectFieldError(await api().post(daily({ accounts: [facebook] })), 'accounts');
      const second = await connectAccount(app, owner, {
        platform: 'instagram',
        account_id: 'another-ig-user',
        access_token: fake.token,
      });
      expectFieldError(await api().post(daily({ accounts: [instagram, second] })), 'accounts');
      const ok = await api()
        .post(daily({ platforms: ['instagram', 'facebook'], accounts: [instagram, facebook] }))
        .expect(201);
      expect(ok.body.accounts).toEqual([instagram, facebook]);
      await app
        .http()
        .delete(`/api/scheduler/accounts/${second}/`)
        .set(bearer(owner.access))
        .expect(204);
    });
  });

  it('takes account ids as numbers or numeric strings, and forgets an account once it is disconnected', async () => {
    const extra = await connectAccount(app, owner, {
      platform: 'facebook',
      account_id: 'a-second-page',
      access_token: fake.token,
    });
    const created = await api()
      .post(daily({ platforms: ['instagram', 'facebook'], accounts: [String(instagram), extra] }))
      .expect(201);
    expect(created.body.accounts).toEqual([instagram, extra]);
    await app
      .http()
      .delete(`/api/scheduler/accounts/${extra}/`)
      .set(bearer(owner.access))
      .expect(204);
    const after = await api().get(`${created.body.id}/`).expect(200);
    expect(after.body.accounts).toEqual([instagram]);
    // Still editable: nothing points at the account that is gone.
    await api().patch(created.body.id, { is_active: false }).expect(200);
  });

  describe('list, read, edit, delete', () => {
    it("lists only the user's schedules, paginated, and hides others' behind 404", async () => {
      const mine = await api()
        .post(daily({ name: 'Mine' }))
        .expect(201);
      const theirs = await api(other)
        .post(daily({ name: 'Theirs' }))
        .expect(201);
      const list = await api().get('?page_size=2').expect(200);
      expect(list.body.results).toHaveLength(2);
      expect(list.body.next).toContain('page=2');
      const all = await api().get('?page_size=100').expect(200);
      expect(all.body.count).toBe(all.body.results.length);
      expect(all.body.results.map((s: { id: number }) => s.id)).toContain(mine.body.id);
      expect(all.body.results.map((s: { id: number }) => s.id)).not.toContain(theirs.body.id);
      const id = theirs.body.id as number;
      expectProblem(await api().get(`${id}/`), 404);
      expectProblem(await api().get(`${id}/runs/`), 404);
      expectProblem(await api().patch(id, { name: 'Mine now' }), 404);
      expectProblem(await api().put(id, daily()), 404);
      expectProblem(await api().delete(id), 404);
      const still = await api(other).get(`${id}/`).expect(200);
      expect(still.body.name).toBe('Theirs');
      expectProblem(await api().get('abc/'), 404);
    });

    it('pausing clears next_run_at, resuming recomputes it; a caption edit keeps it', async () => {
      const created = await api()
        .post(daily({ time_of_day: '07:15' }))
        .expect(201);
      const id = created.body.id as number;
      const paused = await api().patch(id, { is_active: false }).expect(200);
      expect(paused.body).toMatchObject({ is_active: false, next_run_at: null });
      // Its old occurrence comes and goes: a paused schedule does not run.
      await runner.tick(new Date(Date.parse(created.body.next_run_at) + 1000));
      expect((await api().get(`${id}/`).expect(200)).body.recent_runs).toEqual([]);
      const resumed = await api().patch(id, { is_active: true }).expect(200);
      expect(resumed.body.next_run_at).toBe(nextLocal('Europe/Paris', 7, 15));
      const recaptioned = await api().patch(id, { caption: 'Bonjour' }).expect(200);
      expect(recaptioned.body).toMatchObject({
        caption: 'Bonjour',
        next_run_at: resumed.body.next_run_at,
      });
      const retimed = await api().patch(id, { time_of_day: '21:45', timezone: 'Asia/Tokyo' });
      expect(retimed.status).toBe(200);
      expect(retimed.body.next_run_at).toBe(nextLocal('Asia/Tokyo', 21, 45));
    });

    it('PUT replaces the whole schedule with the create rules', async () => {
      const created = await api()
        .post(daily({ frequency: 'weekly', weekday: 4, prompt: 'A lighthouse', style: 'anime' }))
        .expect(201);
      const id = created.body.id as number;
      expectFieldError(await api().put(id, { name: 'Only a name' }), 'frequency');
      const replaced = await api()
        .put(id, { ...daily({ name: 'Replaced' }), weekday: 4 })
        .expect(200);
      expect(replaced.body).toMatchObject({
        name: 'Replaced',
        frequency: 'daily',
        weekday: null,
        prompt: '',
        style: null,
      });
      // PATCH keeps what it is not given: switching to weekly needs the weekday again.
      expectFieldError(await api().patch(id, { frequency: 'weekly' }), 'weekday');
    });
  });

  describe('runs', () => {
    // Each test ticks the runner at its own schedule's time: the earlier schedules stay out of it.
    beforeEach(async () => {
      await app.dataSource.query(
        'UPDATE posting_schedules SET is_active = false, next_run_at = NULL',
      );
    });

    it('posts the oldest validated, never-posted tagged image to each platform at the occurrence', async () => {
      await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(owner.access))
        .send({ auto_validate_images: true })
        .expect(200);
      const images: number[] = [];
      for (const prompt of ['First harbour', 'Second harbour']) {
        const created = await app
          .http()
          .post('/api/images/generate/')
          .set(bearer(owner.access))
          .send({ prompt, width: 256, height: 256, tags: ['harbour'] })
          .expect(201);
        images.push(created.body.image.id);
        await waitForStatus(app, owner, created.body.image.id, ['validated']);
      }
      const schedule = await api()
        .post(
          daily({
            tags: ['harbour'],
            platforms: ['instagram', 'facebook', 'twitter'],
            hashtags: '#harbour',
          }),
        )
        .expect(201);
      const occurrence = new Date(schedule.body.next_run_at);
      const result = await runner.tick(new Date(occurrence.getTime() + 1500));
      expect(result).toMatchObject({ ran: true, runs: 1, posts: 2 });
      const { body } = await api().get(`${schedule.body.id}/`).expect(200);
      const [run] = body.recent_runs;
      expect(run).toMatchObject({
        occurrence_at: occurrence.toISOString(),
        outcome: 'completed',
        image: images[0],
        posts_created: 2,
      });
      expect(run.reason).toBe('No active twitter account: nothing posted there.');
      for (const postId of run.posts) {
        const post = await waitForPostStatus(app, owner, postId, ['posted', 'failed']);
        expect(post).toMatchObject({
          status: 'posted',
          schedule: schedule.body.id,
          image: images[0],
          scheduled_time: occurrence.toISOString(),
          caption: 'Good morning',
          hashtags: '#harbour',
        });
      }
      // The next occurrence moved on by a day, and takes the other image.
      expect(new Date(body.next_run_at).getTime() - occurrence.getTime()).toBe(86_400_000);
      await runner.tick(new Date(Date.parse(body.next_run_at) + 1000));
      const next = (await api().get(`${schedule.body.id}/`).expect(200)).body.recent_runs[0];
      expect(next).toMatchObject({ outcome: 'completed', image: images[1] });
      // The third finds nothing left to post.
      const third = (await api().get(`${schedule.body.id}/`).expect(200)).body.next_run_at;
      await runner.tick(new Date(Date.parse(third) + 1000));
      const skipped = (await api().get(`${schedule.body.id}/`).expect(200)).body.recent_runs[0];
      expect(skipped).toMatchObject({ outcome: 'skipped', posts_created: 0, posts: [] });
      expect(skipped.reason).toBe(
        'No validated, never-posted image carries one of the tags: harbour.',
      );
      // Deleting the schedule keeps its posts, without the link.
      await api().delete(schedule.body.id).expect(204);
      expectProblem(await api().get(`${schedule.body.id}/`), 404);
      const kept = await app
        .http()
        .get(`/api/scheduler/posts/${run.posts[0]}/`)
        .set(bearer(owner.access))
        .expect(200);
      expect(kept.body).toMatchObject({ status: 'posted', schedule: null });
      const [{ n }] = (await app.dataSource.query(
        'SELECT count(*)::int AS n FROM schedule_runs WHERE schedule_id = $1',
        [schedule.body.id],
      )) as [{ n: number }];
      expect(n).toBe(0);
    });

    it('with a prompt: the image is asked for ahead, and an unvalidated one skips the run', async () => {
      await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(owner.access))
        .send({ auto_validate_images: false })
        .expect(200);
      const schedule = await api()
        .post(daily({ prompt: 'A lighthouse at night', tags: ['night'], style: 'vintage' }))
        .expect(201);
      const occurrence = Date.parse(schedule.body.next_run_at);
      // Two hours ahead: too early for the default one-hour lead.
      expect((await runner.tick(new Date(occurrence - 2 * 3_600_000))).prepared).toBe(0);
      expect((await runner.tick(new Date(occurrence - 50 * 60_000))).prepared).toBe(1);
      let { body } = await api().get(`${schedule.body.id}/`).expect(200);
      expect(body.recent_runs).toEqual([
        expect.objectContaining({ outcome: 'pending', image: expect.any(Number), posts: [] }),
      ]);
      const image = await waitForStatus(app, owner, body.recent_runs[0].image, ['generated']);
      expect(image).toMatchObject({
        prompt: 'A lighthouse at night',
        style: 'vintage',
        tags: ['night'],
      });
      // A second tick before the occurrence asks for nothing more.
      expect((await runner.tick(new Date(occurrence - 10 * 60_000))).prepared).toBe(0);
      await runner.tick(new Date(occurrence + 1000));
      ({ body } = await api().get(`${schedule.body.id}/`).expect(200));
      expect(body.recent_runs).toHaveLength(1);
      expect(body.recent_runs[0]).toMatchObject({ outcome: 'skipped', image: image.id, posts: [] });
      expect(body.recent_runs[0].reason).toContain('not validated in time');
    });

    it('an occurrence reached long after its time (the scheduler was down) is recorded as missed', async () => {
      // With a prompt: no image is asked for an occurrence that is already past.
      const schedule = await api()
        .post(daily({ time_of_day: '03:00', prompt: 'Too late for this one' }))
        .expect(201);
      const occurrence = Date.parse(schedule.body.next_run_at);
      await runner.tick(new Date(occurrence + 3 * 3_600_000));
      const { body } = await api().get(`${schedule.body.id}/`).expect(200);
      expect(body.recent_runs[0]).toMatchObject({ outcome: 'skipped', posts: [] });
      expect(body.recent_runs[0].reason).toMatch(/^Missed: .* 180 minutes late\.$/);
      expect(body.recent_runs[0].image).toBeNull();
      expect(Date.parse(body.next_run_at)).toBe(occurrence + 86_400_000);
    });

    it('a schedule that cannot run does not hold the others back, and is retried', async () => {
      const broken = await api()
        .post(daily({ time_of_day: '05:05', timezone: 'UTC' }))
        .expect(201);
      const fine = await api()
        .post(daily({ time_of_day: '05:05', timezone: 'UTC' }))
        .expect(201);
      // A zone the time-zone database no longer knows (say, after an upgrade) fails its run.
      await app.dataSource.query(
        `UPDATE posting_schedules SET timezone = 'Gone/Away' WHERE id = $1`,
        [broken.body.id],
      );
      const at = new Date(Date.parse(fine.body.next_run_at) + 1000);
      expect(await runner.tick(at)).toMatchObject({ ran: true, runs: 1 });
      const okRuns = (await api().get(`${fine.body.id}/runs/`).expect(200)).body;
      expect(okRuns.count).toBe(1);
      // Rolled back whole: no run, still due, tried again at the next tick.
      const stuck = (await api().get(`${broken.body.id}/`).expect(200)).body;
      expect(stuck).toMatchObject({ recent_runs: [], next_run_at: broken.body.next_run_at });
      await app.dataSource.query(`UPDATE posting_schedules SET timezone = 'UTC' WHERE id = $1`, [
        broken.body.id,
      ]);
      expect(await runner.tick(at)).toMatchObject({ runs: 1 });
      expect((await api().get(`${broken.body.id}/`).expect(200)).body.recent_runs).toHaveLength(1);
    });

    it('two runners ticking at once materialise an occurrence once', async () => {
      const second = await createTestApp({
        DATABASE_URL: databaseUrl,
        REDIS_PREFIX: app.config.redis.prefix,
      });
      try {
        const schedule = await api()
          .post(daily({ tags: ['twice'], platforms: ['facebook'], time_of_day: '11:11' }))
          .expect(201);
        const created = await app
          .http()
          .post('/api/images/generate/')
          .set(bearer(owner.access))
          .send({ prompt: 'Once', width: 256, height: 256, tags: ['twice'] })
          .expect(201);
        await waitForStatus(app, owner, created.body.image.id, ['generated']);
        await app
          .http()
          .patch(`/api/images/${created.body.image.id}/validate/`)
          .set(bearer(owner.access))
          .send({ action: 'validate' })
          .expect(200);
        const at = new Date(Date.parse(schedule.body.next_run_at) + 500);
        const before = fake.pagePosts.length;
        const results = await Promise.all([
          runner.tick(at),
          second.app.get(ScheduleRunner).tick(at),
          runner.tick(at),
        ]);
        expect(results.reduce((sum, result) => sum + result.runs, 0)).toBe(1);
        const { body } = await api().get(`${schedule.body.id}/`).expect(200);
        expect(body.recent_runs).toHaveLength(1);
        await waitForPostStatus(app, owner, body.recent_runs[0].posts[0], ['posted']);
        await waitFor(
          async () => (fake.pagePosts.length > before ? true : undefined),
          10_000,
          'the page post',
        );
        expect(fake.pagePosts.length).toBe(before + 1);
      } finally {
        await second.close();
      }
    });
  });
});
