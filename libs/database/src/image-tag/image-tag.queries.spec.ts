import { beforeAll, describe, expect, it } from '@jest/globals';
import { insertImages } from '../../../../test/factories/image.factory.js';
import { useTestDatabase } from '../../../../test/support/database.js';
import { ImageTagQueries } from './image-tag.queries.js';

describe('ImageTagQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let tags: ImageTagQueries;
  beforeAll(() => {
    tags = new ImageTagQueries(dataSource);
  });

  const tagIdsOf = async (userId: number) =>
    (
      (await dataSource.query('SELECT name, id FROM image_tags WHERE user_id = $1 ORDER BY name', [
        userId,
      ])) as { name: string; id: number }[]
    ).map((row) => row.name);

  it("sets an image's tags, creating only the user's missing ones, and answers them sorted", async () => {
    const owner = await newUser();
    const other = await newUser();
    await insertImages({ dataSource }, other, [{ tags: ['sea'] }]);
    const [image] = await insertImages({ dataSource }, owner, [{ tags: ['old'] }]);

    const set = await dataSource.transaction((manager) =>
      tags.setImageTags(owner, image, ['sea', 'dawn'], manager),
    );
    expect(set).toEqual(['dawn', 'sea']);
    expect((await tags.namesByImage(owner, [image])).get(image)).toEqual(['dawn', 'sea']);
    // The other user's "sea" is not shared; the owner's unused "old" tag stays.
    expect(await tagIdsOf(owner)).toEqual(['dawn', 'old', 'sea']);
    expect(await tagIdsOf(other)).toEqual(['sea']);

    // Setting them again reuses the tags; none clears the image's links.
    await dataSource.transaction((manager) => tags.setImageTags(owner, image, ['sea'], manager));
    expect(await tagIdsOf(owner)).toEqual(['dawn', 'old', 'sea']);
    expect(
      await dataSource.transaction((manager) => tags.setImageTags(owner, image, [], manager)),
    ).toEqual([]);
    expect((await tags.namesByImage(owner, [image])).get(image)).toEqual([]);
  });

  it('creates a tag once per user and name', async () => {
    const owner = await newUser();
    const other = await newUser();
    const created = await tags.createIfNew(owner, 'harbour', 'Boats');
    expect(created).toMatchObject({ userId: owner, name: 'harbour', description: 'Boats' });
    expect(await tags.createIfNew(owner, 'harbour', 'Again')).toBeNull();
    expect(await tags.createIfNew(other, 'harbour', '')).toMatchObject({ userId: other });
  });

  it("pages the user's tags by name with their image counts, and counts them", async () => {
    const owner = await newUser();
    await insertImages({ dataSource }, owner, [
      { tags: ['b-tag', 'a-tag'] },
      { tags: ['b-tag'] },
      { tags: ['c-tag'] },
    ]);
    const page = await tags.pageOfUser(owner, { offset: 0, pageSize: 2 });
    expect(page.map(({ tag, imageCount }) => [tag.name, imageCount])).toEqual([
      ['a-tag', 1],
      ['b-tag', 2],
    ]);
    expect(await tags.pageOfUser(owner, { offset: 2, pageSize: 2 })).toHaveLength(1);
    expect(await tags.countOfUser(owner)).toBe(3);
  });

  it('answers each image its names in order, and an empty list for an image without tags', async () => {
    const owner = await newUser();
    const [tagged, bare] = await insertImages({ dataSource }, owner, [
      { tags: ['zebra', 'apple'] },
      {},
    ]);
    const names = await tags.namesByImage(owner, [tagged, bare]);
    expect([...names.entries()]).toEqual([
      [tagged, ['apple', 'zebra']],
      [bare, []],
    ]);
    // Only the user's own tags: another user asking gets nothing for these images.
    const stranger = await newUser();
    expect((await tags.namesByImage(stranger, [tagged])).get(tagged)).toEqual([]);
    expect((await tags.namesByImage(owner, [])).size).toBe(0);
  });
});
