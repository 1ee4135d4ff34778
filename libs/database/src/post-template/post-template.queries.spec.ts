import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestDatabase } from '../../../../test/support/database.js';
import { insertImage, insertSchedule } from '../../../../test/factories/schedule-rows.factory.js';
import { PostTemplateQueries, type TemplateFields } from './post-template.queries.js';

const fields = (name: string): TemplateFields => ({
  name,
  caption: '{prompt} at {time}',
  hashtags: '#sea',
  variants: { twitter: { caption: '{prompt}' } },
});

describe('PostTemplateQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let queries: PostTemplateQueries;
  beforeAll(() => {
    queries = new PostTemplateQueries(dataSource);
  });

  const insert = (userId: number, name: string) =>
    dataSource.transaction((manager) => queries.insert(userId, fields(name), manager));

  it('keeps the list count in the counters row, through inserts, deletes and a recount', async () => {
    const userId = await newUser();
    const [a] = [await insert(userId, 'A'), await insert(userId, 'B'), await insert(userId, 'C')];
    const [page, count] = await queries.pageOfUser(userId, { offset: 0, pageSize: 2 });
    expect(count).toBe(3);
    expect(page.map((template) => template.name)).toEqual(['C', 'B']);
    await dataSource.transaction((manager) => queries.delete(a.id, manager));
    expect((await queries.pageOfUser(userId, { offset: 0, pageSize: 10 }))[1]).toBe(2);
    await dataSource.query('SELECT recount_list_counters()');
    expect((await queries.pageOfUser(userId, { offset: 0, pageSize: 10 }))[1]).toBe(2);
    expect((await queries.pageOfUser(await newUser(), { offset: 0, pageSize: 10 }))[1]).toBe(0);
  });

  it('finds only the owner’s template, and walks all of them in id batches', async () => {
    const userId = await newUser();
    const made = [];
    for (const name of ['1', '2', '3', '4', '5']) made.push(await insert(userId, name));
    expect(await queries.findOwned(userId, made[0].id)).toMatchObject(fields('1'));
    expect(await queries.findOwned(await newUser(), made[0].id)).toBeNull();
    const walked: number[] = [];
    let afterId = 0;
    for (;;) {
      const batch = await queries.batchOfUser(userId, afterId, 2);
      walked.push(...batch.map((template) => template.id));
      if (batch.length < 2) break;
      afterId = batch[batch.length - 1].id;
    }
    expect(walked).toEqual(made.map((template) => template.id));
  });

  it('names the schedules using a template, and the database refuses to delete it under them', async () => {
    const userId = await newUser();
    const template = await insert(userId, 'Used');
    const schedule = await insertSchedule(dataSource, userId, {
      name: 'Uses it',
      templateId: template.id,
    });
    expect(await queries.schedulesUsing(template.id, dataSource.manager)).toEqual([
      { id: schedule.id, name: 'Uses it' },
    ]);
    await expect(
      dataSource.transaction((manager) => queries.delete(template.id, manager)),
    ).rejects.toThrow(/posting_schedules_template_fkey/);
  });

  it('reads an owned image’s prompt, style and sorted tag names', async () => {
    const userId = await newUser();
    const image = await insertImage(dataSource, userId);
    await dataSource.query(
      `INSERT INTO image_tags (user_id, name) VALUES ($1, 'sea'), ($1, 'dawn')`,
      [userId],
    );
    await dataSource.query(
      `INSERT INTO generated_image_tags (image_id, tag_id)
       SELECT $1, id FROM image_tags WHERE user_id = $2`,
      [image.id, userId],
    );
    expect(await queries.imageFields(userId, image.id)).toEqual({
      prompt: 'A quiet harbour at dusk',
      style: 'realistic',
      tags: ['dawn', 'sea'],
    });
    const bare = await insertImage(dataSource, userId);
    expect(await queries.imageFields(userId, bare.id)).toMatchObject({ tags: [] });
    expect(await queries.imageFields(await newUser(), image.id)).toBeNull();
  });
});
