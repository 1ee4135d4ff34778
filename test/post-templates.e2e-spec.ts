import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ScheduleRunner } from '../apps/server/src/scheduler/schedule-runner.js';
import { insertImages } from './factories/image.factory.js';
import { insertAccount } from './factories/schedule-rows.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { signedInAgent, staffUser } from './support/admin.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { createTestApp, type TestApp } from './support/test-app.js';

const TEMPLATE_KEYS = ['caption', 'created_at', 'hashtags', 'id', 'name', 'updated_at', 'variants'];
const LIMITS = { instagram: 2200, facebook: 63206, twitter: 280, linkedin: 3000, tiktok: 4000 };

/**
 * Post templates: CRUD and its checks, previews against each platform's limit, one-off posts
 * rendered when scheduled, recurring schedules rendered at each run (across Paris's DST changes).
 * The app is API only, on a database of its own (the runner, ticked by hand on an injected clock,
 * looks at every schedule); accounts and validated images are rows, nothing is published.
 */
describe('/api/scheduler/templates/', () => {
  let databaseUrl: string;
  let app: TestApp;
  let runner: ScheduleRunner;
  let owner: RegisteredUser;
  let other: RegisteredUser;
  let imageId: number;
  let othersImage: number;
  let instagram: number;
  let twitter: number;
  let twitterAccountId: string;

  const api = (user: RegisteredUser = owner) => ({
    get: (path = '') => app.http().get(`/api/scheduler/templates/${path}`).set(bearer(user.access)),
    post: (body: unknown, path = '') =>
      app
        .http()
        .post(`/api/scheduler/templates/${path}`)
        .set(bearer(user.access))
        .send(body as object),
    put: (id: number, body: unknown) =>
      app
        .http()
        .put(`/api/scheduler/templates/${id}/`)
        .set(bearer(user.access))
        .send(body as object),
    patch: (id: number, body: unknown) =>
      app
        .http()
        .patch(`/api/scheduler/templates/${id}/`)
        .set(bearer(user.access))
        .send(body as object),
    delete: (id: number) =>
      app.http().delete(`/api/scheduler/templates/${id}/`).set(bearer(user.access)),
    preview: (id: number, body: unknown) =>
      app
        .http()
        .post(`/api/scheduler/templates/${id}/preview/`)
        .set(bearer(user.access))
        .send(body as object),
  });
  const schedulePost = (body: Record<string, unknown>, user = owner) =>
    app.http().post('/api/scheduler/schedule/').set(bearer(user.access)).send(body);
  const schedules = {
    post: (body: Record<string, unknown>) =>
      app.http().post('/api/scheduler/schedules/').set(bearer(owner.access)).send(body),
    patch: (id: number, body: Record<string, unknown>) =>
      app.http().patch(`/api/scheduler/schedules/${id}/`).set(bearer(owner.access)).send(body),
    put: (id: number, body: Record<string, unknown>) =>
      app.http().put(`/api/scheduler/schedules/${id}/`).set(bearer(owner.access)).send(body),
    get: (id: number) =>
      app.http().get(`/api/scheduler/schedules/${id}/`).set(bearer(owner.access)),
  };

  const template = (overrides: Record<string, unknown> = {}) => ({
    name: 'Daily picture',
    caption: '{prompt} ({style}), {weekday} {date} at {time} on {platform} by {account}',
    hashtags: ['#ai', '{tags}'],
    variants: { twitter: { caption: 'X {weekday} {time}: {prompt}', hashtags: '#x' } },
    ...overrides,
  });

  /** Validated, publishable image rows of the user (a rendition key, as after generation). */
  async function validatedImages(userId: number, tags: string[], count = 1): Promise<number[]> {
    const ids = await insertImages(
      app,
      userId,
      Array.from({ length: count }, () => ({
        prompt: 'A lighthouse at dawn',
        style: 'digital_art',
        status: 'validated',
        tags,
      })),
    );
    await app.dataSource.query(
      `UPDATE generated_images SET rendition_key = 'renditions/' || id || '.jpg' WHERE id = ANY($1)`,
      [ids],
    );
    return ids;
  }

  beforeAll(async () => {
    databaseUrl = await migratedScratchDatabase();
    app = await createTestApp({ DATABASE_URL: databaseUrl, APP_ROLES: 'api' });
    runner = app.app.get(ScheduleRunner);
    owner = await registerUser(app);
    other = await registerUser(app);
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(owner.access))
      .send({ timezone: 'Europe/Paris' })
      .expect(200);
    const ig = await insertAccount(app.dataSource, owner.id, 'instagram');
    await app.dataSource.query(`UPDATE social_accounts SET display_name = $2 WHERE id = $1`, [
      ig.id,
      'Harbour Shots',
    ]);
    instagram = ig.id;
    const x = await insertAccount(app.dataSource, owner.id, 'twitter');
    twitter = x.id;
    twitterAccountId = x.accountId;
    [imageId] = await validatedImages(owner.id, ['sea', 'golden hour']);
    [othersImage] = await validatedImages(other.id, ['sea']);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    if (databaseUrl) await dropScratchDatabase(databaseUrl);
  });

  describe('create, read, list, edit, delete', () => {
    it('answers 201 with the template, and reads it back', async () => {
      const created = await api().post(template()).expect(201);
      expect(Object.keys(created.body).sort()).toEqual(TEMPLATE_KEYS);
      expect(created.body).toMatchObject({
        name: 'Daily picture',
        caption: '{prompt} ({style}), {weekday} {date} at {time} on {platform} by {account}',
        hashtags: '#ai {tags}',
        variants: { twitter: { caption: 'X {weekday} {time}: {prompt}', hashtags: '#x' } },
      });
      const read = await api().get(`${created.body.id}/`).expect(200);
      expect(read.body).toEqual(created.body);
    });

    it('lists only your templates, newest first, paginated', async () => {
      const first = await api()
        .post(template({ name: 'First' }))
        .expect(201);
      const second = await api()
        .post(template({ name: 'Second' }))
        .expect(201);
      const theirs = await api(other)
        .post(template({ name: 'Theirs' }))
        .expect(201);
      const page = await api().get('?page_size=1').expect(200);
      expect(page.body.results.map((t: { id: number }) => t.id)).toEqual([second.body.id]);
      expect(page.body.next).toContain('page=2');
      const all = await api().get('?page_size=100').expect(200);
      const ids = all.body.results.map((t: { id: number }) => t.id);
      expect(all.body.count).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining([first.body.id, second.body.id]));
      expect(ids).not.toContain(theirs.body.id);
      expectProblem(await api().get('?page=99'), 404);
    });

    it('PUT replaces it (left-out hashtags and variants become empty), PATCH changes what it names', async () => {
      const { body } = await api().post(template()).expect(201);
      const patched = await api()
        .patch(body.id, { hashtags: '#one   #two', variants: { linkedin: { caption: 'In' } } })
        .expect(200);
      expect(patched.body).toMatchObject({
        name: 'Daily picture',
        caption: body.caption,
        hashtags: '#one #two',
        variants: { linkedin: { caption: 'In' } },
      });
      expectFieldError(await api().put(body.id, { name: 'Only a name' }), 'caption');
      const replaced = await api()
        .put(body.id, { name: 'Plain', caption: 'Just {prompt}' })
        .expect(200);
      expect(replaced.body).toMatchObject({
        name: 'Plain',
        caption: 'Just {prompt}',
        hashtags: '',
        variants: {},
      });
      await api().delete(body.id).expect(204);
      expectProblem(await api().get(`${body.id}/`), 404);
    });

    it("hides another user's template behind 404, everywhere", async () => {
      const { body } = await api(other).post(template()).expect(201);
      expectProblem(await api().get(`${body.id}/`), 404);
      expectProblem(await api().put(body.id, template()), 404);
      expectProblem(await api().patch(body.id, { name: 'Mine' }), 404);
      expectProblem(await api().delete(body.id), 404);
      expectProblem(await api().preview(body.id, {}), 404);
      expect((await api(other).get(`${body.id}/`).expect(200)).body.name).toBe('Daily picture');
      for (const id of ['abc', '0', '99999999999', '0x10'])
        expectProblem(await api().get(`${id}/`), 404);
    });
  });

  it('lists and shows templates in AdminJS', async () => {
    const { body } = await api()
      .post(template({ name: 'Seen by staff' }))
      .expect(201);
    const staff = await signedInAgent(app, await staffUser(app));
    const list = await staff
      .get('/admin/api/resources/PostTemplate/actions/list')
      .query({ 'filters.userId': String(owner.id) })
      .expect(200);
    expect(
      list.body.records.map((record: { params: { name: string } }) => record.params.name),
    ).toContain('Seen by staff');
    const shown = await staff
      .get(`/admin/api/resources/PostTemplate/records/${body.id}/show`)
      .expect(200);
    expect(shown.body.record.params).toMatchObject({
      name: 'Seen by staff',
      caption: body.caption,
    });
  });

  describe('checks at save', () => {
    it('refuses an unknown variable or a brace left open, naming the field and the variable', async () => {
      const cases: [Record<string, unknown>, string, RegExp?][] = [
        [{ caption: 'Hi {name}' }, 'caption', /\{name\}/],
        [{ caption: 'Hi {prompt' }, 'caption', /Unclosed/],
        [{ caption: 'Smile :}' }, 'caption', /Unmatched/],
        [{ caption: '{}' }, 'caption', /\{\}/],
        [{ hashtags: '#{hashtag}' }, 'hashtags', /\{hashtag\}/],
        [{ hashtags: ['#a', '{nope}'] }, 'hashtags', /\{nope\}/],
        [{ variants: { twitter: { caption: 'X {x}' } } }, 'variants.twitter.caption', /\{x\}/],
        [{ variants: { tiktok: { hashtags: '{user}' } } }, 'variants.tiktok.hashtags', /\{user\}/],
        [{ variants: { myspace: { caption: 'Hi' } } }, 'variants.myspace', /Unknown platform/],
        [{ variants: { twitter: 'Hi' } }, 'variants.twitter'],
        [{ variants: { twitter: null } }, 'variants.twitter'],
        [{ variants: { twitter: { colour: 'blue' } } }, 'variants.twitter.colour'],
        [{ variants: { twitter: { caption: 5 } } }, 'variants.twitter.caption'],
        [{ variants: { twitter: { caption: { deep: 'x' } } } }, 'variants.twitter.caption'],
        [{ variants: { twitter: { caption: 'x'.repeat(2201) } } }, 'variants.twitter.caption'],
        [{ variants: { twitter: { hashtags: [1, 2] } } }, 'variants.twitter.hashtags'],
        [{ variants: [] }, 'variants'],
        [{ variants: 'twitter' }, 'variants'],
        [{ variants: null }, 'variants'],
        [{ name: '' }, 'name'],
        [{ name: 'n'.repeat(101) }, 'name'],
        [{ name: undefined }, 'name'],
        [{ caption: undefined }, 'caption'],
        [{ caption: 'c'.repeat(2201) }, 'caption'],
        [{ hashtags: 5 }, 'hashtags'],
        [{ colour: 'blue' }, 'colour'],
      ];
      for (const [change, field, message] of cases) {
        const response = await api().post(template(change));
        try {
          expectFieldError(response, field);
          if (message) expect(response.body.errors[field][0]).toMatch(message);
        } catch (error) {
          throw new Error(`${JSON.stringify(change)}: ${JSON.stringify(response.body)}`, {
            cause: error,
          });
        }
      }
    });

    it('checks a PATCH too, and then changes nothing', async () => {
      const { body } = await api().post(template()).expect(201);
      const refused = await api().patch(body.id, {
        variants: { linkedin: { caption: '{when}' } },
      });
      expectFieldError(refused, 'variants.linkedin.caption');
      expect((await api().get(`${body.id}/`).expect(200)).body).toEqual(body);
    });

    it('answers malformed input with a 400 naming the field, never a 500', async () => {
      const raw = (json: string) =>
        app
          .http()
          .post('/api/scheduler/templates/')
          .set(bearer(owner.access))
          .set('Content-Type', 'application/json')
          .send(json);
      const base = JSON.stringify({ name: 'N', caption: 'C' }).slice(0, -1);
      const deep = await raw(`${base},"variants":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`);
      expectFieldError(deep, 'variants');
      const proto = await raw(`${base},"variants":{"__proto__":{"caption":"x"}}}`);
      expectFieldError(proto, 'variants.__proto__');
      const protoInVariant = await raw(`${base},"variants":{"twitter":{"__proto__":{}}}}`);
      expectFieldError(protoInVariant, 'variants.twitter.__proto__');
      const surrogate = await raw(`${base},"variants":{"twitter":{"caption":"a\\ud800b"}}}`);
      expectFieldError(surrogate, 'variants.twitter.caption');
      expectFieldError(await raw(`{"name":"N","caption":"\\udc00"}`), 'caption');
      const { body } = await api().post(template()).expect(201);
      for (const [change, field] of [
        [{ image: 3_000_000_000 }, 'image'],
        [{ image: 'one' }, 'image'],
        [{ image: [1] }, 'image'],
        [{ platform: 'myspace' }, 'platform'],
        [{ at: 'tomorrow' }, 'at'],
        [{ at: null }, 'at'],
        [{ colour: 'blue' }, 'colour'],
      ] as const)
        expectFieldError(await api().preview(body.id, change), field);
    });
  });

  describe('preview', () => {
    it('renders every platform in your time zone, with its variant, length, limit and fit', async () => {
      const { body } = await api().post(template()).expect(201);
      // 07:00Z on 28 March 2027 is 09:00 in Paris (CEST since 01:00Z that day).
      const response = await api()
        .preview(body.id, { image: imageId, at: '2027-03-28T07:00:00Z' })
        .expect(200);
      expect(Object.keys(response.body.platforms).sort()).toEqual(Object.keys(LIMITS).sort());
      const rendered = (platform: string, account: string) =>
        `A lighthouse at dawn (digital art), Sunday 2027-03-28 at 09:00 on ${platform} by ${account}\n\n#ai #goldenhour #sea`;
      expect(response.body.text).toBe(rendered('{platform}', '{account}'));
      expect(response.body.platforms.instagram.text).toBe(rendered('Instagram', 'Harbour Shots'));
      // No account on the platform: left as written.
      expect(response.body.platforms.facebook.text).toBe(rendered('Facebook', '{account}'));
      expect(response.body.platforms.twitter.text).toBe(
        'X Sunday 09:00: A lighthouse at dawn\n\n#x',
      );
      for (const [platform, limit] of Object.entries(LIMITS)) {
        const preview = response.body.platforms[platform];
        expect(preview).toEqual({
          text: expect.any(String),
          length: [...preview.text].length,
          limit,
          fits: true,
        });
      }
      // An account without a display name is named by its platform id.
      const { body: named } = await api()
        .post(template({ caption: 'by {account}', hashtags: '', variants: {} }))
        .expect(201);
      const { body: x } = await api().preview(named.id, { platform: 'twitter' }).expect(200);
      expect(x.text).toBe(`by ${twitterAccountId}`);
    });

    it('counts the whole published text as the platform does, X weighing URLs and emoji', async () => {
      const { body } = await api()
        .post(
          template({
            caption: `{prompt} ${'x'.repeat(250)}`,
            hashtags: '#sea',
            variants: {
              linkedin: { caption: 'See https://example.com/a/very/long/path/indeed 🌊' },
            },
          }),
        )
        .expect(201);
      const { body: preview } = await api().preview(body.id, { image: imageId }).expect(200);
      // 20 + 1 + 250, a blank line (2) and 4: within X's 280.
      expect(preview.platforms.twitter).toMatchObject({ length: 277, limit: 280, fits: true });
      const over = await api().patch(body.id, { hashtags: '#sea #dawn' }).expect(200);
      const { body: after } = await api().preview(over.body.id, { image: imageId }).expect(200);
      expect(after.platforms.twitter).toMatchObject({ length: 283, limit: 280, fits: false });
      expect(after.platforms.instagram).toMatchObject({ length: 283, limit: 2200, fits: true });
      const x = await api()
        .patch(body.id, {
          variants: { twitter: { caption: 'See https://example.com/a/very/long/path/indeed 🌊' } },
        })
        .expect(200);
      const { body: weighed } = await api().preview(x.body.id, { platform: 'twitter' }).expect(200);
      expect(Object.keys(weighed.platforms)).toEqual(['twitter']);
      expect(weighed.text).toBe('See https://example.com/a/very/long/path/indeed 🌊\n\n#sea #dawn');
      // "See " 4 + URL 23 + " " 1 + emoji 2 + blank line 2 + "#sea #dawn" 10.
      expect(weighed.platforms.twitter).toMatchObject({ length: 42, limit: 280, fits: true });
    });

    it('keeps literal braces, and variables it has no value for, as written', async () => {
      const { body } = await api()
        .post(
          template({ caption: '{{prompt}} is {prompt}; {{"a": 1}}', hashtags: '', variants: {} }),
        )
        .expect(201);
      const { body: preview } = await api()
        .preview(body.id, { platform: 'instagram', at: '2027-01-01T12:00:00+01:00' })
        .expect(200);
      expect(preview.text).toBe('{prompt} is {prompt}; {"a": 1}');
      const { body: withImage } = await api()
        .preview(body.id, { platform: 'instagram', image: imageId })
        .expect(200);
      expect(withImage.text).toBe('{prompt} is A lighthouse at dawn; {"a": 1}');
    });

    it("refuses another user's image or a missing one, naming image", async () => {
      const { body } = await api().post(template()).expect(201);
      expectFieldError(await api().preview(body.id, { image: othersImage }), 'image');
      expectFieldError(await api().preview(body.id, { image: 2_000_000_000 }), 'image');
    });
  });

  describe('one-off posts', () => {
    it('renders the text when the post is scheduled, per platform, in your time zone', async () => {
      const { body: t } = await api().post(template()).expect(201);
      // 30 October 2027, 07:00Z: 09:00 in Paris, the last day of summer time.
      const at = '2027-10-30T07:00:00Z';
      const ig = await schedulePost({
        image: imageId,
        scheduled_time: at,
        platform: 'instagram',
        template: t.id,
      }).expect(201);
      expect(ig.body.post).toMatchObject({
        caption:
          'A lighthouse at dawn (digital art), Saturday 2027-10-30 at 09:00 on Instagram by Harbour Shots',
        hashtags: '#ai #goldenhour #sea',
        template: t.id,
        account: instagram,
      });
      const x = await schedulePost({
        image: imageId,
        scheduled_time: '2027-10-31T08:00:00Z',
        platform: 'twitter',
        template: String(t.id),
      }).expect(201);
      expect(x.body.post).toMatchObject({
        caption: 'X Sunday 09:00: A lighthouse at dawn',
        hashtags: '#x',
        template: t.id,
        account: twitter,
      });
      // A later change of the template leaves scheduled posts as they were rendered.
      await api().patch(t.id, { caption: 'Changed' }).expect(200);
      const kept = await app
        .http()
        .get(`/api/scheduler/posts/${ig.body.post.id}/`)
        .set(bearer(owner.access))
        .expect(200);
      expect(kept.body.caption).toBe(ig.body.post.caption);
      // Deleting it too; the post forgets which template it came from.
      await api().delete(t.id).expect(204);
      const after = await app
        .http()
        .get(`/api/scheduler/posts/${ig.body.post.id}/`)
        .set(bearer(owner.access))
        .expect(200);
      expect(after.body).toMatchObject({ caption: ig.body.post.caption, template: null });
    });

    it('takes template or caption, not both and not neither, and only your own template', async () => {
      const { body: t } = await api().post(template()).expect(201);
      const { body: theirs } = await api(other).post(template()).expect(201);
      const base = {
        image: imageId,
        scheduled_time: '2027-06-01T08:00:00Z',
        platform: 'instagram',
      };
      const cases: [Record<string, unknown>, string][] = [
        [{ template: t.id, caption: 'Both' }, 'template'],
        [{ template: t.id, hashtags: '#both' }, 'template'],
        [{}, 'caption'],
        [{ template: theirs.id }, 'template'],
        [{ template: 2_000_000_000 }, 'template'],
        [{ template: 3_000_000_000 }, 'template'],
        [{ template: 'first' }, 'template'],
        [{ template: null }, 'template'],
      ];
      for (const [change, field] of cases) {
        const response = await schedulePost({ ...base, ...change });
        try {
          expectFieldError(response, field);
        } catch (error) {
          throw new Error(`${JSON.stringify(change)}: ${JSON.stringify(response.body)}`, {
            cause: error,
          });
        }
      }
    });

    it('refuses a rendered text over the platform limit, naming template', async () => {
      const { body: t } = await api()
        .post(template({ caption: `{prompt} ${'x'.repeat(270)}`, hashtags: '', variants: {} }))
        .expect(201);
      const base = { image: imageId, scheduled_time: '2027-06-01T08:00:00Z', template: t.id };
      const refused = await schedulePost({ ...base, platform: 'twitter' });
      expectFieldError(refused, 'template');
      expect(refused.body.errors.template[0]).toMatch(/twitter allows 280 characters/);
      await schedulePost({ ...base, platform: 'instagram' }).expect(201);
    });
  });

  describe('recurring schedules', () => {
    const daily = (overrides: Record<string, unknown> = {}) => ({
      name: 'Mornings',
      frequency: 'daily',
      time_of_day: '09:00',
      timezone: 'Europe/Paris',
      platforms: ['instagram', 'twitter'],
      ...overrides,
    });

    /** Moves the schedule's next occurrence (the injected clock's side of it). */
    const setNextRun = (id: number, at: string) =>
      app.dataSource.query('UPDATE posting_schedules SET next_run_at = $2 WHERE id = $1', [id, at]);

    async function postsOfRun(scheduleId: number) {
      const { body } = await schedules.get(scheduleId).expect(200);
      const run = body.recent_runs[0];
      const posts = await Promise.all(
        (run.posts as number[]).map(
          async (id) =>
            (
              await app
                .http()
                .get(`/api/scheduler/posts/${id}/`)
                .set(bearer(owner.access))
                .expect(200)
            ).body,
        ),
      );
      return { run, schedule: body, posts };
    }

    it('renders at each run, in your time zone, across the spring and autumn DST changes', async () => {
      const { body: t } = await api()
        .post(
          template({
            caption: '{weekday} {date} {time} {prompt}',
            hashtags: '{tags}',
            variants: { twitter: { caption: 'X {weekday} {time}' } },
          }),
        )
        .expect(201);
      await validatedImages(owner.id, ['dst'], 4);
      const created = await schedules.post(daily({ tags: ['dst'], template: t.id })).expect(201);
      expect(created.body).toMatchObject({ template: t.id, caption: '', hashtags: '' });
      const id = created.body.id as number;
      const occurrences: [string, string, string, string][] = [
        // UTC instant, local date, weekday, next occurrence (UTC): Paris moves to CEST on
        // 28 March 2027 and back to CET on 31 October 2027.
        ['2027-03-27T08:00:00.000Z', '2027-03-27', 'Saturday', '2027-03-28T07:00:00.000Z'],
        ['2027-03-28T07:00:00.000Z', '2027-03-28', 'Sunday', '2027-03-29T07:00:00.000Z'],
        ['2027-10-30T07:00:00.000Z', '2027-10-30', 'Saturday', '2027-10-31T08:00:00.000Z'],
        ['2027-10-31T08:00:00.000Z', '2027-10-31', 'Sunday', '2027-11-01T08:00:00.000Z'],
      ];
      for (const [index, [instant, date, weekday, next]] of occurrences.entries()) {
        if (index === 0 || index === 2) await setNextRun(id, instant);
        const tick = await runner.tick(new Date(Date.parse(instant) + 1000));
        expect(tick).toMatchObject({ ran: true, runs: 1, posts: 2 });
        const { run, schedule, posts } = await postsOfRun(id);
        expect(run).toMatchObject({ occurrence_at: instant, outcome: 'completed' });
        expect(schedule.next_run_at).toBe(next);
        const byPlatform = Object.fromEntries(posts.map((post) => [post.platform, post]));
        expect(byPlatform.instagram).toMatchObject({
          caption: `${weekday} ${date} 09:00 A lighthouse at dawn`,
          hashtags: '#dst',
          scheduled_time: instant,
          template: t.id,
          schedule: id,
        });
        expect(byPlatform.twitter).toMatchObject({
          caption: `X ${weekday} 09:00`,
          hashtags: '#dst',
          template: t.id,
        });
      }
      // Pause it: it must not run in the other tests' ticks.
      await schedules.patch(id, { is_active: false }).expect(200);
    });

    it('renders the template as it is at the run, and skips a platform whose text does not fit', async () => {
      const { body: t } = await api()
        .post(template({ caption: 'Short {prompt}', hashtags: '', variants: {} }))
        .expect(201);
      await validatedImages(owner.id, ['long'], 2);
      const { body: s } = await schedules
        .post(daily({ tags: ['long'], template: t.id }))
        .expect(201);
      await api()
        .patch(t.id, { variants: { twitter: { caption: `{prompt} ${'x'.repeat(270)}` } } })
        .expect(200);
      await setNextRun(s.id, '2027-05-03T07:00:00Z');
      expect(await runner.tick(new Date('2027-05-03T07:00:01Z'))).toMatchObject({ posts: 1 });
      const partial = await postsOfRun(s.id);
      expect(partial.run.outcome).toBe('completed');
      expect(partial.run.reason).toMatch(/twitter does not fit.*nothing posted there/);
      expect(partial.posts.map((post) => [post.platform, post.caption])).toEqual([
        ['instagram', 'Short A lighthouse at dawn'],
      ]);
      // Only X: the run is skipped, with the reason.
      await schedules.patch(s.id, { platforms: ['twitter'] }).expect(200);
      await setNextRun(s.id, '2027-05-05T07:00:00Z');
      expect(await runner.tick(new Date('2027-05-05T07:00:01Z'))).toMatchObject({ posts: 0 });
      const { body: skipped } = await schedules.get(s.id).expect(200);
      expect(skipped.recent_runs[0]).toMatchObject({
        outcome: 'skipped',
        reason: expect.stringMatching(/twitter allows 280 characters/),
      });
      await schedules.patch(s.id, { is_active: false }).expect(200);
    });

    it('takes template or caption, not both and not neither; PATCH switches between them', async () => {
      const { body: t } = await api().post(template()).expect(201);
      const { body: theirs } = await api(other).post(template()).expect(201);
      const paused = daily({ tags: ['sea'], is_active: false });
      expectFieldError(
        await schedules.post({ ...paused, template: t.id, caption: 'x' }),
        'template',
      );
      expectFieldError(await schedules.post(paused), 'caption');
      expectFieldError(await schedules.post({ ...paused, template: theirs.id }), 'template');
      expectFieldError(await schedules.post({ ...paused, template: 3_000_000_000 }), 'template');
      const { body: s } = await schedules.post({ ...paused, caption: 'Plain' }).expect(201);
      expect(s.template).toBeNull();
      const switched = await schedules.patch(s.id, { template: t.id }).expect(200);
      expect(switched.body).toMatchObject({ template: t.id, caption: '', hashtags: '' });
      expectFieldError(await schedules.patch(s.id, { template: t.id, hashtags: '#x' }), 'template');
      const kept = await schedules.patch(s.id, { name: 'Renamed' }).expect(200);
      expect(kept.body.template).toBe(t.id);
      expectFieldError(await schedules.put(s.id, paused), 'caption');
      const back = await schedules.patch(s.id, { caption: 'Back to text' }).expect(200);
      expect(back.body).toMatchObject({ template: null, caption: 'Back to text' });
    });

    it('refuses to delete a template a schedule renders, naming the schedules (409)', async () => {
      const { body: t } = await api().post(template()).expect(201);
      const { body: s } = await schedules
        .post(daily({ name: 'Uses it', tags: ['sea'], is_active: false, template: t.id }))
        .expect(201);
      const refused = await api().delete(t.id);
      expectProblem(refused, 409);
      expect(refused.body.detail).toContain(`${s.id} ("Uses it")`);
      await api().get(`${t.id}/`).expect(200);
      await schedules.patch(s.id, { caption: 'Own text' }).expect(200);
      await api().delete(t.id).expect(204);
    });
  });
});
