import { beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EntityManager, QueryFailedError } from 'typeorm';
import {
  FAR_FUTURE,
  farFuture,
  insertAccount,
  insertImage,
  insertPost,
  insertSchedule,
} from '../../../../test/factories/schedule-rows.factory.js';
import { useTestDatabase } from '../../../../test/support/database.js';
import { PostAnalytics } from '../post-analytics/post-analytics.entity.js';
import { ScheduledPost } from './scheduled-post.entity.js';
import {
  type PostListQuery,
  type PostVersion,
  ScheduledPostQueries,
} from './scheduled-post.queries.js';

const LEASE = 60_000;
const ALL = { offset: 0, pageSize: 100 };
/** More than every row of the shared database: the sweeps' answers are filtered to ours. */
const NO_LIMIT = 1_000_000;
/**
 * Posted posts are posted long ago: a post posted within 30 days of the real now would be due for
 * the analytics sync of an app running beside.
 */
const LONG_AGO = new Date('2000-01-01T00:00:00Z');

describe('ScheduledPostQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let posts: ScheduledPostQueries;
  beforeAll(() => {
    posts = new ScheduledPostQueries(dataSource);
  });

  const versionOf = (post: PostVersion): PostVersion => ({ id: post.id, version: post.version });
  const load = (id: number) => dataSource.getRepository(ScheduledPost).findOneByOrFail({ id });
  const ids = (rows: { id: number }[]) => rows.map((row) => row.id);
  const mine = <T extends { id: number }>(rows: T[], own: { id: number }[]) =>
    rows.filter((row) => own.some((post) => post.id === row.id));
  /** Never due for the analytics sync beside: synced in 2090. */
  const syncedForever = (post: ScheduledPost) =>
    dataSource
      .getRepository(PostAnalytics)
      .insert({ scheduledPostId: post.id, platform: post.platform, lastSyncedAt: FAR_FUTURE });

  describe('publishing', () => {
    let userId: number;
    beforeAll(async () => {
      userId = await newUser();
    });

    it('claims a post once, one attempt more, under a lease, with its sealed account and its rendition', async () => {
      const account = await insertAccount(dataSource, userId, 'twitter');
      await dataSource.query(
        `UPDATE social_accounts SET access_token_encrypted = 'sealed-access',
           refresh_token_encrypted = 'sealed-refresh', status = 'reconnect_required' WHERE id = $1`,
        [account.id],
      );
      const image = await insertImage(dataSource, userId);
      await dataSource.query(
        `UPDATE generated_images SET rendition_key = 'renditions/harbour.jpg' WHERE id = $1`,
        [image.id],
      );
      const post = await insertPost(dataSource, userId, {
        accountId: account.id,
        imageId: image.id,
        caption: 'Harbour',
        hashtags: '#sea',
        metadata: { source: 'spec' },
        checkpoint: { step: 'none' },
        attempts: 2,
      });

      expect(await posts.claim({ id: post.id, version: 2 }, LEASE)).toBeNull();
      expect((await load(post.id)).status).toBe('scheduled');

      const claimed = await posts.claim(versionOf(post), LEASE);
      expect(claimed).toEqual({
        post: {
          id: post.id,
          version: 1,
          userId,
          accountId: account.id,
          imageId: image.id,
          platform: 'twitter',
          caption: 'Harbour',
          hashtags: '#sea',
          checkpoint: { step: 'none' },
          metadata: { source: 'spec' },
          attempts: 3,
        },
        account: {
          id: account.id,
          status: 'reconnect_required',
          accountId: account.accountId,
          accessTokenEncrypted: 'sealed-access',
          refreshTokenEncrypted: 'sealed-refresh',
        },
        renditionKey: 'renditions/harbour.jpg',
      });
      const [row] = (await dataSource.query(
        `SELECT status, attempts, version,
           (extract(epoch FROM lease_until - updated_at) * 1000)::float AS lease_ms
         FROM scheduled_posts WHERE id = $1`,
        [post.id],
      )) as { status: string; attempts: number; version: number; lease_ms: number }[];
      expect(row).toEqual({ status: 'processing', attempts: 3, version: 1, lease_ms: 60000 });

      expect(await posts.claim(versionOf(post), LEASE)).toBeNull();
      expect((await load(post.id)).attempts).toBe(3);
    });

    it('claims a post without account or image with neither', async () => {
      const post = await insertPost(dataSource, userId);
      const claimed = await posts.claim(versionOf(post), LEASE);
      expect(claimed?.post.id).toBe(post.id);
      expect(claimed?.account).toBeNull();
      expect(claimed?.renditionKey).toBeNull();
    });

    it('lets exactly one of two concurrent claims of a post win, in one worker or in two', async () => {
      const post = await insertPost(dataSource, userId);
      const same = await Promise.all([
        posts.claim(versionOf(post), LEASE),
        posts.claim(versionOf(post), LEASE),
      ]);
      expect(same.filter((claim) => claim !== null)).toHaveLength(1);
      expect((await load(post.id)).attempts).toBe(1);

      // Two workers: two statements on two connections, the row lock deciding.
      const other = new ScheduledPostQueries(dataSource);
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => insertPost(dataSource, userId)),
      );
      const claims = await Promise.all(
        [posts, other].flatMap((worker) =>
          burst.map((each) => worker.claim(versionOf(each), LEASE)),
        ),
      );
      const won = claims.filter((claim) => claim !== null).map((claim) => claim!.post.id);
      expect(won.sort((a, b) => a - b)).toEqual(ids(burst).sort((a, b) => a - b));
      const attempts = (await dataSource.query(
        'SELECT DISTINCT attempts FROM scheduled_posts WHERE id = ANY($1)',
        [ids(burst)],
      )) as { attempts: number }[];
      expect(attempts).toEqual([{ attempts: 1 }]);
    });

    it('claims the posts claimed in the same tick together, in one statement', async () => {
      const batch = await Promise.all([1, 2, 3].map(() => insertPost(dataSource, userId)));
      const claims = await Promise.all(batch.map((post) => posts.claim(versionOf(post), LEASE)));
      expect(claims.map((claim) => claim?.post.id)).toEqual(ids(batch));
      // now() is the statement's transaction's: one lease for all, as one statement gives.
      const [{ leases }] = (await dataSource.query(
        `SELECT count(DISTINCT lease_until)::int AS leases FROM scheduled_posts
         WHERE id = ANY($1) AND status = 'processing'`,
        [ids(batch)],
      )) as { leases: number }[];
      expect(leases).toBe(1);
    });

    it('records steps into the checkpoint until the post is taken over past its lease', async () => {
      const post = await insertPost(dataSource, userId, { checkpoint: { kept: true } });
      const claimed = (await posts.claim(versionOf(post), LEASE))!;
      // The lease has not run out, and a scheduled post is no one's to take over.
      expect(await posts.takeOver(versionOf(claimed.post), LEASE)).toBeNull();
      const waiting = await insertPost(dataSource, userId);
      expect(await posts.takeOver(versionOf(waiting), LEASE)).toBeNull();
      expect(await posts.recordStep(versionOf(claimed.post), { container: 'c-1' })).toBe(true);
      expect(await posts.recordStep(versionOf(claimed.post), { sentAt: 'now' })).toBe(true);
      expect((await load(post.id)).checkpoint).toEqual({
        kept: true,
        container: 'c-1',
        sentAt: 'now',
      });

      const lapsing = await insertPost(dataSource, userId);
      const lapsed = (await posts.claim(versionOf(lapsing), 1))!;
      await posts.recordStep(versionOf(lapsed.post), { container: 'c-2' });
      await sleep(5);
      const taken = await posts.takeOver(versionOf(lapsed.post), LEASE);
      expect(taken?.post).toMatchObject({
        id: lapsing.id,
        version: 2,
        attempts: 1,
        checkpoint: { container: 'c-2' },
      });
      expect(await posts.takeOver(versionOf(lapsed.post), LEASE)).toBeNull();
      expect(await posts.recordStep(versionOf(lapsed.post), { late: true })).toBe(false);
      const row = await load(lapsing.id);
      expect(row).toMatchObject({
        status: 'processing',
        version: 2,
        checkpoint: { container: 'c-2' },
      });
      expect(row.leaseUntil!.getTime()).toBeGreaterThan(Date.now() + LEASE / 2);
    });

    it('renews the lease of the current version only', async () => {
      const post = await insertPost(dataSource, userId);
      const claimed = (await posts.claim(versionOf(post), 1_000))!;
      await posts.renewLease({ id: post.id, version: 2 }, 3_600_000);
      const before = (await load(post.id)).leaseUntil!.getTime();
      expect(before).toBeLessThan(Date.now() + 60_000);
      await posts.renewLease(versionOf(claimed.post), 3_600_000);
      expect((await load(post.id)).leaseUntil!.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    });

    it('marks a post posted with the platform ids and merged metadata, unless stale', async () => {
      const post = await insertPost(dataSource, userId, {
        metadata: { source: 'spec', retry: 1 },
        errorMessage: 'earlier',
        errorCode: 'timeout',
      });
      await syncedForever(post);
      const claimed = (await posts.claim(versionOf(post), LEASE))!;
      const result = {
        platformPostId: 'tw-1',
        platformPostUrl: 'https://x.test/tw-1',
        metadata: { retry: 2, mediaId: 'm-1' },
      };
      expect(await posts.markPosted({ id: post.id, version: 2 }, result)).toBe(false);
      expect((await load(post.id)).status).toBe('processing');

      expect(await posts.markPosted(versionOf(claimed.post), result)).toBe(true);
      const row = await load(post.id);
      expect(row).toMatchObject({
        status: 'posted',
        platformPostId: 'tw-1',
        platformPostUrl: 'https://x.test/tw-1',
        metadata: { source: 'spec', retry: 2, mediaId: 'm-1' },
        errorMessage: '',
        errorCode: null,
        leaseUntil: null,
      });
      expect(row.postedAt).toBeInstanceOf(Date);
      expect(await posts.markPosted(versionOf(claimed.post), result)).toBe(false);
      expect(await posts.findPosted(post.id)).toMatchObject({ id: post.id, status: 'posted' });
      expect(await posts.findPosted(claimed.post.id + 1_000_000)).toBeNull();
    });

    it('runs what goes alongside a written result in its transaction, and only then', async () => {
      const post = await insertPost(dataSource, userId);
      const claimed = (await posts.claim(versionOf(post), LEASE))!;
      const result = {
        platformPostId: 'tw-9',
        platformPostUrl: 'https://x.test/tw-9',
        metadata: {},
      };
      const seen: string[] = [];
      const statusInside = async (manager: EntityManager) => {
        const [row] = await manager.query('SELECT status FROM scheduled_posts WHERE id = $1', [
          post.id,
        ]);
        seen.push(row.status);
      };
      // A failing companion (the outbox's insert) rolls the result back with it.
      await expect(
        posts.markPosted(versionOf(claimed.post), result, async (manager) => {
          await statusInside(manager);
          throw new Error('outbox down');
        }),
      ).rejects.toThrow('outbox down');
      expect(seen).toEqual(['posted']);
      expect((await load(post.id)).status).toBe('processing');
      // Not written (a stale version): nothing runs alongside.
      expect(await posts.markPosted({ id: post.id, version: 99 }, result, statusInside)).toBe(
        false,
      );
      expect(seen).toEqual(['posted']);
      expect(await posts.markPosted(versionOf(claimed.post), result, statusInside)).toBe(true);
      expect(seen).toEqual(['posted', 'posted']);
      expect((await load(post.id)).status).toBe('posted');
    });

    it('marks only the current processing version failed, its message cut to 2000 characters', async () => {
      const post = await insertPost(dataSource, userId);
      const claimed = (await posts.claim(versionOf(post), LEASE))!;
      expect(await posts.markFailed({ id: post.id, version: 2 }, 'timeout', 'stale')).toBe(false);
      expect(await load(post.id)).toMatchObject({ status: 'processing', errorCode: null });

      expect(
        await posts.markFailed(versionOf(claimed.post), 'platform_rejected', 'x'.repeat(2500)),
      ).toBe(true);
      const row = await load(post.id);
      expect(row).toMatchObject({
        status: 'failed',
        errorCode: 'platform_rejected',
        errorMessage: 'x'.repeat(2000),
        leaseUntil: null,
      });
      // Failed, it is no longer processing: nothing more is written.
      await posts.markFailed(versionOf(claimed.post), 'timeout', 'again');
      expect((await load(post.id)).errorCode).toBe('platform_rejected');
    });

    it('rearms for a retry as the next version, the note merged, attempts and checkpoint kept', async () => {
      const post = await insertPost(dataSource, userId, {
        metadata: { source: 'spec' },
        checkpoint: { container: 'c-3' },
      });
      const claimed = (await posts.claim(versionOf(post), LEASE))!;
      await posts.noteInMetadata({ id: post.id, version: 2 }, { stale: true });
      await posts.noteInMetadata(versionOf(claimed.post), { rateLimited: true });
      expect((await load(post.id)).metadata).toEqual({ source: 'spec', rateLimited: true });

      expect(await posts.rearmForRetry({ id: post.id, version: 2 }, { retry: 'stale' })).toBe(
        false,
      );
      expect(await posts.rearmForRetry(versionOf(claimed.post), { retry: 1 })).toBe(true);
      expect(await load(post.id)).toMatchObject({
        status: 'scheduled',
        version: 2,
        leaseUntil: null,
        attempts: 1,
        checkpoint: { container: 'c-3' },
        metadata: { source: 'spec', rateLimited: true, retry: 1 },
      });
      expect(await posts.rearmForRetry(versionOf(claimed.post), { retry: 2 })).toBe(false);
      expect(await posts.claim({ id: post.id, version: 2 }, LEASE)).not.toBeNull();
    });
  });

  describe('sweeps', () => {
    let userId: number;
    beforeAll(async () => {
      userId = await newUser();
    });

    it('finds the scheduled posts due within a minute and untouched for five seconds, soonest first', async () => {
      const now = farFuture(100);
      const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
      const idle = at(-6);
      const dueLast = await insertPost(dataSource, userId, {
        scheduledTime: at(60),
        updatedAt: idle,
      });
      const dueEarlier = await insertPost(dataSource, userId, {
        scheduledTime: at(-3600),
        updatedAt: idle,
        version: 4,
      });
      const dueBetween = await insertPost(dataSource, userId, {
        scheduledTime: at(30),
        updatedAt: idle,
      });
      const tooLate = await insertPost(dataSource, userId, {
        scheduledTime: at(61),
        updatedAt: idle,
      });
      const touched = await insertPost(dataSource, userId, {
        scheduledTime: at(-3600),
        updatedAt: at(-5),
      });
      const processing = await insertPost(dataSource, userId, {
        scheduledTime: at(-3600),
        updatedAt: idle,
        status: 'processing',
        leaseUntil: farFuture(1000),
      });

      const due = mine(await posts.findDue(now, NO_LIMIT), [
        dueLast,
        dueEarlier,
        dueBetween,
        tooLate,
        touched,
        processing,
      ]);
      expect(due).toEqual([
        { id: dueEarlier.id, version: 4, scheduledTime: at(-3600) },
        { id: dueBetween.id, version: 1, scheduledTime: at(30) },
        { id: dueLast.id, version: 1, scheduledTime: at(60) },
      ]);
      expect(await posts.findDue(now, 1)).toHaveLength(1);
    });

    it('finds the processing posts whose lease ran out, oldest lease first', async () => {
      const now = farFuture(200);
      const later = await insertPost(dataSource, userId, {
        status: 'processing',
        leaseUntil: farFuture(199),
        version: 3,
      });
      const earlier = await insertPost(dataSource, userId, {
        status: 'processing',
        leaseUntil: farFuture(198),
      });
      const between = await insertPost(dataSource, userId, {
        status: 'processing',
        leaseUntil: farFuture(198.5),
      });
      const leased = await insertPost(dataSource, userId, {
        status: 'processing',
        leaseUntil: now,
      });
      const failed = await insertPost(dataSource, userId, {
        status: 'failed',
        leaseUntil: farFuture(150),
      });

      const stuck = mine(await posts.findStuck(now, NO_LIMIT), [
        later,
        earlier,
        between,
        leased,
        failed,
      ]);
      expect(stuck).toEqual([
        { id: earlier.id, version: 1, leaseUntil: farFuture(198) },
        { id: between.id, version: 1, leaseUntil: farFuture(198.5) },
        { id: later.id, version: 3, leaseUntil: farFuture(199) },
      ]);
      expect(await posts.findStuck(now, 1)).toHaveLength(1);
    });

    it('finds the posts posted within 30 days whose analytics are unsynced or 50 minutes old', async () => {
      // In the past: see LONG_AGO.
      const now = new Date(LONG_AGO.getTime() + 40 * 86_400_000);
      const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
      const day = 24 * 60;
      const posted = (postedAt: Date, status: ScheduledPost['status'] = 'posted') =>
        insertPost(dataSource, userId, { status, postedAt });
      const analytics = (post: ScheduledPost, lastSyncedAt: Date | null) =>
        dataSource
          .getRepository(PostAnalytics)
          .insert({ scheduledPostId: post.id, platform: post.platform, lastSyncedAt });

      const never = await posted(ago(day));
      const unsynced = await posted(ago(2 * day));
      await analytics(unsynced, null);
      const stale = await posted(ago(29 * day));
      await analytics(stale, ago(51));
      const fresh = await posted(ago(day));
      await analytics(fresh, ago(49));
      const old = await posted(ago(31 * day));
      const failed = await posted(ago(day), 'failed');

      const due = await posts.findAnalyticsDue(now, NO_LIMIT);
      const own = [never, unsynced, stale, fresh, old, failed];
      expect(due.filter((id) => own.some((post) => post.id === id)).sort((a, b) => a - b)).toEqual(
        ids([never, unsynced, stale]),
      );
      expect(await posts.findAnalyticsDue(now, 1)).toHaveLength(1);
    });
  });

  describe("one user's posts", () => {
    it('inserts a scheduled post with the schedule and metadata of its occurrence', async () => {
      const userId = await newUser();
      const schedule = await insertSchedule(dataSource, userId);
      const image = await insertImage(dataSource, userId);
      const account = await insertAccount(dataSource, userId, 'linkedin');
      const post = {
        userId,
        imageId: image.id,
        accountId: account.id,
        platform: 'linkedin' as const,
        caption: 'Harbour',
        hashtags: '#sea',
        scheduledTime: farFuture(5),
      };
      const plain = await posts.insert(post);
      const occurrence = await dataSource.transaction((manager) =>
        posts.insert(
          { ...post, scheduleId: schedule.id, metadata: { occurrence: '2090-01-01' } },
          manager,
        ),
      );
      expect(await load(plain.id)).toMatchObject({
        ...post,
        status: 'scheduled',
        version: 1,
        attempts: 0,
        scheduleId: null,
        metadata: {},
        checkpoint: {},
      });
      expect(await load(occurrence.id)).toMatchObject({
        ...post,
        status: 'scheduled',
        scheduleId: schedule.id,
        metadata: { occurrence: '2090-01-01' },
      });
      const rolledBack = await dataSource
        .transaction(async (manager) => {
          await posts.insert({ ...post, caption: 'rolled back' }, manager);
          throw new Error('rollback');
        })
        .catch(() => undefined);
      expect(rolledBack).toBeUndefined();
      const [{ n }] = (await dataSource.query(
        `SELECT count(*)::int AS n FROM scheduled_posts WHERE user_id = $1 AND caption = 'rolled back'`,
        [userId],
      )) as { n: number }[];
      expect(n).toBe(0);
    });

    describe('the list', () => {
      let owner: number;
      let [p1, p2, p3, p4]: ScheduledPost[] = [];
      const list = async (query: Partial<PostListQuery>, page = ALL) => {
        const { rows, count } = await posts.pageOfUser(
          owner,
          { orderBy: 'scheduled_time', descending: false, ...query },
          page,
        );
        return { ids: ids(rows), count };
      };

      beforeAll(async () => {
        owner = await newUser();
        const other = await newUser();
        p1 = await insertPost(dataSource, owner, {
          scheduledTime: farFuture(1),
          caption: 'Morning 100% harbour',
          hashtags: '#sea',
        });
        p2 = await insertPost(dataSource, owner, {
          platform: 'instagram',
          status: 'posted',
          postedAt: LONG_AGO,
          scheduledTime: farFuture(2),
          caption: 'Evening light',
          hashtags: '#sea_side',
        });
        p3 = await insertPost(dataSource, owner, {
          status: 'failed',
          scheduledTime: farFuture(2),
          caption: 'Noon',
          hashtags: '#HARBOUR',
        });
        p4 = await insertPost(dataSource, owner, {
          scheduledTime: farFuture(3),
          caption: 'Plain 100 percent',
        });
        await insertPost(dataSource, other, {
          scheduledTime: farFuture(1),
          caption: 'Morning 100% harbour',
        });
      });

      it("orders the user's posts either way, ties by id, nulls first ascending and last descending", async () => {
        expect(await list({})).toEqual({ ids: ids([p1, p2, p3, p4]), count: 4 });
        expect(await list({ descending: true })).toEqual({ ids: ids([p4, p3, p2, p1]), count: 4 });
        expect(await list({ orderBy: 'posted_at' })).toEqual({
          ids: ids([p1, p3, p4, p2]),
          count: 4,
        });
        expect(await list({ orderBy: 'posted_at', descending: true })).toEqual({
          ids: ids([p2, p4, p3, p1]),
          count: 4,
        });
        expect((await list({ orderBy: 'status' })).ids).toEqual(ids([p3, p2, p1, p4]));
      });

      it('pages, counting every match', async () => {
        expect(await list({}, { offset: 1, pageSize: 2 })).toEqual({
          ids: ids([p2, p3]),
          count: 4,
        });
        expect(await list({ status: 'scheduled' }, { offset: 5, pageSize: 2 })).toEqual({
          ids: [],
          count: 2,
        });
      });

      it('filters by status, platform and time (from included, until excluded)', async () => {
        expect(await list({ status: 'scheduled' })).toEqual({ ids: ids([p1, p4]), count: 2 });
        expect(await list({ platform: 'instagram' })).toEqual({ ids: ids([p2]), count: 1 });
        expect(await list({ from: farFuture(2), until: farFuture(3) })).toEqual({
          ids: ids([p2, p3]),
          count: 2,
        });
        expect(
          await list({ status: 'scheduled', platform: 'twitter', from: farFuture(2) }),
        ).toEqual({ ids: ids([p4]), count: 1 });
      });

      it('searches caption and hashtags case-insensitively, % and _ taken literally', async () => {
        expect((await list({ search: 'harbour' })).ids).toEqual(ids([p1, p3]));
        expect((await list({ search: '100%' })).ids).toEqual(ids([p1]));
        expect((await list({ search: '_' })).ids).toEqual(ids([p2]));
        expect((await list({ search: 'a\\' })).ids).toEqual([]);
      });
    });

    it('finds and locks a post for its owner only, the lock holding off another transaction', async () => {
      const owner = await newUser();
      const other = await newUser();
      const post = await insertPost(dataSource, owner);
      expect((await posts.findOwned(owner, post.id))?.id).toBe(post.id);
      expect(await posts.findOwned(other, post.id)).toBeNull();

      await dataSource.transaction(async (manager) => {
        expect(await posts.lockOwned(other, post.id, manager)).toBeNull();
        expect((await posts.lockOwned(owner, post.id, manager))?.id).toBe(post.id);
        const error = await dataSource
          .transaction(async (second) => {
            await second.query(`SET LOCAL lock_timeout = '200ms'`);
            return posts.lockOwned(owner, post.id, second);
          })
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(QueryFailedError);
        expect(((error as QueryFailedError).driverError as unknown as { code: string }).code).toBe(
          '55P03',
        );
      });
      const after = await dataSource.transaction((manager) =>
        posts.lockOwned(owner, post.id, manager),
      );
      expect(after?.id).toBe(post.id);
    });

    it('rearms a post as a new version, its outcome cleared; cancels and edits it', async () => {
      const userId = await newUser();
      const post = await insertPost(dataSource, userId, {
        status: 'failed',
        version: 3,
        attempts: 2,
        errorCode: 'timeout',
        errorMessage: 'too slow',
        checkpoint: { container: 'c-4' },
        leaseUntil: farFuture(1),
        caption: 'Before',
        hashtags: '#before',
      });
      const rearmed = await dataSource.transaction(async (manager) =>
        posts.rearm((await posts.lockOwned(userId, post.id, manager))!, farFuture(8), manager, {
          caption: 'After',
        }),
      );
      const expected = {
        status: 'scheduled',
        version: 4,
        scheduledTime: farFuture(8),
        errorCode: null,
        errorMessage: '',
        attempts: 0,
        checkpoint: {},
        leaseUntil: null,
        caption: 'After',
        hashtags: '#before',
      };
      expect(rearmed).toMatchObject(expected);
      expect(await load(post.id)).toMatchObject(expected);

      const edited = await dataSource.transaction(async (manager) =>
        posts.editText(rearmed, { hashtags: '#after' }, manager),
      );
      expect(edited).toMatchObject({ caption: 'After', hashtags: '#after', version: 4 });
      expect(await load(post.id)).toMatchObject({
        caption: 'After',
        hashtags: '#after',
        version: 4,
        status: 'scheduled',
      });

      const cancelled = await dataSource.transaction((manager) => posts.cancel(edited, manager));
      expect(cancelled).toMatchObject({ status: 'cancelled', version: 5 });
      expect(await load(post.id)).toMatchObject({ status: 'cancelled', version: 5 });
      expect(await posts.claim({ id: post.id, version: 4 }, LEASE)).toBeNull();
    });

    it('gives the images of these ids, each once, with what a post shows of them', async () => {
      const userId = await newUser();
      const [first, second] = [
        await insertImage(dataSource, userId),
        await insertImage(dataSource, userId),
      ];
      await dataSource.query(
        `UPDATE generated_images SET thumbnail_key = 'thumbs/1.jpg', rendition_key = 'r/1.jpg'
         WHERE id = $1`,
        [first.id],
      );
      const images = await posts.images([first.id, second.id, first.id, second.id + 1_000_000]);
      expect([...images.keys()].sort((a, b) => a - b)).toEqual([first.id, second.id]);
      expect(images.get(first.id)).toEqual({
        id: first.id,
        prompt: 'A quiet harbour at dusk',
        status: 'failed',
        thumbnailKey: 'thumbs/1.jpg',
        renditionKey: 'r/1.jpg',
      });
      expect(await posts.images([])).toEqual(new Map());
    });

    it("counts a user's posts by status and platform, the upcoming ones and the synced engagement", async () => {
      const userId = await newUser();
      const now = farFuture(20);
      await insertPost(dataSource, userId, { scheduledTime: farFuture(10) });
      await insertPost(dataSource, userId, { scheduledTime: farFuture(30) });
      await insertPost(dataSource, userId, { scheduledTime: farFuture(40), status: 'cancelled' });
      const posted = await insertPost(dataSource, userId, {
        platform: 'instagram',
        status: 'posted',
        postedAt: LONG_AGO,
      });
      const failed = await insertPost(dataSource, userId, { status: 'failed' });
      const unsynced = await insertPost(dataSource, userId, { status: 'failed' });
      const analytics = dataSource.getRepository(PostAnalytics);
      await analytics.insert([
        {
          scheduledPostId: posted.id,
          platform: 'instagram',
          engagementRate: 2,
          lastSyncedAt: FAR_FUTURE,
        },
        {
          scheduledPostId: failed.id,
          platform: 'twitter',
          engagementRate: 4,
          lastSyncedAt: FAR_FUTURE,
        },
        {
          scheduledPostId: unsynced.id,
          platform: 'twitter',
          engagementRate: 100,
          lastSyncedAt: null,
        },
      ]);

      const own = await posts.counts(userId, now);
      expect(own).toEqual({
        byStatus: { scheduled: 2, processing: 0, posted: 1, failed: 2, cancelled: 1 },
        byPlatform: { instagram: 1, twitter: 5 },
        upcoming: 1,
        averageEngagementRate: 3,
      });
      expect(await posts.counts(await newUser(), now)).toEqual({
        byStatus: { scheduled: 0, processing: 0, posted: 0, failed: 0, cancelled: 0 },
        byPlatform: {},
        upcoming: 0,
        averageEngagementRate: 0,
      });

      const everyone = await posts.counts(null, now);
      for (const [status, n] of Object.entries(own.byStatus))
        expect(everyone.byStatus[status as keyof typeof own.byStatus]).toBeGreaterThanOrEqual(n);
      for (const [platform, n] of Object.entries(own.byPlatform))
        expect(everyone.byPlatform[platform]).toBeGreaterThanOrEqual(n);
      expect(everyone.upcoming).toBeGreaterThanOrEqual(own.upcoming);
      expect(typeof everyone.averageEngagementRate).toBe('number');
    });
  });
});
