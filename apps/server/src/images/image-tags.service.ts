import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { FieldValidationError } from '@app/common';
import { ImageTag } from '@app/database';
import type { PageWindow } from '../http/pagination.js';

/** Tag names as stored: trimmed, lower-cased, each once. */
export function normaliseTagNames(names: string[]): string[] {
  return [...new Set(names.map((name) => name.trim().toLowerCase()).filter(Boolean))];
}

@Injectable()
export class ImageTagsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(
    userId: number,
    window: PageWindow,
  ): Promise<{ count: number; rows: { tag: ImageTag; imageCount: number }[] }> {
    const repository = this.dataSource.getRepository(ImageTag);
    const [count, raw] = await Promise.all([
      repository.count({ where: { userId } }),
      repository
        .createQueryBuilder('tag')
        .select(['tag.id', 'tag.name', 'tag.description', 'tag.createdAt'])
        .addSelect(
          '(SELECT count(*) FROM generated_image_tags link WHERE link.tag_id = tag.id)::int',
          'image_count',
        )
        .where('tag.user_id = :userId', { userId })
        .orderBy('tag.name', 'ASC')
        .offset(window.offset)
        .limit(window.pageSize)
        .getRawAndEntities(),
    ]);
    return {
      count,
      rows: raw.entities.map((tag, index) => ({
        tag,
        imageCount: Number(raw.raw[index].image_count),
      })),
    };
  }

  async create(userId: number, name: string, description = ''): Promise<ImageTag> {
    const [normalised] = normaliseTagNames([name]);
    if (!normalised) throw FieldValidationError.of('name', 'This field may not be blank.');
    const inserted = await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(ImageTag)
      .values({ userId, name: normalised, description })
      .orIgnore()
      .returning('*')
      .execute();
    if (inserted.identifiers.length === 0 || !inserted.identifiers[0]) {
      throw FieldValidationError.of('name', 'You already have a tag with this name.');
    }
    return this.dataSource.getRepository(ImageTag).findOneByOrFail({ userId, name: normalised });
  }

  /** Makes `names` the image's tags, creating the user's missing tags; in the caller's transaction. */
  async replaceImageTags(
    manager: EntityManager,
    userId: number,
    imageId: number,
    names: string[],
  ): Promise<string[]> {
    const normalised = normaliseTagNames(names);
    await manager.query('DELETE FROM generated_image_tags WHERE image_id = $1', [imageId]);
    if (normalised.length === 0) return [];
    await manager
      .createQueryBuilder()
      .insert()
      .into(ImageTag)
      .values(normalised.map((name) => ({ userId, name })))
      .orIgnore()
      .execute();
    const tags = await manager
      .getRepository(ImageTag)
      .find({ where: { userId, name: In(normalised) } });
    await manager.query(
      'INSERT INTO generated_image_tags (image_id, tag_id) SELECT $1, unnest($2::int[]) ON CONFLICT DO NOTHING',
      [imageId, tags.map((tag) => tag.id)],
    );
    return tags.map((tag) => tag.name).sort();
  }

  /**
   * Tag names per image, for a page of one user's images, in one query. The owner condition is
   * redundant for the result but lets the planner walk the user's tags by index instead of
   * hashing every user's (see docs/benchmarks.md).
   */
  async namesByImage(
    userId: number,
    imageIds: number[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<number, string[]>> {
    const names = new Map<number, string[]>(imageIds.map((id) => [id, []]));
    if (imageIds.length === 0) return names;
    const rows: { image_id: number; name: string }[] = await manager.query(
      `SELECT link.image_id, tag.name FROM generated_image_tags link
       JOIN image_tags tag ON tag.id = link.tag_id AND tag.user_id = $2
       WHERE link.image_id = ANY($1::int[]) ORDER BY tag.name`,
      [imageIds, userId],
    );
    for (const row of rows) names.get(row.image_id)?.push(row.name);
    return names;
  }
}
