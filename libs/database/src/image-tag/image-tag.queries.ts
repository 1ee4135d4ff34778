import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { userListCount } from '../list-counts.js';
import type { PageSlice } from '../page-slice.js';
import { ImageTag } from './image-tag.entity.js';

/**
 * The tag names of a page's images. The image list sends this text as it is, line breaks
 * included (`bench/lib/image-list-sql.mjs`). The owner condition is redundant for the result
 * but lets the planner walk the user's tags by index instead of hashing every user's (see
 * docs/benchmarks.md).
 */
const NAMES_BY_IMAGE = `SELECT link.image_id, tag.name FROM generated_image_tags link
       JOIN image_tags tag ON tag.id = link.tag_id AND tag.user_id = $2
       WHERE link.image_id = ANY($1::int[]) ORDER BY tag.name`;

/** The callers pass names as stored (trimmed, lower-cased, each once). */
@Injectable()
export class ImageTagQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** From the counters row (migration ListCounters), not a count of the user's tags. */
  countOfUser(userId: number): Promise<number> {
    return userListCount(this.dataSource, userId, 'tags');
  }

  /**
   * A page of the user's tags by name, each with how many images carry it: from the tag's
   * counters row (migration ListCounters), not a count of its links per tag on every page.
   */
  async pageOfUser(
    userId: number,
    page: PageSlice,
  ): Promise<{ tag: ImageTag; imageCount: number }[]> {
    const raw = await this.dataSource
      .getRepository(ImageTag)
      .createQueryBuilder('tag')
      .select(['tag.id', 'tag.name', 'tag.description', 'tag.createdAt'])
      .addSelect(
        'coalesce((SELECT c.images FROM image_tag_counts c WHERE c.tag_id = tag.id), 0)',
        'image_count',
      )
      .where('tag.user_id = :userId', { userId })
      .orderBy('tag.name', 'ASC')
      .offset(page.offset)
      .limit(page.pageSize)
      .getRawAndEntities();
    return raw.entities.map((tag, index) => ({
      tag,
      imageCount: Number(raw.raw[index].image_count),
    }));
  }

  /** The new tag, or null when the user already has one of this name. */
  async createIfNew(userId: number, name: string, description: string): Promise<ImageTag | null> {
    const inserted = await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(ImageTag)
      .values({ userId, name, description })
      .orIgnore()
      .returning('*')
      .execute();
    if (inserted.identifiers.length === 0 || !inserted.identifiers[0]) return null;
    return this.dataSource.getRepository(ImageTag).findOneByOrFail({ userId, name });
  }

  /**
   * Makes `names` the image's tags, creating the user's missing ones; answers the names, sorted.
   * In the caller's transaction.
   */
  async setImageTags(
    userId: number,
    imageId: number,
    names: string[],
    manager: EntityManager,
  ): Promise<string[]> {
    await manager.query('DELETE FROM generated_image_tags WHERE image_id = $1', [imageId]);
    if (names.length === 0) return [];
    await manager
      .createQueryBuilder()
      .insert()
      .into(ImageTag)
      .values(names.map((name) => ({ userId, name })))
      .orIgnore()
      .execute();
    const tags = await manager.getRepository(ImageTag).find({ where: { userId, name: In(names) } });
    await manager.query(
      'INSERT INTO generated_image_tags (image_id, tag_id) SELECT $1, unnest($2::int[]) ON CONFLICT DO NOTHING',
      [imageId, tags.map((tag) => tag.id)],
    );
    return tags.map((tag) => tag.name).sort();
  }

  /** Tag names per image, for a page of one user's images, in one query; every id gets a list. */
  async namesByImage(
    userId: number,
    imageIds: number[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<number, string[]>> {
    const names = new Map<number, string[]>(imageIds.map((id) => [id, []]));
    if (imageIds.length === 0) return names;
    const rows: { image_id: number; name: string }[] = await manager.query(NAMES_BY_IMAGE, [
      imageIds,
      userId,
    ]);
    for (const row of rows) names.get(row.image_id)?.push(row.name);
    return names;
  }
}
