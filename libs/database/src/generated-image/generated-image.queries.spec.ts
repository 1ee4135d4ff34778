import { beforeAll, describe, expect, it } from '@jest/globals';
import { insertImages } from '../../../../test/factories/image.factory.js';
import { useTestDatabase } from '../../../../test/support/database.js';
import { UserQueries } from '../user/user.queries.js';
import {
  countableFromStats,
  GeneratedImageQueries,
  type GenerationResult,
  type ImageListFilters,
  type ImageListOrder,
} from './generated-image.queries.js';

const NEWEST_FIRST: ImageListOrder = { field: 'created_at', direction: 'DESC' };
const ALL = { offset: 0, pageSize: 100 };

describe('GeneratedImageQueries', () => {
  // Its users' images go too: no in-flight row is left for an app's sweep in the shared database.
  const { dataSource, newUser } = useTestDatabase();
  let images: GeneratedImageQueries;
  beforeAll(() => {
    images = new GeneratedImageQueries(dataSource);
  });

  const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute));
  const ids = (rows: { id: number }[]) => rows.map((row) => row.id);
  const statusOf = async (id: number) =>
    (
      (await dataSource.query('SELECT status, generation FROM generated_images WHERE id = $1', [
        id,
      ])) as { status: string; generation: number }[]
    )[0];

  describe('the list', () => {
    let owner: number;
    let other: number;
    let [oldest, middle, newest, sameTime]: number[] = [];

    beforeAll(async () => {
      owner = await newUser();
      other = await newUser();
      [oldest, middle, newest, sameTime] = await insertImages({ dataSource }, owner, [
        { createdAt: at(1), status: 'validated', prompt: 'A red fox', tags: ['fox', 'red'] },
        { createdAt: at(2), status: 'failed', prompt: 'A 100% blue sea', tags: ['sea'] },
        { createdAt: at(3), status: 'validated', prompt: 'A green hill', validationNotes: 'fox?' },
        { createdAt: at(3), status: 'generated', prompt: 'A grey sky' },
      ]);
      // Another user's image, with a tag of the same name.
      await insertImages({ dataSource }, other, [{ createdAt: at(2), tags: ['fox'] }]);
    });

    const page = (filters: ImageListFilters, order = NEWEST_FIRST, slice = ALL) =>
      images.listOfOwner(owner, filters, order, slice).then(({ rows }) => ids(rows));

    it("pages through the owner's images only, newest first, ties by id in the same direction", async () => {
      expect(await page({})).toEqual([sameTime, newest, middle, oldest]);
      expect(await page({}, NEWEST_FIRST, { offset: 1, pageSize: 2 })).toEqual([newest, middle]);
      expect(await page({}, { field: 'created_at', direction: 'ASC' })).toEqual([
        oldest,
        middle,
        newest,
        sameTime,
      ]);
      expect(await page({}, { field: 'status', direction: 'ASC' })).toEqual([
        middle,
        sameTime,
        oldest,
        newest,
      ]);
    });

    it('filters by status, by any of the tags (the owner’s own), by words, by creation time', async () => {
      expect(await page({ status: 'validated' })).toEqual([newest, oldest]);
      expect(await page({ tags: ['fox', 'sea'] })).toEqual([middle, oldest]);
      expect(await page({ tags: ['fox'], status: 'failed' })).toEqual([]);
      // Words match the prompt or the notes; % and _ are letters, not wildcards.
      expect(await page({ search: 'FOX' })).toEqual([newest, oldest]);
      expect(await page({ search: '100%' })).toEqual([middle]);
      expect(await page({ search: '1_0' })).toEqual([]);
      expect(await page({ createdFrom: at(2), createdBefore: at(3) })).toEqual([middle]);
    });

    it('counts what the page filters, and says when the counters row can count instead', async () => {
      expect(await images.countOfOwner(owner, {})).toBe(4);
      expect(await images.countOfOwner(owner, { status: 'validated' })).toBe(2);
      expect(await images.countOfOwner(owner, { tags: ['fox'] })).toBe(1);
      expect(await images.countOfOwner(owner, { search: 'fox', status: 'validated' })).toBe(2);
      expect(countableFromStats({})).toBe(true);
      expect(countableFromStats({ status: 'failed' })).toBe(true);
      expect(countableFromStats({ tags: ['fox'] })).toBe(false);
      expect(countableFromStats({ search: 'fox' })).toBe(false);
      expect(countableFromStats({ createdFrom: at(1) })).toBe(false);
      expect(countableFromStats({ createdBefore: at(1) })).toBe(false);
    });

    it('answers the page with its tag names and the count in one statement', async () => {
      // The counters row counts what it can; a narrower filter is counted in the same statement.
      const list = (filters: ImageListFilters, slice = ALL) =>
        images.listOfOwner(owner, filters, NEWEST_FIRST, slice);
      const all = await list({});
      expect(all.count).toBe(4);
      expect(all.rows.map((row) => [row.id, row.tags])).toEqual([
        [sameTime, []],
        [newest, []],
        [middle, ['sea']],
        [oldest, ['fox', 'red']],
      ]);
      // Shaped as the presenter reads it, values typed as TypeORM would give them.
      const entity = await images.findOwned(owner, oldest);
      const { tags, count, ...row } = all.rows[3] as (typeof all.rows)[number] & { count: number };
      expect(tags).toEqual(['fox', 'red']);
      expect(count).toBe(4);
      for (const [property, value] of Object.entries(row)) {
        expect([property, value]).toEqual([property, entity?.[property as keyof typeof entity]]);
      }
      expect((await list({ status: 'validated' })).count).toBe(2);
      expect((await list({ tags: ['fox', 'sea'] })).count).toBe(2);
      expect((await list({ tags: ['fox'], status: 'failed' })).count).toBe(0);
      expect((await list({ search: 'fox', status: 'validated' })).count).toBe(2);
      // Past the end: no rows, the count still there.
      expect(await list({}, { offset: 4, pageSize: 2 })).toEqual({ count: 4, rows: [] });
      expect(await list({ search: 'nothing like it' })).toEqual({ count: 0, rows: [] });
      // A user who never had an image has no counters row: 0.
      expect(await images.listOfOwner(await newUser(), {}, NEWEST_FIRST, ALL)).toEqual({
        count: 0,
        rows: [],
      });
    });

    it("finds and locks an image for its owner only (another user's is null, like a missing one)", async () => {
      expect((await images.findOwned(owner, oldest))?.prompt).toBe('A red fox');
      expect(await images.findOwned(other, oldest)).toBeNull();
      await dataSource.transaction(async (manager) => {
        expect(await images.lockOwned(other, oldest, manager)).toBeNull();
        expect((await images.lockOwned(owner, oldest, manager))?.id).toBe(oldest);
        // A second transaction waits for the row.
        await expect(
          dataSource.transaction(async (second) => {
            await second.query(`SET LOCAL lock_timeout = '200ms'`);
            await images.lockOwned(owner, oldest, second);
          }),
        ).rejects.toThrow(/lock timeout/);
      });
    });
  });

  describe('a generation', () => {
    let userId: number;
    beforeAll(async () => {
      userId = await newUser({ autoValidateImages: true });
    });

    const result: GenerationResult = {
      originalKey: 'o.png',
      masterKey: 'm.png',
      renditionKey: 'r.jpg',
      thumbnailKey: 't.jpg',
      imageUrl: null,
      generationTime: 1.25,
      provider: 'local',
      metadata: {},
    };

    it('is claimed only for its own generation, while pending or generating', async () => {
      const [pending, generated] = await insertImages({ dataSource }, userId, [
        { status: 'pending' },
        { status: 'generated' },
      ]);
      expect(await images.claimGeneration(pending, 2)).toBeNull();
      expect(await images.claimGeneration(generated, 1)).toBeNull();
      const claimed = await images.claimGeneration(pending, 1);
      expect(claimed).toMatchObject({ id: pending, status: 'generating', progress: 10 });
      // A job re-run after a crash claims it again.
      expect((await images.claimGeneration(pending, 1))?.id).toBe(pending);
    });

    it('completes only while its image is still that generation and generating', async () => {
      const [image] = await insertImages({ dataSource }, userId, [{ status: 'pending' }]);
      await dataSource.transaction((manager) =>
        images.completeGeneration(image, 1, result, 'validated', manager),
      );
      expect(await statusOf(image)).toMatchObject({ status: 'pending' });

      await images.claimGeneration(image, 1);
      const written = await dataSource.transaction(async (manager) => {
        expect(await new UserQueries(dataSource).autoValidates(userId, manager)).toBe(true);
        return images.completeGeneration(image, 1, result, 'validated', manager);
      });
      expect(written).toBe(true);
      const row = await images.findOwned(userId, image);
      expect(row).toMatchObject({ status: 'validated', progress: 100, renditionKey: 'r.jpg' });
      expect(row?.validatedAt).toBeInstanceOf(Date);
    });

    it('superseded by a regeneration, can neither complete nor fail', async () => {
      const [image] = await insertImages({ dataSource }, userId, [{ status: 'failed' }]);
      await dataSource.transaction(async (manager) =>
        images.startNextGeneration({ id: image, generation: 1 }, manager),
      );
      expect(await statusOf(image)).toEqual({ status: 'pending', generation: 2 });
      await images.claimGeneration(image, 2);
      await dataSource.transaction(async (manager) => {
        expect(await images.completeGeneration(image, 1, result, 'generated', manager)).toBe(false);
        expect(await images.failGeneration(image, 1, 'generating', 'old job', manager)).toBe(false);
      });
      expect(await statusOf(image)).toEqual({ status: 'generating', generation: 2 });
    });

    it('fails from the statuses the caller names', async () => {
      const [pending] = await insertImages({ dataSource }, userId, [{ status: 'pending' }]);
      await dataSource.transaction(async (manager) => {
        // The worker fails only what it claimed; the sweep also a job that never started.
        expect(await images.failGeneration(pending, 1, 'generating', 'x', manager)).toBe(false);
        expect(
          await images.failGeneration(pending, 1, ['pending', 'generating'], 'lost', manager),
        ).toBe(true);
      });
      expect((await images.findOwned(userId, pending))?.errorMessage).toBe('lost');
    });
  });

  it('gives the sweep the in-flight images untouched since a time, longest untouched first', async () => {
    const userId = await newUser();
    const long = new Date('2001-01-01T00:00:00Z');
    const [older, newer, done, recent] = await insertImages({ dataSource }, userId, [
      { status: 'generating', createdAt: long, updatedAt: new Date('2001-01-02T00:00:00Z') },
      { status: 'pending', createdAt: long, updatedAt: new Date('2001-01-03T00:00:00Z') },
      { status: 'generated', createdAt: long, updatedAt: long },
      { status: 'pending', createdAt: long, updatedAt: new Date('2001-02-01T00:00:00Z') },
    ]);
    const found = await images.inFlightUntouchedSince(new Date('2001-01-15T00:00:00Z'), 1000);
    await dataSource.query('DELETE FROM generated_images WHERE user_id = $1', [userId]);
    const mine = found.filter((image) => [older, newer, done, recent].includes(image.id));
    expect(mine).toEqual([
      { id: older, userId, generation: 1 },
      { id: newer, userId, generation: 1 },
    ]);
  });
});
