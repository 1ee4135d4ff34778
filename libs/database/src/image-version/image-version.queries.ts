import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { GeneratedImage } from '../generated-image/generated-image.entity.js';
import type { PageSlice } from '../page-slice.js';
import { ImageVersion } from './image-version.entity.js';

/** A version about to be written: the row minus what PostgreSQL fills in. */
export type NewImageVersion = Pick<
  ImageVersion,
  | 'imageId'
  | 'version'
  | 'operations'
  | 'restoredFrom'
  | 'masterKey'
  | 'renditionKey'
  | 'thumbnailKey'
  | 'width'
  | 'height'
>;

/** The files of a version, as stored on `generated_images` for the current one. */
export type VersionFiles = Pick<ImageVersion, 'masterKey' | 'renditionKey' | 'thumbnailKey'>;

@Injectable()
export class ImageVersionQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Version 1 from the image's current files, when the image has none yet (an image finished
   * before versions existed, or written without them): nothing when it has no files or already
   * has a version 1. Call it under the image's row lock.
   */
  async ensureFirst(
    image: Pick<
      GeneratedImage,
      'id' | 'masterKey' | 'renditionKey' | 'thumbnailKey' | 'width' | 'height'
    >,
    manager: EntityManager,
  ): Promise<void> {
    if (!image.masterKey || !image.renditionKey || !image.thumbnailKey) return;
    await manager.query(
      `INSERT INTO image_versions (image_id, version, operations, master_key, rendition_key,
         thumbnail_key, width, height)
       VALUES ($1, 1, '[]'::jsonb, $2, $3, $4, $5, $6)
       ON CONFLICT (image_id, version) DO NOTHING`,
      [
        image.id,
        image.masterKey,
        image.renditionKey,
        image.thumbnailKey,
        image.width,
        image.height,
      ],
    );
  }

  /** Version 1 of a new generation: replaces whatever a previous generation left. */
  async recordFirst(
    version: Omit<NewImageVersion, 'version' | 'operations' | 'restoredFrom'>,
    manager: EntityManager,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO image_versions (image_id, version, operations, master_key, rendition_key,
         thumbnail_key, width, height)
       VALUES ($1, 1, '[]'::jsonb, $2, $3, $4, $5, $6)
       ON CONFLICT (image_id, version) DO UPDATE SET operations = '[]'::jsonb,
         restored_from = NULL, master_key = EXCLUDED.master_key,
         rendition_key = EXCLUDED.rendition_key, thumbnail_key = EXCLUDED.thumbnail_key,
         width = EXCLUDED.width, height = EXCLUDED.height, created_at = now()`,
      [
        version.imageId,
        version.masterKey,
        version.renditionKey,
        version.thumbnailKey,
        version.width,
        version.height,
      ],
    );
  }

  find(
    imageId: number,
    version: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ImageVersion | null> {
    return manager.getRepository(ImageVersion).findOneBy({ imageId, version });
  }

  async insert(version: NewImageVersion, manager: EntityManager): Promise<ImageVersion> {
    return manager.save(manager.create(ImageVersion, version));
  }

  /** A page of the image's versions, newest first, and how many it has. */
  async pageOfImage(
    imageId: number,
    page: PageSlice,
  ): Promise<{ count: number; rows: ImageVersion[] }> {
    const [rows, count] = await this.dataSource.getRepository(ImageVersion).findAndCount({
      where: { imageId },
      order: { version: 'DESC' },
      skip: page.offset,
      take: page.pageSize,
    });
    return { count, rows };
  }

  /** Every file any version of the image names, each once (restores share files). */
  async filesOfImage(imageId: number, manager: EntityManager): Promise<string[]> {
    const rows: { key: string }[] = await manager.query(
      `SELECT DISTINCT unnest(ARRAY[master_key, rendition_key, thumbnail_key]) AS key
       FROM image_versions WHERE image_id = $1`,
      [imageId],
    );
    return rows.map((row) => row.key);
  }

  /** Forgets every version (a regeneration starts again from version 1). */
  async removeAll(imageId: number, manager: EntityManager): Promise<void> {
    await manager.delete(ImageVersion, { imageId });
  }
}
