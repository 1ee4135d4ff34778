import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { GeneratedImage, type ImageStatus } from './generated-image.entity.js';

/**
 * The one rule of what can be posted: a validated image whose JPEG rendition (what platforms
 * receive) has been written. `publishable()` is the same rule in SQL.
 */
export function isPublishable(image: Pick<GeneratedImage, 'status' | 'renditionKey'>): boolean {
  return image.status === 'validated' && !!image.renditionKey;
}

/** `isPublishable()` as a condition on the `generated_images` row aliased `alias`. */
function publishable(alias: string): string {
  return `${alias}.status = 'validated' AND ${alias}.rendition_key IS NOT NULL`;
}

/** What posting needs to know of an image. */
export interface ImageForPosting {
  id: number;
  status: ImageStatus;
  renditionKey: string | null;
  errorMessage: string;
}

@Injectable()
export class GeneratedImageQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The image with what decides whether it can be posted; `userId` restricts it to its owner. */
  async findForPosting(
    imageId: number,
    userId: number | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ImageForPosting | null> {
    return manager.getRepository(GeneratedImage).findOne({
      select: { id: true, status: true, renditionKey: true, errorMessage: true },
      where: userId === null ? { id: imageId } : { id: imageId, userId },
    });
  }

  /**
   * The oldest publishable image of the user carrying one of `tags` that no post has used or is
   * about to use, locked (skipping images another transaction holds): call it in a transaction.
   */
  async oldestUnpostedWithTags(
    userId: number,
    tags: string[],
    manager: EntityManager,
  ): Promise<number | null> {
    const rows: { id: number }[] = await manager.query(
      `SELECT i.id FROM generated_images i
       WHERE i.user_id = $1 AND ${publishable('i')}
         AND EXISTS (SELECT 1 FROM generated_image_tags it JOIN image_tags t ON t.id = it.tag_id
                     WHERE it.image_id = i.id AND t.name = ANY($2))
         AND NOT EXISTS (SELECT 1 FROM scheduled_posts p
                         WHERE p.image_id = i.id AND p.status IN ('scheduled', 'processing', 'posted'))
       ORDER BY i.created_at, i.id LIMIT 1 FOR UPDATE OF i SKIP LOCKED`,
      [userId, tags],
    );
    return rows[0]?.id ?? null;
  }
}
